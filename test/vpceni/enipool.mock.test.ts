// The ENI pool against the mock cloud through the real SDK client, a SQLite pod DB and a fake clock
// (the ticker is driven by hand; only the mock's attach delay is real time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ecsClient, $ecs } from '../../sim/mockcloud/sdk.js';
import { PoolError, podKeyOf, type IpAllocation } from '../../pool/types.js';
import { FakeClock } from '../support/clock.js';
import { podRef as pod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { NODE, makePool, oursInCloud, type PoolRig } from './rig.js';

function expectOnNode(mc: MockCloudHandle, a: IpAllocation): void {
  const dump = mc.dump();
  const eni = dump.enis.find((e) => e.eniId === a.eniId);
  expect(eni, `ENI ${a.eniId} in the cloud`).toBeDefined();
  expect(eni!.status).toBe('InUse');
  expect(eni!.instanceId).toBe(NODE);
  expect(eni!.type).toBe('Secondary');
  expect(eni!.primaryIp).toBe(a.ip);
  expect(eni!.mac).toBe(a.eniMac);
  const vsw = dump.vSwitches.find((v) => v.vSwitchId === eni!.vSwitchId)!;
  expect(a.vSwitchId).toBe(vsw.vSwitchId);
  expect(a.vSwitchCidr).toBe(vsw.cidr);
  expect(a.gateway).toBe(vsw.gateway);
  expect(a.primaryEni).toBe(false);
}

describe('ENI pool + mock cloud (ecs.g7.4xlarge: 8 ENIs, 7 for pods)', () => {
  let mc: MockCloudHandle;
  let dir: string;
  let rig: PoolRig;
  const clock = new FakeClock();

  beforeAll(async () => {
    mc = await startMockCloud({ attachDelayMs: 10, detachDelayMs: 10 });
    dir = tempDir();
    rig = makePool(mc, join(dir, 'pods.db'), clock, { minPoolSize: 1, maxPoolSize: 2, cooldownMs: 10_000 });
    await rig.pool.start();
    await rig.pool.idle();
  });

  afterAll(async () => {
    await rig?.close();
    await mc?.close();
  });

  it('start: capacity is EniQuantity − 1; warms min_pool_size ENIs, tagged, on the configured vSwitch', async () => {
    expect(rig.pool.capacity()).toBe(7);
    const s = rig.pool.stats();
    expect(s).toMatchObject({ enis: 1, free: 1, assigned: 0 });
    const ours = oursInCloud(mc.dump());
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ status: 'InUse', instanceId: NODE, vSwitchId: 'vsw-mock-b' });
    expect(ours[0]!.securityGroupIds).toContain('sg-mock-1');
  });

  it('allocates a whole ENI per pod: N pods -> N ENIs InUse on the node, distinct', async () => {
    // 'b' asked twice at once while no ENI is free for it: both calls share one wait and one ENI.
    const all = await Promise.all(['a', 'b', 'c', 'b'].map((id) => rig.pool.allocate(pod(id))));
    expect(all[3]).toEqual(all[1]);
    const allocs = all.slice(0, 3);
    expect(new Set(allocs.map((a) => a.eniId)).size).toBe(3);
    for (const a of allocs) expectOnNode(mc, a);
    await rig.pool.idle();
    // The warm pool was topped up back to min_pool_size behind them.
    expect(rig.pool.stats()).toMatchObject({ assigned: 3, free: 1 });
    const snap = rig.store.load();
    expect(snap.pods.map((p) => [p.podKey, p.mode, p.eniId]).sort()).toEqual(allocs.map((a) => [a.podKey, 'VPCENI', a.eniId]).sort());
    for (const a of allocs)
      expect(snap.ips.find((r) => r.ip === a.ip)).toMatchObject({ state: 'assigned', podKey: a.podKey, eniId: a.eniId });
  });

  it('is idempotent per pod key: the same ENI, no DB write, no cloud call', async () => {
    const first = rig.pool.get(podKeyOf(pod('a')))!;
    mc.resetCounters();
    const again = await rig.pool.allocate(pod('a'));
    expect(again).toEqual(first);
    expect(Object.values(mc.counters()).reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('release puts the ENI back in the warm pool (cooling), not detached; reused after the cool-down', async () => {
    const a = rig.pool.get(podKeyOf(pod('a')))!;
    const r = await rig.pool.release(a.podKey);
    expect(r?.eniId).toBe(a.eniId);
    expect(await rig.pool.release(a.podKey)).toBeUndefined();
    expect(rig.pool.stats()).toMatchObject({ assigned: 2, cooling: 1, free: 1 });
    expect(mc.dump().enis.find((e) => e.eniId === a.eniId)).toMatchObject({ status: 'InUse', instanceId: NODE });
    expect(rig.store.load().ips.find((x) => x.ip === a.ip)).toMatchObject({ state: 'cooling', until: clock.now() + 10_000 });
    // While it cools down the next pod gets the other free ENI.
    const d = await rig.pool.allocate(pod('d'));
    expect(d.eniId).not.toBe(a.eniId);
    await rig.pool.idle();
    clock.advance(10_000);
    rig.pool.tick();
    await rig.pool.idle();
    expect(rig.store.load().ips.find((x) => x.ip === a.ip)?.state).toBe('free');
    const e = await rig.pool.allocate(pod('e'));
    expect([a.eniId, rig.pool.list().find((x) => x.podKey === podKeyOf(pod('e')))!.eniId]).toContain(e.eniId);
    await rig.pool.idle();
  });

  it('above max_pool_size released ENIs are detached and deleted', async () => {
    const before = oursInCloud(mc.dump()).length;
    const held = rig.pool.list();
    expect(held.length).toBe(4); // b, c, d, e
    for (const h of held) await rig.pool.release(h.podKey);
    await rig.pool.idle();
    const s = rig.pool.stats();
    expect(s.assigned).toBe(0);
    expect(s.free + s.cooling).toBe(2); // max_pool_size
    expect(s.releasing).toBe(0);
    const ours = oursInCloud(mc.dump());
    expect(ours).toHaveLength(2);
    expect(ours.every((e) => e.status === 'InUse' && e.instanceId === NODE)).toBe(true);
    for (const h of held) {
      if (!ours.some((e) => e.eniId === h.eniId)) expect(mc.dump().enis.some((e) => e.eniId === h.eniId)).toBe(false);
    }
    expect(before - ours.length).toBeGreaterThanOrEqual(2);
    expect(
      rig.store
        .load()
        .enis.map((e) => e.eniId)
        .sort(),
    ).toEqual(ours.map((e) => e.eniId).sort());
  });

  it('restart on the same DB restores pods and the warm pool without new cloud writes', async () => {
    const p = await rig.pool.allocate(pod('f'));
    await rig.pool.idle();
    const statsBefore = rig.pool.stats();
    const enisBefore = oursInCloud(mc.dump())
      .map((e) => e.eniId)
      .sort();
    await rig.close();
    mc.resetCounters();
    rig = makePool(mc, join(dir, 'pods.db'), clock, { minPoolSize: 1, maxPoolSize: 2, cooldownMs: 10_000 });
    await rig.pool.start();
    await rig.pool.idle();
    expect(rig.pool.get(p.podKey)).toEqual(p);
    expect(rig.pool.stats()).toMatchObject({ enis: statsBefore.enis, assigned: 1, free: statsBefore.free, cooling: statsBefore.cooling });
    expect(
      oursInCloud(mc.dump())
        .map((e) => e.eniId)
        .sort(),
    ).toEqual(enisBefore);
    const writes = ['CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface'];
    for (const w of writes) expect(mc.counters()[w] ?? 0).toBe(0);
  });

  it('restart adopts an ENI tagged as ours that the DB lacks, and deletes a detached leftover', async () => {
    await rig.close();
    // A crash after CreateNetworkInterface + attach but before the DB write, and one before the attach.
    const ecs = ecsClient(mc);
    const tag = [
      new $ecs.CreateNetworkInterfaceRequestTag({ key: 'creator', value: 'eni-ipam' }),
      new $ecs.CreateNetworkInterfaceRequestTag({ key: 'node', value: NODE }),
    ];
    const mk = async () =>
      (
        await ecs.createNetworkInterface(
          new $ecs.CreateNetworkInterfaceRequest({ regionId: mc.regionId, vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'], tag }),
        )
      ).body!.networkInterfaceId!;
    const adopted = await mk();
    await ecs.attachNetworkInterface(
      new $ecs.AttachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: adopted, instanceId: NODE }),
    );
    await mc.settle();
    const leftover = await mk();
    rig = makePool(mc, join(dir, 'pods.db'), clock, { minPoolSize: 1, maxPoolSize: 3, cooldownMs: 10_000 });
    await rig.pool.start();
    await rig.pool.idle();
    expect(rig.store.load().enis.some((e) => e.eniId === adopted && e.state === 'inuse')).toBe(true);
    expect(mc.dump().enis.some((e) => e.eniId === leftover)).toBe(false);
    // f's ENI (assigned), the one idle ENI from before, and the adopted one.
    expect(rig.pool.stats()).toMatchObject({ enis: 3, assigned: 1 });
    expect(rig.pool.stats().free + rig.pool.stats().cooling).toBe(2);
  });

  it('restart drops a stored ENI the cloud no longer has attached; its pod can still be released', async () => {
    const p = rig.pool.list()[0]!;
    await rig.close();
    const ecs = ecsClient(mc);
    // Someone detached and deleted the pod's ENI behind our back.
    await ecs.detachNetworkInterface(
      new $ecs.DetachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: p.eniId, instanceId: NODE }),
    );
    await mc.settle();
    await ecs.deleteNetworkInterface(new $ecs.DeleteNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: p.eniId }));
    rig = makePool(mc, join(dir, 'pods.db'), clock, { minPoolSize: 1, maxPoolSize: 3, cooldownMs: 10_000 });
    await rig.pool.start();
    await rig.pool.idle();
    expect(rig.store.load().enis.some((e) => e.eniId === p.eniId)).toBe(false);
    expect(rig.pool.get(p.podKey)).toEqual(p);
    expect(await rig.pool.release(p.podKey)).toEqual(p);
    expect(rig.store.load().pods).toHaveLength(0);
  });
});

