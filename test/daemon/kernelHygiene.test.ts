// Kernel hygiene wiring: GC of a gone pod unwires it before the pool frees its IP, ENI tables go with
// their ENI, start-up repair gets the live allocations, and the ENI primary IP reaches the driver.
import { afterEach, describe, expect, it } from 'vitest';
import { EniMultiIpService, ServiceError } from '../../daemon/modes/index.js';
import { KernelHygiene } from '../../daemon/modes/kernelHygiene.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { EniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../../pool/store.js';
import { podKeyOf, type IpAllocation, type PodRef } from '../../pool/types.js';
import type { LivePod } from '../../drivers/types.js';
import { FakeCloud } from '../pool/fakeCloud.js';
import { testConfig } from '../support/daemon.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver, Gate } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { podRef } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';

const pod = (id: string): PodRef => podRef(id, { namespace: 'ns', name: `p-${id}`, netns: '/proc/1/ns/net' });

/** FakeDriver plus the optional kernel-repair methods. */
class RepairingDriver extends FakeDriver {
  readonly reconciles: LivePod[][] = [];
  readonly removedTables: { mac: string; primaryIp?: string; vSwitchCidr?: string }[] = [];
  failReconcile?: string;
  async reconcile(live: LivePod[]): Promise<{ removed: string[] }> {
    this.reconciles.push(live);
    if (this.failReconcile) throw new Error(this.failReconcile);
    return { removed: ['veth eniStale (10.9.9.9)'] };
  }
  async removeEniTable(eni: { mac: string; primaryIp?: string; vSwitchCidr?: string }): Promise<void> {
    this.removedTables.push(eni);
  }
}

describe('EniMultiIpService.teardownGone', () => {
  const make = () => {
    const allocator = new FakeAllocator();
    const driver = new FakeDriver();
    const svc = new EniMultiIpService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    return { allocator, driver, svc };
  };

  it('tears the pod down and forgets the cached reply, so the next ADD wires again', async () => {
    const { allocator, driver, svc } = make();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    await svc.allocIp(pod('a'), { deadlineMs: 1000 }); // repeated ADD answered from the cache
    expect(driver.setups).toHaveLength(1);
    const alloc = allocator.get(podKeyOf(pod('a')))!;
    await svc.teardownGone(alloc);
    expect(driver.teardowns).toEqual([expect.objectContaining({ containerId: 'a', ifName: 'eth0', ip: alloc.ip, eniMac: alloc.eniMac })]);
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(driver.setups).toHaveLength(2);
  });

  it('throws when teardown fails, and does nothing for a key released or re-allocated meanwhile', async () => {
    const { allocator, driver, svc } = make();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    const alloc = allocator.get(podKeyOf(pod('a')))!;
    driver.failTeardown = 'EBUSY';
    await expect(svc.teardownGone(alloc)).rejects.toThrow(/EBUSY/);
    driver.failTeardown = undefined;
    await svc.releaseIp(pod('a'), 'test');
    const n = driver.teardowns.length;
    await svc.teardownGone(alloc); // released: nothing
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    await svc.teardownGone({ ...alloc, allocatedAt: alloc.allocatedAt - 1 }); // stale view of a re-allocated key
    expect(driver.teardowns).toHaveLength(n);
  });

  it('waits for an in-flight ADD of the same key (per-pod-key lock)', async () => {
    const { allocator, driver, svc } = make();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    const alloc = allocator.get(podKeyOf(pod('a')))!;
    const gate = new Gate();
    driver.failCheck = 'wiring gone'; // the repeated ADD re-wires: teardown + setup, held at the gate
    driver.gate = gate.promise;
    const add = svc.allocIp(pod('a'), { deadlineMs: 1000 });
    await new Promise((r) => setTimeout(r, 5));
    const before = driver.teardowns.length;
    let done = false;
    const gone = svc.teardownGone(alloc).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    expect(driver.teardowns).toHaveLength(before);
    gate.open();
    await add;
    await gone;
    expect(driver.teardowns).toHaveLength(before + 1);
  });

  it('an ADD whose allocation is released while it wires removes the wiring and fails', async () => {
    const { allocator, driver, svc } = make();
    const gate = new Gate();
    driver.gate = gate.promise;
    const add = svc.allocIp(pod('a'), { deadlineMs: 1000 });
    await new Promise((r) => setTimeout(r, 5));
    await allocator.release(podKeyOf(pod('a'))); // what pool GC does right after its hook
    gate.open();
    await expect(add).rejects.toBeInstanceOf(ServiceError);
    expect(driver.teardowns.at(-1)).toMatchObject({ containerId: 'a', ifName: 'eth0' });
  });
});

