// The ENI pool's periodic GC by pod existence and its periodic cloud reconcile, against the mock
// cloud through the SDK client, a SQLite pod DB and a fake clock (timers off: gc()/reconcile() by hand).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ecsClient, $ecs } from '../../sim/mockcloud/sdk.js';
import { openPoolStore, type SqlitePoolStore } from '../../daemon/store/index.js';
import { EniPool, type EniPoolConfigInput, type EniPoolEvent } from '../../pool/enipool/index.js';
import type { Eni } from '../../daemon/cloud/types.js';
import type { IpAllocation, OwnerCheck } from '../../pool/types.js';
import { FakeClock } from '../support/clock.js';
import { mockCloudClient } from '../support/mockCloud.js';
import { podRef as pod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { NODE, oursInCloud } from './rig.js';

/** Owner check answering from a set of gone pod names; records what it was asked. */
class FakeOwnerCheck implements OwnerCheck {
  readonly gone = new Set<string>();
  readonly asked: string[][] = [];
  async goneOwners(allocs: IpAllocation[]): Promise<IpAllocation[]> {
    this.asked.push(allocs.map((a) => a.name).sort());
    return allocs.filter((a) => this.gone.has(a.name));
  }
}

interface Rig {
  pool: EniPool;
  store: SqlitePoolStore;
  events: EniPoolEvent[];
  owner: FakeOwnerCheck;
  /** What beforeRelease saw / did, in order. */
  log: string[];
  failTeardown: { msg?: string; during?: (a: IpAllocation) => Promise<void> };
  /** When set, DescribeNetworkInterfaces(instanceId) answers this (a stale listing). */
  stale: { attached?: Eni[] };
  close(): Promise<void>;
}

function makeRig(mc: MockCloudHandle, clock: FakeClock, config: EniPoolConfigInput): Rig {
  const store = openPoolStore(join(tempDir(), 'pods.db'), { checkpointIntervalMs: 0 });
  const cloud = mockCloudClient(mc);
  const real = cloud.describeNetworkInterfaces.bind(cloud);
  const stale: Rig['stale'] = {};
  cloud.describeNetworkInterfaces = async (q) => (q.instanceId && stale.attached ? stale.attached : real(q));
  const events: EniPoolEvent[] = [];
  const owner = new FakeOwnerCheck();
  const log: string[] = [];
  const failTeardown: Rig['failTeardown'] = {};
  let pool: EniPool | undefined;
  pool = new EniPool({
    cloud,
    store,
    instanceId: NODE,
    instanceType: mc.dump().instances.find((i) => i.instanceId === NODE)!.instanceType,
    vSwitchIds: ['vsw-mock-b'],
    securityGroupIds: ['sg-mock-1'],
    config: { tickIntervalMs: 1_000, gcGraceMs: 60_000, reconcileCooldownMs: 60_000, ...config },
    clock,
    timers: false,
    onEvent: (e) => events.push(e),
    ownerCheck: owner,
    beforeRelease: async (a) => {
      // The ENI must still be the pod's while its link is moved back to the host.
      log.push(`teardown ${a.name} held=${pool!.get(a.podKey)?.eniId === a.eniId}`);
      await failTeardown.during?.(a);
      if (failTeardown.msg) throw new Error(failTeardown.msg);
    },
  });
  return {
    pool,
    store,
    events,
    owner,
    log,
    failTeardown,
    stale,
    close: async () => {
      await pool!.stop();
      store.close();
    },
  };
}

const ecsOf = (mc: MockCloudHandle) => ecsClient(mc);

async function detachBehindOurBack(mc: MockCloudHandle, eniId: string, del = false): Promise<void> {
  const ecs = ecsOf(mc);
  await ecs.detachNetworkInterface(
    new $ecs.DetachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: eniId, instanceId: NODE }),
  );
  await mc.settle();
  if (del) {
    await ecs.deleteNetworkInterface(new $ecs.DeleteNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: eniId }));
    await mc.settle();
  }
}

async function attachBehindOurBack(mc: MockCloudHandle, eniId: string): Promise<void> {
  await ecsOf(mc).attachNetworkInterface(
    new $ecs.AttachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: eniId, instanceId: NODE }),
  );
  await mc.settle();
}

