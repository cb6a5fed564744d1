// DescribeNetworkInterfaces is eventually consistent: right after an assign or a new ENI the listing
// may still show the state before it. A reconcile in that window must not drop the new free IPs, flag
// the ones pods hold as missing, nor drop the new ENI: what the pool got a moment ago is taken as
// there until the reconcile cooldown is over; then the listing is believed again.
import { afterEach, describe, expect, it } from 'vitest';
import { createEniMultiIpPool, type EniMultiIpPool, type PoolEvent } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../../pool/store.js';
import { FakeCloud } from './fakeCloud.js';
import { FakeClock } from '../support/clock.js';
import { numberedPod as pod } from '../support/pods.js';

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function rig(cloudOpts: { eniQuantity?: number; ipv4PerEni?: number } = {}) {
  const clock = new FakeClock();
  const cloud = new FakeCloud({ ...cloudOpts, clock });
  const events: PoolEvent[] = [];
  const pool = await createEniMultiIpPool({
    cloud,
    store: new MemoryPoolStore(),
    instanceId: cloud.instanceId,
    limits: { eniQuantity: cloud.limits.eniQuantity, ipv4PerEni: cloud.limits.ipv4PerEni },
    vSwitchIds: ['vsw-a', 'vsw-b'],
    securityGroupIds: ['sg-1'],
    config: { minPoolSize: 0, maxPoolSize: 5, ipCooldownMs: 0, idleIpReclaimIntervalMs: 0, reconcileCooldownMs: 60_000 },
    clock,
    timers: false,
    onEvent: (e) => events.push(e),
  });
  pools.push(pool);
  await pool.start();
  return { clock, cloud, pool, events };
}

describe('multi-IP pool: reconcile against a listing that lags an assign or a new ENI', () => {
  it('just-assigned IPs are neither dropped (free) nor flagged missing (held) by a stale listing', async () => {
    const { clock, cloud, pool, events } = await rig({ ipv4PerEni: 11 });
    cloud.staleListings(2_000);
    const a = await pool.allocate(pod(1));
    await pool.whenIdle();
    const before = pool
      .ipRecords()
      .map((r) => r.ip)
      .sort();
    // the listing does not show them yet
    const listed = await cloud.describeNetworkInterfaces({ instanceId: cloud.instanceId });
    expect(listed.flatMap((e) => e.secondaryIps)).not.toContain(a.ip);
    await pool.reconcile();
    expect(
      pool
        .ipRecords()
        .map((r) => r.ip)
        .sort(),
    ).toEqual(before);
    expect(pool.ipRecords().find((r) => r.ip === a.ip)).toMatchObject({ state: 'assigned' });
    expect(pool.ipRecords().some((r) => r.missingInCloud)).toBe(false);
    expect(events.some((e) => e.reason === 'IpMissingInCloud')).toBe(false);
    // once the listing caught up, it agrees
    clock.advance(2_000);
    await pool.reconcile();
    expect(
      pool
        .ipRecords()
        .map((r) => r.ip)
        .sort(),
    ).toEqual(before);
  });

  it('a new ENI a stale listing does not show yet is kept, with the IP a pod holds on it', async () => {
    const { clock, cloud, pool, events } = await rig({ eniQuantity: 3, ipv4PerEni: 3 });
    // Pods use secondary ENIs only: three pods fill the first one (its primary address and 2 secondary IPs).
    const first = await Promise.all([1, 2, 3].map((i) => pool.allocate(pod(i))));
    expect(new Set(first.map((a) => a.eniId)).size).toBe(1);
    await pool.whenIdle();
    cloud.staleListings(2_000);
    const b = await pool.allocate(pod(4)); // needs a new ENI
    await pool.whenIdle();
    expect(b.primaryEni).toBe(false);
    expect(b.eniId).not.toBe(first[0]!.eniId);
    expect((await cloud.describeNetworkInterfaces({ instanceId: cloud.instanceId })).map((e) => e.eniId)).not.toContain(b.eniId);
    await pool.reconcile();
    expect(pool.eniRecords().map((e) => e.eniId)).toContain(b.eniId);
    expect(pool.get(b.podKey)).toMatchObject({ ip: b.ip, eniId: b.eniId });
    expect(pool.ipRecords().find((r) => r.ip === b.ip)?.missingInCloud).toBeUndefined();
    expect(events.some((e) => e.reason === 'IpMissingInCloud')).toBe(false);
    clock.advance(2_000);
    await pool.reconcile();
    expect(pool.eniRecords().find((e) => e.eniId === b.eniId)?.state).toBe('inuse');
  });

  it('after the cooldown the listing is believed: an IP really gone is dropped', async () => {
    const { clock, cloud, pool } = await rig({ ipv4PerEni: 11 });
    await pool.allocate(pod(1));
    await pool.whenIdle();
    // A free secondary IP of the pod's ENI (its primary address went to the pod, and could not be unassigned).
    const free = pool.ipRecords().find((r) => r.state === 'free')!;
    cloud.unassignBehindBack(free.eniId, [free.ip]);
    await pool.reconcile();
    // within the cooldown of its assign: kept
    expect(pool.ipRecords().map((r) => r.ip)).toContain(free.ip);
    clock.advance(60_000);
    await pool.reconcile();
    expect(pool.ipRecords().map((r) => r.ip)).not.toContain(free.ip);
  });
});
