// The pool with Terway's eni_tag_filter, reclaim jitter, create rate limit and AWS's minimum ENI lifetime,
// against the in-memory cloud with a fake clock; and the ENI primary IP surviving a restart in the SQLite pod DB.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEniMultiIpPool, CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY, type EniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore, type PoolStore } from '../../pool/store.js';
import type { PoolConfigInput } from '../../pool/config.js';
import { openPoolStore } from '../../daemon/store/index.js';
import { FakeCloud } from './fakeCloud.js';
import { FakeClock } from '../support/clock.js';
import { tempDir } from '../support/tmp.js';
import { numberedPod as pod } from '../support/pods.js';

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function rig(cloud: FakeCloud, o: { cfg?: PoolConfigInput; store?: PoolStore; clock?: FakeClock; random?: () => number } = {}) {
  const clock = o.clock ?? new FakeClock();
  const store = o.store ?? new MemoryPoolStore();
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: cloud.instanceId,
    instanceType: 'ecs.fake',
    vSwitchIds: ['vsw-a'],
    securityGroupIds: ['sg-1'],
    eniTags: { cluster: 'test' },
    config: {
      minPoolSize: 0,
      maxPoolSize: 0,
      ipCooldownMs: 0,
      idleIpReclaimAfterMs: 0,
      idleIpReclaimIntervalMs: 0,
      allocDeadlineMs: 30_000,
      ...o.cfg,
    },
    clock,
    timers: false,
    random: o.random,
  });
  pools.push(pool);
  await pool.start();
  return { pool, clock, store };
}

const ourTags = (cloud: FakeCloud, extra: Record<string, string> = {}) => ({
  [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE,
  [NODE_TAG_KEY]: cloud.instanceId,
  ...extra,
});

describe('eni_tag_filter', () => {
  it('ENIs that do not match are never adopted, used or deleted, and still take a quota slot', async () => {
    // quota 3: primary + an unmatched ENI of ours + room for exactly one more
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3 });
    const unmatched = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-a',
      securityGroupIds: ['sg-1'],
      tags: ourTags(cloud),
      secondaryIpCount: 2,
    });
    await cloud.attachNetworkInterface(unmatched.eniId, cloud.instanceId);
    const leaked = await cloud.createNetworkInterface({ vSwitchId: 'vsw-a', securityGroupIds: ['sg-1'], tags: ourTags(cloud) }); // Available, ours, unmatched
    const { pool } = await rig(cloud, { cfg: { eniTagFilter: { team: 'a' } } });

    expect(pool.eniRecords().map((e) => e.eniId)).not.toContain(unmatched.eniId);
    // primary (2 secondaries) + one new ENI (2): 4 pods, then the node is full — the unmatched ENI's IPs are not used
    const allocs = await Promise.all([1, 2, 3, 4].map((i) => pool.allocate(pod(i))));
    for (const a of allocs) expect(unmatched.secondaryIps).not.toContain(a.ip);
    await expect(pool.allocate(pod(5), { deadlineMs: 2_000 })).rejects.toMatchObject({ reason: 'Exhausted' });
    expect(cloud.calls['CreateNetworkInterface']).toBe(3); // the two set-up ones + one by the pool
    // the ENI it created carries the filter's tags (so it manages it) and the configured ones
    const created = pool.eniRecords().find((e) => e.createdByUs)!;
    expect(cloud.enis.get(created.eniId)!.tags).toMatchObject({ team: 'a', cluster: 'test', ...ourTags(cloud) });
    // idle reclaim and leak clean-up leave the unmatched ones alone
    for (const a of allocs) await pool.release(a.podKey);
    await pool.tick();
    await pool.gc();
    await pool.whenIdle();
    expect(cloud.enis.get(unmatched.eniId)).toMatchObject({ status: 'InUse', secondaryIps: unmatched.secondaryIps });
    expect(cloud.enis.has(leaked.eniId)).toBe(true);
  });

  it('an ENI the DB knows that stops matching is frozen: its pod keeps its IP, nothing new comes from it, it is not deleted', async () => {
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 3 });
    const store = new MemoryPoolStore();
    const clock = new FakeClock();
    const r1 = await rig(cloud, { store, clock, cfg: { minEniLifetimeMs: 0 } });
    // fill the primary, so the third pod lands on an ENI the pool creates (without the tag the next run filters on)
    const a = await Promise.all([1, 2, 3].map((i) => r1.pool.allocate(pod(i))));
    const onSecondary = a.find((x) => !x.primaryEni)!;
    await r1.pool.whenIdle();
    await r1.pool.stop();

    const r2 = await rig(cloud, { store, clock, cfg: { eniTagFilter: { team: 'a' }, minEniLifetimeMs: 0 } });
    expect(r2.pool.get(onSecondary.podKey)?.ip).toBe(onSecondary.ip);
    const deletesBefore = cloud.calls['DeleteNetworkInterface'] ?? 0;
    // a new pod gets a new (matching) ENI, never a second IP on the frozen one
    const b = await r2.pool.allocate(pod(9));
    expect(b.eniId).not.toBe(onSecondary.eniId);
    expect(cloud.enis.get(b.eniId)!.tags['team']).toBe('a');
    await r2.pool.release(onSecondary.podKey);
    clock.t += 600_000;
    await r2.pool.tick();
    await r2.pool.whenIdle();
    expect(cloud.enis.get(onSecondary.eniId)?.status).toBe('InUse');
    expect(cloud.enis.get(onSecondary.eniId)?.secondaryIps).toContain(onSecondary.ip);
    expect(cloud.calls['DeleteNetworkInterface'] ?? 0).toBe(deletesBefore);
  });
});

