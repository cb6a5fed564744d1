import { afterEach, describe, expect, it } from 'vitest';
import {
  createEniMultiIpPool,
  CREATOR_TAG_KEY,
  CREATOR_TAG_VALUE,
  NODE_TAG_KEY,
  type EniMultiIpPool,
  type PoolEvent,
} from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore, podRecordFor, type PoolStore } from '../../pool/store.js';
import { PoolError, podKeyOf, type IpAllocation } from '../../pool/types.js';
import type { PoolConfigInput } from '../../pool/config.js';
import { FakeCloud, type FakeCloudOptions } from './fakeCloud.js';
import { FakeClock } from '../support/clock.js';
import { numberedPod as pod } from '../support/pods.js';

interface Rig {
  cloud: FakeCloud;
  store: PoolStore;
  clock: FakeClock;
  pool: EniMultiIpPool;
  events: PoolEvent[];
}

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function rig(
  o: {
    cfg?: PoolConfigInput;
    cloud?: FakeCloudOptions;
    store?: PoolStore;
    cloudInstance?: FakeCloud;
    clock?: FakeClock;
    vSwitchIds?: string[];
    ownerCheck?: Parameters<typeof createEniMultiIpPool>[0]['ownerCheck'];
  } = {},
): Promise<Rig> {
  const cloud = o.cloudInstance ?? new FakeCloud(o.cloud);
  const store = o.store ?? new MemoryPoolStore();
  const clock = o.clock ?? new FakeClock();
  const events: PoolEvent[] = [];
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: cloud.instanceId,
    instanceType: 'ecs.fake',
    vSwitchIds: o.vSwitchIds ?? ['vsw-a', 'vsw-b'],
    securityGroupIds: ['sg-1'],
    eniTags: { cluster: 'test' },
    config: {
      minPoolSize: 0,
      maxPoolSize: 5,
      ipCooldownMs: 30_000,
      idleIpReclaimAfterMs: 60_000,
      idleIpReclaimIntervalMs: 0,
      allocDeadlineMs: 5_000,
      ...o.cfg,
    },
    clock,
    timers: false,
    onEvent: (e) => events.push(e),
    ownerCheck: o.ownerCheck,
  });
  pools.push(pool);
  await pool.start();
  return { cloud, store, clock, pool, events };
}

function cloudCalls(c: FakeCloud, api: string): number {
  return c.calls[api] ?? 0;
}

/** Pod addresses the cloud shows on the node's secondary ENIs: each one's primary and its secondary IPs. */
function secondaryEniAddresses(c: FakeCloud): string[] {
  return [...c.enis.values()]
    .filter((e) => e.instanceId === c.instanceId && e.type === 'Secondary')
    .flatMap((e) => [e.primaryIp, ...e.secondaryIps]);
}

