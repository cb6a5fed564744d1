// Kubernetes wiring with a fake allocator: kube_api_server + kube_token_file, failure events and the
// SufficientIP node condition, and the daemon without Kubernetes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeApiServer } from '../../sim/kube/server.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { testConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

type Json = Record<string, any>;
const NODE = 'node-w';

describe('daemon with kube_api_server + kube_token_file', () => {
  let api: FakeApiServer;
  let handle: DaemonHandle;
  let client: TestClient;
  const log = captureLog();
  const allocator = new FakeAllocator(['10.0.1.10', '10.0.1.11']);

  beforeAll(async () => {
    api = await FakeApiServer.start();
    api.addNode(NODE);
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${api.token}\n`, { mode: 0o600 });
    const config = testConfig(dir, { kube_api_server: api.url, kube_token_file: tokenFile });
    // The node name comes from the environment, as the chart sets it.
    handle = await startDaemon(config, {
      allocator,
      driver: new FakeDriver(),
      metadata: FAKE_METADATA,
      logger: log.logger,
      env: { NODE_NAME: NODE },
    });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await api?.close();
  });

  const call = (method: string, req: unknown) => client.call<Json>(method, req);
  const condition = (): Json | undefined =>
    ((api.nodes.get(NODE)!['status'] as Json)['conditions'] as Json[]).find((c) => c['type'] === 'SufficientIP');

  it('uses the token from the file and the node name from NODE_NAME', async () => {
    expect(handle.nodeName).toBe(NODE);
    expect(log.text()).not.toContain(api.token);
    // The pool has free IPs at start: the node says SufficientIP.
    await waitFor(() => condition() !== undefined, 'SufficientIP condition written');
    expect(condition()).toMatchObject({ status: 'True', reason: 'SufficientIP' });
  });

  it('exhaustion: a pod event AllocIPFailed with the cloud code, and SufficientIP turns False', async () => {
    api.addPod({ namespace: 'default', name: 'a', nodeName: NODE });
    api.addPod({ namespace: 'default', name: 'b', nodeName: NODE });
    api.addPod({ namespace: 'default', name: 'c', nodeName: NODE });
    for (const id of ['a', 'b'])
      expect(await call('AllocIP', { pod: podMsg(id, { k8s_pod_name: id }), api_version: API_VERSION })).toMatchObject({ success: true });
    const r = await call('AllocIP', { pod: podMsg('c', { k8s_pod_name: 'c' }), api_version: API_VERSION });
    expect(r).toMatchObject({ success: false, failure_reason: 'POOL_EXHAUSTED', cloud_error_code: 'InvalidVSwitchId.IpNotEnough' });
    await waitFor(() => api.events.some((e) => e['reason'] === 'AllocIPFailed'), 'AllocIPFailed event');
    const ev = api.events.find((e) => e['reason'] === 'AllocIPFailed')!;
    expect(ev).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Pod', namespace: 'default', name: 'c' } });
    expect(ev['message']).toContain('InvalidVSwitchId.IpNotEnough');
    await waitFor(() => condition()?.['status'] === 'False', 'SufficientIP False');
    expect(condition()).toMatchObject({ reason: 'InsufficientIP' });
    expect(condition()!['message']).toContain('InvalidVSwitchId.IpNotEnough');
  });

  it('a node-target RecordEvent lands on this node (the plugin does not know the node name)', async () => {
    const r = await call('RecordEvent', {
      target: 'EVENT_TARGET_NODE',
      k8s_pod_name: '',
      k8s_pod_namespace: '',
      type: 'EVENT_TYPE_NORMAL',
      reason: 'Probe',
      message: 'hello',
    });
    expect(r).toMatchObject({ succeed: true });
    expect(api.events.find((e) => e['reason'] === 'Probe')).toMatchObject({ involvedObject: { kind: 'Node', name: NODE } });
  });
});

describe('daemon without Kubernetes', () => {
  it('runs as before and says once that GC by pod existence is off', async () => {
    const log = captureLog();
    const dir = tempDir();
    const handle = await startDaemon(testConfig(dir), {
      allocator: new FakeAllocator(),
      driver: new FakeDriver(),
      metadata: FAKE_METADATA,
      logger: log.logger,
      env: {},
    });
    const client = connect(handle.socketPath);
    try {
      expect(handle.kube).toBeUndefined();
      const r = await client.call<Json>('AllocIP', { pod: podMsg('nk-1'), api_version: API_VERSION });
      expect(r.success).toBe(true);
      // Plugin events still go somewhere: the log.
      await client.call('RecordEvent', {
        target: 'EVENT_TARGET_POD',
        k8s_pod_name: 'p',
        k8s_pod_namespace: 'ns',
        type: 'EVENT_TYPE_WARNING',
        reason: 'X',
        message: 'y',
      });
      expect(log.lines().some((l) => l['event'] === true && l['reason'] === 'X')).toBe(true);
    } finally {
      client.close();
      await handle.stop();
    }
    expect(log.lines().filter((l) => String(l['msg']).startsWith('Kubernetes not configured: no GC by pod existence')).length).toBe(1);
  });

  it('an explicitly configured kubeconfig that cannot be read fails start-up', async () => {
    const dir = tempDir();
    await expect(
      startDaemon(testConfig(dir, { kubeconfig: join(dir, 'missing.yaml') }), {
        allocator: new FakeAllocator(),
        driver: new FakeDriver(),
        metadata: FAKE_METADATA,
        logger: captureLog().logger,
        env: {},
      }),
    ).rejects.toThrow(/kubernetes client config/);
  });

  it('a missing kube_token_file fails start-up naming the key, not the token', async () => {
    const dir = tempDir();
    await expect(
      startDaemon(testConfig(dir, { kube_api_server: 'http://127.0.0.1:1', kube_token_file: join(dir, 'nope') }), {
        allocator: new FakeAllocator(),
        driver: new FakeDriver(),
        metadata: FAKE_METADATA,
        logger: captureLog().logger,
        env: {},
      }),
    ).rejects.toThrow(/kube_token_file .*nope: ENOENT/);
  });
});