describe('idle_ip_reclaim_jitter_factor', () => {
  it('the next reclaim batch waits interval × (1 − factor) with random() = 0, not the configured interval', async () => {
    const cloud = new FakeCloud({ eniQuantity: 2, ipv4PerEni: 6 });
    const { pool, clock } = await rig(cloud, {
      random: () => 0,
      cfg: { idleIpReclaimIntervalMs: 100_000, idleIpReclaimJitterFactor: 0.2, idleIpReclaimBatchSize: 1 },
    });
    const allocs = await Promise.all([1, 2, 3].map((i) => pool.allocate(pod(i))));
    for (const a of allocs) await pool.release(a.podKey);
    const unassigns = () => cloud.calls['UnassignPrivateIpAddresses'] ?? 0;
    await pool.tick();
    await pool.whenIdle();
    expect(unassigns()).toBe(1);
    clock.t += 79_999;
    await pool.tick();
    await pool.whenIdle();
    expect(unassigns()).toBe(1);
    clock.t += 1; // 80 s = 100 s × (1 − 0.2)
    await pool.tick();
    await pool.whenIdle();
    expect(unassigns()).toBe(2);
  });
});

describe('ENI create rate limit', () => {
  it('excess demand waits (no error) and is served once the window lets another create through', async () => {
    // one secondary IP per ENI: every pod past the first needs its own ENI
    const cloud = new FakeCloud({ eniQuantity: 10, ipv4PerEni: 2 });
    const { pool, clock } = await rig(cloud, { cfg: { maxEniCreatesPerMinute: 3 } });
    let lateSettled: 'ok' | 'err' | undefined;
    const early = [1, 2, 3, 4].map((i) => pool.allocate(pod(i)));
    const late = pool.allocate(pod(5)).then(
      () => (lateSettled = 'ok'),
      (err: unknown) => {
        lateSettled = 'err';
        throw err;
      },
    );
    await Promise.all(early);
    await pool.whenIdle();
    expect(cloud.calls['CreateNetworkInterface']).toBe(3);
    expect(lateSettled).toBeUndefined(); // still waiting, not rejected
    expect(pool.stats().pendingRequests).toBe(1);
    clock.t += 59_000;
    await pool.tick();
    await pool.whenIdle();
    expect(cloud.calls['CreateNetworkInterface']).toBe(3);
    clock.t += 1_000;
    await pool.tick();
    await late;
    expect(lateSettled).toBe('ok');
    expect(cloud.calls['CreateNetworkInterface']).toBe(4);
  });
});

describe('minimum ENI lifetime', () => {
  it('a new ENI is not detached+deleted by idle reclaim until minEniLifetimeMs after its creation', async () => {
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 2 });
    const { pool, clock } = await rig(cloud, { cfg: { minEniLifetimeMs: 60_000 } });
    const a = await Promise.all([1, 2].map((i) => pool.allocate(pod(i))));
    const eniId = a.find((x) => !x.primaryEni)!.eniId;
    for (const x of a) await pool.release(x.podKey);
    clock.t += 30_000;
    await pool.tick();
    await pool.whenIdle();
    expect(cloud.calls['DeleteNetworkInterface'] ?? 0).toBe(0);
    clock.t += 30_000;
    // the unassign path may have emptied it meanwhile; either way the ENI goes only now
    await pool.tick();
    await pool.whenIdle();
    await pool.tick();
    await pool.whenIdle();
    expect(cloud.enis.has(eniId)).toBe(false);
  });
});

describe('ENI primary IP in the pod DB (schema v2)', () => {
  it('after a restart with the cloud down, allocations still carry eniPrimaryIp', async () => {
    const dir = tempDir('eni-pip-');
    const cloud = new FakeCloud({ eniQuantity: 3, ipv4PerEni: 2 });
    const store1 = openPoolStore(join(dir, 'pods.db'), { checkpointIntervalMs: 0 });
    const r1 = await rig(cloud, { store: store1 });
    const a = await Promise.all([1, 2].map((i) => r1.pool.allocate(pod(i))));
    for (const x of a) expect(x.eniPrimaryIp).toBe(cloud.enis.get(x.eniId)!.primaryIp);
    await r1.pool.stop();
    store1.close();

    const store2 = openPoolStore(join(dir, 'pods.db'), { checkpointIntervalMs: 0 });
    cloud.failNext('DescribeNetworkInterfaces', 'ServiceUnavailable');
    const r2 = await rig(cloud, { store: store2 });
    expect(r2.pool.synced).toBe(false);
    for (const x of a) expect(r2.pool.get(x.podKey)?.eniPrimaryIp).toBe(x.eniPrimaryIp);
    await r2.pool.stop();
    store2.close();
  });
});
