// Crash windows and reconcile races of the multi-IP pool, each as the concrete scenario that broke it:
// a request of a killed daemon still on the wire, a lost reply, a stale DescribeNetworkInterfaces.
// The invariant checked every time: an IP handed to a pod is on the pod's ENI in the cloud.
import { afterEach, describe, expect, it } from 'vitest';
import { createEniMultiIpPool, type EniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore, type PoolStore } from '../../pool/store.js';
import type { IpAllocation, PodRef } from '../../pool/types.js';
import type { PoolConfigInput } from '../../pool/config.js';
import { FakeCloud } from './fakeCloud.js';
import { FakeClock } from '../support/clock.js';

function pod(i: number): PodRef {
  return { namespace: 'default', name: `pod-${i}`, containerId: `c${i}`, ifName: 'eth0', networkName: 'terway' };
}

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function startPool(cloud: FakeCloud, store: PoolStore, clock: FakeClock, cfg: PoolConfigInput = {}): Promise<EniMultiIpPool> {
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: cloud.instanceId,
    limits: { eniQuantity: cloud.limits.eniQuantity, ipv4PerEni: cloud.limits.ipv4PerEni },
    vSwitchIds: ['vsw-a', 'vsw-b'],
    securityGroupIds: ['sg-1'],
    config: {
      minPoolSize: 0,
      maxPoolSize: 0,
      ipCooldownMs: 0,
      idleIpReclaimAfterMs: 60_000,
      idleIpReclaimIntervalMs: 0,
      idleIpReclaimJitterFactor: 0,
      allocDeadlineMs: 2_000,
      ...cfg,
    },
    clock,
    timers: false,
  });
  pools.push(pool);
  await pool.start();
  return pool;
}

/** The DB as a SIGKILL leaves it: a copy of every committed row (the dead pool keeps writing to its own). */
function crashCopy(store: PoolStore): MemoryPoolStore {
  const snap = store.load();
  const copy = new MemoryPoolStore();
  copy.apply([
    ...snap.enis.map((eni) => ({ op: 'putEni' as const, eni })),
    ...snap.ips.map((ip) => ({ op: 'putIp' as const, ip })),
    ...snap.pods.map((pod) => ({ op: 'putPod' as const, pod })),
  ]);
  return copy;
}

/** The pod's IP is on its (secondary) ENI in the cloud: the ENI's primary address or one of its secondary IPs. */
function onItsEni(cloud: FakeCloud, a: IpAllocation): boolean {
  const eni = cloud.enis.get(a.eniId);
  return (
    eni !== undefined &&
    eni.instanceId === cloud.instanceId &&
    eni.type === 'Secondary' &&
    [eni.primaryIp, ...eni.secondaryIps].includes(a.ip)
  );
}

/** Pod addresses the cloud shows on the node's secondary ENIs (each one's primary and its secondary IPs). */
function cloudAddresses(cloud: FakeCloud): string[] {
  return [...cloud.enis.values()]
    .filter((e) => e.instanceId === cloud.instanceId && e.type === 'Secondary')
    .flatMap((e) => [e.primaryIp, ...e.secondaryIps]);
}

/**
 * One pod holds its ENI's primary address; the ENI's 4 secondary IPs are free (max_pool_size 4) and the pool has
 * been quiet past idle_ip_reclaim_after: the idle-reclaim timer is armed, the next plan unassigns the 4.
 */
async function withIdleIps(cloud: FakeCloud, store: PoolStore, clock: FakeClock, cfg: PoolConfigInput = {}) {
  const pool = await startPool(cloud, store, clock, { maxPoolSize: 4, idleIpReclaimBatchSize: 5, ...cfg });
  const intervalMs = cfg.idleIpReclaimIntervalMs ?? 0;
  const held = await pool.allocate(pod(1));
  await pool.whenIdle();
  expect(cloud.enis.get(held.eniId)!.primaryIp).toBe(held.ip);
  const idle = pool
    .ipRecords()
    .filter((r) => r.state === 'free')
    .map((r) => r.ip);
  expect(idle).toHaveLength(4);
  clock.advance(61_000);
  await pool.tick(); // quiet long enough: arms the timer one interval ahead
  await pool.whenIdle();
  clock.advance(intervalMs); // due now
  expect(pool.stats().free).toBe(4);
  return { pool, held, idle };
}

