// VPCENI GC by pod existence wired through startDaemon: the Kubernetes owner check (createOwnerCheck
// over a fake API), the pool's GC, KernelHygiene and VpcEniService.teardownGone (per-pod-key lock),
// against the mock cloud with a recording driver. Also teardownGone's lock at the service level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { VpcEniService } from '../../daemon/modes/index.js';
import { EniPool } from '../../pool/enipool/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { FakeAllocator, FakeDriver, FakeKube, RecordingEvents } from '../support/fakes.js';
import { podRef as pod } from '../support/pods.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

describe('daemon VPCENI: GC by pod existence', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle;
  let client: TestClient;
  const kube = new FakeKube();
  const driver = new FakeDriver();
  const events = new RecordingEvents();
  const order: string[] = [];

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 5, detachDelayMs: 5 });
    const dir = tempDir();
    const config = mockCloudConfig(mock, dir, {
      daemon_mode: 'VPCENI',
      vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      min_pool_size: 0,
      max_pool_size: 3,
      ip_cooldown: '0s',
      gc_grace: '0s',
      db_path: join(dir, 'db', 'pods.db'),
    });
    const origTeardown = driver.teardown.bind(driver);
    driver.teardown = async (spec) => {
      order.push(`teardown:${spec.containerId}`);
      return origTeardown(spec);
    };
    handle = await startDaemon(config, { logger: captureLog().logger, kube, driver, events, env: { NODE_NAME: 'node-1' } });
    client = connect(handle.socketPath);
    const pool = handle.allocator as EniPool;
    const origRelease = pool.release.bind(pool);
    pool.release = async (k) => {
      order.push(`release:${k.split('/')[0]}`);
      return origRelease(k);
    };
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  const alloc = (id: string) => client.call<Record<string, any>>('AllocIP', { pod: podMsg(id), api_version: API_VERSION }, 30_000);

  it('a deleted pod: its ENI link is moved back first, then the ENI returns to the pool; live pods are kept', async () => {
    expect(handle.allocator).toBeInstanceOf(EniPool);
    // gc_interval / gc_grace reach the ENI pool.
    expect((handle.allocator as EniPool).config).toMatchObject({ gcIntervalMs: handle.config.gcIntervalMs, gcGraceMs: 0 });
    const a = await alloc('gc-a');
    const b = await alloc('gc-b');
    expect(a.success && b.success).toBe(true);
    kube.gone.add('pod-gc-a');
    order.length = 0;
    const released = await (handle.allocator as EniPool).gc();
    expect(released.map((k) => k.split('/')[0])).toEqual(['gc-a']);
    expect(order).toEqual(['teardown:gc-a', 'release:gc-a']);
    expect(driver.teardowns.at(-1)).toMatchObject({ containerId: 'gc-a', eniMac: a.eni_mac, netnsPath: '/var/run/netns/cni-gc-a' });
    expect(handle.allocator.list().map((x) => x.containerId)).toEqual(['gc-b']);
    // The ENI is warm again, still attached.
    expect(mock.dump().enis.find((e) => e.eniId === a.eni_id)).toMatchObject({ status: 'InUse' });
    await waitFor(() => handle.allocator.stats().free >= 1, 'ENI back in the pool');
  });

  it('teardown fails: the ENI stays assigned and a Warning goes on the pod', async () => {
    kube.gone.add('pod-gc-b');
    driver.failTeardown = 'EBUSY: link busy';
    try {
      expect(await (handle.allocator as EniPool).gc()).toEqual([]);
    } finally {
      driver.failTeardown = undefined;
    }
    expect(handle.allocator.list().map((x) => x.containerId)).toEqual(['gc-b']);
    await waitFor(() => events.all.some((e) => e.reason === 'GCReleaseFailed'), 'pod warning');
    expect(events.all.find((e) => e.reason === 'GCReleaseFailed')).toMatchObject({
      target: 'pod',
      namespace: 'default',
      name: 'pod-gc-b',
      type: 'Warning',
    });
    // Next round, teardown works: released.
    expect((await (handle.allocator as EniPool).gc()).map((k) => k.split('/')[0])).toEqual(['gc-b']);
  });
});

describe('VpcEniService.teardownGone', () => {
  it('waits for an AllocIP of the same pod key (per-pod-key lock) and tears the ENI link down by MAC', async () => {
    const allocator = new FakeAllocator();
    const driver = new FakeDriver();
    const svc = new VpcEniService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    await svc.start();
    await svc.allocIp(pod('t'), { deadlineMs: 1000 });
    const cur = allocator.get('t/eth0/net')!;
    let open!: () => void;
    driver.gate = new Promise<void>((r) => (open = r));
    const readd = svc.allocIp(pod('t'), { deadlineMs: 1000 }); // repeated ADD holds the lock, blocked in setup
    driver.failCheck = 'gone'; // so the repeated ADD re-wires (and so waits on the gate)
    const gone = svc.teardownGone(cur);
    await new Promise((r) => setTimeout(r, 20));
    const teardownsWhileLocked = driver.teardowns.filter((t) => t.containerId === 't').length;
    open();
    await readd;
    await gone;
    // The ADD tore the old wiring down itself before re-wiring (1); GC's teardown ran only after the ADD finished.
    expect(teardownsWhileLocked).toBe(1);
    expect(driver.teardowns.at(-1)).toMatchObject({ containerId: 't', eniMac: cur.eniMac, netnsPath: '/var/run/netns/t' });
    expect(driver.teardowns).toHaveLength(2);
  });

  it('does nothing when the pod key was released meanwhile', async () => {
    const allocator = new FakeAllocator();
    const driver = new FakeDriver();
    const svc = new VpcEniService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    await svc.start();
    await svc.allocIp(pod('u'), { deadlineMs: 1000 });
    const cur = allocator.get('u/eth0/net')!;
    await svc.releaseIp(pod('u'), 'test');
    const n = driver.teardowns.length;
    await svc.teardownGone(cur);
    expect(driver.teardowns).toHaveLength(n);
  });
});
