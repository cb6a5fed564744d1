// The ENI pool in dual stack (ip_stack dual) against the mock cloud through the real SDK client and a SQLite
// pod DB: each pod's ENI carries one IPv6 address of its vSwitch's /64 (created with it), the allocation
// carries the IPv6 block and gateway (from the ENI metadata), a restart restores them, the address leaves with
// the ENI, and an idle ENI without IPv6 (from before dual stack) is replaced.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ipv6CidrContains } from '../../lib/ipv6.js';
import { defaultWorldSpec, startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import type { IpAllocation } from '../../pool/types.js';
import { FakeClock } from '../support/clock.js';
import { podRef as pod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { makePool, oursInCloud, type PoolRig } from './rig.js';

let mc: MockCloudHandle;
let db: string;
let rigs: PoolRig[];
const clock = new FakeClock();

beforeEach(async () => {
  mc = await startMockCloud({ attachDelayMs: 5, detachDelayMs: 5 });
  db = join(tempDir(), 'pods.db');
  rigs = [];
});

afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
  await mc.close();
});

async function started(cfg: Parameters<typeof makePool>[3]): Promise<PoolRig> {
  const r = makePool(mc, db, clock, { minPoolSize: 1, maxPoolSize: 1, cooldownMs: 0, ...cfg });
  rigs.push(r);
  await r.pool.start();
  await r.pool.idle();
  return r;
}

async function restart(r: PoolRig, cfg: Parameters<typeof makePool>[3]): Promise<PoolRig> {
  await r.close();
  rigs.splice(rigs.indexOf(r), 1);
  return started(cfg);
}

function expectDual(a: IpAllocation): void {
  const dump = mc.dump();
  const eni = dump.enis.find((e) => e.eniId === a.eniId)!;
  const vsw = dump.vSwitches.find((v) => v.vSwitchId === eni.vSwitchId)!;
  expect(eni.ipv6s).toEqual([a.ipv6]);
  expect(a.vSwitchIpv6Cidr).toBe(vsw.ipv6Cidr);
  expect(ipv6CidrContains(a.vSwitchIpv6Cidr!, a.ipv6!)).toBe(true);
  expect(a.ipv6Gateway).toBe(vsw.ipv6Gateway);
}

describe('ENI pool, dual stack', () => {
  it("each pod's ENI comes with one IPv6 address (in CreateNetworkInterface), recorded in the pod DB", async () => {
    const r = await started({ ipStack: 'dual' });
    mc.resetCounters();
    const [a, b] = await Promise.all([r.pool.allocate(pod('a')), r.pool.allocate(pod('b'))]);
    await r.pool.idle();
    for (const x of [a!, b!]) expectDual(x);
    expect(a!.ipv6).not.toBe(b!.ipv6);
    // Ipv6AddressCount on the create: no separate IPv6 assign
    expect(mc.counters().AssignIpv6Addresses ?? 0).toBe(0);
    const snap = r.store.load();
    for (const x of [a!, b!]) {
      expect(snap.pods.find((p) => p.podKey === x.podKey)).toMatchObject({ ipv6: x.ipv6, ipv6Gateway: x.ipv6Gateway });
      expect(snap.ips.find((i) => i.eniId === x.eniId)).toMatchObject({ state: 'assigned', ipv6: x.ipv6 });
      expect(snap.enis.find((e) => e.eniId === x.eniId)).toMatchObject({ vSwitchIpv6Cidr: x.vSwitchIpv6Cidr, ipv6Gateway: x.ipv6Gateway });
    }
  });

  it('a restart restores the IPv6 address of held and warm ENIs; release deletes the ENI with its IPv6 address', async () => {
    let r = await started({ ipStack: 'dual' });
    const a = await r.pool.allocate(pod('a'));
    await r.pool.idle();
    const warm = oursInCloud(mc.dump()).find((e) => e.eniId !== a.eniId)!;
    expect(warm.ipv6s).toHaveLength(1);
    mc.resetCounters();
    r = await restart(r, { ipStack: 'dual' });
    expect(r.pool.get(a.podKey)).toEqual(a);
    expect(mc.counters().CreateNetworkInterface ?? 0).toBe(0);
    // The warm ENI serves the next pod with its IPv6 address, gateway included (from the DB, not re-read).
    const b = await r.pool.allocate(pod('b'));
    expect(b.eniId).toBe(warm.eniId);
    expectDual(b);
    await r.pool.idle();
    // max_pool_size 1: one released ENI stays warm, the other is detached and deleted; its IPv6 leaves with it.
    await r.pool.release(a.podKey);
    await r.pool.release(b.podKey);
    await r.pool.idle();
    const left = oursInCloud(mc.dump());
    expect(left).toHaveLength(1);
    const gone = [a, b].find((x) => x.eniId !== left[0]!.eniId)!;
    expect(mc.dump().enis.some((e) => e.eniId === gone.eniId || e.ipv6s.includes(gone.ipv6!))).toBe(false);
    expect(r.store.load().ips.map((i) => i.ipv6)).toEqual(left[0]!.ipv6s);
  });

  it('turning dual stack on: an idle ENI without IPv6 is replaced, a pod holding one keeps it (IPv4 only)', async () => {
    let r = await started({ ipStack: 'ipv4', maxPoolSize: 2 });
    const old = await r.pool.allocate(pod('old'));
    await r.pool.idle();
    const idleV4 = oursInCloud(mc.dump()).find((e) => e.eniId !== old.eniId)!;
    expect(old.ipv6).toBeUndefined();
    expect(idleV4.ipv6s).toEqual([]);
    r = await restart(r, { ipStack: 'dual', maxPoolSize: 2 });
    await r.pool.idle();
    expect(r.pool.get(old.podKey)).toEqual(old);
    const ours = oursInCloud(mc.dump());
    expect(ours.some((e) => e.eniId === idleV4.eniId)).toBe(false);
    const fresh = ours.filter((e) => e.eniId !== old.eniId);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.ipv6s).toHaveLength(1);
    const n = await r.pool.allocate(pod('new'));
    expect(n.eniId).toBe(fresh[0]!.eniId);
    expectDual(n);
  });

  it('a vSwitch without IPv6: the create fails with the cloud code (creation paused) and no IPv4-only ENI is left', async () => {
    await mc.close();
    const spec = defaultWorldSpec();
    spec.vSwitches = spec.vSwitches.map((v) => (v.id === 'vsw-mock-b' ? { id: v.id, zoneId: v.zoneId, cidr: v.cidr } : v));
    mc = await startMockCloud({ world: spec, attachDelayMs: 5, detachDelayMs: 5 });
    const r = await started({ ipStack: 'dual', minPoolSize: 0, maxPoolSize: 0 });
    await expect(r.pool.allocate(pod('a'), { deadlineMs: 300 })).rejects.toMatchObject({ reason: 'Timeout' });
    await r.pool.idle();
    expect(r.pool.stats().backoffReason).toBe('InvalidVSwitch.Ipv6NotTurnOn');
    expect(oursInCloud(mc.dump())).toEqual([]);
  });
});
