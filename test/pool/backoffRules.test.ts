// The shared back-off rules (both pools) and ENI ownership classification: table tests, `now` passed in.
import { describe, expect, it } from 'vitest';
import {
  EXHAUSTION_CODES,
  allocationPause,
  backoffFor,
  backoffMessage,
  creationBlocker,
  deferEni,
  defaultBackoff,
  earliestEnd,
  noBackoffs,
  recordFailure,
  type Backoffs,
} from '../../pool/backoff.js';
import { classifyEni, newEniTags, ourTags, type EniClass } from '../../pool/ownership.js';
import { RecentlyRemoved } from '../../pool/recentlyRemoved.js';

const cfg = defaultBackoff;

describe('Terway back-off rules, one table for both pools', () => {
  // code, context, what it pauses, for how long
  it.each<[string, { eniId?: string; vSwitchId?: string }, keyof Backoffs | 'vSwitch' | 'eni', number]>([
    ['EniPerInstanceLimitExceeded', { vSwitchId: 'vsw-a' }, 'all', 60_000],
    ['QuotaExceeded.PrivateIpAddress', { eniId: 'eni-1', vSwitchId: 'vsw-a' }, 'all', 600_000],
    ['InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-a' }, 'vSwitch', 600_000],
    ['InvalidVSwitchId.IpNotEnough', {}, 'all', 600_000], // no vSwitch known: the whole pool
    ['Throttling', { eniId: 'eni-1', vSwitchId: 'vsw-a' }, 'eni', 5_000],
    ['ServiceUnavailable', { vSwitchId: 'vsw-a' }, 'create', 5_000],
  ])('%s %j pauses %s for %i ms', (code, ctx, where, ms) => {
    const b = recordFailure(noBackoffs(), code, ctx, 100, cfg);
    const want = { until: 100 + ms, code };
    expect(backoffFor(code, 100, cfg)).toEqual(want);
    if (where === 'vSwitch') expect(b.vSwitches).toEqual({ 'vsw-a': want });
    else if (where === 'eni') expect(b.enis).toEqual({ 'eni-1': want });
    else expect(b[where]).toEqual(want);
    const others = (['all', 'create'] as const).filter((k) => k !== where);
    for (const k of others) expect(b[k]).toBeUndefined();
  });

  it('the exhaustion codes are the three that pause for minutes', () => {
    expect([...EXHAUSTION_CODES].sort()).toEqual([
      'EniPerInstanceLimitExceeded',
      'InvalidVSwitchId.IpNotEnough',
      'QuotaExceeded.PrivateIpAddress',
    ]);
    expect(backoffMessage('InvalidVSwitchId.IpNotEnough')).toBe('vSwitch has no free IPs (backing off)');
    expect(backoffMessage('Throttling')).toBe('allocation paused after Throttling');
  });

  it('a failed release-side call only delays that ENI, whatever the code (never pauses allocation)', () => {
    const b = deferEni(noBackoffs(), 'eni-1', 'QuotaExceeded.PrivateIpAddress', 100, cfg);
    expect(b).toEqual({ vSwitches: {}, enis: { 'eni-1': { until: 5_100, code: 'QuotaExceeded.PrivateIpAddress' } } });
  });

  it('creationBlocker: pool-wide pause, else a creation pause, else every vSwitch paused (earliest end)', () => {
    const ids = ['vsw-a', 'vsw-b'];
    let b = recordFailure(noBackoffs(), 'ServiceUnavailable', {}, 0, cfg);
    expect(creationBlocker(b, ids, 0)).toEqual({ until: 5_000, code: 'ServiceUnavailable' });
    b = recordFailure(b, 'EniPerInstanceLimitExceeded', {}, 0, cfg);
    expect(creationBlocker(b, ids, 0)?.code).toBe('EniPerInstanceLimitExceeded');
    expect(creationBlocker(b, ids, 60_000)).toBeUndefined();
    b = recordFailure(noBackoffs(), 'InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-a' }, 0, cfg);
    expect(creationBlocker(b, ids, 0)).toBeUndefined(); // vsw-b still open
    b = recordFailure(b, 'InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-b' }, 10, cfg);
    expect(creationBlocker(b, ids, 20)).toEqual({ until: 600_000, code: 'InvalidVSwitchId.IpNotEnough' });
  });

  it('allocationPause (stats): the pool-wide pause, else an exhausted vSwitch by name; transient ones are not a pause', () => {
    let b = recordFailure(noBackoffs(), 'Throttling', { eniId: 'eni-1' }, 0, cfg);
    expect(allocationPause(b, 0)).toBeUndefined();
    b = recordFailure(b, 'InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-a' }, 0, cfg);
    expect(allocationPause(b, 0)).toEqual({ until: 600_000, reason: 'InvalidVSwitchId.IpNotEnough (vsw-a)' });
    b = recordFailure(b, 'QuotaExceeded.PrivateIpAddress', {}, 0, cfg);
    expect(allocationPause(b, 0)).toEqual({ until: 600_000, reason: 'QuotaExceeded.PrivateIpAddress' });
  });

  it('earliestEnd: when the first back-off runs out', () => {
    expect(earliestEnd(noBackoffs())).toBeUndefined();
    let b = recordFailure(noBackoffs(), 'InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-a' }, 0, cfg);
    b = deferEni(b, 'eni-1', 'Timeout', 1_000, cfg);
    expect(earliestEnd(b)).toBe(6_000);
  });
});

describe('ENI ownership', () => {
  const eni = (type: 'Primary' | 'Secondary', tags: Record<string, string>) => ({ type, tags });
  const ours = ourTags('i-1');
  it.each<[string, ReturnType<typeof eni>, Record<string, string>, EniClass]>([
    ['the primary ENI, whatever its tags', eni('Primary', {}), { team: 'a' }, 'primary'],
    ['our creator + node tags', eni('Secondary', ours), {}, 'ours'],
    ['ours and matching the filter', eni('Secondary', { ...ours, team: 'a' }), { team: 'a' }, 'ours'],
    ['ours but failing the filter', eni('Secondary', ours), { team: 'a' }, 'filtered'],
    ['another node’s', eni('Secondary', ourTags('i-2')), {}, 'foreign'],
    ['untagged', eni('Secondary', {}), {}, 'foreign'],
    ['not ours and failing the filter', eni('Secondary', {}), { team: 'a' }, 'filtered'],
  ])('%s -> %s', (_n, e, filter, want) => {
    expect(classifyEni(e, 'i-1', filter)).toBe(want);
  });

  it('new ENIs carry the configured tags, the filter’s, and ours (which nothing overrides)', () => {
    expect(newEniTags('i-1', { env: 'prod', creator: 'someone' }, { team: 'a' })).toEqual({ env: 'prod', team: 'a', ...ours });
    expect(classifyEni(eni('Secondary', newEniTags('i-1', {}, { team: 'a' })), 'i-1', { team: 'a' })).toBe('ours');
  });
});

describe('RecentlyRemoved (reconcile cooldown)', () => {
  it('remembers until the cooldown ends; a fresh assign makes it ours again', () => {
    const r = new RecentlyRemoved();
    r.note(['10.0.0.5', 'eni-1'], 1_000);
    expect(r.has('10.0.0.5')).toBe(true);
    expect(r.endOf('eni-1')).toBe(1_000);
    r.forget(['10.0.0.5']);
    expect(r.has('10.0.0.5')).toBe(false);
    r.prune(999);
    expect(r.has('eni-1')).toBe(true);
    r.prune(1_000);
    expect(r.has('eni-1')).toBe(false);
  });
});