describe('ENI multi-IP pool against the in-memory cloud', () => {
  it('first allocation waits for a secondary ENI (never eth0); the answer carries ENI, vSwitch CIDR and gateway', async () => {
    const { pool, cloud } = await rig();
    const a = await pool.allocate(pod(1));
    const eni = cloud.enis.get(a.eniId)!;
    expect(eni.type).toBe('Secondary');
    // 'ordered': the vSwitch with the most free IPs (eth0 holds one of vsw-a's)
    expect(a).toMatchObject({
      eniMac: eni.mac,
      primaryEni: false,
      vSwitchId: 'vsw-b',
      vSwitchCidr: '10.0.1.0/24',
      gateway: '10.0.1.253',
      podKey: 'c1/eth0/terway',
      netns: '/var/run/netns/p1',
    });
    expect([eni.primaryIp, ...eni.secondaryIps]).toContain(a.ip);
    // the ENI brings its primary + 5 secondary IPs at creation (1 pod + max_pool_size 5): no assign call
    expect(cloudCalls(cloud, 'CreateNetworkInterface')).toBe(1);
    expect(cloudCalls(cloud, 'AssignPrivateIpAddresses')).toBe(0);
    await pool.whenIdle();
    expect(pool.stats()).toMatchObject({ enis: 1, assigned: 1, free: 5 });
    expect(cloud.primaryEni().secondaryIps).toEqual([]);
  });

  it('warm allocations make no cloud call and are committed before they resolve', async () => {
    const store = new MemoryPoolStore();
    const { pool, cloud } = await rig({ store, cfg: { minPoolSize: 3 } });
    await pool.whenIdle();
    const before = { ...cloud.calls };
    const commits = store.commits;
    const a = await pool.allocate(pod(1));
    expect(cloud.calls).toEqual(before);
    expect(store.commits).toBe(commits + 1);
    expect(store.load().pods.map((p) => p.ip)).toEqual([a.ip]);
  });

  it('is idempotent per pod key, also for concurrent calls', async () => {
    const { pool } = await rig();
    const [a, b] = await Promise.all([pool.allocate(pod(1)), pool.allocate(pod(1))]);
    expect(b).toEqual(a);
    expect(await pool.allocate(pod(1))).toEqual(a);
    expect(pool.list()).toHaveLength(1);
    expect(pool.get(podKeyOf(pod(1)))).toEqual(a);
  });

  it('a burst larger than one ENI aggregates demand: assign calls <= ceil(N/10) + ENIs created', async () => {
    const { pool, cloud } = await rig({ cloud: { eniQuantity: 8, ipv4PerEni: 20, latencyMs: 5 } });
    const allocs = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.allocate(pod(i))));
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(100);
    const created = cloudCalls(cloud, 'CreateNetworkInterface');
    expect(created).toBeGreaterThan(0);
    expect(cloudCalls(cloud, 'AssignPrivateIpAddresses')).toBeLessThanOrEqual(10 + created);
    // every handed-out IP is on the secondary ENI the answer names (its primary address included)
    for (const a of allocs) {
      const e = cloud.enis.get(a.eniId)!;
      expect(e.type).toBe('Secondary');
      expect([e.primaryIp, ...e.secondaryIps]).toContain(a.ip);
    }
    expect(allocs.filter((a) => cloud.enis.get(a.eniId)!.primaryIp === a.ip).length).toBe(created);
    await pool.whenIdle();
    // per-ENI workers: one ENI's operations never overlap, different ENIs run in parallel
    expect(cloud.maxOverlapPerEni).toBe(1);
    expect(cloud.maxOverlapAcrossEnis).toBeGreaterThan(1);
  });

  it('released IPs cool down before reuse; once cooled, above max_pool_size they go (the ENI primary stays with its ENI)', async () => {
    const { pool, clock, cloud } = await rig({ cfg: { maxPoolSize: 0 } });
    const a = await pool.allocate(pod(1));
    await pool.whenIdle();
    // max 0: the new ENI brought exactly one address, its own primary, and the pod has it
    expect(cloud.enis.get(a.eniId)!.primaryIp).toBe(a.ip);
    await pool.release(a.podKey);
    expect(pool.stats()).toMatchObject({ cooling: 1, free: 0 });
    const b = await pool.allocate(pod(2));
    expect(b.ip).not.toBe(a.ip);
    await pool.release(b.podKey);
    clock.advance(30_000);
    await pool.tick();
    await pool.whenIdle();
    // both cooled; b's secondary IP is above max 0 and unassigned at once; a's is the ENI's primary: it stays
    // (the ENI is younger than minEniLifetimeMs, so it is not deleted yet)
    expect(pool.stats()).toMatchObject({ cooling: 0, free: 1, releasing: 0 });
    expect(cloudCalls(cloud, 'UnassignPrivateIpAddresses')).toBe(1);
    const c = await pool.allocate(pod(3));
    expect(c.ip).toBe(a.ip);
  });

  it('a stateful pod gets its IP back within the reservation; others never take it', async () => {
    const { pool, clock } = await rig({ cfg: { statefulReserveMs: 60_000, minPoolSize: 2 } });
    const web0 = { namespace: 'db', name: 'web-0', stateful: true };
    const a = await pool.allocate(pod(1, web0));
    await pool.release(a.podKey);
    expect(pool.stats().reserved).toBe(1);
    for (let i = 0; i < 4; i++) expect((await pool.allocate(pod(10 + i))).ip).not.toBe(a.ip);
    const again = await pool.allocate(pod(2, web0)); // new container, same StatefulSet pod
    expect(again.ip).toBe(a.ip);
    await pool.release(again.podKey);
    clock.advance(60_000);
    await pool.tick();
    expect(pool.stats().reserved).toBe(0);
  });

  it('vSwitch out of IPs: backs off that vSwitch and puts the next ENI in another one', async () => {
    const { pool, cloud } = await rig({
      cloud: {
        vSwitches: [
          { id: 'vsw-a', cidr: '10.0.0.0/24', limit: 3 },
          // Fewer free IPs (AvailableIpAddressCount 1 against vsw-a's 2): 'ordered' takes vsw-a first.
          { id: 'vsw-b', cidr: '10.0.1.0/28', limit: 1 },
        ],
      },
      cfg: { maxPoolSize: 0 },
    });
    // eth0 holds the 1st address of vsw-a; a new ENI's primary (pod 1) the 2nd, one secondary IP (pod 2) the 3rd
    const a = await pool.allocate(pod(1));
    const b = await pool.allocate(pod(2));
    expect(a.vSwitchId).toBe('vsw-a');
    expect(b.vSwitchId).toBe('vsw-a');
    const c = await pool.allocate(pod(3));
    expect(c.vSwitchId).toBe('vsw-b');
    expect(pool.stats().backoffReason).toContain('InvalidVSwitchId.IpNotEnough');
    expect(cloudCalls(cloud, 'CreateNetworkInterface')).toBe(2);
  });

  it('every vSwitch exhausted: Exhausted with the cloud code, retryable', async () => {
    const { pool } = await rig({ cloud: { vSwitches: [{ id: 'vsw-a', cidr: '10.0.0.0/24', limit: 1 }] }, vSwitchIds: ['vsw-a'] });
    const err = await pool.allocate(pod(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toMatchObject({ reason: 'Exhausted', cloudCode: 'InvalidVSwitchId.IpNotEnough', retryable: true });
  });

  it('capacity reached: (EniQuantity − 1) × IPs per ENI pods, then Exhausted at once naming the limit', async () => {
    const { pool, cloud } = await rig({ cloud: { eniQuantity: 2, ipv4PerEni: 3 }, cfg: { maxPoolSize: 0 } });
    expect(pool.capacity()).toMatchObject({ pods: 3, secondaryEnis: 1, perEni: 3 });
    for (let i = 0; i < 3; i++) await pool.allocate(pod(i));
    const calls = { ...cloud.calls };
    const err = await pool.allocate(pod(9)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toMatchObject({ reason: 'Exhausted', retryable: true, cloudCode: undefined });
    expect((err as Error).message).toContain('node capacity reached: 3 pods = (2 ENIs − 1) × 3 IPs (ecs.fake)');
    expect(cloud.calls).toEqual(calls); // no cloud call tried
    expect(cloud.primaryEni().secondaryIps).toEqual([]);
  });

  it('EniPerInstanceLimitExceeded pauses allocation for the configured time', async () => {
    const { pool, cloud, clock } = await rig({
      cloud: { ipv4PerEni: 2 },
      cfg: { maxPoolSize: 0, backoff: { eniPerInstanceLimitMs: 60_000 } },
    });
    const a = await pool.allocate(pod(1)); // a new ENI's primary
    await pool.allocate(pod(5)); // its one secondary: the ENI is full
    cloud.failNext('CreateNetworkInterface', 'EniPerInstanceLimitExceeded');
    await expect(pool.allocate(pod(2))).rejects.toMatchObject({ reason: 'Exhausted', cloudCode: 'EniPerInstanceLimitExceeded' });
    await expect(pool.allocate(pod(3))).rejects.toMatchObject({ reason: 'Exhausted', cloudCode: 'EniPerInstanceLimitExceeded' });
    expect(cloudCalls(cloud, 'CreateNetworkInterface')).toBe(2);
    clock.advance(60_000);
    const c = await pool.allocate(pod(4));
    expect(c.primaryEni).toBe(false);
    expect(c.eniId).not.toBe(a.eniId);
  });

  it('a transient failure makes the request wait, then time out at its deadline', async () => {
    const { pool, cloud } = await rig({ cfg: { backoff: { otherErrorMs: 60_000 } } });
    cloud.failNext('AssignPrivateIpAddresses', 'ServiceUnavailable');
    cloud.failNext('CreateNetworkInterface', 'ServiceUnavailable');
    // the timeout names the cloud's answer to the last attempt (what the CNI error shows)
    await expect(pool.allocate(pod(1), { deadlineMs: 50 })).rejects.toMatchObject({
      reason: 'Timeout',
      retryable: true,
      cloudCode: 'ServiceUnavailable',
    });
  });

  it('idle ticker: refills below min, releases above max at once, idle reclaim shrinks toward min and deletes emptied ENIs', async () => {
    const { pool, cloud, clock } = await rig({
      cloud: { eniQuantity: 4, ipv4PerEni: 6 },
      cfg: { minPoolSize: 2, maxPoolSize: 4, ipCooldownMs: 0, idleIpReclaimBatchSize: 3 },
    });
    await pool.whenIdle();
    expect(pool.stats().free).toBe(4); // min 2 rounded toward a batch, capped at max
    const allocs = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.allocate(pod(i))));
    await pool.whenIdle();
    expect(pool.stats().free).toBeGreaterThanOrEqual(2);
    const enisAtPeak = pool.stats().enis;
    expect(enisAtPeak).toBeGreaterThanOrEqual(2);
    for (const a of allocs) await pool.release(a.podKey);
    // above max: released right away (Terway disposes them at its next sync), idle or not
    await pool.tick();
    await pool.whenIdle();
    expect(cloudCalls(cloud, 'UnassignPrivateIpAddresses')).toBeGreaterThan(0);
    expect(pool.stats().free).toBeLessThanOrEqual(4 + enisAtPeak); // ENI primaries leave only with their ENI
    for (let i = 0; i < 10; i++) {
      clock.advance(61_000);
      await pool.tick();
      await pool.whenIdle();
    }
    // idle for longer than idle_ip_reclaim_after: shrunk to min_pool_size, emptied ENIs of ours deleted
    const s = pool.stats();
    expect(s.free).toBe(2);
    expect(s.enis).toBeLessThan(enisAtPeak);
    expect(cloudCalls(cloud, 'DeleteNetworkInterface')).toBeGreaterThan(0);
    // the primary ENI is never deleted nor used, and cloud and pool agree on what is left
    expect(cloud.enis.has(cloud.primaryEni().eniId)).toBe(true);
    expect(cloud.primaryEni().secondaryIps).toEqual([]);
    expect(new Set(secondaryEniAddresses(cloud))).toEqual(new Set(pool.ipRecords().map((r) => r.ip)));
  });

  it('reconcile adopts IPs assigned behind its back and drops ones unassigned behind its back', async () => {
    // room on the primary ENI for the one assigned behind the pool's back (the cloud enforces the quota)
    const { pool, cloud, clock, events } = await rig({ cloud: { ipv4PerEni: 10 }, cfg: { minPoolSize: 3 } });
    await pool.whenIdle();
    await pool.allocate(pod(0)); // the ENI's primary address (the lowest, longest idle)
    const a = await pool.allocate(pod(1)); // a secondary IP
    const eni = cloud.enis.get(a.eniId)!;
    expect(eni.secondaryIps).toContain(a.ip);
    const free = pool
      .ipRecords()
      .filter((r) => r.state === 'free')
      .map((r) => r.ip);
    const extra = cloud.assignBehindBack(a.eniId, 1);
    cloud.unassignBehindBack(a.eniId, [free[0]!, a.ip]);
    clock.advance(60_000); // a listing lacking what the pool assigned a moment ago is taken as stale until then
    await pool.reconcile();
    const recs = new Map(pool.ipRecords().map((r) => [r.ip, r]));
    expect(recs.get(extra[0]!)?.state).toBe('free');
    expect(recs.has(free[0]!)).toBe(false);
    // the pod's IP is kept (never silently dropped) and flagged with an event
    expect(recs.get(a.ip)).toMatchObject({ state: 'assigned', missingInCloud: true });
    expect(events.some((e) => e.reason === 'IpMissingInCloud' && e.ip === a.ip)).toBe(true);
    await pool.release(a.podKey);
    expect(pool.ipRecords().some((r) => r.ip === a.ip)).toBe(false);
  });

  it('reconcile deletes our leaked Available ENIs and leaves others alone', async () => {
    const cloud = new FakeCloud();
    const ours = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-b',
      securityGroupIds: ['sg-1'],
      tags: { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: cloud.instanceId },
      secondaryIpCount: 2,
    });
    const foreign = await cloud.createNetworkInterface({ vSwitchId: 'vsw-b', securityGroupIds: ['sg-1'], tags: { owner: 'someone' } });
    const otherNode = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-b',
      securityGroupIds: ['sg-1'],
      tags: { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: 'i-other' },
    });
    await rig({ cloudInstance: cloud });
    expect(cloud.enis.has(ours.eniId)).toBe(false);
    expect(cloud.enis.has(foreign.eniId)).toBe(true);
    expect(cloud.enis.has(otherNode.eniId)).toBe(true);
  });

  it('reconcile adopts an attached ENI of ours that the DB does not know (crash after attach)', async () => {
    const cloud = new FakeCloud();
    const ours = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-b',
      securityGroupIds: ['sg-1'],
      tags: { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: cloud.instanceId },
      secondaryIpCount: 3,
    });
    await cloud.attachNetworkInterface(ours.eniId, cloud.instanceId);
    const { pool } = await rig({ cloudInstance: cloud, cfg: { maxPoolSize: 10 } });
    expect(pool.eniRecords().find((e) => e.eniId === ours.eniId)).toMatchObject({
      createdByUs: true,
      state: 'inuse',
      vSwitchCidr: '10.0.1.0/24',
      gateway: '10.0.1.253',
      primaryIp: ours.primaryIp,
    });
    // its primary address and its 3 secondary IPs are pod addresses
    expect(pool.stats().free).toBe(4);
    expect(pool.ipRecords().map((r) => r.ip)).toContain(ours.primaryIp);
  });

  it('a pod DB from before pods moved off eth0: its pods there keep their IPs until they go; nothing new goes there; the rest is left to eth0', async () => {
    const cloud = new FakeCloud();
    const primary = cloud.primaryEni();
    const [held, spare] = cloud.assignBehindBack(primary.eniId, 2);
    const t = new FakeClock().t;
    const key = podKeyOf(pod(1));
    const at = {
      eniId: primary.eniId,
      eniMac: primary.mac,
      primaryEni: true,
      vSwitchId: 'vsw-a',
      vSwitchCidr: '10.0.0.0/24',
      gateway: '10.0.0.253',
    };
    const store = new MemoryPoolStore();
    store.apply([
      {
        op: 'putEni',
        eni: { ...at, mac: primary.mac, primary: true, createdByUs: false, state: 'inuse', createdAt: t, primaryIp: primary.primaryIp },
      },
      { op: 'putIp', ip: { ip: held!, eniId: primary.eniId, state: 'assigned', podKey: key, since: t } },
      { op: 'putIp', ip: { ip: spare!, eniId: primary.eniId, state: 'free', since: t } },
      { op: 'putPod', pod: podRecordFor(key, pod(1), 'ENIMultiIP', { ...at, ip: held! }, t) },
    ]);
    const { pool } = await rig({ store, cloudInstance: cloud });
    expect(pool.get(key)).toMatchObject({ ip: held, primaryEni: true });
    // the free one is no longer the pool's, and stays on eth0 (not unassigned: it may not be ours)
    expect(pool.ipRecords().map((r) => r.ip)).not.toContain(spare);
    expect(cloud.primaryEni().secondaryIps).toContain(spare);
    const b = await pool.allocate(pod(2));
    expect(b).toMatchObject({ primaryEni: false });
    expect(b.ip).not.toBe(spare);
    await pool.release(key);
    expect(pool.ipRecords().map((r) => r.ip)).not.toContain(held);
    expect(cloud.primaryEni().secondaryIps).toContain(held);
    await pool.reconcile();
    expect(pool.eniRecords().some((e) => e.primary)).toBe(false);
    expect(pool.stats().enis).toBe(1);
  });

  it('restart on the same store restores allocations and finishes interrupted releases', async () => {
    const store = new MemoryPoolStore();
    const cloud = new FakeCloud();
    const r1 = await rig({ store, cloudInstance: cloud, cfg: { minPoolSize: 2 } });
    const a = await r1.pool.allocate(pod(1));
    const b = await r1.pool.allocate(pod(2));
    await r1.pool.whenIdle();
    await r1.pool.stop();
    // a crash mid-release leaves a 'releasing' row whose IP the cloud still has
    const snap = store.load();
    const freeRow = snap.ips.find((r) => r.state === 'free')!;
    store.apply([{ op: 'putIp', ip: { ...freeRow, state: 'releasing' } }]);
    const r2 = await rig({ store, cloudInstance: cloud, cfg: { minPoolSize: 2 } });
    expect(r2.pool.get(a.podKey)).toEqual(a);
    expect(r2.pool.get(b.podKey)).toEqual(b);
    // finished (roll forward), never handed out: the dead daemon's unassign may still land
    await r2.pool.whenIdle();
    expect(r2.pool.ipRecords().some((r) => r.ip === freeRow.ip)).toBe(false);
    expect(cloud.attachedSecondaryIps()).not.toContain(freeRow.ip);
    const c = await r2.pool.allocate(pod(3));
    expect([a.ip, b.ip]).not.toContain(c.ip);
  });

  it('starts on the DB alone when the cloud is down: serves known free IPs, grows only after a reconcile', async () => {
    const store = new MemoryPoolStore();
    const cloud = new FakeCloud();
    const r1 = await rig({ store, cloudInstance: cloud, cfg: { minPoolSize: 2, maxPoolSize: 2 } });
    await r1.pool.whenIdle();
    await r1.pool.stop();
    cloud.failNext('DescribeNetworkInterfaces', 'ServiceUnavailable');
    const r2 = await rig({ store, cloudInstance: cloud, cfg: { minPoolSize: 2, maxPoolSize: 2 } });
    expect(r2.pool.synced).toBe(false);
    expect(r2.events.some((e) => e.reason === 'ReconcileFailed')).toBe(true);
    const assignsBefore = cloudCalls(cloud, 'AssignPrivateIpAddresses');
    const a = await r2.pool.allocate(pod(1));
    const b = await r2.pool.allocate(pod(2));
    expect(a.ip).not.toBe(b.ip);
    await expect(r2.pool.allocate(pod(3), { deadlineMs: 50 })).rejects.toMatchObject({ reason: 'Timeout' });
    expect(cloudCalls(cloud, 'AssignPrivateIpAddresses')).toBe(assignsBefore);
    await r2.pool.reconcile();
    expect(r2.pool.synced).toBe(true);
    await r2.pool.allocate(pod(4));
    expect(cloudCalls(cloud, 'AssignPrivateIpAddresses')).toBeGreaterThan(assignsBefore);
  });

  it('GC releases allocations whose owner is gone, sparing young ones', async () => {
    let goneNames = new Set<string>();
    const ownerCheck = { goneOwners: async (allocs: IpAllocation[]) => allocs.filter((x) => goneNames.has(x.name)) };
    const { pool, clock } = await rig({ ownerCheck, cfg: { gcGraceMs: 120_000 } });
    const a = await pool.allocate(pod(1));
    await pool.allocate(pod(2));
    goneNames = new Set(['pod-1', 'pod-2']);
    expect(await pool.gc()).toEqual([]); // too young
    clock.advance(120_000);
    const c = await pool.allocate(pod(3));
    goneNames = new Set(['pod-1', 'pod-3']);
    expect(await pool.gc()).toEqual([a.podKey]);
    expect(pool.get(c.podKey)).toBeDefined();
  });

  it('gcExcept releases everything not in the valid set', async () => {
    const { pool } = await rig();
    const a = await pool.allocate(pod(1));
    const b = await pool.allocate(pod(2));
    expect(await pool.gcExcept(new Set([a.podKey]))).toEqual([b.podKey]);
    expect(pool.list().map((x) => x.podKey)).toEqual([a.podKey]);
  });

  it('release is idempotent and stop() fails waiting requests with ShuttingDown', async () => {
    const { pool, cloud } = await rig();
    expect(await pool.release('nope/eth0/x')).toBeUndefined();
    cloud.latencyMs = 200;
    const p = pool.allocate(pod(1)).catch((e: unknown) => Promise.reject(e));
    p.catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    await pool.stop();
    await expect(p).rejects.toMatchObject({ reason: 'ShuttingDown' });
  });
});
