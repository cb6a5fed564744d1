// The pool against the mock cloud, through the real SDK-backed client, on a real SQLite pod DB.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { createEniMultiIpPool, type PoolEvent } from '../../pool/eniMultiIpPool.js';
import type { PoolConfigInput } from '../../pool/config.js';
import type { PodRef } from '../../pool/types.js';
import { SqlitePoolStore } from '../../daemon/store/sqliteStore.js';
import type { AliyunCloud } from '../../daemon/cloud/client.js';
import { mockCloudClient } from '../support/mockCloud.js';
import { checkInvariants, NODE } from './mockRig.js';
import { FakeClock } from '../support/clock.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('pool-mock-');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pod(i: number, o: Partial<PodRef> = {}): PodRef {
  return {
    namespace: 'default',
    name: `pod-${i}`,
    containerId: `ctr-${i}`,
    ifName: 'eth0',
    networkName: 'terway',
    netns: `/proc/${i}/ns/net`,
    ...o,
  };
}

async function setup(o: { cfg?: PoolConfigInput; dbName?: string; mc?: MockCloudHandle; clock?: FakeClock } = {}) {
  const mc = o.mc ?? (await startMockCloud({ attachDelayMs: 20 }));
  if (!o.mc) cleanups.push(() => mc.close());
  const cloud = mockCloudClient(mc);
  const store = new SqlitePoolStore({ path: join(dir, o.dbName ?? `db-${Math.random().toString(36).slice(2)}.sqlite`) });
  const events: PoolEvent[] = [];
  const meta = await cloud.getInstanceMetadata();
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: meta.instanceId,
    instanceType: meta.instanceType,
    vSwitchIds: ['vsw-mock-a', 'vsw-mock-b'],
    securityGroupIds: ['sg-mock-1'],
    eniTags: { 'k8s.cluster': 'test' },
    config: {
      minPoolSize: 0,
      maxPoolSize: 5,
      ipCooldownMs: 0,
      idleIpReclaimAfterMs: 1_000,
      idleIpReclaimIntervalMs: 0,
      allocDeadlineMs: 20_000,
      ...o.cfg,
    },
    clock: o.clock,
    timers: false,
    onEvent: (e) => events.push(e),
  });
  await pool.start();
  cleanups.push(async () => {
    await pool.stop();
    store.close();
  });
  return { mc, cloud, store, pool, events };
}

function primaryEniId(mc: MockCloudHandle): string {
  return mc.dump().instances.find((i) => i.instanceId === NODE)!.primaryEniId;
}

