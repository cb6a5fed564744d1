// Pure planner tables for the Terway / AWS knobs: create rate limit, reclaim-interval jitter, minimum ENI lifetime.
import { describe, expect, it } from 'vitest';
import { resolvePoolConfig, type PoolConfigInput } from '../../pool/config.js';
import { createBudget, jitteredInterval, plan, type PlannerEni, type PlannerInput, type PlannerIp } from '../../pool/planner.js';

const NOW = 10_000_000;

function freeIps(prefix: string, n: number, since = NOW - 600_000): PlannerIp[] {
  return Array.from({ length: n }, (_, i) => ({ ip: `${prefix}.${i + 1}`, state: 'free' as const, since }));
}

function eni(id: string, o: Partial<PlannerEni> = {}): PlannerEni {
  return {
    eniId: id,
    vSwitchId: 'vsw-a',
    primary: false,
    createdByUs: true,
    state: 'inuse',
    createdAt: NOW - 3_600_000,
    ips: [],
    incoming: 0,
    busy: false,
    ...o,
  };
}

function input(o: Partial<Omit<PlannerInput, 'config'>> & { cfg?: PoolConfigInput } = {}): PlannerInput {
  const { cfg, ...rest } = o;
  return {
    now: NOW,
    config: resolvePoolConfig({
      minPoolSize: 0,
      maxPoolSize: 0,
      idleIpReclaimAfterMs: 0,
      idleIpReclaimIntervalMs: 30_000,
      idleIpReclaimBatchSize: 5,
      ...cfg,
    }),
    // one address per ENI (its primary): one create per pending request
    limits: { eniQuantity: 30, ipv4PerEni: 1 },
    vSwitchIds: ['vsw-a'],
    enis: [eni('eni-p', { primary: true, createdByUs: false, ips: [{ ip: '10.0.0.9', state: 'assigned', since: 0 }] })],
    creating: [],
    pending: 0,
    backoffs: { vSwitches: {}, enis: {} },
    lastModifiedAt: 0,
    ...rest,
  };
}

const creates = (p: ReturnType<typeof plan>) => p.actions.filter((a) => a.kind === 'createEni').length;

describe('createBudget (sliding 60 s window)', () => {
  it.each([
    // starts (ms before NOW), max, budget, nextAt (ms after NOW) or undefined
    [[], 10, 10, undefined],
    [[1_000, 2_000], 10, 8, undefined],
    [[60_000, 70_000], 2, 2, undefined], // exactly 60 s ago is out of the window
    [[59_999, 30_000], 2, 0, 1], // the older start leaves the window in 1 ms
    [[50_000, 40_000, 10_000], 2, 0, 20_000], // 3 in the window, max 2: two must leave, the 2nd oldest at +20 s
    [[1, 2, 3], 0, Number.POSITIVE_INFINITY, undefined], // 0 = unlimited
  ] as [number[], number, number, number | undefined][])('starts %j max %i → budget %s, next %s', (ago, max, budget, next) => {
    const r = createBudget(
      ago.map((a) => NOW - a),
      NOW,
      max,
    );
    expect(r.budget).toBe(budget);
    expect(r.nextAt === undefined ? undefined : r.nextAt - NOW).toBe(next);
  });
});

describe('ENI create rate limit in plan()', () => {
  it.each([
    // recent creates in the window, pending, max/min → creates planned, deferred?
    [0, 4, 10, 4, false],
    [8, 4, 10, 2, true],
    [10, 4, 10, 0, true],
    [10, 4, 0, 4, false], // limit off
  ])('%i recent, %i pending, max %i/min → %i creates, deferred=%s', (recent, pending, max, want, deferred) => {
    const recentCreates = Array.from({ length: recent }, (_, i) => NOW - 50_000 + i * 1_000);
    const p = plan(input({ pending, recentCreates, cfg: { maxEniCreatesPerMinute: max } }));
    expect(creates(p)).toBe(want);
    if (deferred) {
      // waiting, not an error: the blocker is transient and names the limit; plan again when the oldest start leaves the window
      expect(p.shortfall).toBe(pending - want);
      expect(p.blocker).toMatchObject({ code: 'EniCreateRateLimited', exhausted: false });
      // the oldest recent start (50 s ago) leaves the window 10 s from now
      expect(p.createsDeferredUntil).toBe(NOW + 10_000);
    } else {
      expect(p.shortfall).toBe(0);
      expect(p.createsDeferredUntil).toBeUndefined();
    }
  });

  it('quota still wins over the rate: exhausted when no slot is left, whatever the budget', () => {
    const p = plan(input({ pending: 3, limits: { eniQuantity: 1, ipv4PerEni: 1 }, cfg: { maxEniCreatesPerMinute: 10 } }));
    expect(creates(p)).toBe(0);
    expect(p.blocker).toMatchObject({ exhausted: true });
  });

  it('the default limit is 10 per minute', () => {
    expect(resolvePoolConfig().maxEniCreatesPerMinute).toBe(10);
    expect(creates(plan(input({ pending: 25 })))).toBe(10);
  });
});

