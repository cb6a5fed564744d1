import { describe, expect, it } from 'vitest';
import { resolvePoolConfig, type PoolConfigInput } from '../../pool/config.js';
import {
  calculateExcessIps,
  calculateNeededIps,
  expireTimers,
  idleReclaim,
  pickFreeIp,
  plan,
  roomOn,
  type PlannerEni,
  type PlannerInput,
  type PlannerIp,
  NODE_CAPACITY_REACHED,
} from '../../pool/planner.js';
import type { IpState } from '../../pool/store.js';

const NOW = 1_000_000;

function ips(prefix: string, spec: Partial<Record<IpState, number>>, since = NOW - 600_000): PlannerIp[] {
  const out: PlannerIp[] = [];
  let n = 1;
  for (const [state, count] of Object.entries(spec) as [IpState, number][]) {
    for (let i = 0; i < count; i++) out.push({ ip: `${prefix}.${n++}`, state, since });
  }
  return out;
}

function eni(id: string, o: Partial<PlannerEni> & { spec?: Partial<Record<IpState, number>> } = {}): PlannerEni {
  return {
    eniId: id,
    vSwitchId: o.vSwitchId ?? 'vsw-a',
    primary: o.primary ?? false,
    createdByUs: o.createdByUs ?? !o.primary,
    state: o.state ?? 'inuse',
    createdAt: o.createdAt ?? NOW - 3_600_000,
    ...(o.primaryIp ? { primaryIp: o.primaryIp } : {}),
    ips: o.ips ?? ips(`10.${id.length}.${id.charCodeAt(id.length - 1)}`, o.spec ?? {}),
    incoming: o.incoming ?? 0,
    busy: o.busy ?? false,
  };
}

function input(o: Partial<Omit<PlannerInput, 'config'>> & { cfg?: PoolConfigInput } = {}): PlannerInput {
  return {
    now: NOW,
    config: resolvePoolConfig({
      minPoolSize: 0,
      maxPoolSize: 5,
      idleIpReclaimAfterMs: 60_000,
      idleIpReclaimIntervalMs: 30_000,
      idleIpReclaimBatchSize: 5,
      ...o.cfg,
    }),
    limits: o.limits ?? { eniQuantity: 8, ipv4PerEni: 20 },
    vSwitchIds: o.vSwitchIds ?? ['vsw-a', 'vsw-b'],
    enis: o.enis ?? [eni('eni-p', { primary: true })],
    creating: o.creating ?? [],
    pending: o.pending ?? 0,
    backoffs: o.backoffs ?? { vSwitches: {}, enis: {} },
    lastModifiedAt: o.lastModifiedAt ?? NOW - 3_600_000,
    nextReclaimAt: o.nextReclaimAt,
    reclaimIntervalMs: o.reclaimIntervalMs,
    vSwitchFree: o.vSwitchFree,
    foreignEnis: o.foreignEnis,
    random: o.random,
  };
}

describe('watermark arithmetic', () => {
  it.each([
    // free, incoming, pending, min, max, want
    [0, 0, 0, 0, 5, 0],
    [0, 0, 0, 3, 5, 5], // up to min, rounded toward a batch but capped at max
    [0, 0, 1, 0, 5, 6],
    [0, 0, 100, 0, 5, 100], // whole batches of 10 cover the burst
    [0, 0, 7, 2, 20, 10],
    [2, 0, 0, 2, 5, 0],
    [0, 10, 10, 0, 5, 0], // IPs already on their way count
    [0, 0, 3, 0, 0, 3], // max 0: exactly the demand
  ])('free=%i incoming=%i pending=%i min=%i max=%i → need %i', (free, incoming, pending, min, max, want) => {
    expect(calculateNeededIps(free, incoming, pending, { minPoolSize: min, maxPoolSize: max, batchSize: 10 })).toBe(want);
  });

  it.each([
    [10, 0, 0, 5, 5],
    [5, 0, 0, 5, 0],
    [10, 0, 1, 5, 0], // waiters: never shrink
    [10, 3, 0, 5, 0], // growing: never shrink
  ])('excess free=%i incoming=%i pending=%i max=%i → %i', (free, incoming, pending, max, want) => {
    expect(calculateExcessIps(free, incoming, pending, { maxPoolSize: max })).toBe(want);
  });
});