/** Leaves the node without ENIs of ours, so the next test's pool starts empty. */
async function cleanNode(mc: MockCloudHandle): Promise<void> {
  const ecs = ecsOf(mc);
  for (const e of oursInCloud(mc.dump())) {
    if (e.instanceId)
      await ecs.detachNetworkInterface(
        new $ecs.DetachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: e.eniId, instanceId: NODE }),
      );
    await mc.settle();
    await ecs.deleteNetworkInterface(new $ecs.DeleteNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: e.eniId }));
  }
  await mc.settle(); // deletion is asynchronous (Deleting → gone)
}

/**
 * Call inside a describe: one mock cloud for the suite; before each test a fresh started pool (handed to
 * `ready` with the mock), after it the pool closed and the node left without ENIs of ours.
 */
function usePoolRig(clock: FakeClock, config: EniPoolConfigInput, ready: (r: { mc: MockCloudHandle; rig: Rig }) => void): void {
  let mc: MockCloudHandle | undefined;
  let rig: Rig | undefined;
  beforeAll(async () => {
    mc = await startMockCloud({ attachDelayMs: 5, detachDelayMs: 5 });
  });
  afterAll(async () => {
    await mc?.close();
  });
  beforeEach(async () => {
    rig = makeRig(mc!, clock, config);
    ready({ mc: mc!, rig });
    await rig.pool.start();
  });
  afterEach(async () => {
    await rig!.close();
    await cleanNode(mc!);
  });
}

describe('ENI pool GC by pod existence', () => {
  let mc: MockCloudHandle;
  let rig: Rig;
  const clock = new FakeClock();
  usePoolRig(clock, { minPoolSize: 0, maxPoolSize: 3, cooldownMs: 0 }, (r) => ({ mc, rig } = r));

  it('unwires a gone pod before its ENI goes back; live and young pods are kept', async () => {
    const a = await rig.pool.allocate(pod('a'));
    const b = await rig.pool.allocate(pod('b'));
    clock.advance(60_000);
    const c = await rig.pool.allocate(pod('c')); // young: inside gc_grace
    rig.owner.gone.add(a.name).add(c.name);
    expect(await rig.pool.gc()).toEqual([a.podKey]);
    expect(rig.owner.asked.at(-1)).toEqual([a.name, b.name]); // c never asked about
    expect(rig.log).toEqual(['teardown pod-a held=true']);
    expect(rig.pool.get(a.podKey)).toBeUndefined();
    expect(rig.pool.get(b.podKey)).toEqual(b);
    expect(rig.pool.get(c.podKey)).toEqual(c);
    expect(
      rig.store
        .load()
        .pods.map((p) => p.podKey)
        .sort(),
    ).toEqual([b.podKey, c.podKey].sort());
    // Back in the warm pool, not deleted; the next pod may have it.
    expect(rig.pool.stats()).toMatchObject({ free: 1, assigned: 2 });
    expect(mc.dump().enis.find((e) => e.eniId === a.eniId)).toMatchObject({ status: 'InUse', instanceId: NODE });
    expect(rig.events.some((e) => e.reason === 'GCReleasedENI' && e.eniId === a.eniId)).toBe(true);
    await rig.pool.idle();
  });

  it('a failed teardown keeps the ENI assigned, raises a Warning naming the pod; the next GC releases it', async () => {
    const a = await rig.pool.allocate(pod('a'));
    clock.advance(60_000);
    rig.owner.gone.add(a.name);
    rig.failTeardown.msg = 'EBUSY moving eth0 back';
    expect(await rig.pool.gc()).toEqual([]);
    expect(rig.pool.get(a.podKey)).toEqual(a);
    expect(rig.pool.stats()).toMatchObject({ assigned: 1, free: 0 });
    const warn = rig.events.find((e) => e.reason === 'GCReleaseFailed');
    expect(warn).toMatchObject({ type: 'Warning', eniId: a.eniId, podKey: a.podKey, pod: { namespace: 'default', name: 'pod-a' } });
    expect(warn!.message).toContain('EBUSY');
    // Nobody else gets that ENI meanwhile.
    const d = await rig.pool.allocate(pod('d'));
    expect(d.eniId).not.toBe(a.eniId);
    rig.failTeardown.msg = undefined;
    expect(await rig.pool.gc()).toEqual([a.podKey]);
    expect(rig.pool.get(a.podKey)).toBeUndefined();
    await rig.pool.idle();
  });

  it('a DEL that releases the pod while its teardown runs is not released twice', async () => {
    const a = await rig.pool.allocate(pod('a'));
    clock.advance(60_000);
    rig.owner.gone.add(a.name);
    // A DEL for the pod lands while GC's teardown runs.
    rig.failTeardown.during = async (x) => {
      await rig.pool.release(x.podKey);
    };
    expect(await rig.pool.gc()).toEqual([]);
    expect(rig.log).toEqual(['teardown pod-a held=true']);
    expect(rig.events.some((e) => e.reason === 'GCReleasedENI')).toBe(false);
    expect(rig.pool.stats()).toMatchObject({ assigned: 0, free: 1 });
    await rig.pool.idle();
  });
});

