// ENI pool (VPCENI) tuning knobs and their defaults. The back-off after failed cloud calls follows the
// same rules and knobs as the multi-IP pool's (pool/backoff.ts).

import { defaultBackoff, type BackoffConfig } from '../backoff.js';
import { stripUndefined, type IpStack } from '../config.js';

export interface EniPoolConfig {
  /** Keep at least this many spare ENIs attached. */
  minPoolSize: number;
  /** Detach and delete idle ENIs above this. */
  maxPoolSize: number;
  /** Secondary ENIs for pods at most (Terway `max_eni`; 0 = the instance quota). */
  maxEni: number;
  /** Terway `eni_cap_ratio` / `eni_cap_shift`: the quota is ⌊EniQuantity × ratio⌋ + shift (pool/capacity.ts). */
  eniCapRatio: number;
  eniCapShift: number;
  /** A released ENI waits this long before the next pod gets it. */
  cooldownMs: number;
  /** Default wait for an ENI being attached. */
  allocDeadlineMs: number;
  /** Ticker period (watermarks, cool-down expiry, retry of failed deletes). */
  tickIntervalMs: number;
  vSwitchSelectionPolicy: 'ordered' | 'random';
  backoff: BackoffConfig;
  /** Period of GC by pod existence (with an owner check) followed by a cloud reconcile. */
  gcIntervalMs: number;
  /** Allocations younger than this are never GC'd (an ADD may still be in flight). */
  gcGraceMs: number;
  /** An ENI we released / deleted is not adopted again from a listing within this time (stale describes). */
  reconcileCooldownMs: number;
  /** Terway `ip_stack`: `dual` gives each pod's ENI one IPv6 address too (created with it). */
  ipStack: IpStack;
}

export const defaultEniPoolConfig: EniPoolConfig = {
  minPoolSize: 0,
  maxPoolSize: 2,
  maxEni: 0,
  eniCapRatio: 1,
  eniCapShift: 0,
  cooldownMs: 30_000,
  allocDeadlineMs: 60_000,
  tickIntervalMs: 1_000,
  vSwitchSelectionPolicy: 'ordered',
  backoff: { ...defaultBackoff },
  gcIntervalMs: 5 * 60_000,
  gcGraceMs: 2 * 60_000,
  reconcileCooldownMs: 60_000,
  ipStack: 'ipv4',
};

export type EniPoolConfigInput = Partial<Omit<EniPoolConfig, 'backoff'>> & { backoff?: Partial<BackoffConfig> };

export function resolveEniPoolConfig(input: EniPoolConfigInput = {}): EniPoolConfig {
  const cfg: EniPoolConfig = {
    ...defaultEniPoolConfig,
    ...stripUndefined(input),
    backoff: { ...defaultEniPoolConfig.backoff, ...stripUndefined(input.backoff ?? {}) },
  };
  if (cfg.minPoolSize < 0 || cfg.maxPoolSize < 0) throw new RangeError('pool sizes must be >= 0');
  if (cfg.maxPoolSize < cfg.minPoolSize) throw new RangeError(`maxPoolSize (${cfg.maxPoolSize}) < minPoolSize (${cfg.minPoolSize})`);
  return cfg;
}