describe('reclaim interval jitter (Go wait.Jitter: base × [1, 1 + factor))', () => {
  it.each([
    // base, factor, random → interval
    [600_000, 0.1, 0, 600_000],
    [600_000, 0.1, 0.5, 630_000],
    [600_000, 0.1, 0.75, 645_000],
    [600_000, 0, 0.99, 600_000],
    [0, 0.1, 0.3, 0],
    [1_000, 1, 0, 1_000],
    [1_000, 1, 0.5, 1_500],
  ])('base %i factor %s random %s → %i', (base, factor, r, want) => {
    expect(jitteredInterval(base, factor, () => r)).toBe(want);
  });

  it("plan() arms the idle-reclaim timer with this round's draw, not the configured interval", () => {
    const enis = [input().enis[0]!, eni('eni-x', { ips: freeIps('10.0.1', 3) })];
    const cfg = { maxPoolSize: 5, idleIpReclaimAfterMs: 60_000 };
    const armed = plan(input({ enis, cfg, reclaimIntervalMs: 33_000 }));
    expect(armed).toMatchObject({ actions: [], nextReclaimAt: NOW + 33_000, reclaimIntervalUsed: true });
    expect(plan(input({ enis, cfg, nextReclaimAt: NOW + 33_000 })).actions).toEqual([]);
    expect(plan(input({ enis, cfg, nextReclaimAt: NOW })).actions).toHaveLength(1);
  });

  it('rejects a factor outside 0..1', () => {
    expect(() => resolvePoolConfig({ idleIpReclaimJitterFactor: 1.5 })).toThrow(RangeError);
    expect(() => resolvePoolConfig({ idleIpReclaimJitterFactor: -0.1 })).toThrow(RangeError);
  });
});

describe('minimum ENI lifetime', () => {
  const deletes = (p: ReturnType<typeof plan>) =>
    p.actions.filter((a) => a.kind === 'deleteEni').map((a) => (a as { eniId: string }).eniId);

  it.each([
    // age of our idle ENI (ms), minEniLifetimeMs → deleted?
    [30_000, 60_000, false],
    [59_999, 60_000, false],
    [60_000, 60_000, true],
    [5_000, 0, true],
  ])('an idle ENI of ours %i ms old, lifetime %i → deleted %s', (age, life, deleted) => {
    const young = eni('eni-young', { createdAt: NOW - age, ips: freeIps('10.0.1', 1) });
    const p = plan(input({ enis: [input().enis[0]!, young], cfg: { minEniLifetimeMs: life } }));
    expect(deletes(p)).toEqual(deleted ? ['eni-young'] : []);
    // a young ENI may still give back idle IPs: only the detach+delete waits
    if (!deleted) expect(p.actions).toEqual([{ kind: 'unassign', eniId: 'eni-young', ips: ['10.0.1.1'] }]);
  });

  it('an empty ENI of ours is also kept until it is old enough', () => {
    const empty = (age: number) => eni('eni-empty', { createdAt: NOW - age });
    expect(deletes(plan(input({ enis: [input().enis[0]!, empty(10_000)] })))).toEqual([]);
    expect(deletes(plan(input({ enis: [input().enis[0]!, empty(61_000)] })))).toEqual(['eni-empty']);
  });

  it('defaults to one minute', () => {
    expect(resolvePoolConfig().minEniLifetimeMs).toBe(60_000);
  });
});