describe('multi-IP pool: crash windows around UnassignPrivateIpAddresses', () => {
  it('SIGKILL after `releasing` was committed, its unassign still on the wire: the restarted pool never hands those IPs out', async () => {
    const cloud = new FakeCloud({ ipv4PerEni: 11 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    const { pool: dead, idle } = await withIdleIps(cloud, store, clock);
    const openWire = cloud.gate('UnassignPrivateIpAddresses');
    void dead.tick(); // commits `releasing`, sends the unassign, which hangs on the wire
    await new Promise((r) => setImmediate(r));
    expect(
      store
        .load()
        .ips.filter((r) => r.state === 'releasing')
        .map((r) => r.ip)
        .sort(),
    ).toEqual([...idle].sort());

    // SIGKILL here; restart on what the DB had.
    const restarted = await startPool(cloud, crashCopy(store), clock);
    const a = await restarted.allocate(pod(9));
    openWire(); // the dead daemon's request lands
    await dead.whenIdle();
    await restarted.whenIdle();
    expect(idle).not.toContain(a.ip);
    expect(onItsEni(cloud, a)).toBe(true);
    // the release was finished, not forgotten: the cloud has no IP the pool does not know
    expect(new Set(cloudAddresses(cloud))).toEqual(new Set(restarted.ipRecords().map((r) => r.ip)));
  });

  it('an unassign whose reply is lost (it did happen) leaves the IPs releasing and finishes on retry; none goes to a pod', async () => {
    const cloud = new FakeCloud({ ipv4PerEni: 11 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    // A batch of 3 of the 4 idle IPs: the next pod takes the one left free, so no assign can hand the
    // released ones back (the cloud gives the lowest free addresses first).
    const { pool } = await withIdleIps(cloud, store, clock, { backoff: { otherErrorMs: 5_000 }, idleIpReclaimBatchSize: 3 });
    cloud.loseReplyNext('UnassignPrivateIpAddresses', 'Timeout');
    await pool.tick();
    await pool.whenIdle();
    expect(pool.stats().releasing).toBe(3);
    const a = await pool.allocate(pod(9));
    expect(onItsEni(cloud, a)).toBe(true); // (the cloud may well give the same address back, on a new assign)
    // still releasing, except an address the cloud handed back to us anew (create / assign): that one is free again
    for (const r of pool.ipRecords()) if (r.state === 'releasing') expect(cloudAddresses(cloud)).not.toContain(r.ip);
    expect(pool.stats().releasing).toBeGreaterThan(0);
    // after the ENI's back-off the release is retried (InvalidIp.IpUnassigned = already done) and the rows go
    clock.advance(5_000);
    await pool.tick();
    await pool.whenIdle();
    expect(pool.stats().releasing).toBe(0);
    expect(new Set(cloudAddresses(cloud))).toEqual(new Set(pool.ipRecords().map((r) => r.ip)));
  });

  it('an unassign that really failed is retried until it succeeds (the IPs are not stuck releasing)', async () => {
    const cloud = new FakeCloud({ ipv4PerEni: 11 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    const { pool, idle } = await withIdleIps(cloud, store, clock, { backoff: { otherErrorMs: 5_000 } });
    cloud.failNext('UnassignPrivateIpAddresses', 'ServiceUnavailable');
    await pool.tick();
    await pool.whenIdle();
    expect(pool.stats().releasing).toBe(idle.length);
    clock.advance(5_000);
    await pool.tick();
    await pool.whenIdle();
    expect(pool.stats().releasing).toBe(0);
    for (const ip of idle) expect(cloudAddresses(cloud)).not.toContain(ip);
  });
});

describe('multi-IP pool: reconcile against a stale DescribeNetworkInterfaces', () => {
  it('does not re-adopt IPs it unassigned a moment ago (reconcile cooldown, as AWS ipReconcileCooldown)', async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud({ ipv4PerEni: 11, clock });
    const store = new MemoryPoolStore();
    const { pool, idle } = await withIdleIps(cloud, store, clock);
    cloud.staleListings(1_000); // listings lag the changes that follow
    await pool.tick();
    await pool.whenIdle();
    for (const ip of idle) expect(cloudAddresses(cloud)).not.toContain(ip);
    // the describe still lists the unassigned IPs
    const listed = await cloud.describeNetworkInterfaces({ instanceId: cloud.instanceId });
    for (const ip of idle) expect(listed.flatMap((e) => e.secondaryIps)).toContain(ip);
    await pool.reconcile();
    for (const ip of idle) expect(pool.ipRecords().map((r) => r.ip)).not.toContain(ip);
    const a = await pool.allocate(pod(9));
    expect(onItsEni(cloud, a)).toBe(true);
    await pool.whenIdle();
  });

  it('an IP it released that the cloud really hands back (lost-reply assign) is adopted once the cooldown is over, from the ticker', async () => {
    const cloud = new FakeCloud({ ipv4PerEni: 11 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    // a long reclaim interval: the reclaim after the first one is not due when the ticker adopts the IP
    const { pool, idle, held } = await withIdleIps(cloud, store, clock, { idleIpReclaimIntervalMs: 120_000 });
    await pool.tick();
    await pool.whenIdle();
    const back = cloud.assignBehindBack(held.eniId, 1)[0]!;
    expect(idle).toContain(back); // the cloud reuses the lowest free address
    await pool.reconcile();
    expect(pool.ipRecords().map((r) => r.ip)).not.toContain(back);
    clock.advance(60_000);
    await pool.tick();
    expect(pool.ipRecords().find((r) => r.ip === back)?.state).toBe('free');
  });

  it('does not re-adopt an ENI it just deleted that a stale describe still lists as attached', async () => {
    const clock = new FakeClock();
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3, clock });
    const store = new MemoryPoolStore();
    const pool = await startPool(cloud, store, clock, { maxPoolSize: 0, idleIpReclaimAfterMs: 60_000, idleIpReclaimBatchSize: 10 });
    const allocs = await Promise.all([1, 2, 3].map((i) => pool.allocate(pod(i))));
    await pool.whenIdle();
    const ours = pool.eniRecords().filter((e) => e.createdByUs);
    expect(ours).toHaveLength(1);
    for (const a of allocs) await pool.release(a.podKey);
    clock.advance(61_000);
    cloud.staleListings(1_000); // listings lag the deletion that follows
    for (let i = 0; i < 3 && cloud.enis.has(ours[0]!.eniId); i++) {
      await pool.tick();
      await pool.whenIdle();
    }
    expect(cloud.enis.has(ours[0]!.eniId)).toBe(false);
    expect((await cloud.describeNetworkInterfaces({ instanceId: cloud.instanceId })).map((e) => e.eniId)).toContain(ours[0]!.eniId);
    await pool.reconcile();
    expect(pool.eniRecords().map((e) => e.eniId)).not.toContain(ours[0]!.eniId);
  });
});

describe('multi-IP pool: the in-memory view never hands out an IP a pod holds', () => {
  it('a held IP missing in the cloud that a new ENI brings back stays the pod’s (no second holder)', async () => {
    const cloud = new FakeCloud({ ipv4PerEni: 4, eniQuantity: 3 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    const pool = await startPool(cloud, store, clock, { maxPoolSize: 0 });
    const a1 = await pool.allocate(pod(1)); // a new ENI's primary address
    const a2 = await pool.allocate(pod(2));
    const a5 = await pool.allocate(pod(5));
    await pool.whenIdle();
    // both secondary IPs vanish from the ENI behind our back: reconcile (past the cooldown of their assign)
    // keeps them for their pods, flagged
    cloud.unassignBehindBack(a1.eniId, [a2.ip, a5.ip]);
    clock.advance(60_000);
    await pool.reconcile();
    expect(pool.ipRecords().filter((r) => r.missingInCloud)).toHaveLength(2);
    // the next assign and the next ENI get those very addresses from the cloud
    const [a3, a4] = await Promise.all([pool.allocate(pod(3)), pool.allocate(pod(4))]);
    await pool.whenIdle();
    const holders = pool.list().map((x) => x.ip);
    expect(new Set(holders).size).toBe(holders.length);
    expect([a3.ip, a4.ip]).not.toContain(a2.ip);
    expect([a3.ip, a4.ip]).not.toContain(a5.ip);
    expect(pool.ipRecords().find((r) => r.ip === a2.ip)).toMatchObject({ state: 'assigned', podKey: a2.podKey });
  });
});

describe('multi-IP pool: an ENI left mid-attach by a crash', () => {
  it('becomes usable once the cloud finishes the attach, without waiting for the next GC', async () => {
    const cloud = new FakeCloud();
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    const eni = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-b',
      securityGroupIds: ['sg-1'],
      tags: { creator: 'eni-ipam', node: cloud.instanceId },
      secondaryIpCount: 2,
    });
    store.apply([
      {
        op: 'putEni',
        eni: {
          eniId: eni.eniId,
          mac: eni.mac,
          vSwitchId: 'vsw-b',
          vSwitchCidr: '10.0.1.0/24',
          gateway: '10.0.1.253',
          primary: false,
          createdByUs: true,
          state: 'attaching',
          createdAt: clock.t,
        },
      },
      ...eni.secondaryIps.map((ip) => ({ op: 'putIp' as const, ip: { ip, eniId: eni.eniId, state: 'free' as const, since: clock.t } })),
    ]);
    cloud.world.beginAttach(eni.eniId, cloud.instanceId); // the attach the dead daemon started, still in progress
    const pool = await startPool(cloud, store, clock, { maxPoolSize: 5 });
    expect(pool.eniRecords().find((e) => e.eniId === eni.eniId)?.state).toBe('attaching');
    cloud.world.completeAttach(eni.eniId);
    clock.advance(5_000);
    await pool.tick();
    expect(pool.eniRecords().find((e) => e.eniId === eni.eniId)?.state).toBe('inuse');
    // its 2 secondary IPs and its own primary address (learnt from the cloud: the row predates it)
    expect(pool.stats().free).toBe(3);
    expect(pool.eniRecords().find((e) => e.eniId === eni.eniId)?.primaryIp).toBe(eni.primaryIp);
  });
});

describe('multi-IP pool: DetachNetworkInterface whose reply is lost', () => {
  async function poolWithIdleEni(cloud: FakeCloud, clock: FakeClock) {
    const pool = await startPool(cloud, new MemoryPoolStore(), clock, { maxPoolSize: 0, idleIpReclaimAfterMs: 60_000 });
    const allocs = await Promise.all([1, 2, 3].map((i) => pool.allocate(pod(i))));
    await pool.whenIdle();
    const ours = pool.eniRecords().filter((e) => e.createdByUs);
    expect(ours).toHaveLength(1);
    for (const a of allocs) await pool.release(a.podKey);
    clock.advance(61_000);
    return { pool, eniId: ours[0]!.eniId };
  }

  it('the detach happened: the ENI is deleted, its IPs never go to a pod', async () => {
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3 });
    const clock = new FakeClock();
    const { pool, eniId } = await poolWithIdleEni(cloud, clock);
    cloud.loseReplyNext('DetachNetworkInterface', 'Timeout');
    await pool.tick(); // whole idle ENI goes: detach (done, reply lost)
    await pool.whenIdle();
    const allocs = await Promise.all([5, 6, 7].map((i) => pool.allocate(pod(i))));
    for (const a of allocs) expect(onItsEni(cloud, a), `${a.ip} on ${a.eniId}`).toBe(true);
    await pool.whenIdle();
    expect(cloud.enis.has(eniId)).toBe(false);
  });

  it('the detach really failed (still InUse): the ENI and its IPs go back to the pool', async () => {
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3 });
    const clock = new FakeClock();
    const { pool, eniId } = await poolWithIdleEni(cloud, clock);
    cloud.failNext('DetachNetworkInterface', 'ServiceUnavailable');
    await pool.tick();
    await pool.whenIdle();
    expect(pool.eniRecords().find((e) => e.eniId === eniId)?.state).toBe('inuse');
    expect(cloud.enis.get(eniId)?.status).toBe('InUse');
    const allocs = await Promise.all([5, 6, 7].map((i) => pool.allocate(pod(i))));
    for (const a of allocs) expect(onItsEni(cloud, a)).toBe(true);
  });

  it('the detach outcome is unknown (describe fails too): the ENI stays deleting, IPs unusable, and the delete is retried', async () => {
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3 });
    const clock = new FakeClock();
    const { pool, eniId } = await poolWithIdleEni(cloud, clock);
    cloud.loseReplyNext('DetachNetworkInterface', 'Timeout');
    cloud.failNext('DescribeNetworkInterfaces', 'ServiceUnavailable');
    await pool.tick();
    await pool.whenIdle();
    expect(pool.eniRecords().find((e) => e.eniId === eniId)?.state).toBe('deleting');
    expect(
      pool
        .ipRecords()
        .filter((r) => r.eniId === eniId)
        .every((r) => r.state === 'releasing'),
    ).toBe(true);
    clock.advance(5_000);
    await pool.tick();
    await pool.whenIdle();
    expect(cloud.enis.has(eniId)).toBe(false);
    expect(pool.eniRecords().map((e) => e.eniId)).not.toContain(eniId);
  });
});

