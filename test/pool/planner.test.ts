import { describe, expect, it } from 'vitest';
import { resolvePoolConfig, type PoolConfigInput } from '../../pool/config.js';
import {
  calculateExcessIps,
  calculateNeededIps,
  expireTimers,
  pickFreeIp,
  plan,
  type PlannerEni,
  type PlannerInput,
  type PlannerIp,
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
    lastReclaimAt: o.lastReclaimAt ?? 0,
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

describe('plan: growth', () => {
  it('empty pool, nothing pending, min 0: does nothing', () => {
    const p = plan(input());
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(0);
  });

  it('empty pool below minPoolSize: one assign on the primary ENI', () => {
    const p = plan(input({ cfg: { minPoolSize: 3, maxPoolSize: 8 } }));
    expect(p.actions).toEqual([{ kind: 'assign', eniId: 'eni-p', count: 8 }]);
  });

  it('burst larger than one ENI: fills the primary in batches of 10, then new ENIs carrying IPs at creation', () => {
    const p = plan(input({ pending: 100 }));
    expect(p.actions).toEqual([
      { kind: 'assign', eniId: 'eni-p', count: 10 },
      { kind: 'assign', eniId: 'eni-p', count: 9 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 19 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 19 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 19 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 19 },
      { kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 5, expectIps: 5 },
    ]);
    expect(p.shortfall).toBe(0);
    const assignCalls = p.actions.filter((a) => a.kind === 'assign').length;
    expect(assignCalls).toBeLessThanOrEqual(Math.ceil(100 / 10));
  });

  it('counts ENIs being created and IPs on their way (no double ordering)', () => {
    const p = plan(input({ pending: 30, enis: [eni('eni-p', { primary: true, spec: { assigned: 19 } })], creating: [19, 11] }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(0);
  });

  it('most_ips fills the fullest ENI with room; least_ips the emptiest', () => {
    const enis = [eni('eni-p', { primary: true, spec: { assigned: 5 } }), eni('eni-x', { spec: { assigned: 12 } })];
    expect(plan(input({ pending: 1, enis })).actions[0]).toMatchObject({ kind: 'assign', eniId: 'eni-x' });
    expect(plan(input({ pending: 1, enis, cfg: { eniSelectionPolicy: 'least_ips' } })).actions[0]).toMatchObject({
      kind: 'assign',
      eniId: 'eni-p',
    });
  });

  it('quota reached: no action, the shortfall is exhaustion', () => {
    const enis = [eni('eni-p', { primary: true, spec: { assigned: 5 } }), eni('eni-x', { spec: { assigned: 5 } })];
    const p = plan(input({ pending: 3, enis, limits: { eniQuantity: 2, ipv4PerEni: 6 } }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(3);
    expect(p.blocker).toMatchObject({ exhausted: true });
  });

  it('maxEni caps ENIs below the instance quota', () => {
    const p = plan(input({ pending: 30, enis: [eni('eni-p', { primary: true, spec: { assigned: 19 } })], cfg: { maxEni: 2 } }));
    expect(p.actions).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-a', secondaryCount: 10, expectIps: 19 }]);
    expect(p.shortfall).toBe(11);
    expect(p.blocker?.exhausted).toBe(true);
  });

  it('vSwitch exhausted: its ENIs get no assign, new ENIs go to the next vSwitch', () => {
    const p = plan(
      input({ pending: 4, backoffs: { vSwitches: { 'vsw-a': { until: NOW + 1000, code: 'InvalidVSwitchId.IpNotEnough' } }, enis: {} } }),
    );
    expect(p.actions).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-b', secondaryCount: 9, expectIps: 9 }]);
  });

  it('every vSwitch exhausted: fails with the cloud code', () => {
    const blocked = { until: NOW + 1000, code: 'InvalidVSwitchId.IpNotEnough' };
    const p = plan(input({ pending: 2, backoffs: { vSwitches: { 'vsw-a': blocked, 'vsw-b': blocked }, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.shortfall).toBe(2);
    expect(p.blocker).toEqual({ code: 'InvalidVSwitchId.IpNotEnough', message: expect.any(String), exhausted: true });
  });

  it('back-off expires by the clock', () => {
    const b = { vSwitches: { 'vsw-a': { until: NOW, code: 'InvalidVSwitchId.IpNotEnough' } }, enis: {} };
    expect(plan(input({ pending: 1, backoffs: b })).actions).toEqual([{ kind: 'assign', eniId: 'eni-p', count: 6 }]);
  });

  it.each([['EniPerInstanceLimitExceeded'], ['QuotaExceeded.PrivateIpAddress']])('whole-pool pause after %s', (code) => {
    const p = plan(input({ pending: 1, backoffs: { all: { until: NOW + 60_000, code }, vSwitches: {}, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.blocker).toMatchObject({ code, exhausted: true });
  });

  it('transient create failure: requests keep waiting (not exhaustion)', () => {
    const enis = [eni('eni-p', { primary: true, spec: { assigned: 19 } })];
    const p = plan(input({ pending: 1, enis, backoffs: { create: { until: NOW + 5000, code: 'Throttling' }, vSwitches: {}, enis: {} } }));
    expect(p.actions).toEqual([]);
    expect(p.blocker).toMatchObject({ exhausted: false });
  });

  it('random vSwitch policy picks among the usable ones with the given random source', () => {
    const p = plan(
      input({
        pending: 1,
        enis: [eni('eni-p', { primary: true, spec: { assigned: 19 } })],
        vSwitchIds: ['vsw-a', 'vsw-b', 'vsw-c'],
        random: () => 0.7,
        cfg: { vSwitchSelectionPolicy: 'random' },
      }),
    );
    expect(p.actions[0]).toMatchObject({ kind: 'createEni', vSwitchId: 'vsw-c' });
  });
});

describe('plan: reclaim', () => {
  const idleSince = NOW - 120_000;
  it('above max after idle: unassigns one batch from our ENI before the primary', () => {
    const enis = [
      eni('eni-p', { primary: true, ips: ips('10.0.0', { free: 6 }, idleSince) }),
      eni('eni-x', { ips: [...ips('10.0.1', { free: 6 }, idleSince), ...ips('10.0.2', { assigned: 1 })] }),
    ];
    const p = plan(input({ enis }));
    expect(p.reclaimed).toBe(true);
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]).toMatchObject({ kind: 'unassign', eniId: 'eni-x' });
    expect((p.actions[0] as { ips: string[] }).ips).toHaveLength(5);
  });

  it('not idle long enough, or inside the reclaim interval: nothing', () => {
    const fresh = [eni('eni-p', { primary: true, ips: ips('10.0.0', { free: 12 }, NOW - 1000) })];
    expect(plan(input({ enis: fresh })).actions).toEqual([]);
    const old = [eni('eni-p', { primary: true, ips: ips('10.0.0', { free: 12 }, idleSince) })];
    expect(plan(input({ enis: old, lastReclaimAt: NOW - 10_000 })).actions).toEqual([]);
    expect(plan(input({ enis: old, lastReclaimAt: NOW - 30_000 })).actions).toHaveLength(1);
  });

  it('ENI emptying: a whole idle ENI of ours inside the excess is detached and deleted in one go', () => {
    const enis = [
      eni('eni-p', { primary: true, ips: ips('10.0.0', { free: 5, assigned: 3 }, idleSince) }),
      eni('eni-x', { ips: ips('10.0.1', { free: 7 }, idleSince) }),
    ];
    const p = plan(input({ enis }));
    expect(p.actions).toEqual([{ kind: 'deleteEni', eniId: 'eni-x' }]);
  });

  it('never deletes the primary ENI, an ENI not ours, or one with assigned / cooling IPs', () => {
    const enis = [
      eni('eni-p', { primary: true, ips: ips('10.0.0', { free: 8 }, idleSince) }),
      eni('eni-o', { createdByUs: false, ips: ips('10.0.1', { free: 3 }, idleSince) }),
      eni('eni-x', { ips: ips('10.0.2', { free: 3, cooling: 1 }, idleSince) }),
    ];
    const p = plan(input({ enis, cfg: { idleIpReclaimBatchSize: 20 } }));
    expect(p.actions.some((a) => a.kind === 'deleteEni')).toBe(false);
    expect(p.actions.map((a) => a.kind)).toEqual(['unassign', 'unassign', 'unassign']);
  });

  it('deletes an empty ENI of ours only when the pool is not growing and above minEni', () => {
    const enis = [eni('eni-p', { primary: true, spec: { free: 2 } }), eni('eni-x', { spec: {} })];
    expect(plan(input({ enis })).actions).toEqual([{ kind: 'deleteEni', eniId: 'eni-x' }]);
    expect(plan(input({ enis, cfg: { minEni: 2 } })).actions).toEqual([]);
    expect(plan(input({ enis, pending: 1 })).actions.some((a) => a.kind === 'deleteEni')).toBe(false);
  });

  it('busy ENIs are left alone', () => {
    const enis = [eni('eni-p', { primary: true, spec: {} }), eni('eni-x', { busy: true, ips: ips('10.0.1', { free: 9 }, idleSince) })];
    expect(plan(input({ enis })).actions).toEqual([]);
  });
});

describe('cool-down and stateful reservation', () => {
  it('cooling IPs are not handed out; they become free when the cool-down ends', () => {
    const e = eni('eni-p', { primary: true, ips: [{ ip: '10.0.0.5', state: 'cooling', since: NOW - 10_000, until: NOW + 20_000 }] });
    expect(pickFreeIp([e], 'most_ips')).toBeUndefined();
    expect(expireTimers(e.ips, NOW, 30_000)).toEqual([]);
    expect(expireTimers(e.ips, NOW + 20_000, 30_000)).toEqual([{ ip: '10.0.0.5', to: 'free' }]);
  });

  it('cooling IPs do not count as free: a waiter triggers an assign', () => {
    const e = eni('eni-p', { primary: true, ips: ips('10.0.0', { cooling: 3 }) });
    expect(plan(input({ enis: [e], pending: 1 })).actions).toEqual([{ kind: 'assign', eniId: 'eni-p', count: 6 }]);
  });

  it('a reserved IP goes back to its stateful pod only', () => {
    const e = eni('eni-p', {
      primary: true,
      ips: [
        { ip: '10.0.0.7', state: 'reserved', since: NOW - 1000, until: NOW + 60_000, reservedFor: 'db/web-0' },
        { ip: '10.0.0.8', state: 'free', since: NOW - 5000 },
      ],
    });
    expect(pickFreeIp([e], 'most_ips', 'db/web-0')).toEqual({ eniId: 'eni-p', ip: '10.0.0.7' });
    expect(pickFreeIp([e], 'most_ips', 'db/web-1')).toEqual({ eniId: 'eni-p', ip: '10.0.0.8' });
    expect(pickFreeIp([e], 'most_ips')).toEqual({ eniId: 'eni-p', ip: '10.0.0.8' });
  });

  it('an expired reservation cools for the rest of its cool-down, or is free at once', () => {
    const r: PlannerIp = { ip: '10.0.0.7', state: 'reserved', since: NOW, until: NOW + 10_000, reservedFor: 'db/web-0' };
    expect(expireTimers([r], NOW + 10_000, 30_000)).toEqual([{ ip: '10.0.0.7', to: 'cooling', until: NOW + 30_000 }]);
    expect(expireTimers([r], NOW + 10_000, 5_000)).toEqual([{ ip: '10.0.0.7', to: 'free' }]);
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