describe('plan: growth (pods use secondary ENIs only)', () => {
  it('empty pool, nothing pending, min 0: does nothing', () => {
    const p = plan(input());
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(0);
  });

  it('below minPoolSize with only the primary ENI: a secondary ENI is created, the primary ENI gets nothing', () => {
    const p = plan(input({ cfg: { minPoolSize: 3, maxPoolSize: 8 } }));
    // 8 addresses: the new ENI's own primary + 7 secondary IPs at creation
    expect(p.actions).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 7, expectIps: 8 }]);
  });

  it('the primary ENI is never assigned to, even with room and a legacy record', () => {
    const enis = [eni('eni-p', { primary: true, spec: { assigned: 2 } })];
    const p = plan(input({ pending: 1, enis }));
    expect(p.actions.some((a) => a.kind === 'assign')).toBe(false);
    expect(p.actions[0]).toMatchObject({ kind: 'createEni' });
  });

  it('burst larger than one ENI: new ENIs each bring their primary + up to 10 secondaries at creation, the rest assigned after', () => {
    const p = plan(input({ pending: 100 }));
    expect(p.actions).toEqual([
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 },
    ]);
    expect(p.shortfall).toBe(0);
  });

  it('room on an ENI: its addresses minus its own primary and its secondary IPs (recorded or not yet)', () => {
    const withPrimary = eni('eni-x', { primaryIp: '10.5.1.1', ips: ips('10.5.1', { free: 1, assigned: 4 }) });
    expect(roomOn(withPrimary, 6)).toBe(1); // 6 − primary − 4 secondaries
    const primaryUnknown = eni('eni-y', { ips: ips('10.5.2', { assigned: 4 }) });
    expect(roomOn(primaryUnknown, 6)).toBe(1); // the primary is not in the books yet: still reserved
    expect(roomOn({ ...withPrimary, incoming: 1 }, 6)).toBe(0);
  });

  it('fills existing secondary ENIs first, without going past their addresses', () => {
    const x = eni('eni-x', { primaryIp: '10.5.1.1', ips: ips('10.5.1', { assigned: 15 }) });
    const p = plan(input({ pending: 3, enis: [eni('eni-p', { primary: true }), x] }));
    // 20 addresses: primary + 14 secondaries held → 5 more secondaries fit (3 wanted, batch rounds up to max 5 + 3)
    expect(p.actions[0]).toEqual({ kind: 'assign', eniId: 'eni-x', count: 5 });
  });

  it('counts ENIs being created and IPs on their way (no double ordering)', () => {
    const p = plan(input({ pending: 30, creating: [20, 10] }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(0);
  });

  it('most_ips fills the fullest ENI with room; least_ips the emptiest', () => {
    const enis = [eni('eni-p', { primary: true }), eni('eni-w', { spec: { assigned: 5 } }), eni('eni-x', { spec: { assigned: 12 } })];
    expect(plan(input({ pending: 1, enis })).actions[0]).toMatchObject({ kind: 'assign', eniId: 'eni-x' });
    expect(plan(input({ pending: 1, enis, cfg: { eniSelectionPolicy: 'least_ips' } })).actions[0]).toMatchObject({
      kind: 'assign',
      eniId: 'eni-w',
    });
  });

  it('capacity reached: (EniQuantity − 1) × IPs per ENI, then exhausted at once with the arithmetic in the message', () => {
    // ecs.g7.large: 3 ENIs × 6 IPs → 2 secondary ENIs × 6 = 12 pods
    const full = (id: string, n: number) => eni(id, { primaryIp: `10.9.${n}.1`, ips: ips(`10.9.${n}`, { assigned: 6 }) });
    const enis = [eni('eni-p', { primary: true }), full('eni-a', 1), full('eni-b', 2)];
    const p = plan(input({ pending: 2, enis, limits: { eniQuantity: 3, ipv4PerEni: 6, instanceTypeId: 'ecs.g7.large' } }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(2);
    expect(p.blocker).toEqual({
      code: NODE_CAPACITY_REACHED,
      message: 'node capacity reached: 12 pods = (3 ENIs − 1) × 6 IPs (ecs.g7.large)',
      exhausted: true,
    });
  });

  it('no room for another ENI but one still attaching has room: its pods wait for the attach, none fails', () => {
    const full = (id: string, n: number) => eni(id, { primaryIp: `10.9.${n}.1`, ips: ips(`10.9.${n}`, { assigned: 6 }) });
    // the last ENI the quota allows was created for 2 pods and is attaching: 4 more fit on it once it is attached
    const attaching = eni('eni-b', { state: 'attaching', ips: [], incoming: 2 });
    const enis = [eni('eni-p', { primary: true }), full('eni-a', 1), attaching];
    const p = plan(input({ pending: 5, enis, limits: { eniQuantity: 3, ipv4PerEni: 6, instanceTypeId: 'ecs.g7.large' } }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(3);
    expect(p.blocker).toMatchObject({ exhausted: false, message: expect.stringContaining('eni-b') });
    // once it is full too, the node is at capacity
    const b = eni('eni-b', { primaryIp: '10.9.2.1', ips: ips('10.9.2', { assigned: 6 }) });
    const q = plan(
      input({ pending: 1, enis: [eni('eni-p', { primary: true }), full('eni-a', 1), b], limits: { eniQuantity: 3, ipv4PerEni: 6 } }),
    );
    expect(q.blocker).toMatchObject({ code: NODE_CAPACITY_REACHED, exhausted: true });
  });

  it('capacity reached but IPs cooling down: their waiters wait for them, the others fail', () => {
    const enis = [
      eni('eni-p', { primary: true }),
      eni('eni-a', {
        primaryIp: '10.9.1.1',
        ips: [...ips('10.9.1', { assigned: 5 }), { ip: '10.9.1.99', state: 'cooling', since: NOW, until: NOW + 30_000 }],
      }),
    ];
    const p = plan(input({ pending: 3, enis, limits: { eniQuantity: 2, ipv4PerEni: 6 } }));
    expect(p.shortfall).toBe(2);
    expect(p.blocker).toMatchObject({ code: NODE_CAPACITY_REACHED, exhausted: true });
  });

  it('maxEni caps secondary ENIs below the instance quota', () => {
    const x = eni('eni-x', { primaryIp: '10.5.1.1', ips: ips('10.5.1', { assigned: 20 }) });
    const p = plan(input({ pending: 30, enis: [eni('eni-p', { primary: true }), x], cfg: { maxEni: 2 } }));
    expect(p.actions).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 20 }]);
    expect(p.shortfall).toBe(10);
    expect(p.blocker).toMatchObject({ exhausted: true, message: 'node capacity reached: 40 pods = max_eni 2 × 20 IPs' });
  });

  it('ENIs not ours hold quota slots (named in the message)', () => {
    const p = plan(input({ pending: 1, limits: { eniQuantity: 2, ipv4PerEni: 6 }, foreignEnis: 1 }));
    expect(p.actions).toEqual([]);
    expect(p.blocker?.message).toBe('node capacity reached: 0 pods = (2 ENIs − 1 − 1 not ours) × 6 IPs');
  });

  it('vSwitch exhausted: its ENIs get no assign, new ENIs go to the next vSwitch', () => {
    const p = plan(
      input({ pending: 4, backoffs: { vSwitches: { 'vsw-a': { until: NOW + 1000, code: 'InvalidVSwitchId.IpNotEnough' } }, enis: {} } }),
    );
    expect(p.actions).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-b', secondaryCount: 8, expectIps: 9 }]);
  });

  it('ordered: the vSwitch with the most free IPs first; empty ones skipped; all empty = exhausted', () => {
    const vSwitchIds = ['vsw-a', 'vsw-b', 'vsw-c'];
    const pick = (vSwitchFree: Record<string, number>) => plan(input({ pending: 1, vSwitchIds, vSwitchFree }));
    expect(pick({ 'vsw-a': 10, 'vsw-b': 200, 'vsw-c': 50 }).actions[0]).toMatchObject({ kind: 'createEni', vSwitchId: 'vsw-b' });
    expect(pick({ 'vsw-a': 10, 'vsw-b': 0, 'vsw-c': 5 }).actions[0]).toMatchObject({ kind: 'createEni', vSwitchId: 'vsw-a' });
    expect(pick({}).actions[0]).toMatchObject({ kind: 'createEni', vSwitchId: 'vsw-a' }); // counts unknown: configured order
    const none = pick({ 'vsw-a': 0, 'vsw-b': 0, 'vsw-c': 0 });
    expect(none.actions).toEqual([]);
    expect(none.blocker).toMatchObject({ code: 'InvalidVSwitchId.IpNotEnough', exhausted: true });
  });

  it('every vSwitch exhausted: fails with the cloud code', () => {
    const blocked = { until: NOW + 1000, code: 'InvalidVSwitchId.IpNotEnough' };
    const p = plan(input({ pending: 2, backoffs: { vSwitches: { 'vsw-a': blocked, 'vsw-b': blocked }, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(2);
    expect(p.blocker).toEqual({ code: 'InvalidVSwitchId.IpNotEnough', message: expect.any(String), exhausted: true });
  });

  it('back-off expires by the clock', () => {
    const enis = [eni('eni-p', { primary: true }), eni('eni-x', { spec: { assigned: 3 } })];
    const b = { vSwitches: { 'vsw-a': { until: NOW, code: 'InvalidVSwitchId.IpNotEnough' } }, enis: {} };
    expect(plan(input({ pending: 1, enis, backoffs: b })).actions).toEqual([{ kind: 'assign', eniId: 'eni-x', count: 6 }]);
  });

  it.each([['EniPerInstanceLimitExceeded'], ['QuotaExceeded.PrivateIpAddress']])('whole-pool pause after %s', (code) => {
    const p = plan(input({ pending: 1, backoffs: { all: { until: NOW + 60_000, code }, vSwitches: {}, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.blocker).toMatchObject({ code, exhausted: true });
  });

  it('transient create failure: requests keep waiting (not exhaustion)', () => {
    const p = plan(input({ pending: 1, backoffs: { create: { until: NOW + 5000, code: 'Throttling' }, vSwitches: {}, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.blocker).toMatchObject({ exhausted: false });
  });

  it('random vSwitch policy picks among the usable ones with the given random source', () => {
    const p = plan(
      input({ pending: 1, vSwitchIds: ['vsw-a', 'vsw-b', 'vsw-c'], random: () => 0.7, cfg: { vSwitchSelectionPolicy: 'random' } }),
    );
    expect(p.actions[0]).toMatchObject({ kind: 'createEni', vSwitchId: 'vsw-c' });
  });
});

describe('plan: release above max_pool_size and idle reclaim toward min_pool_size', () => {
  const idleSince = NOW - 120_000;
  const ours = (id: string, n: number, spec: Partial<Record<IpState, number>>) =>
    eni(id, { primaryIp: `10.0.${n}.1`, ips: ips(`10.0.${n}`, spec, idleSince) });

  it('above max: released at once, secondary IPs of the least used ENI of ours, never an ENI primary', () => {
    const enis = [eni('eni-p', { primary: true }), ours('eni-x', 1, { free: 6, assigned: 1 }), ours('eni-y', 2, { free: 2, assigned: 4 })];
    const p = plan(input({ enis, cfg: { maxPoolSize: 3 } }));
    expect(p.actions).toEqual([{ kind: 'unassign', eniId: 'eni-x', ips: ['10.0.1.2', '10.0.1.3', '10.0.1.4', '10.0.1.5', '10.0.1.6'] }]);
  });

  it('a whole idle ENI of ours that fits inside the excess goes in one detach + delete (its primary with it)', () => {
    const enis = [eni('eni-p', { primary: true }), ours('eni-x', 1, { free: 5, assigned: 3 }), ours('eni-y', 2, { free: 7 })];
    const p = plan(input({ enis }));
    expect(p.actions).toEqual([{ kind: 'deleteEni', eniId: 'eni-y' }]);
  });

  it('never deletes an ENI not ours or one with assigned / cooling IPs', () => {
    const enis = [
      eni('eni-p', { primary: true }),
      eni('eni-o', { createdByUs: false, primaryIp: '10.0.1.1', ips: ips('10.0.1', { free: 3 }, idleSince) }),
      ours('eni-x', 2, { free: 3, cooling: 1 }),
      ours('eni-z', 3, { free: 8, assigned: 1 }),
    ];
    const p = plan(input({ enis, cfg: { maxPoolSize: 0 } }));
    expect(p.actions.some((a) => a.kind === 'deleteEni')).toBe(false);
    expect(p.actions.map((a) => a.kind)).toEqual(['unassign', 'unassign', 'unassign']);
    const primaries = ['10.0.1.1', '10.0.2.1', '10.0.3.1'];
    for (const a of p.actions) expect((a as { ips: string[] }).ips.filter((ip) => primaries.includes(ip))).toEqual([]);
  });

  it('deletes an empty ENI of ours only when the pool is not growing and above minEni', () => {
    const enis = [eni('eni-p', { primary: true }), ours('eni-w', 1, { free: 2 }), eni('eni-x', { spec: {} })];
    expect(plan(input({ enis })).actions).toEqual([{ kind: 'deleteEni', eniId: 'eni-x' }]);
    expect(plan(input({ enis, cfg: { minEni: 2 } })).actions).toEqual([]);
    expect(plan(input({ enis, pending: 1 })).actions.some((a) => a.kind === 'deleteEni')).toBe(false);
  });

  it('busy ENIs are left alone', () => {
    const enis = [eni('eni-p', { primary: true }), eni('eni-x', { busy: true, ips: ips('10.0.1', { free: 9 }, idleSince) })];
    expect(plan(input({ enis })).actions).toEqual([]);
  });

  it('idle reclaim is off unless idle_ip_reclaim_after is set: free IPs up to max stay', () => {
    const enis = [eni('eni-p', { primary: true }), ours('eni-x', 1, { free: 5, assigned: 1 })];
    const p = plan(input({ enis, cfg: { idleIpReclaimAfterMs: 0 }, nextReclaimAt: NOW - 1 }));
    expect(p.actions).toEqual([]);
    expect(p.nextReclaimAt).toBeUndefined();
  });

  it('idle reclaim: the pool changed within reclaim_after → timer reset; first quiet plan arms it; when due, one batch toward min', () => {
    const enis = [eni('eni-p', { primary: true }), ours('eni-x', 1, { free: 5, assigned: 1 })];
    const cfg = { idleIpReclaimAfterMs: 60_000, idleIpReclaimIntervalMs: 30_000, idleIpReclaimBatchSize: 2, minPoolSize: 1 };
    const busy = plan(input({ enis, cfg, lastModifiedAt: NOW - 10_000, nextReclaimAt: NOW - 1 }));
    expect(busy).toMatchObject({ actions: [], nextReclaimAt: undefined, reclaimIntervalUsed: false });
    const armed = plan(input({ enis, cfg, reclaimIntervalMs: 31_000 }));
    expect(armed).toMatchObject({ actions: [], nextReclaimAt: NOW + 31_000, reclaimIntervalUsed: true });
    expect(plan(input({ enis, cfg, nextReclaimAt: NOW + 1 })).actions).toEqual([]);
    const due = plan(input({ enis, cfg, nextReclaimAt: NOW, reclaimIntervalMs: 32_000 }));
    expect(due.actions).toEqual([{ kind: 'unassign', eniId: 'eni-x', ips: ['10.0.1.2', '10.0.1.3'] }]);
    expect(due).toMatchObject({ nextReclaimAt: NOW + 32_000, reclaimIntervalUsed: true });
  });

  it.each([
    // free, min, max, batch → extra IPs released by one idle-reclaim batch (Terway calculateToDel)
    [5, 0, 5, 5, 5],
    [5, 1, 5, 2, 2],
    [5, 4, 5, 5, 1],
    [8, 2, 5, 5, 3], // 3 above max go anyway; the batch takes what is left above min, at most 5
    [2, 2, 5, 5, 0],
  ])('idleReclaim free=%i min=%i max=%i batch=%i → %i extra', (free, minPoolSize, maxPoolSize, batch, extra) => {
    const cfg = { idleIpReclaimAfterMs: 1, idleIpReclaimBatchSize: batch, minPoolSize, maxPoolSize };
    expect(idleReclaim(free, cfg, { now: NOW, lastModifiedAt: 0, nextAt: NOW, intervalMs: 10 }).extra).toBe(extra);
  });
});

describe('cool-down and stateful reservation', () => {
  it('cooling IPs are not handed out; they become free when the cool-down ends', () => {
    const e = eni('eni-x', { ips: [{ ip: '10.0.0.5', state: 'cooling', since: NOW - 10_000, until: NOW + 20_000 }] });
    expect(pickFreeIp([e], 'most_ips')).toBeUndefined();
    expect(expireTimers(e.ips, NOW, 30_000)).toEqual([]);
    expect(expireTimers(e.ips, NOW + 20_000, 30_000)).toEqual([{ ip: '10.0.0.5', to: 'free' }]);
  });

  it('cooling IPs do not count as free: a waiter with room to grow triggers an assign', () => {
    const e = eni('eni-x', { ips: ips('10.0.0', { cooling: 3 }) });
    expect(plan(input({ enis: [eni('eni-p', { primary: true }), e], pending: 1 })).actions).toEqual([
      { kind: 'assign', eniId: 'eni-x', count: 6 },
    ]);
  });

  it('never hands out an IP of the primary ENI (a legacy record), free or reserved', () => {
    const p = eni('eni-p', {
      primary: true,
      ips: [
        { ip: '10.0.0.7', state: 'reserved', since: NOW - 1000, until: NOW + 60_000, reservedFor: 'db/web-0' },
        { ip: '10.0.0.8', state: 'free', since: NOW - 5000 },
      ],
    });
    expect(pickFreeIp([p], 'most_ips', 'db/web-0')).toBeUndefined();
    expect(pickFreeIp([p], 'most_ips')).toBeUndefined();
  });

  it('a reserved IP goes back to its stateful pod only', () => {
    const e = eni('eni-x', {
      ips: [
        { ip: '10.0.0.7', state: 'reserved', since: NOW - 1000, until: NOW + 60_000, reservedFor: 'db/web-0' },
        { ip: '10.0.0.8', state: 'free', since: NOW - 5000 },
      ],
    });
    expect(pickFreeIp([e], 'most_ips', 'db/web-0')).toEqual({ eniId: 'eni-x', ip: '10.0.0.7' });
    expect(pickFreeIp([e], 'most_ips', 'db/web-1')).toEqual({ eniId: 'eni-x', ip: '10.0.0.8' });
    expect(pickFreeIp([e], 'most_ips')).toEqual({ eniId: 'eni-x', ip: '10.0.0.8' });
  });

  it('an expired reservation cools for the rest of its cool-down, or is free at once', () => {
    const r: PlannerIp = { ip: '10.0.0.7', state: 'reserved', since: NOW, until: NOW + 10_000, reservedFor: 'db/web-0' };
    expect(expireTimers([r], NOW + 10_000, 30_000)).toEqual([{ ip: '10.0.0.7', to: 'cooling', until: NOW + 30_000 }]);
    expect(expireTimers([r], NOW + 10_000, 5_000)).toEqual([{ ip: '10.0.0.7', to: 'free' }]);
  });

  it('hands out an ENI’s own primary address first (it can only leave with the ENI: keep it busy, the secondaries reclaimable)', () => {
    const e = eni('eni-x', {
      primaryIp: '10.0.3.1',
      ips: [
        { ip: '10.0.3.7', state: 'free', since: NOW - 99_000 },
        { ip: '10.0.3.1', state: 'free', since: NOW - 10 },
      ],
    });
    expect(pickFreeIp([e], 'most_ips')).toEqual({ eniId: 'eni-x', ip: '10.0.3.1' });
  });

  it('takes the longest-idle IP from the most used ENI (most_ips)', () => {
    const a = eni('eni-a', {
      ips: [
        ...ips('10.0.1', { assigned: 3 }),
        { ip: '10.0.1.50', state: 'free', since: NOW - 10 },
        { ip: '10.0.1.51', state: 'free', since: NOW - 99 },
      ],
    });
    const b = eni('eni-b', { ips: [...ips('10.0.2', { assigned: 1 }), { ip: '10.0.2.50', state: 'free', since: NOW - 1000 }] });
    expect(pickFreeIp([a, b], 'most_ips')).toEqual({ eniId: 'eni-a', ip: '10.0.1.51' });
    expect(pickFreeIp([a, b], 'least_ips')).toEqual({ eniId: 'eni-b', ip: '10.0.2.50' });
  });
});
