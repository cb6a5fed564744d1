// Pool hooks that keep the kernel in step: beforeRelease (GC of a gone pod), onEniRemoved (ENI leaves),
// and the ENI primary IP carried on every allocation.
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEniMultiIpPool,
  type EniMultiIpPool,
  type EniMultiIpPoolOptions,
  type PoolEvent,
  type RemovedEni,
} from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../../pool/store.js';
import type { IpAllocation } from '../../pool/types.js';
import { FakeCloud } from './fakeCloud.js';
import { FakeClock } from '../support/clock.js';
import { numberedPod as pod } from '../support/pods.js';

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function rig(extra: Partial<EniMultiIpPoolOptions> = {}, cloud = new FakeCloud({ eniQuantity: 4, ipv4PerEni: 3 }), maxPoolSize = 5) {
  const clock = new FakeClock();
  const events: PoolEvent[] = [];
  const pool = await createEniMultiIpPool({
    cloud,
    store: new MemoryPoolStore(),
    instanceId: cloud.instanceId,
    instanceType: 'ecs.fake',
    vSwitchIds: ['vsw-a'],
    securityGroupIds: ['sg-1'],
    config: {
      minPoolSize: 0,
      maxPoolSize,
      ipCooldownMs: 0,
      idleIpReclaimAfterMs: 0,
      idleIpReclaimIntervalMs: 0,
      gcGraceMs: 0,
      allocDeadlineMs: 5_000,
    },
    clock,
    timers: false,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  pools.push(pool);
  await pool.start();
  return { pool, cloud, clock, events };
}

describe('pool GC beforeRelease hook', () => {
  it('runs the hook before releasing a gone pod; a failing hook keeps the IP until a later GC succeeds', async () => {
    const gone = new Set<string>();
    const calls: { podKey: string; why: string; assignedDuringHook: boolean }[] = [];
    let fail: string | undefined = 'veth busy';
    let pool!: EniMultiIpPool;
    const r = await rig({
      ownerCheck: { goneOwners: async (allocs: IpAllocation[]) => allocs.filter((a) => gone.has(a.name)) },
      beforeRelease: async (a, why) => {
        // The IP must still be held while the driver tears the pod down.
        calls.push({ podKey: a.podKey, why, assignedDuringHook: pool.ipRecords().find((x) => x.ip === a.ip)?.state === 'assigned' });
        if (fail) throw new Error(fail);
      },
    });
    pool = r.pool;
    const a = await pool.allocate(pod(1));
    const b = await pool.allocate(pod(2));
    gone.add('pod-1');

    expect(await pool.gc()).toEqual([]);
    expect(calls).toEqual([{ podKey: a.podKey, why: 'gc', assignedDuringHook: true }]);
    expect(pool.get(a.podKey)?.ip).toBe(a.ip); // kept
    expect(pool.ipRecords().find((x) => x.ip === a.ip)?.state).toBe('assigned');
    const warn = r.events.find((e) => e.reason === 'GCReleaseFailed');
    expect(warn).toMatchObject({ type: 'Warning', ip: a.ip, podKey: a.podKey });
    expect(warn?.message).toContain('veth busy');
    expect(r.events.some((e) => e.reason === 'GCReleasedIP')).toBe(false);

    fail = undefined;
    expect(await pool.gc()).toEqual([a.podKey]);
    expect(calls).toHaveLength(2);
    expect(pool.get(a.podKey)).toBeUndefined();
    expect(pool.ipRecords().find((x) => x.ip === a.ip)?.state).toBe('free');
    expect(pool.get(b.podKey)).toBeDefined(); // its owner is alive: no hook, no release
    expect(calls.every((c) => c.podKey === a.podKey)).toBe(true);
  });

  it('does not release or report a pod that a DEL released while the hook ran', async () => {
    let pool!: EniMultiIpPool;
    const r = await rig({
      ownerCheck: { goneOwners: async (allocs: IpAllocation[]) => allocs },
      beforeRelease: async (a) => {
        await pool.release(a.podKey); // a CNI DEL of the same key got there first
      },
    });
    pool = r.pool;
    const a = await pool.allocate(pod(1));
    expect(await pool.gc()).toEqual([]);
    expect(pool.get(a.podKey)).toBeUndefined();
    expect(r.events.some((e) => e.reason === 'GCReleasedIP')).toBe(false);
  });
});

describe('ENI primary IP and onEniRemoved', () => {
  it('allocations carry their ENI primary IP; an idle ENI is announced (with MAC and primary IP) before its detach', async () => {
    const seen: { eni: RemovedEni; detachCallsBefore: number; deleteCallsBefore: number }[] = [];
    const cloud = new FakeCloud({ eniQuantity: 4, ipv4PerEni: 3 });
    const r = await rig(
      {
        onEniRemoved: async (eni) => {
          seen.push({
            eni,
            detachCallsBefore: cloud.calls['DetachNetworkInterface'] ?? 0,
            deleteCallsBefore: cloud.calls['DeleteNetworkInterface'] ?? 0,
          });
          throw new Error('table busy'); // never blocks the deletion
        },
      },
      cloud,
      0,
    );
    const allocs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => r.pool.allocate(pod(i))));
    const secondary = allocs.filter((a) => !a.primaryEni);
    expect(secondary.length).toBeGreaterThan(0);
    for (const a of allocs) {
      const eni = cloud.enis.get(a.eniId)!;
      expect(a.eniPrimaryIp).toBe(eni.primaryIp);
      expect(r.pool.get(a.podKey)?.eniPrimaryIp).toBe(eni.primaryIp);
    }
    const eniId = secondary[0]!.eniId;
    const eni = cloud.enis.get(eniId)!;
    for (const a of allocs) await r.pool.release(a.podKey);
    for (let i = 0; i < 10 && cloud.enis.has(eniId); i++) {
      r.clock.t += 60_000;
      await r.pool.tick();
      await r.pool.whenIdle();
    }
    expect(cloud.enis.has(eniId)).toBe(false); // deleted despite the failing hook
    const mine = seen.find((s) => s.eni.eniId === eniId);
    expect(mine?.eni).toEqual({ eniId, mac: eni.mac, primaryIp: eni.primaryIp, vSwitchCidr: '10.0.0.0/24' });
    expect(mine?.detachCallsBefore).toBe(0); // before the detach: the link still exists
    expect(r.events.some((e) => e.reason === 'EniCleanupFailed' && e.eniId === eniId)).toBe(true);
    expect(seen.some((s) => s.eni.eniId === cloud.primaryEni().eniId)).toBe(false);
  });

  it('announces an ENI that reconcile finds detached behind its back', async () => {
    const seen: RemovedEni[] = [];
    const cloud = new FakeCloud({ eniQuantity: 4, ipv4PerEni: 3 });
    const r = await rig({ onEniRemoved: async (eni) => void seen.push(eni) }, cloud);
    const allocs = await Promise.all([1, 2, 3, 4].map((i) => r.pool.allocate(pod(i))));
    const sec = allocs.find((a) => !a.primaryEni)!;
    for (const a of allocs) await r.pool.release(a.podKey);
    const eni = cloud.enis.get(sec.eniId)!;
    cloud.world.beginDetach(sec.eniId, cloud.instanceId);
    cloud.world.completeDetach(sec.eniId);
    r.clock.advance(60_000); // past the cooldown of its attach (a listing lacking a new ENI is taken as stale until then)
    await r.pool.reconcile();
    await r.pool.whenIdle();
    expect(r.pool.eniRecords().some((e) => e.eniId === sec.eniId)).toBe(false);
    expect(seen).toContainEqual({ eniId: sec.eniId, mac: eni.mac, primaryIp: eni.primaryIp, vSwitchCidr: '10.0.0.0/24' });
  });
});