describe('ENI pool periodic cloud reconcile', () => {
  let mc: MockCloudHandle;
  let rig: Rig;
  const clock = new FakeClock();
  usePoolRig(clock, { minPoolSize: 0, maxPoolSize: 2, cooldownMs: 0 }, (r) => ({ mc, rig } = r));

  it('an idle ENI detached behind our back is dropped, then deleted as a leftover of ours', async () => {
    const a = await rig.pool.allocate(pod('a'));
    await rig.pool.release(a.podKey);
    expect(rig.pool.stats()).toMatchObject({ free: 1 });
    await detachBehindOurBack(mc, a.eniId);
    clock.advance(60_000); // past the reconcile cooldown of its attach: the listing is believed
    await rig.pool.reconcile();
    expect(rig.pool.stats()).toMatchObject({ enis: 0, free: 0 });
    expect(rig.store.load().enis.some((e) => e.eniId === a.eniId)).toBe(false);
    expect(rig.events.find((e) => e.reason === 'EniDropped')).toMatchObject({ type: 'Warning', eniId: a.eniId });
    // Now Available and tagged ours: the next reconcile deletes it.
    await rig.pool.reconcile();
    await rig.pool.idle();
    expect(mc.dump().enis.some((e) => e.eniId === a.eniId)).toBe(false);
  });

  it("a live pod's ENI detached behind our back: record kept and flagged, Warning on the pod, ENI never handed out; restored when re-attached", async () => {
    const a = await rig.pool.allocate(pod('a'));
    await detachBehindOurBack(mc, a.eniId);
    clock.advance(60_000); // past the reconcile cooldown of its attach: the listing is believed
    await rig.pool.reconcile();
    await rig.pool.idle();
    expect(rig.pool.get(a.podKey)).toEqual(a);
    expect(rig.store.load().pods.map((p) => p.podKey)).toEqual([a.podKey]);
    expect(rig.pool.lostAllocations()).toEqual([a]);
    expect(rig.events.find((e) => e.reason === 'EniMissing')).toMatchObject({
      type: 'Warning',
      eniId: a.eniId,
      podKey: a.podKey,
      pod: { namespace: 'default', name: 'pod-a' },
    });
    // Not deleted (a pod record names it), not handed to anyone.
    expect(mc.dump().enis.find((e) => e.eniId === a.eniId)).toMatchObject({ status: 'Available' });
    const b = await rig.pool.allocate(pod('b'));
    expect(b.eniId).not.toBe(a.eniId);
    // Someone attaches it again: it goes back to its pod, not to the warm pool.
    await attachBehindOurBack(mc, a.eniId);
    await rig.pool.reconcile();
    expect(rig.pool.lostAllocations()).toEqual([]);
    expect(rig.pool.stats()).toMatchObject({ assigned: 2, free: 0 });
    expect(rig.store.load().ips.find((r) => r.eniId === a.eniId)).toMatchObject({ state: 'assigned', podKey: a.podKey });
    await rig.pool.idle();
  });

  it("a live pod's ENI deleted behind our back: flagged; its DEL still succeeds", async () => {
    const a = await rig.pool.allocate(pod('a'));
    await detachBehindOurBack(mc, a.eniId, true);
    clock.advance(60_000); // past the reconcile cooldown of its attach: the listing is believed
    await rig.pool.reconcile();
    expect(rig.pool.lostAllocations().map((x) => x.podKey)).toEqual([a.podKey]);
    expect(rig.events.find((e) => e.reason === 'EniMissing')!.message).toContain('no longer attached');
    expect(await rig.pool.release(a.podKey)).toEqual(a);
    expect(rig.store.load().pods).toHaveLength(0);
    expect(rig.pool.stats()).toMatchObject({ enis: 0 });
  });

  it('adopts an ENI tagged as ours attached while the daemon runs; it serves the next pod', async () => {
    const ecs = ecsOf(mc);
    const tag = [
      new $ecs.CreateNetworkInterfaceRequestTag({ key: 'creator', value: 'eni-ipam' }),
      new $ecs.CreateNetworkInterfaceRequestTag({ key: 'node', value: NODE }),
    ];
    const id = (
      await ecs.createNetworkInterface(
        new $ecs.CreateNetworkInterfaceRequest({ regionId: mc.regionId, vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'], tag }),
      )
    ).body!.networkInterfaceId!;
    await attachBehindOurBack(mc, id);
    mc.resetCounters();
    await rig.pool.reconcile();
    expect(rig.pool.stats()).toMatchObject({ enis: 1, free: 1 });
    expect(rig.store.load().enis.find((e) => e.eniId === id)).toMatchObject({ state: 'inuse' });
    expect(rig.events.some((e) => e.reason === 'AdoptENI' && e.eniId === id)).toBe(true);
    const p = await rig.pool.allocate(pod('p'));
    expect(p.eniId).toBe(id);
    expect(mc.counters()['CreateNetworkInterface'] ?? 0).toBe(0);
    await rig.pool.idle();
  });

  it('cooldown: an ENI we just deleted is not re-adopted from a stale listing', async () => {
    const a = await rig.pool.allocate(pod('a'));
    const b = await rig.pool.allocate(pod('b'));
    const c = await rig.pool.allocate(pod('c'));
    await rig.pool.idle();
    const listing = (await mockCloudClient(mc).describeNetworkInterfaces({ instanceId: NODE })).filter((e) =>
      [a.eniId, b.eniId, c.eniId].includes(e.eniId),
    );
    expect(listing).toHaveLength(3);
    for (const x of [a, b, c]) await rig.pool.release(x.podKey);
    await rig.pool.idle();
    // max_pool_size 2: one of them was detached and deleted.
    const deleted = [a, b, c].find((x) => !mc.dump().enis.some((e) => e.eniId === x.eniId))!;
    expect(deleted).toBeDefined();
    rig.stale.attached = listing;
    await rig.pool.reconcile();
    expect(rig.pool.stats()).toMatchObject({ enis: 2 });
    expect(rig.pool.list()).toEqual([]);
    expect(rig.events.some((e) => e.reason === 'AdoptENI')).toBe(false);
    // Past the cooldown the same listing would be believed: the cooldown is what kept it out.
    clock.advance(60_001);
    await rig.pool.reconcile();
    expect(rig.events.some((e) => e.reason === 'AdoptENI' && e.eniId === deleted.eniId)).toBe(true);
    rig.stale.attached = undefined;
    await rig.pool.reconcile(); // the real listing drops it again
    expect(rig.pool.stats()).toMatchObject({ enis: 2 });
    await rig.pool.idle();
  });

  it('gc() without gone pods still reconciles; a cloud failure is a Warning, not a crash', async () => {
    const a = await rig.pool.allocate(pod('a'));
    await rig.pool.release(a.podKey);
    await detachBehindOurBack(mc, a.eniId);
    clock.advance(60_000); // past the reconcile cooldown of its attach: the listing is believed
    expect(await rig.pool.gc()).toEqual([]);
    expect(rig.pool.stats()).toMatchObject({ enis: 0 });
    mc.faults.failNext('DescribeNetworkInterfaces', 20, '5xx');
    try {
      expect(await rig.pool.gc()).toEqual([]);
      await expect(rig.pool.reconcile()).rejects.toThrow();
    } finally {
      mc.faults.clear();
    }
    expect(rig.events.find((e) => e.reason === 'ReconcileFailed')).toMatchObject({ type: 'Warning' });
    await rig.pool.idle();
  });
});