describe('ENI pool exhaustion (ecs.g7.large: 3 ENIs, 2 for pods)', () => {
  let mc: MockCloudHandle;
  let rig: PoolRig;
  const clock = new FakeClock();
  const NODE2 = 'i-mock-node-2';

  beforeAll(async () => {
    mc = await startMockCloud({
      attachDelayMs: 10,
      detachDelayMs: 10,
      world: {
        instances: [
          { id: NODE, instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
          { id: NODE2, instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
        ],
      },
    });
  });

  afterAll(async () => {
    await rig?.close();
    await mc?.close();
  });

  it('quota reached -> PoolError Exhausted (retryable) at once, no cloud call', async () => {
    rig = makePool(mc, join(tempDir(), 'pods.db'), clock, { minPoolSize: 0, maxPoolSize: 2, cooldownMs: 0 });
    await rig.pool.start();
    expect(rig.pool.capacity()).toBe(2);
    const [a, b] = await Promise.all([rig.pool.allocate(pod('x1')), rig.pool.allocate(pod('x2'))]);
    expect(a.eniId).not.toBe(b.eniId);
    await rig.pool.idle();
    mc.resetCounters();
    const err = await rig.pool.allocate(pod('x3')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toMatchObject({ reason: 'Exhausted', retryable: true });
    expect(mc.counters()['CreateNetworkInterface'] ?? 0).toBe(0);
    // A release makes room again (no cool-down configured).
    await rig.pool.release(a.podKey);
    const c = await rig.pool.allocate(pod('x3'));
    expect(c.eniId).toBe(a.eniId);
    await rig.close();
  });

  it('EniPerInstanceLimitExceeded from the cloud: waiters fail Exhausted with the code, creation pauses', async () => {
    // The pool believes it has room for 2, but someone else attaches an ENI meanwhile (quota used up).
    rig = makePool(mc, join(tempDir(), 'pods.db'), clock, { minPoolSize: 0, maxPoolSize: 0, cooldownMs: 0 }, { instanceId: NODE2 });
    await rig.pool.start();
    expect(rig.pool.capacity()).toBe(2);
    const ecs = ecsClient(mc);
    for (let i = 0; i < 2; i++) {
      const id = (
        await ecs.createNetworkInterface(
          new $ecs.CreateNetworkInterfaceRequest({ regionId: mc.regionId, vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'] }),
        )
      ).body!.networkInterfaceId!;
      await ecs.attachNetworkInterface(
        new $ecs.AttachNetworkInterfaceRequest({ regionId: mc.regionId, networkInterfaceId: id, instanceId: NODE2 }),
      );
    }
    await mc.settle();
    const err = await rig.pool.allocate(pod('y1')).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Exhausted', cloudCode: 'EniPerInstanceLimitExceeded', retryable: true });
    await rig.pool.idle();
    const s = rig.pool.stats();
    expect(s.backoffReason).toBe('EniPerInstanceLimitExceeded');
    expect(s.backoffUntil).toBe(clock.now() + 60_000);
    // The ENI it created could not be attached: deleted, not left behind.
    expect(oursInCloud(mc.dump(), NODE2)).toHaveLength(0);
    expect(rig.events.some((e) => e.type === 'Warning' && e.message.includes('EniPerInstanceLimitExceeded'))).toBe(true);
    // While paused, requests fail at once without calling the cloud.
    mc.resetCounters();
    await expect(rig.pool.allocate(pod('y2'))).rejects.toMatchObject({ reason: 'Exhausted', cloudCode: 'EniPerInstanceLimitExceeded' });
    expect(mc.counters()['CreateNetworkInterface'] ?? 0).toBe(0);
  });
});

describe('ENI pool vSwitch exhaustion', () => {
  let mc: MockCloudHandle;
  let rig: PoolRig | undefined;
  const clock = new FakeClock();

  beforeAll(async () => {
    mc = await startMockCloud({
      attachDelayMs: 10,
      detachDelayMs: 10,
      world: {
        vSwitches: [
          { id: 'vsw-mock-a', zoneId: 'cn-hangzhou-h', cidr: '10.0.0.0/23' },
          { id: 'vsw-mock-b', zoneId: 'cn-hangzhou-h', cidr: '10.0.2.0/24' },
          { id: 'vsw-mock-tiny', zoneId: 'cn-hangzhou-h', cidr: '10.0.4.0/29' }, // 4 usable addresses
        ],
      },
    });
  });

  afterAll(async () => {
    await rig?.close();
    await mc?.close();
  });

  it('InvalidVSwitchId.IpNotEnough pauses that vSwitch; the next one is used', async () => {
    // Fill the tiny vSwitch: one unattached ENI holding all 4 usable addresses.
    const ecs = ecsClient(mc);
    await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({
        regionId: mc.regionId,
        vSwitchId: 'vsw-mock-tiny',
        securityGroupIds: ['sg-mock-1'],
        secondaryPrivateIpAddressCount: 3,
      }),
    );
    expect(mc.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-tiny')!.availableIpAddressCount).toBe(0);
    // Only the full vSwitch: nothing can be created -> Exhausted with the cloud's code.
    rig = makePool(
      mc,
      join(tempDir(), 'pods.db'),
      clock,
      { minPoolSize: 0, maxPoolSize: 1, cooldownMs: 0 },
      { vSwitchIds: ['vsw-mock-tiny'] },
    );
    await rig.pool.start();
    const err = await rig.pool.allocate(pod('z1')).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Exhausted', cloudCode: 'InvalidVSwitchId.IpNotEnough', retryable: true });
    await rig.pool.idle();
    expect(rig.pool.stats()).toMatchObject({ backoffReason: 'InvalidVSwitchId.IpNotEnough', backoffUntil: clock.now() + 10 * 60_000 });
    await rig.close();
    // Full vSwitch first, a roomy one next: the request waits while the pool moves on to the next vSwitch.
    rig = makePool(
      mc,
      join(tempDir(), 'pods.db'),
      clock,
      { minPoolSize: 0, maxPoolSize: 1, cooldownMs: 0 },
      { vSwitchIds: ['vsw-mock-tiny', 'vsw-mock-b'] },
    );
    await rig.pool.start();
    const a = await rig.pool.allocate(pod('z1'));
    expect(rig.events.some((e) => e.message.includes('InvalidVSwitchId.IpNotEnough'))).toBe(true);
    expect(rig.pool.stats().backoffUntil).toBeUndefined(); // only that vSwitch is paused
    expect(a.vSwitchId).toBe('vsw-mock-b');
    expect(a.vSwitchCidr).toBe('10.0.2.0/24');
    await rig.pool.idle();
  });
});

describe('ENI pool: deadlines, DB failures, failed deletes', () => {
  let mc: MockCloudHandle;
  let rig: PoolRig | undefined;
  const clock = new FakeClock();

  beforeAll(async () => {
    mc = await startMockCloud({ attachDelayMs: 10, detachDelayMs: 10 });
  });

  afterAll(async () => {
    await rig?.close();
    await mc?.close();
  });

  it('an attach slower than the deadline -> Timeout; the ENI still joins the pool when it lands', async () => {
    rig = makePool(mc, join(tempDir(), 'pods.db'), clock, { minPoolSize: 0, maxPoolSize: 2, cooldownMs: 0 });
    await rig.pool.start();
    mc.faults.setAttachDelay(300);
    const err = await rig.pool.allocate(pod('slow'), { deadlineMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toMatchObject({ reason: 'Timeout', retryable: true });
    expect(rig.pool.get(podKeyOf(pod('slow')))).toBeUndefined();
    await rig.pool.idle();
    mc.faults.setAttachDelay(10);
    expect(rig.pool.stats()).toMatchObject({ free: 1, assigned: 0, pendingRequests: 0 });
    expect(oursInCloud(mc.dump()).filter((e) => e.status === 'InUse')).toHaveLength(1);
  });

  it('a DB write that fails fails the allocation and hands nothing out', async () => {
    const store = rig!.store;
    const apply = store.apply.bind(store);
    store.apply = () => {
      throw new Error('disk full');
    };
    try {
      await expect(rig!.pool.allocate(pod('nodisk'))).rejects.toThrow('disk full');
    } finally {
      store.apply = apply;
    }
    expect(rig!.pool.get(podKeyOf(pod('nodisk')))).toBeUndefined();
    expect(rig!.pool.stats()).toMatchObject({ free: 1, assigned: 0 });
    const ok = await rig!.pool.allocate(pod('nodisk'));
    expect(rig!.store.load().pods.map((p) => p.podKey)).toEqual([ok.podKey]);
    await rig!.pool.release(ok.podKey);
  });

  it('a delete that keeps failing leaves the ENI `releasing` in the DB; the ticker retries it after the back-off', async () => {
    // max_pool_size 0 now: the idle ENI must go.
    await rig!.close();
    const path = join(tempDir(), 'pods.db');
    rig = makePool(mc, path, clock, { minPoolSize: 0, maxPoolSize: 1, cooldownMs: 0 });
    await rig.pool.start();
    await rig.pool.idle();
    expect(rig.pool.stats().free).toBe(1); // adopted
    await rig.close();
    rig = makePool(mc, path, clock, { minPoolSize: 0, maxPoolSize: 0, cooldownMs: 0 });
    mc.faults.failNext('DeleteNetworkInterface', 20, '5xx');
    await rig.pool.start();
    await rig.pool.idle();
    const [eni] = oursInCloud(mc.dump());
    expect(eni).toMatchObject({ status: 'Available' }); // detached, delete failed
    expect(rig.store.load().enis.find((e) => e.eniId === eni!.eniId)?.state).toBe('deleting');
    expect(rig.pool.stats().releasing).toBe(1);
    mc.faults.clear();
    rig.pool.tick(); // back-off not over yet: nothing
    await rig.pool.idle();
    expect(oursInCloud(mc.dump())).toHaveLength(1);
    clock.advance(5_000);
    rig.pool.tick();
    await rig.pool.idle();
    expect(oursInCloud(mc.dump())).toHaveLength(0);
    expect(rig.store.load().enis).toHaveLength(0);
    expect(rig.pool.stats()).toMatchObject({ enis: 0, releasing: 0 });
  });
});
