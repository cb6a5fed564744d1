// The /v1/* routes on the metrics listener with fake sources: methods, errors, the loopback guard,
// pool records read from the pod DB when the allocator keeps none in memory.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { DaemonMetrics, isLoopback, serveMetrics, type MetricsServer } from '../../daemon/metrics.js';
import { Introspection, type IntrospectionSources, type PoolView } from '../../daemon/introspect.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { CloudError } from '../../daemon/cloud/types.js';
import { MemoryPoolStore } from '../../pool/store.js';
import type { IpAllocation, IpAllocator, PoolStats } from '../../pool/types.js';
import { getJson } from '../../cli/client.js';
import { runCli } from '../../cli/run.js';

const STATS: PoolStats = {
  enis: 1,
  total: 1,
  free: 0,
  assigned: 1,
  cooling: 0,
  reserved: 0,
  releasing: 0,
  pendingRequests: 0,
  minPoolSize: 0,
  maxPoolSize: 1,
};

function fakeAllocator(allocs: IpAllocation[]): IpAllocator {
  return {
    allocate: () => Promise.reject(new Error('not here')),
    release: () => Promise.resolve(undefined),
    get: (k) => allocs.find((a) => a.podKey === k),
    list: () => allocs.map((a) => ({ ...a })),
    stats: () => STATS,
    gcExcept: () => Promise.resolve([]),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}

const alloc: IpAllocation = {
  podKey: 'c1/eth0/net',
  namespace: 'default',
  name: 'web',
  containerId: 'c1',
  ifName: 'eth0',
  networkName: 'net',
  netns: '/var/run/netns/c1',
  ip: '10.0.0.7',
  eniId: 'eni-a',
  eniMac: '00:16:3e:aa:bb:cc',
  primaryEni: false,
  vSwitchId: 'vsw-1',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  allocatedAt: 1_700_000_000_000,
};

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(src: Partial<IntrospectionSources> = {}): Promise<{ host: string; port: number }> {
  const config = parseDaemonConfig({ daemon_mode: 'VPCENI', instance_id: 'i-1', access_key: 'AKID', access_secret: 'topsecret' }).config;
  const store = new MemoryPoolStore();
  store.apply([
    {
      op: 'putEni',
      eni: {
        eniId: 'eni-a',
        mac: alloc.eniMac,
        vSwitchId: 'vsw-1',
        vSwitchCidr: '10.0.0.0/24',
        gateway: '10.0.0.253',
        primary: false,
        createdByUs: true,
        state: 'inuse',
        createdAt: 0,
      },
    },
    { op: 'putIp', ip: { ip: '10.0.0.7', eniId: 'eni-a', state: 'assigned', podKey: alloc.podKey, since: 0 } },
    { op: 'putPod', pod: { ...alloc, mode: 'VPCENI', stateful: false } },
  ]);
  const intro = new Introspection({ instanceId: 'i-1', config, allocator: fakeAllocator([alloc]), loadDb: () => store.load(), ...src });
  server = await serveMetrics(
    new DaemonMetrics({ defaultMetrics: false }),
    { kind: 'tcp', host: '127.0.0.1', port: 0 },
    { routes: (m, p, q) => intro.route(m, p, q) },
  );
  const [host, port] = server.address.split(':');
  return { host: host!, port: Number(port) };
}

function request(addr: { host: string; port: number }, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...addr, method, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('introspection routes', () => {
  it('serves over loopback TCP; read-only; unknown paths 404', async () => {
    const addr = await serve();
    const tcp = { kind: 'tcp' as const, ...addr };
    expect((await getJson(tcp, '/v1/pods')).body).toMatchObject({ pods: [{ name: 'web', ip: '10.0.0.7' }] });
    expect(await request(addr, 'POST', '/v1/pods')).toBe(405);
    expect(await request(addr, 'DELETE', '/v1/pool')).toBe(405);
    expect(await request(addr, 'GET', '/v1/enis')).toBe(404);
    expect(await request(addr, 'GET', '/metrics')).toBe(200);
  });

  it('pool records come from the pod DB when the allocator keeps none in memory (VPCENI)', async () => {
    const addr = await serve();
    const pool = (await getJson({ kind: 'tcp', ...addr }, '/v1/pool')).body as PoolView;
    expect(pool).toMatchObject({ mode: 'VPCENI', source: 'db', stats: STATS });
    expect(pool.enis).toEqual([expect.objectContaining({ eniId: 'eni-a', mac: alloc.eniMac, assignedTo: { '10.0.0.7': alloc.podKey } })]);
    expect(((await getJson({ kind: 'tcp', ...addr }, '/v1/pool?eni=eni-zzz')).body as PoolView).enis).toEqual([]);
  });

  it('config is redacted', async () => {
    const addr = await serve();
    const c = (await getJson({ kind: 'tcp', ...addr }, '/v1/config')).body as Record<string, unknown>;
    expect(c).toMatchObject({ accessKey: '<redacted>', accessSecret: '<redacted>', daemonMode: 'VPCENI' });
    expect(JSON.stringify(c)).not.toMatch(/AKID|topsecret/);
  });

  it('a failed DescribeNetworkInterfaces answers 502 and the CLI exits 2, not 1', async () => {
    let calls = 0;
    const addr = await serve({
      cloud: {
        describeNetworkInterfaces: () => {
          calls++;
          return Promise.reject(
            new CloudError({
              api: 'DescribeNetworkInterfaces',
              code: 'Throttling.User',
              message: 'Request was denied due to user flow control.',
              retryable: true,
            }),
          );
        },
      },
    });
    const r = await getJson({ kind: 'tcp', ...addr }, '/v1/mapping');
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'Throttling.User' });
    expect(calls).toBe(1);
    let err = '';
    const code = await runCli(['--addr', `${addr.host}:${addr.port}`, 'mapping'], { out: () => {}, err: (s) => (err += s), env: {} });
    expect(code).toBe(2);
    expect(err).toMatch(/HTTP 502: cloud check failed: DescribeNetworkInterfaces: Throttling.User/);
  });

  it('mapping with a cloud that agrees is ok; one that lost the ENI is not', async () => {
    const eni = {
      eniId: 'eni-a',
      mac: alloc.eniMac,
      type: 'Secondary' as const,
      status: 'InUse' as const,
      instanceId: 'i-1',
      vSwitchId: 'vsw-1',
      zoneId: 'z',
      vpcId: 'v',
      securityGroupIds: [],
      primaryIp: '10.0.0.7',
      secondaryIps: [],
      ipv6s: [],
      tags: {},
    };
    const enis = [eni];
    const addr = await serve({ cloud: { describeNetworkInterfaces: () => Promise.resolve(enis.map((e) => ({ ...e }))) } });
    const argv = ['--addr', `:${addr.port}`, 'mapping'];
    const io = { out: () => {}, err: () => {}, env: {} };
    expect(await runCli(argv, io)).toBe(0);
    enis.length = 0;
    expect(await runCli(argv, io)).toBe(1);
  });

  it('concurrent mapping requests share one DescribeNetworkInterfaces call', async () => {
    let calls = 0;
    let answer: (v: never[]) => void = () => {};
    const config = parseDaemonConfig({ instance_id: 'i-1' }).config;
    const intro = new Introspection({
      instanceId: 'i-1',
      config,
      allocator: fakeAllocator([alloc]),
      cloud: {
        describeNetworkInterfaces: () => {
          calls++;
          return new Promise((r) => (answer = r));
        },
      },
    });
    const replies = Promise.all([intro.mapping(), intro.mapping({ namespace: 'default', name: 'web' }), intro.mapping()]);
    answer([]);
    const got = await replies;
    expect(calls).toBe(1);
    // The cloud lists no ENI: the pod's IP is missing there.
    expect(got.map((g) => [g.ok, g.rows[0]?.cloud])).toEqual([
      [false, 'missing'],
      [false, 'missing'],
      [false, 'missing'],
    ]);
    // Once answered, the next request asks again.
    const next = intro.mapping();
    answer([]);
    await next;
    expect(calls).toBe(2);
  });

  it('a daemon-side failure answers 500 and the listener keeps serving', async () => {
    const broken = fakeAllocator([alloc]);
    broken.list = () => {
      throw new Error('database is closed');
    };
    const addr = await serve({ allocator: broken });
    const tcp = { kind: 'tcp' as const, ...addr };
    const r = await getJson(tcp, '/v1/pods');
    expect(r).toEqual({ status: 500, body: { error: 'database is closed' } });
    expect((await getJson(tcp, '/v1/config')).status).toBe(200);
  });

  it('CLI usage errors exit 2', async () => {
    let err = '';
    const io = { out: () => {}, err: (s: string) => (err += s), env: {} };
    expect(await runCli(['--addr', '/x', 'frobnicate'], io)).toBe(2);
    expect(err).toMatch(/unknown command/);
    expect(await runCli(['--addr', 'not an address', 'pods'], io)).toBe(2);
    expect(err).toMatch(/bad address/);
    expect(await runCli(['--bogus'], io)).toBe(2);
  });

  it('only loopback peers may read /v1 over TCP', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.5')).toBe(false);
    expect(isLoopback('::ffff:10.0.0.5')).toBe(false);
  });
});