describe('ENI multi-IP pool on the mock cloud (real SDK client, SQLite)', () => {
  it('100 concurrent allocations on an empty node with 100 ms API latency: ≤ ceil(100/10) + ENIs created assign calls', async () => {
    const { mc, pool, store } = await setup();
    mc.faults.setLatency('*', 100);
    mc.resetCounters();
    const allocs = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.allocate(pod(i))));
    const c = mc.counters();
    const created = c.CreateNetworkInterface ?? 0;
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(100);
    expect(created).toBeGreaterThan(0);
    expect(c.AssignPrivateIpAddresses ?? 0).toBeLessThanOrEqual(10 + created);
    await pool.whenIdle();
    const dump = mc.dump();
    // each answer names the ENI that really carries the IP, with its MAC and the vSwitch's gateway
    for (const a of allocs) {
      const eni = dump.enis.find((e) => e.eniId === a.eniId)!;
      expect(eni.secondaryIps).toContain(a.ip);
      expect(a.eniMac).toBe(eni.mac);
      const vsw = dump.vSwitches.find((v) => v.vSwitchId === a.vSwitchId)!;
      expect(a.gateway).toBe(vsw.gateway);
      expect(a.vSwitchCidr).toBe(vsw.cidr);
    }
    expect(checkInvariants(dump, store.load())).toEqual([]);
  });

  it('allocate is idempotent per key; release + idle ticker bring the pool back between the watermarks', async () => {
    const clock = new FakeClock();
    const { mc, pool, store } = await setup({
      clock,
      cfg: { minPoolSize: 2, maxPoolSize: 6, idleIpReclaimBatchSize: 10, minEniLifetimeMs: 0 },
    }); // the ticks below span seconds, not the default minute of ENI lifetime
    await pool.whenIdle();
    expect(pool.stats().free).toBeGreaterThanOrEqual(2);
    const allocs = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.allocate(pod(i))));
    const again = await pool.allocate(pod(7));
    expect(again).toEqual(allocs[7]);
    await pool.whenIdle();
    expect(pool.stats().free).toBeGreaterThanOrEqual(2);
    const peakEnis = pool.stats().enis;
    for (const a of allocs) await pool.release(a.podKey);
    expect(await pool.release(allocs[0]!.podKey)).toBeUndefined();
    for (let i = 0; i < 12 && pool.stats().free > 6; i++) {
      clock.t += 2_000;
      await pool.tick();
    }
    const s = pool.stats();
    expect(s.free).toBeLessThanOrEqual(6);
    expect(s.free).toBeGreaterThanOrEqual(2);
    expect(s.enis).toBeLessThan(peakEnis);
    await mc.settle();
    expect(checkInvariants(mc.dump(), store.load())).toEqual([]);
  });

  it('reconcile adopts IPs assigned behind the daemon’s back and drops ones unassigned behind its back', async () => {
    const clock = new FakeClock(Date.now());
    const { mc, pool, store, events } = await setup({ cfg: { minPoolSize: 4, maxPoolSize: 10 }, clock });
    await pool.whenIdle();
    const held = await pool.allocate(pod(1));
    const eniId = primaryEniId(mc);
    const other: AliyunCloud = mockCloudClient(mc);
    const extra = await other.assignPrivateIpAddresses(eniId, 2);
    const freeIp = pool.ipRecords().find((r) => r.state === 'free' && r.eniId === eniId)!.ip;
    await other.unassignPrivateIpAddresses(eniId, [freeIp, held.ip]);
    clock.advance(60_000); // a listing lacking what the pool assigned a moment ago is taken as stale until then
    await pool.reconcile();
    const recs = new Map(pool.ipRecords().map((r) => [r.ip, r]));
    for (const ip of extra) expect(recs.get(ip)?.state).toBe('free');
    expect(recs.has(freeIp)).toBe(false);
    expect(recs.get(held.ip)).toMatchObject({ state: 'assigned', missingInCloud: true });
    expect(events.find((e) => e.reason === 'IpMissingInCloud')?.ip).toBe(held.ip);
    await pool.release(held.podKey);
    expect(checkInvariants(mc.dump(), store.load())).toEqual([]);
  });

  it('under API throttling and injected 5xx errors the burst still completes and the books match the cloud', async () => {
    // reconcileCooldownMs 0: the mock hands out the lowest free address, so a lost-reply assign often returns
    // an IP the pool released a moment ago; with a cooldown it is adopted only once that is over (crashWindows.test.ts).
    const { mc, pool, store } = await setup({ cfg: { backoff: { otherErrorMs: 50 }, reconcileCooldownMs: 0, maxEniCreatesPerMinute: 0 } }); // failed creates count against Terway's 10/min, which a 20 s deadline cannot wait out (poolTerwayGaps.test.ts covers it)
    mc.faults.setThrottle(20, 5);
    mc.faults.setErrorRate('AssignPrivateIpAddresses', 0.2, '5xx', { afterEffect: true });
    mc.faults.setErrorRate('CreateNetworkInterface', 0.2, '5xx');
    const allocs = await Promise.all(Array.from({ length: 60 }, (_, i) => pool.allocate(pod(i))));
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(60);
    mc.faults.clear();
    await pool.whenIdle();
    await mc.settle();
    // replies lost after the work was done leave IPs the pool did not record: reconcile adopts them
    await pool.reconcile();
    expect(checkInvariants(mc.dump(), store.load())).toEqual([]);
  });

  it('restart on the same DB restores allocations without cloud writes', async () => {
    const mc = await startMockCloud({ attachDelayMs: 20 });
    cleanups.push(() => mc.close());
    const first = await setup({ mc, dbName: 'restart.sqlite', cfg: { minPoolSize: 3 } });
    const allocs = await Promise.all(Array.from({ length: 25 }, (_, i) => first.pool.allocate(pod(i, { stateful: i === 0 }))));
    await first.pool.whenIdle();
    await first.pool.stop();
    first.store.close();
    mc.resetCounters();
    const second = await setup({ mc, dbName: 'restart.sqlite', cfg: { minPoolSize: 3 } });
    for (const a of allocs) expect(second.pool.get(a.podKey)).toEqual(a);
    expect(second.pool.list()).toHaveLength(25);
    await second.pool.whenIdle();
    const c = mc.counters();
    expect((c.AssignPrivateIpAddresses ?? 0) + (c.CreateNetworkInterface ?? 0) + (c.UnassignPrivateIpAddresses ?? 0)).toBe(0);
    expect(checkInvariants(mc.dump(), second.store.load())).toEqual([]);
    // and it keeps working
    const more = await second.pool.allocate(pod(100));
    expect(allocs.map((a) => a.ip)).not.toContain(more.ip);
  });
});
