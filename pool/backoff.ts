// Back-off after failed cloud calls (Terway pkg/eni/local.go errorHandleLocked), written once for both
// pools as pure functions over Backoffs:
//   EniPerInstanceLimitExceeded      → whole pool paused (1 min by default)
//   QuotaExceeded.PrivateIpAddress   → whole pool paused (10 min)
//   InvalidVSwitchId.IpNotEnough     → that vSwitch paused (10 min): new ENIs go to the next one
//   anything else                    → that ENI (or ENI creation) paused briefly; requests keep waiting
// A failed release-side call (unassign, detach, delete) never pauses allocation: it only delays that
// ENI's retry (deferEni).

import { CloudError, CloudErrorCodes } from './cloud.js';
import { PoolError } from './types.js';

export interface BackoffConfig {
  /** Pause after `EniPerInstanceLimitExceeded` (Terway: 1 minute). */
  eniPerInstanceLimitMs: number;
  /** Pause a vSwitch after `InvalidVSwitchId.IpNotEnough` (Terway: 10 minutes). */
  vSwitchIpNotEnoughMs: number;
  /** Pause all IP allocation after `QuotaExceeded.PrivateIpAddress` (Terway: 10 minutes). */
  privateIpQuotaMs: number;
  /** Pause after any other failed call (throttling that outlived the client's retries, 5xx), and before a release is retried. */
  otherErrorMs: number;
}

export const defaultBackoff: BackoffConfig = {
  eniPerInstanceLimitMs: 60_000,
  vSwitchIpNotEnoughMs: 10 * 60_000,
  privateIpQuotaMs: 10 * 60_000,
  otherErrorMs: 5_000,
};

export interface Blocker {
  until: number;
  code: string;
}

export interface Backoffs {
  /** Whole-pool pause (EniPerInstanceLimitExceeded, QuotaExceeded.PrivateIpAddress). */
  all?: Blocker;
  /** Exhausted vSwitches: no assign on their ENIs, no new ENI in them. */
  vSwitches: Record<string, Blocker>;
  /** Transient failure of one ENI's operations (also: its release is retried after this). */
  enis: Record<string, Blocker>;
  /** Transient failure of CreateNetworkInterface (or the attach after it). */
  create?: Blocker;
}

export function noBackoffs(): Backoffs {
  return { vSwitches: {}, enis: {} };
}

/** Codes that mean waiting will not help soon: requests fail at once (Exhausted) instead of waiting out the pause. */
export const EXHAUSTION_CODES: ReadonlySet<string> = new Set([
  CloudErrorCodes.EniPerInstanceLimitExceeded,
  CloudErrorCodes.VSwitchIpNotEnough,
  CloudErrorCodes.QuotaExceededPrivateIp,
]);

const exhaustionMessages: Record<string, string> = {
  [CloudErrorCodes.EniPerInstanceLimitExceeded]: 'instance ENI limit reached (backing off)',
  [CloudErrorCodes.VSwitchIpNotEnough]: 'vSwitch has no free IPs (backing off)',
  [CloudErrorCodes.QuotaExceededPrivateIp]: 'private IP quota exceeded (backing off)',
};

/** Words for a pause, for errors and events. */
export function backoffMessage(code: string): string {
  return exhaustionMessages[code] ?? `allocation paused after ${code}`;
}

/** The cloud code behind an error ('Internal' when there is none). */
export function errorCode(err: unknown): string {
  if (err instanceof CloudError) return err.code;
  if (err instanceof PoolError) return err.cloudCode ?? 'Internal';
  return 'Internal';
}

export function isActive(b: Blocker | undefined, now: number): b is Blocker {
  return b !== undefined && b.until > now;
}

/** How long a failed grow call (create / attach / assign) with this code pauses what it pauses. */
export function backoffFor(code: string, now: number, cfg: BackoffConfig): Blocker {
  switch (code) {
    case CloudErrorCodes.EniPerInstanceLimitExceeded:
      return { until: now + cfg.eniPerInstanceLimitMs, code };
    case CloudErrorCodes.QuotaExceededPrivateIp:
      return { until: now + cfg.privateIpQuotaMs, code };
    case CloudErrorCodes.VSwitchIpNotEnough:
      return { until: now + cfg.vSwitchIpNotEnoughMs, code };
    default:
      return { until: now + cfg.otherErrorMs, code };
  }
}