describe('KernelHygiene', () => {
  it('refuses GC release until bound, forwards ENI removal and start-up repair to the driver', async () => {
    const h = new KernelHygiene(captureLog().logger);
    const alloc = { podKey: 'k', ip: '10.0.0.5' } as IpAllocation;
    await expect(h.beforeRelease(alloc, 'gc')).rejects.toThrow(/no pod service/);
    const driver = new RepairingDriver();
    const gone: IpAllocation[] = [];
    h.bind({ driver, teardownGone: async (a) => void gone.push(a) });
    await h.beforeRelease(alloc, 'gc');
    expect(gone).toEqual([alloc]);
    await h.onEniRemoved({ eniId: 'eni-1', mac: '02:00:00:00:00:09', primaryIp: '10.0.0.2', vSwitchCidr: '10.0.0.0/24' });
    expect(driver.removedTables).toEqual([{ mac: '02:00:00:00:00:09', primaryIp: '10.0.0.2', vSwitchCidr: '10.0.0.0/24' }]);
    expect(await h.reconcile([{ containerId: 'c1', ifName: 'eth0', ip: '10.0.0.7' } as IpAllocation])).toEqual([
      'veth eniStale (10.9.9.9)',
    ]);
    expect(driver.reconciles).toEqual([[{ containerId: 'c1', ifName: 'eth0', ip: '10.0.0.7' }]]);
    driver.failReconcile = 'netlink down';
    expect(await h.reconcile([])).toEqual([]); // logged, not fatal
  });

  it('is a no-op for drivers without reconcile / removeEniTable', async () => {
    const h = new KernelHygiene(captureLog().logger);
    h.bind({ driver: new FakeDriver() });
    expect(await h.reconcile([])).toEqual([]);
    await h.onEniRemoved({ eniId: 'eni-1', mac: '02:00:00:00:00:09', vSwitchCidr: '10.0.0.0/24' });
  });
});

describe('daemon wiring (real pool, fake cloud)', () => {
  const handles: DaemonHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.stop();
  });

  const start = async (store: MemoryPoolStore, cloud: FakeCloud, driver: RepairingDriver, gone: Set<string>) => {
    const h = await startDaemon(testConfig(tempDir(), { security_group: 'sg-1', gc_grace: '0s', ip_cooldown: '0s' }), {
      cloud,
      store,
      metadata: { ...FAKE_METADATA, instanceType: 'ecs.fake' },
      driver,
      ownerCheck: { goneOwners: async (allocs) => allocs.filter((a) => gone.has(a.name)) },
      logger: captureLog().logger,
      kube: null,
      env: {},
    });
    handles.push(h);
    return h;
  };

  it('GC of a gone pod tears it down before the IP is freed; a failing teardown keeps the IP; restart repairs with the live list', async () => {
    const cloud = new FakeCloud({ instanceId: 'i-test', vSwitches: [{ id: 'vsw-test', cidr: '10.8.0.0/24' }] });
    const store = new MemoryPoolStore();
    const driver = new RepairingDriver();
    const gone = new Set<string>();
    const h = await start(store, cloud, driver, gone);
    expect(driver.reconciles).toEqual([[]]); // start-up repair ran, nothing live yet

    await h.service.allocIp(pod('a'), { deadlineMs: 2000 });
    await h.service.allocIp(pod('b'), { deadlineMs: 2000 });
    const a = h.allocator.get(podKeyOf(pod('a')))!;
    const b = h.allocator.get(podKeyOf(pod('b')))!;
    // The ENI primary IP reaches the driver spec.
    const eniPrimary = cloud.enis.get(a.eniId)!.primaryIp;
    expect(driver.setups[0]?.eniPrimaryIp).toBe(eniPrimary);

    const pool = h.allocator as EniMultiIpPool;
    gone.add('p-a');
    driver.failTeardown = 'EBUSY';
    expect(await pool.gc()).toEqual([]);
    expect(h.allocator.get(a.podKey)?.ip).toBe(a.ip); // kept
    expect(driver.teardowns.filter((t) => t.containerId === 'a')).toHaveLength(1);

    driver.failTeardown = undefined;
    expect(await pool.gc()).toEqual([a.podKey]);
    expect(driver.teardowns.filter((t) => t.containerId === 'a').at(-1)).toMatchObject({ ip: a.ip, ifName: 'eth0' });
    expect(h.allocator.get(a.podKey)).toBeUndefined();
    expect(h.allocator.get(b.podKey)).toBeDefined();
    expect(driver.teardowns.some((t) => t.containerId === 'b')).toBe(false);

    await h.stop();
    const driver2 = new RepairingDriver();
    await start(store, cloud, driver2, gone);
    expect(driver2.reconciles).toEqual([[{ containerId: 'b', ifName: 'eth0', ip: b.ip }]]);
  });
});
