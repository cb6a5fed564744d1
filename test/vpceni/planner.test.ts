// Pure decisions of the ENI pool: table tests, no I/O, `now` passed in.
import { secondaryEniQuota } from '../../pool/capacity.js';
import { describe, expect, it } from 'vitest';
import { backoffFor, defaultBackoff as defaultEniBackoff, effectiveBackoff, pickVSwitch } from '../../pool/backoff.js';
import {
  expireCooling,
  pickFreeEni,
  placeReleased,
  planEniPool,
  type EniPlannerInput,
  type EniSlot,
  type EniSlotState,
} from '../../pool/enipool/index.js';

const slot = (eniId: string, state: EniSlotState, since = 0, coolUntil?: number): EniSlot => ({
  eniId,
  state,
  since,
  ...(coolUntil !== undefined ? { coolUntil } : {}),
});
const base = (over: Partial<EniPlannerInput>): EniPlannerInput => ({
  slots: [],
  waiting: 0,
  minPoolSize: 0,
  maxPoolSize: 2,
  capacity: 7,
  now: 1000,
  ...over,
});

describe('secondaryEniQuota (VPCENI capacity)', () => {
  it.each([
    [8, 0, 7], // quota minus the primary ENI
    [8, 4, 4], // max_eni counts secondary ENIs (Terway getPoolConfig)
    [3, 10, 2], // max_eni above the quota: the quota wins
    [1, 0, 0], // only the primary ENI
    [0, 0, 0],
  ])('quota %i, max_eni %i -> %i ENIs for pods', (quota, maxEni, want) => {
    expect(secondaryEniQuota(quota, { maxEni, eniCapRatio: 1, eniCapShift: 0 })).toBe(want);
  });
});

describe('planEniPool', () => {
  it.each<[string, Partial<EniPlannerInput>, number, string[], string | undefined]>([
    ['empty pool, min 2: create 2', { minPoolSize: 2 }, 2, [], undefined],
    [
      'min 2 with one free and one attaching: nothing',
      { minPoolSize: 2, slots: [slot('a', 'free'), slot('b', 'attaching')] },
      0,
      [],
      undefined,
    ],
    ['cooling ENIs count toward min', { minPoolSize: 2, slots: [slot('a', 'cooling', 0, 5000), slot('b', 'free')] }, 0, [], undefined],
    ['assigned ENIs do not count toward min', { minPoolSize: 1, slots: [slot('a', 'assigned'), slot('b', 'assigned')] }, 1, [], undefined],
    ['min above capacity: capped, blocker capacity', { minPoolSize: 5, capacity: 3 }, 3, [], 'capacity'],
    [
      'capacity reached by assigned ENIs',
      { minPoolSize: 1, capacity: 2, slots: [slot('a', 'assigned'), slot('b', 'assigned')] },
      0,
      [],
      'capacity',
    ],
    ['releasing ENIs do not use capacity', { minPoolSize: 1, capacity: 1, slots: [slot('a', 'releasing')] }, 1, [], undefined],
    ['3 waiting, 1 attaching, min 0: create 2', { waiting: 3, slots: [slot('a', 'attaching')] }, 2, [], undefined],
    ['waiting do not count cooling ENIs as servable', { waiting: 1, slots: [slot('a', 'cooling', 0, 5000)] }, 1, [], undefined],
    ['backoff pauses creation', { minPoolSize: 2, backoff: { until: 2000, code: 'EniPerInstanceLimitExceeded' } }, 0, [], 'backoff'],
    ['an expired backoff does not', { minPoolSize: 2, backoff: { until: 1000, code: 'EniPerInstanceLimitExceeded' } }, 2, [], undefined],
    [
      'idle above max 1: release the longest idle',
      { maxPoolSize: 1, slots: [slot('a', 'free', 50), slot('b', 'free', 10), slot('c', 'assigned')] },
      0,
      ['b'],
      undefined,
    ],
    ['cooling goes before free', { maxPoolSize: 1, slots: [slot('a', 'free', 10), slot('b', 'cooling', 500, 5000)] }, 0, ['b'], undefined],
    [
      'max 0: every idle ENI goes',
      { maxPoolSize: 0, slots: [slot('a', 'free', 1), slot('b', 'free', 2), slot('c', 'attaching')] },
      0,
      ['a', 'b'],
      undefined,
    ],
    ['no release while requests wait', { maxPoolSize: 0, waiting: 1, slots: [slot('a', 'free', 1)] }, 0, [], undefined],
  ])('%s', (_name, over, create, release, blocker) => {
    const plan = planEniPool(base(over));
    expect(plan.create).toBe(create);
    expect(plan.release).toEqual(release);
    expect(plan.blocker?.reason).toBe(blocker);
  });

  it('a backoff blocker carries the cloud code and its end', () => {
    const plan = planEniPool(base({ minPoolSize: 1, backoff: { until: 61_000, code: 'InvalidVSwitchId.IpNotEnough' } }));
    expect(plan.blocker).toEqual({ reason: 'backoff', code: 'InvalidVSwitchId.IpNotEnough', until: 61_000 });
  });
});

