// The REST transport as it runs in a pod: KUBERNETES_SERVICE_HOST/PORT, the service account's token and CA, over
// TLS (a self-signed certificate for 127.0.0.1 in front of the fake API server), the token re-read every minute.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeClientOver } from '../../daemon/k8s/client.js';
import { inClusterTarget, restApi } from '../../daemon/k8s/restApi.js';
import { FakeApiServer } from '../../sim/kube/index.js';
import { FakeClock } from '../support/clock.js';
import { tempDir } from '../support/tmp.js';

const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
if (!OPENSSL) console.warn('[k8s in-cluster] SKIPPED: no openssl to make a test certificate');

describe.skipIf(!OPENSSL)('in-cluster REST client over TLS', () => {
  let fake: FakeApiServer;
  let tls: https.Server;
  let port: number;
  let sa: string;
  beforeAll(async () => {
    fake = await FakeApiServer.start();
    sa = tempDir('k8s-sa-');
    execFileSync(
      OPENSSL!,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(sa, 'tls.key'),
        '-out',
        join(sa, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(join(sa, 'token'), fake.token);
    const upstream = new URL(fake.url);
    // TLS in front of the fake: every request passed through as is.
    tls = https.createServer({ key: readFileSync(join(sa, 'tls.key')), cert: readFileSync(join(sa, 'ca.crt')) }, (req, res) => {
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    port = (tls.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => tls?.close(() => r()));
    await fake?.close();
  });

  const env = () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) });

  it('reads the pod through the service account, trusting only its CA', async () => {
    fake.addPod({ namespace: 'default', name: 'web-0', uid: 'u1', nodeName: 'node-a' });
    const kube = kubeClientOver(restApi(inClusterTarget(env(), sa), 5_000), {});
    expect(await kube.getPod('default', 'web-0')).toMatchObject({ name: 'web-0', uid: 'u1', nodeName: 'node-a' });
    expect((await kube.listNodePods('node-a')).map((p) => p.name)).toEqual(['web-0']);
    // Another CA: the server's certificate is not trusted, no request gets through.
    const other = tempDir('k8s-sa2-');
    execFileSync(
      OPENSSL!,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=x',
        '-keyout',
        join(other, 'k'),
        '-out',
        join(other, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(join(other, 'token'), fake.token);
    const untrusting = kubeClientOver(restApi(inClusterTarget(env(), other), 5_000), {});
    await expect(untrusting.getPod('default', 'web-0')).rejects.toMatchObject({ name: 'KubeError', status: 0 });
  });

  it('re-reads a rotated token once a minute', async () => {
    const clock = new FakeClock(1_000_000);
    const dir = tempDir('k8s-sa3-');
    writeFileSync(join(dir, 'ca.crt'), readFileSync(join(sa, 'ca.crt')));
    writeFileSync(join(dir, 'token'), 'stale-token');
    const kube = kubeClientOver(restApi(inClusterTarget(env(), dir, clock.now), 5_000), {});
    await expect(kube.getPod('default', 'web-0')).rejects.toMatchObject({ status: 401 });
    writeFileSync(join(dir, 'token'), fake.token);
    clock.t += 30_000;
    await expect(kube.getPod('default', 'web-0')).rejects.toMatchObject({ status: 401 });
    clock.t += 30_000;
    expect((await kube.getPod('default', 'web-0'))?.name).toBe('web-0');
  });

  it('without KUBERNETES_SERVICE_HOST or the service account files: NotConfigured', () => {
    expect(() => inClusterTarget({}, sa)).toThrow(/KUBERNETES_SERVICE_HOST/);
    expect(() => inClusterTarget(env(), tempDir('k8s-none-'))).toThrow(/ca\.crt: ENOENT/);
  });
});
