// Exhaustion back-off (Terway pkg/eni/local.go errorHandleLocked), as pure functions over Backoffs.

import { CloudError, CloudErrorCodes } from './cloud.js';
import type { BackoffConfig } from './config.js';
import type { Backoffs } from './planner.js';
import { PoolError } from './types.js';

/** The cloud code behind an error ('Internal' when there is none). */
export function errorCode(err: unknown): string {
  if (err instanceof CloudError) return err.code;
  if (err instanceof PoolError) return err.cloudCode ?? 'Internal';
  return 'Internal';
}

/**
 * Records a failed create/assign/attach:
 *   EniPerInstanceLimitExceeded      → whole pool paused (1 min by default)
 *   QuotaExceeded.PrivateIpAddress   → whole pool paused (10 min)
 *   InvalidVSwitchId.IpNotEnough     → that vSwitch paused (10 min): new ENIs go to the next one
 *   anything else                    → that ENI (or ENI creation) paused briefly; requests keep waiting
 */
export function recordFailure(
  b: Backoffs,
  code: string,
  ctx: { eniId?: string; vSwitchId?: string },
  now: number,
  cfg: BackoffConfig,
): Backoffs {
  const next: Backoffs = { ...b, vSwitches: { ...b.vSwitches }, enis: { ...b.enis } };
  switch (code) {
    case CloudErrorCodes.EniPerInstanceLimitExceeded:
      next.all = { until: now + cfg.eniPerInstanceLimitMs, code };
      break;
    case CloudErrorCodes.QuotaExceededPrivateIp:
      next.all = { until: now + cfg.privateIpQuotaMs, code };
      break;
    case CloudErrorCodes.VSwitchIpNotEnough:
      if (ctx.vSwitchId) next.vSwitches[ctx.vSwitchId] = { until: now + cfg.vSwitchIpNotEnoughMs, code };
      else next.all = { until: now + cfg.vSwitchIpNotEnoughMs, code };
      break;
    default:
      if (ctx.eniId) next.enis[ctx.eniId] = { until: now + cfg.otherErrorMs, code };
      else next.create = { until: now + cfg.otherErrorMs, code };
  }
  return next;
}

/** Drops back-offs that have run out. */
export function expireBackoffs(b: Backoffs, now: number): Backoffs {
  const keep = <T extends { until: number }>(x: T | undefined) => (x && x.until > now ? x : undefined);
  const next: Backoffs = { vSwitches: {}, enis: {} };
  const all = keep(b.all);
  const create = keep(b.create);
  if (all) next.all = all;
  if (create) next.create = create;
  for (const [k, v] of Object.entries(b.vSwitches)) if (v.until > now) next.vSwitches[k] = v;
  for (const [k, v] of Object.entries(b.enis)) if (v.until > now) next.enis[k] = v;
  return next;
}