describe('expireCooling', () => {
  it('turns cooled-down ENIs free at now, leaves the rest as they are', () => {
    const a = slot('a', 'cooling', 0, 1000);
    const b = slot('b', 'cooling', 0, 1001);
    const c = slot('c', 'assigned');
    const { slots, expired } = expireCooling([a, b, c], 1000);
    expect(expired).toEqual(['a']);
    expect(slots[0]).toEqual({ eniId: 'a', state: 'free', since: 1000 });
    expect(slots[1]).toBe(b);
    expect(slots[2]).toBe(c);
  });
});

describe('pickFreeEni', () => {
  it.each<[EniSlot[], string | undefined]>([
    [[], undefined],
    [[slot('a', 'assigned'), slot('b', 'cooling', 0, 9), slot('c', 'attaching')], undefined],
    [[slot('a', 'free', 30), slot('b', 'free', 10), slot('c', 'free', 20)], 'b'],
    [[slot('z', 'free', 10), slot('y', 'free', 10)], 'y'],
  ])('%j -> %s', (slots, want) => {
    expect(pickFreeEni(slots)).toBe(want);
  });
});

describe('placeReleased', () => {
  it.each<[string, EniSlot[], number, number, ReturnType<typeof placeReleased>]>([
    ['room below max, cool-down', [slot('a', 'free')], 2, 30_000, { state: 'cooling', coolUntil: 31_000 }],
    ['room below max, no cool-down', [], 2, 0, { state: 'free' }],
    ['idle ENIs already at max', [slot('a', 'free'), slot('b', 'cooling', 0, 9)], 2, 30_000, { state: 'releasing' }],
    ['max 0', [], 0, 30_000, { state: 'releasing' }],
    ['assigned ENIs do not count', [slot('a', 'assigned'), slot('b', 'assigned')], 1, 0, { state: 'free' }],
  ])('%s', (_n, others, max, cooldown, want) => {
    expect(placeReleased(others, max, cooldown, 1000)).toEqual(want);
  });
});

describe('backoff', () => {
  it.each([
    ['EniPerInstanceLimitExceeded', defaultEniBackoff.eniPerInstanceLimitMs],
    ['InvalidVSwitchId.IpNotEnough', defaultEniBackoff.vSwitchIpNotEnoughMs],
    ['QuotaExceeded.PrivateIpAddress', defaultEniBackoff.vSwitchIpNotEnoughMs],
    ['Throttling', defaultEniBackoff.otherErrorMs],
  ])('%s pauses creation for %i ms', (code, ms) => {
    expect(backoffFor(code, 100, defaultEniBackoff)).toEqual({ until: 100 + ms, code });
  });

  it('pickVSwitch skips paused vSwitches; none left -> undefined', () => {
    const paused = { 'vsw-a': { until: 500, code: 'InvalidVSwitchId.IpNotEnough' } };
    expect(pickVSwitch(['vsw-a', 'vsw-b'], paused, 100)).toBe('vsw-b');
    expect(pickVSwitch(['vsw-a', 'vsw-b'], paused, 500)).toBe('vsw-a'); // pause over
    expect(pickVSwitch(['vsw-a'], paused, 100)).toBeUndefined();
    expect(pickVSwitch(['vsw-a', 'vsw-b', 'vsw-c'], {}, 0, { random: () => 0.99 })).toBe('vsw-c');
  });

  it('effectiveBackoff: pool-wide pause, or every vSwitch paused (earliest end)', () => {
    const p = {
      'vsw-a': { until: 900, code: 'InvalidVSwitchId.IpNotEnough' },
      'vsw-b': { until: 700, code: 'InvalidVSwitchId.IpNotEnough' },
    };
    expect(effectiveBackoff(undefined, p, ['vsw-a', 'vsw-b'], 100)).toEqual(p['vsw-b']);
    expect(effectiveBackoff(undefined, p, ['vsw-a', 'vsw-b', 'vsw-c'], 100)).toBeUndefined();
    const all = { until: 300, code: 'EniPerInstanceLimitExceeded' };
    expect(effectiveBackoff(all, {}, ['vsw-a'], 100)).toBe(all);
    expect(effectiveBackoff(all, {}, ['vsw-a'], 300)).toBeUndefined();
  });
});