describe('multi-IP pool: ENIs attached by someone else count against the instance quota', () => {
  it('does not create an ENI that cannot be attached (quota held by a foreign ENI): Exhausted at once, no create/delete churn', async () => {
    const cloud = new FakeCloud({ eniQuantity: 2, ipv4PerEni: 2 });
    const foreign = await cloud.createNetworkInterface({ vSwitchId: 'vsw-a', securityGroupIds: ['sg-1'], tags: { owner: 'someone-else' } });
    await cloud.attachNetworkInterface(foreign.eniId, cloud.instanceId);
    const createsBefore = cloud.calls['CreateNetworkInterface'] ?? 0;
    const pool = await startPool(cloud, new MemoryPoolStore(), new FakeClock());
    // the one secondary-ENI slot is the foreign ENI's, and eth0 is the node's: no pod fits
    const err = pool.allocate(pod(1));
    await expect(err).rejects.toMatchObject({ reason: 'Exhausted' });
    await expect(err).rejects.toThrow('node capacity reached: 0 pods = (2 ENIs − 1 − 1 not ours) × 2 IPs');
    await pool.whenIdle();
    expect(cloud.calls['CreateNetworkInterface'] ?? 0).toBe(createsBefore);
    expect(cloud.enis.get(foreign.eniId)).toMatchObject({ status: 'InUse', instanceId: cloud.instanceId });
  });
});

describe('multi-IP pool: waiters when a batch fails', () => {
  it('a failed create leaves every waiter queued (none lost), and all are served FIFO once the back-off ends', async () => {
    const cloud = new FakeCloud({ eniQuantity: 2, ipv4PerEni: 11 });
    const clock = new FakeClock();
    const pool = await startPool(cloud, new MemoryPoolStore(), clock, {
      maxPoolSize: 0,
      allocDeadlineMs: 60_000,
      backoff: { otherErrorMs: 5_000 },
    });
    cloud.failNext('CreateNetworkInterface', 'ServiceUnavailable');
    const order: number[] = [];
    const pending = [1, 2, 3].map((i) => pool.allocate(pod(i)).then((a) => (order.push(i), a)));
    await pool.whenIdle();
    expect(pool.stats().pendingRequests).toBe(3);
    clock.advance(5_000);
    await pool.tick();
    const allocs = await Promise.all(pending);
    expect(order).toEqual([1, 2, 3]);
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(3);
    for (const a of allocs) expect(onItsEni(cloud, a)).toBe(true);
  });
});
