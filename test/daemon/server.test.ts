// The daemon's gRPC surface over a real unix socket, with in-memory allocator and driver.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { SocketInUseError } from '../../daemon/server/socket.js';
import { ENI_PROTO_PATH, findPackageRoot, loadServices } from '../../daemon/server/proto.js';
import { testConfig } from '../support/daemon.js';
import { connect, grpcError, podMsg, type TestClient } from '../support/daemonClient.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver, Gate } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

interface Setup {
  handle: DaemonHandle;
  client: TestClient;
  allocator: FakeAllocator;
  driver: FakeDriver;
  dir: string;
  log: ReturnType<typeof captureLog>;
}

const running: Setup[] = [];

async function setup(over: Record<string, unknown> = {}, allocator = new FakeAllocator(), driver = new FakeDriver()): Promise<Setup> {
  const dir = tempDir();
  const log = captureLog();
  const handle = await startDaemon(testConfig(dir, over), { allocator, driver, metadata: FAKE_METADATA, logger: log.logger });
  const client = connect(handle.socketPath);
  const s = { handle, client, allocator, driver, dir, log };
  running.push(s);
  return s;
}

afterEach(async () => {
  for (const s of running.splice(0)) {
    s.client.close();
    await s.handle.stop();
  }
});

const alloc = (c: TestClient, id: string, over: Record<string, unknown> = {}) =>
  c.call<Record<string, any>>('AllocIP', { pod: podMsg(id), api_version: API_VERSION, plugin_version: 'test', ...over });
const release = (c: TestClient, id: string) =>
  c.call<Record<string, any>>('ReleaseIP', { pod: podMsg(id), api_version: API_VERSION, reason: 'test' });