/** Records a failed create / attach / assign: what it pauses follows the code (see the top of this file). */
export function recordFailure(
  b: Backoffs,
  code: string,
  ctx: { eniId?: string; vSwitchId?: string },
  now: number,
  cfg: BackoffConfig,
): Backoffs {
  const next: Backoffs = { ...b, vSwitches: { ...b.vSwitches }, enis: { ...b.enis } };
  const pause = backoffFor(code, now, cfg);
  switch (code) {
    case CloudErrorCodes.EniPerInstanceLimitExceeded:
    case CloudErrorCodes.QuotaExceededPrivateIp:
      next.all = pause;
      break;
    case CloudErrorCodes.VSwitchIpNotEnough:
      if (ctx.vSwitchId) next.vSwitches[ctx.vSwitchId] = pause;
      else next.all = pause;
      break;
    default:
      if (ctx.eniId) next.enis[ctx.eniId] = pause;
      else next.create = pause;
  }
  return next;
}

/** Records a failed release-side call (unassign / detach / delete): only that ENI's retry waits, whatever the code. */
export function deferEni(b: Backoffs, eniId: string, code: string, now: number, cfg: BackoffConfig): Backoffs {
  return { ...b, enis: { ...b.enis, [eniId]: { until: now + cfg.otherErrorMs, code } } };
}

/** Drops back-offs that have run out. */
export function expireBackoffs(b: Backoffs, now: number): Backoffs {
  const next = noBackoffs();
  if (isActive(b.all, now)) next.all = b.all;
  if (isActive(b.create, now)) next.create = b.create;
  for (const [k, v] of Object.entries(b.vSwitches)) if (v.until > now) next.vSwitches[k] = v;
  for (const [k, v] of Object.entries(b.enis)) if (v.until > now) next.enis[k] = v;
  return next;
}

/** The earliest end of any back-off (when a waiting request may be served again), if there is one. */
export function earliestEnd(b: Backoffs): number | undefined {
  const ends = [b.all, b.create, ...Object.values(b.vSwitches), ...Object.values(b.enis)]
    .filter((x) => x !== undefined)
    .map((x) => x.until);
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

/** What pauses allocation as a whole, for stats: the pool-wide pause, else an exhausted vSwitch (named). */
export function allocationPause(b: Backoffs, now: number): { until: number; reason: string } | undefined {
  if (isActive(b.all, now)) return { until: b.all.until, reason: b.all.code };
  const vsw = Object.entries(b.vSwitches).find(([, x]) => x.until > now);
  return vsw && { until: vsw[1].until, reason: `${vsw[1].code} (${vsw[0]})` };
}

/** The pause that blocks creation: the pool-wide one, or the earliest end when every vSwitch is paused. */
export function effectiveBackoff(
  all: Blocker | undefined,
  paused: Record<string, Blocker>,
  ids: string[],
  now: number,
): Blocker | undefined {
  if (isActive(all, now)) return all;
  const p = ids.map((id) => paused[id]).filter((b): b is Blocker => isActive(b, now));
  if (ids.length === 0 || p.length < ids.length) return undefined;
  return p.reduce((a, b) => (b.until < a.until ? b : a));
}

/** What blocks creating an ENI now: a pool-wide pause, a creation pause, or every vSwitch exhausted. */
export function creationBlocker(b: Backoffs, vSwitchIds: string[], now: number): Blocker | undefined {
  return effectiveBackoff(isActive(b.all, now) ? b.all : b.create, b.vSwitches, vSwitchIds, now);
}

/**
 * The vSwitch for the next ENI, among those not paused after `InvalidVSwitchId.IpNotEnough` and not known to be
 * empty (`free`: AvailableIpAddressCount when known; Terway skips a vSwitch whose count is 0):
 *   ordered (Terway maps `ordered` to "most") — the one with the most free IPs; unknown counts keep their
 *                                               configured order after the known ones
 *   random (`random` given)                  — any of them
 * undefined when none is left.
 */
export function pickVSwitch(
  ids: string[],
  paused: Record<string, Blocker>,
  now: number,
  opts: { random?: () => number; free?: Readonly<Record<string, number>> } = {},
): string | undefined {
  const free = opts.free ?? {};
  const open = ids.filter((id) => !isActive(paused[id], now) && free[id] !== 0);
  if (open.length === 0) return undefined;
  if (opts.random) return open[Math.floor(opts.random() * open.length) % open.length];
  const known = open.filter((id) => free[id] !== undefined).sort((a, b) => free[b]! - free[a]!);
  return known[0] ?? open[0];
}

/** The configured vSwitches all known to have no free IP (and none paused for another reason): waiting will not help. */
export function allVSwitchesEmpty(ids: string[], free: Readonly<Record<string, number>> | undefined): boolean {
  return ids.length > 0 && free !== undefined && ids.every((id) => free[id] === 0);
}