describe('AllocIP / ReleaseIP', () => {
  it('allocates, wires and answers with the CNI-shaped reply', async () => {
    const { client, driver } = await setup();
    const r = await alloc(client, 'c1');
    expect(r).toMatchObject({
      success: true,
      failure_reason: 'FAILURE_NONE',
      ip_type: 'ENI_MULTI_IP',
      ips: [{ address: '10.0.1.10/32', gateway: '169.254.1.1', family: 4 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      interface: { name: 'eth0', mac: '0a:58:0a:00:01:0a', host_if_name: 'enic1', host_if_mac: 'ee:ee:ee:ee:ee:ee' },
      eni_id: 'eni-fake1',
      eni_mac: '02:00:00:00:00:01',
      vswitch_id: 'vsw-fake',
    });
    expect(driver.setups).toHaveLength(1);
    expect(driver.setups[0]).toMatchObject({
      containerId: 'c1',
      netnsPath: '/var/run/netns/cni-c1',
      ifName: 'eth0',
      ip: '10.0.1.10',
      mtu: 1500,
      gateway: '10.0.1.253',
    });
  });

  it('refuses a plugin speaking another API version with FAILED_PRECONDITION naming both versions', async () => {
    const { client, allocator } = await setup();
    for (const method of ['AllocIP', 'ReleaseIP', 'CheckIP', 'GetIPInfo']) {
      const err = await grpcError(client.call(method, { pod: podMsg('c1'), api_version: API_VERSION + 1 }));
      expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(err.details).toContain(`plugin speaks eni.proto API version ${API_VERSION + 1}, daemon speaks ${API_VERSION}`);
    }
    const st = await grpcError(client.call('Status', { api_version: 0 }));
    expect(st.code).toBe(grpc.status.FAILED_PRECONDITION);
    const gc = await grpcError(client.call('GC', { network_name: 'n', api_version: 99 }));
    expect(gc.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(allocator.allocateCalls).toBe(0);
  });

  it.each([
    ['container id', { k8s_pod_infra_container_id: '' }, /container id/],
    ['if name', { if_name: '' }, /if_name \(interface name\) is required/],
    ['netns', { netns: '' }, /pod\.netns is required/],
  ])('rejects a request without %s with INVALID_ARGUMENT', async (_what, over, want) => {
    const { client, allocator } = await setup();
    const err = await grpcError(client.call('AllocIP', { pod: podMsg('c1', over), api_version: API_VERSION }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(want);
    expect(allocator.allocateCalls).toBe(0);
  });

  it('rejects a request without pod', async () => {
    const { client } = await setup();
    const err = await grpcError(client.call('ReleaseIP', { api_version: API_VERSION }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('pod is required');
  });

  it('serializes two concurrent AllocIP for one pod key: one allocation, same IP', async () => {
    const allocator = new FakeAllocator();
    const gate = new Gate();
    allocator.gate = gate.promise;
    const { client, driver } = await setup({}, allocator);
    const a = alloc(client, 'same');
    const b = alloc(client, 'same');
    await waitFor(() => allocator.allocateCalls === 1, 'first allocate');
    // The second call waits on the pod-key lock, not inside the allocator.
    await new Promise((r) => setTimeout(r, 50));
    expect(allocator.allocateCalls).toBe(1);
    gate.open();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.success && rb.success).toBe(true);
    expect(rb.ips[0].address).toBe(ra.ips[0].address);
    expect(allocator.allocs.size).toBe(1);
    expect(allocator.maxConcurrentAllocs).toBe(1);
    expect(driver.setups).toHaveLength(1); // the repeat was answered from the first wiring
  });

  it('runs AllocIP for different pod keys in parallel', async () => {
    const allocator = new FakeAllocator();
    const gate = new Gate();
    allocator.gate = gate.promise;
    const { client } = await setup({}, allocator);
    const calls = ['p1', 'p2', 'p3'].map((id) => alloc(client, id));
    await waitFor(() => allocator.concurrentAllocs === 3, 'three allocations in flight at once');
    gate.open();
    const replies = await Promise.all(calls);
    expect(new Set(replies.map((r) => r.ips[0].address)).size).toBe(3);
  });

  it('releases the allocation when the driver fails and answers DRIVER_FAILED', async () => {
    const driver = new FakeDriver();
    driver.failSetup = 'veth exists';
    const { client, allocator } = await setup({}, new FakeAllocator(), driver);
    const r = await alloc(client, 'c1');
    expect(r.success).toBe(false);
    expect(r.failure_reason).toBe('DRIVER_FAILED');
    expect(r.message).toMatch(/setup in \/var\/run\/netns\/cni-c1: veth exists/);
    expect(allocator.allocs.size).toBe(0);
    expect(allocator.releaseCalls).toBe(1);
    expect(driver.teardowns).toHaveLength(1); // undo of partial wiring
    driver.failSetup = undefined;
    const again = await alloc(client, 'c1');
    expect(again.success).toBe(true);
  });

  it('maps pool exhaustion to POOL_EXHAUSTED with the cloud code', async () => {
    const { client } = await setup({}, new FakeAllocator([]));
    const r = await alloc(client, 'c1');
    expect(r).toMatchObject({
      success: false,
      failure_reason: 'POOL_EXHAUSTED',
      cloud_error_code: 'InvalidVSwitchId.IpNotEnough',
      message: 'no free IP',
    });
  });

  it('ReleaseIP of an unknown key succeeds with nothing released', async () => {
    const { client, allocator } = await setup();
    const r = await release(client, 'ghost');
    expect(r).toMatchObject({ success: true, failure_reason: 'FAILURE_NONE', released_ip: '' });
    expect(allocator.releaseCalls).toBe(0);
  });

  it('ReleaseIP tears down, then returns the IP', async () => {
    const { client, allocator, driver } = await setup();
    await alloc(client, 'c1');
    const r = await release(client, 'c1');
    expect(r).toMatchObject({ success: true, released_ip: '10.0.1.10' });
    expect(driver.teardowns.at(-1)).toMatchObject({
      containerId: 'c1',
      ifName: 'eth0',
      ip: '10.0.1.10',
      netnsPath: '/var/run/netns/cni-c1',
      eniMac: '02:00:00:00:00:01',
    });
    expect(allocator.allocs.size).toBe(0);
    expect((await release(client, 'c1')).success).toBe(true); // again: nothing to do
  });

  it('ReleaseIP keeps the IP when teardown fails', async () => {
    const { client, allocator, driver } = await setup();
    await alloc(client, 'c1');
    driver.failTeardown = 'device busy';
    const r = await release(client, 'c1');
    expect(r).toMatchObject({ success: false, failure_reason: 'DRIVER_FAILED' });
    expect(r.message).toMatch(/IP 10\.0\.1\.10 kept/);
    expect(allocator.allocs.size).toBe(1);
  });
});

describe('CheckIP, GetIPInfo, GC, Status, RecordEvent', () => {
  it('CheckIP: NOT_FOUND, then success, then CHECK_FAILED', async () => {
    const { client, driver } = await setup();
    const req = { pod: podMsg('c1'), api_version: API_VERSION };
    expect(await client.call('CheckIP', req)).toMatchObject({ success: false, failure_reason: 'NOT_FOUND' });
    await alloc(client, 'c1');
    expect(await client.call('CheckIP', req)).toMatchObject({ success: true });
    driver.failCheck = 'eth0 has no address';
    const r = await client.call<Record<string, string>>('CheckIP', req);
    expect(r).toMatchObject({ success: false, failure_reason: 'CHECK_FAILED' });
    expect(r.message).toMatch(/eth0 has no address/);
  });

  it('GetIPInfo reports what is held', async () => {
    const { client } = await setup();
    const req = { pod: podMsg('c1'), api_version: API_VERSION };
    expect(await client.call('GetIPInfo', req)).toMatchObject({ success: true, found: false, failure_reason: 'NOT_FOUND' });
    await alloc(client, 'c1');
    expect(await client.call('GetIPInfo', req)).toMatchObject({
      success: true,
      found: true,
      ip_type: 'ENI_MULTI_IP',
      ips: [{ address: '10.0.1.10/32', gateway: '10.0.1.253', family: 4 }],
      eni_id: 'eni-fake1',
      netns: '/var/run/netns/cni-c1',
    });
  });

  it('GC releases only the stale allocations of the named network and tears them down', async () => {
    const { client, allocator, driver } = await setup();
    await alloc(client, 'keep');
    await alloc(client, 'stale');
    await alloc(client, 'other', { pod: podMsg('other', { network_name: 'other-net' }) });
    const r = await client.call<Record<string, any>>('GC', {
      network_name: 'eni-net',
      valid_attachments: [{ container_id: 'keep', if_name: 'eth0' }],
      api_version: API_VERSION,
    });
    expect(r).toMatchObject({ success: true, released: ['stale/eth0/eni-net'] });
    expect([...allocator.allocs.keys()].sort()).toEqual(['keep/eth0/eni-net', 'other/eth0/other-net']);
    expect(driver.teardowns.map((t) => t.containerId)).toEqual(['stale']);
    const bad = await grpcError(client.call('GC', { network_name: '', api_version: API_VERSION }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('Status is ready with free IPs and not ready when backing off with none', async () => {
    const allocator = new FakeAllocator(['10.0.1.10']);
    const { client } = await setup({}, allocator);
    expect(await client.call('Status', { api_version: API_VERSION })).toMatchObject({
      ready: true,
      ip_type: 'ENI_MULTI_IP',
      free_ips: 1,
      total_ips: 1,
      api_version: API_VERSION,
    });
    await alloc(client, 'c1');
    allocator.backoffUntil = Date.now() + 60_000;
    const s = await client.call<Record<string, any>>('Status', { api_version: API_VERSION });
    expect(s.ready).toBe(false);
    expect(s.message).toMatch(/no free IP and allocation paused/);
  });

  it('RecordEvent goes to the log', async () => {
    const { client, log } = await setup();
    const r = await client.call('RecordEvent', {
      target: 'EVENT_TARGET_POD',
      k8s_pod_name: 'p',
      k8s_pod_namespace: 'ns',
      type: 'EVENT_TYPE_WARNING',
      reason: 'AllocIPFailed',
      message: 'boom',
    });
    expect(r).toEqual({ succeed: true, error: '' });
    expect(log.lines().find((l) => l['event'] === true)).toMatchObject({
      level: 'warn',
      reason: 'AllocIPFailed',
      pod: 'ns/p',
      msg: 'boom',
    });
  });
});

describe('proto path', () => {
  it('resolves from source and from a dist/ location alike', () => {
    const root = findPackageRoot();
    expect(existsSync(join(root, 'package.json'))).toBe(true);
    expect(findPackageRoot(join(root, 'dist', 'daemon', 'server'))).toBe(root);
    expect(ENI_PROTO_PATH).toBe(join(root, 'proto', 'eni.proto'));
    expect(existsSync(ENI_PROTO_PATH)).toBe(true);
  });
});

describe('health, socket and lifecycle', () => {
  it('serves grpc.health.v1 Check', async () => {
    const { client } = await setup();
    expect(await client.health('')).toEqual({ status: 'SERVING' });
    expect(await client.health('eniipam.v1.EniBackend')).toEqual({ status: 'SERVING' });
    const err = await grpcError(client.health('nope'));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });

  it('Watch streams SERVING, then NOT_SERVING when the daemon stops', async () => {
    const { handle } = await setup();
    running.pop(); // stopped here
    const { HealthClient } = loadServices();
    const hc = new HealthClient(`unix:${handle.socketPath}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
    };
    const seen: string[] = [];
    const stream = hc.Watch({ service: '' });
    const ended = new Promise<void>((resolve) => {
      stream.on('end', () => resolve());
      stream.on('error', () => resolve());
    });
    stream.on('data', (m: { status: string }) => seen.push(m.status));
    await waitFor(() => seen.length === 1, 'first health status');
    await handle.stop();
    await ended;
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    hc.close();
  });

  it('binds the socket with mode 0600', async () => {
    const { handle } = await setup();
    const st = statSync(handle.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('removes a stale socket at start and its own socket at stop', async () => {
    const dir = tempDir();
    const path = join(dir, 'eni.socket');
    // A process that bound the socket and died without cleaning up.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(statSync(path).isSocket()).toBe(true);
    const log = captureLog();
    const handle = await startDaemon(testConfig(dir), {
      allocator: new FakeAllocator(),
      driver: new FakeDriver(),
      metadata: FAKE_METADATA,
      logger: log.logger,
    });
    expect(log.lines().some((l) => l['msg'] === 'removed a stale socket')).toBe(true);
    const client = connect(path);
    expect(await client.health()).toEqual({ status: 'SERVING' });
    client.close();
    await handle.stop();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to start over a live socket or a regular file', async () => {
    const dir = tempDir();
    const path = join(dir, 'eni.socket');
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(path, () => r()));
    try {
      await expect(
        startDaemon(testConfig(dir), {
          allocator: new FakeAllocator(),
          driver: new FakeDriver(),
          metadata: FAKE_METADATA,
          logger: captureLog().logger,
        }),
      ).rejects.toBeInstanceOf(SocketInUseError);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
    writeFileSync(path, 'not a socket');
    await expect(
      startDaemon(testConfig(dir), {
        allocator: new FakeAllocator(),
        driver: new FakeDriver(),
        metadata: FAKE_METADATA,
        logger: captureLog().logger,
      }),
    ).rejects.toThrow(/is not a unix socket/);
  });

  it('starts in VPCENI mode with the whole-ENI service', async () => {
    const handle = await startDaemon(testConfig(tempDir(), { daemon_mode: 'VPCENI' }), {
      allocator: new FakeAllocator(),
      driver: new FakeDriver(),
      metadata: FAKE_METADATA,
      logger: captureLog().logger,
    });
    try {
      expect(handle.service.ipType).toBe('VPC_ENI');
    } finally {
      await handle.stop();
    }
  });

  it('stop drains in-flight calls, then stops the pool; later calls cannot connect', async () => {
    const allocator = new FakeAllocator();
    const gate = new Gate();
    allocator.gate = gate.promise;
    const { handle, client } = await setup({}, allocator);
    running.pop(); // stopped here
    const inflight = alloc(client, 'c1');
    await waitFor(() => allocator.allocateCalls === 1, 'allocation in flight');
    const stopped = handle.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(allocator.stopped).toBe(false); // still draining
    gate.open();
    const r = await inflight;
    expect(r.success).toBe(true);
    await stopped;
    expect(allocator.stopped).toBe(true);
    expect(existsSync(handle.socketPath)).toBe(false);
    const late = await grpcError(client.call('Status', { api_version: API_VERSION }, 1000));
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(late.code);
    client.close();
  });

  it('/healthz answers 200 while serving and 503 while draining', async () => {
    const allocator = new FakeAllocator();
    const gate = new Gate();
    allocator.gate = gate.promise;
    const { handle, client } = await setup({ metrics_listen: '127.0.0.1:0' }, allocator);
    running.pop(); // stopped here
    const url = `http://${handle.metricsAddress}/healthz`;
    expect((await fetch(url)).status).toBe(200);
    const inflight = alloc(client, 'h1');
    await waitFor(() => allocator.allocateCalls === 1, 'allocation in flight');
    const stopped = handle.stop();
    const draining = await fetch(url);
    expect(draining.status).toBe(503);
    expect(await draining.text()).toBe('shutting down\n');
    gate.open();
    expect((await inflight).success).toBe(true);
    await stopped;
    client.close();
  });

  it('stop cancels calls still running at the shutdown bound', async () => {
    const allocator = new FakeAllocator();
    allocator.gate = new Promise<void>(() => {}); // never opens
    const { handle, client, log } = await setup({ shutdown_timeout: '200ms' }, allocator);
    running.pop(); // stopped here
    const stuck = alloc(client, 'stuck').then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    await waitFor(() => allocator.allocateCalls === 1, 'allocation in flight');
    await handle.stop();
    const err = await stuck;
    expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain(err?.code);
    expect(log.lines().find((l) => l['msg'] === 'in-flight requests cancelled at the shutdown bound')).toMatchObject({ pending: 1 });
    expect(allocator.stopped).toBe(true);
    client.close();
  });

  it('logs pod and ENI fields as JSON and never the secret', async () => {
    const { client, log } = await setup({ access_key: 'AKIDVISIBLE', access_secret: 'TOPSECRETVALUE' });
    await alloc(client, 'c9');
    const done = log.lines().find((l) => l['msg'] === 'AllocIP done');
    expect(done).toMatchObject({
      pod: 'default/pod-c9',
      containerId: 'c9',
      ifName: 'eth0',
      podKey: 'c9/eth0/eni-net',
      eniId: 'eni-fake1',
      ip: '10.0.1.10',
      level: 'info',
    });
    expect(log.text()).not.toContain('TOPSECRETVALUE');
    expect(log.text()).not.toContain('AKIDVISIBLE');
    expect(log.lines().some((l) => l['msg'] === 'daemon ready')).toBe(true);
  });
});
