// Pool tuning knobs (Terway `eni_conf` names in camelCase, durations in ms) and their defaults.

import { defaultBackoff, type BackoffConfig } from './backoff.js';

export type EniSelectionPolicy = 'most_ips' | 'least_ips';
export type VSwitchSelectionPolicy = 'ordered' | 'random';

export type IpStack = 'ipv4' | 'dual';

export interface PoolConfig {
  /**
   * Terway `ip_stack`: `dual` hands each pod one IPv4 and one IPv6 address of the same ENI, kept as pairs
   * (IpRecord.ipv6): one Assign call per family per batch, and an ENI holds min(IPv4, IPv6 quota) pairs.
   */
  ipStack: IpStack;
  /** Keep at least this many free IPs. */
  minPoolSize: number;
  /** Free IPs above this are released as soon as nothing grows (Terway: disposed at the next pool sync). */
  maxPoolSize: number;
  /**
   * Idle reclaim (Terway `idle_ip_reclaim_after`): once no allocation or release happened for this long, every
   * (jittered) interval one batch of free IPs is released, shrinking the idle pool toward minPoolSize. 0 = off.
   */
  idleIpReclaimAfterMs: number;
  /** Idle reclaim: one batch per interval. */
  idleIpReclaimIntervalMs: number;
  /** Idle reclaim: IPs released per batch (a whole idle ENI may go at once, see planner). */
  idleIpReclaimBatchSize: number;
  /** Each reclaim interval is drawn from interval × [1, 1 + factor) (Go's wait.Jitter, Terway `idle_ip_reclaim_jitter_factor`, 0.1). */
  idleIpReclaimJitterFactor: number;
  /** Secondary ENIs per node (Terway `max_eni`); capped by the instance quota. 0 = the quota. */
  maxEni: number;
  /** Keep at least this many secondary ENIs even when idle (Terway `min_eni`; the daemon also sets minPoolSize from it). */
  minEni: number;
  /** Terway `eni_cap_ratio`: the ENI quota is ⌊EniQuantity × ratio⌋ + shift (default 1). */
  eniCapRatio: number;
  /** Terway `eni_cap_shift` (default 0). */
  eniCapShift: number;
  eniSelectionPolicy: EniSelectionPolicy;
  /**
   * Manage only secondary ENIs carrying all these tags (Terway `eni_tag_filter`): others attached to the node
   * are never adopted, used for pods or deleted, but still hold an ENI quota slot. ENIs the pool creates get
   * these tags too, so they always match. Empty: no filter. The primary ENI is always managed.
   */
  eniTagFilter: Record<string, string>;
  /** CreateNetworkInterface calls started in any 60 s window (Terway's factory limit: 10/min). 0 = no limit. */
  maxEniCreatesPerMinute: number;
  /** An ENI is not detached+deleted by idle reclaim before it is this old (AWS minENILifeTime, 1 min). */
  minEniLifetimeMs: number;
  /** ordered: the vSwitch with the most free IPs (AvailableIpAddressCount) first, as Terway's; random: any. Empty ones are skipped. */
  vSwitchSelectionPolicy: VSwitchSelectionPolicy;
  /** A released pod IP waits this long before reuse (kube-proxy / conntrack convergence). */
  ipCooldownMs: number;
  /** A stateful pod's IP stays reserved for it this long after release. */
  statefulReserveMs: number;
  /** IPs per AssignPrivateIpAddresses call (the cloud's limit is 10). */
  batchSize: number;
  /** Secondary IPs requested inside CreateNetworkInterface (0 = none, assign after attach). */
  maxIpsPerCreate: number;
  backoff: BackoffConfig;
  /** Default wait for a free IP when the pool is empty. */
  allocDeadlineMs: number;
  /** Idle ticker period (watermarks, cooldown expiry). */
  tickIntervalMs: number;
  /** GC + cloud reconcile period (Terway: 5 minutes). */
  gcIntervalMs: number;
  /** Allocations younger than this are never garbage-collected (Terway: 2 minutes). */
  gcGraceMs: number;
  /**
   * After the pool unassigns an IP or deletes an ENI, reconcile does not adopt it again for this long even if
   * DescribeNetworkInterfaces still lists it (stale / eventually consistent answers; AWS ipReconcileCooldown, 60 s).
   */
  reconcileCooldownMs: number;
}

export const defaultPoolConfig: PoolConfig = {
  ipStack: 'ipv4',
  minPoolSize: 0,
  maxPoolSize: 5,
  idleIpReclaimAfterMs: 0,
  idleIpReclaimIntervalMs: 10 * 60_000,
  idleIpReclaimBatchSize: 5,
  idleIpReclaimJitterFactor: 0.1,
  maxEni: 0,
  minEni: 0,
  eniCapRatio: 1,
  eniCapShift: 0,
  eniSelectionPolicy: 'most_ips',
  eniTagFilter: {},
  maxEniCreatesPerMinute: 10,
  minEniLifetimeMs: 60_000,
  vSwitchSelectionPolicy: 'ordered',
  ipCooldownMs: 30_000,
  statefulReserveMs: 5 * 60_000,
  batchSize: 10,
  maxIpsPerCreate: 10,
  backoff: { ...defaultBackoff },
  allocDeadlineMs: 60_000,
  tickIntervalMs: 1_000,
  gcIntervalMs: 5 * 60_000,
  gcGraceMs: 2 * 60_000,
  reconcileCooldownMs: 60_000,
};

export type PoolConfigInput = Partial<Omit<PoolConfig, 'backoff'>> & { backoff?: Partial<BackoffConfig> };

/** Fills defaults and checks the numbers make sense together. */
export function resolvePoolConfig(input: PoolConfigInput = {}): PoolConfig {
  const cfg: PoolConfig = {
    ...defaultPoolConfig,
    ...stripUndefined(input),
    backoff: { ...defaultPoolConfig.backoff, ...stripUndefined(input.backoff ?? {}) },
  };
  if (cfg.minPoolSize < 0 || cfg.maxPoolSize < 0) throw new RangeError('pool sizes must be >= 0');
  if (cfg.maxPoolSize < cfg.minPoolSize) throw new RangeError(`maxPoolSize (${cfg.maxPoolSize}) < minPoolSize (${cfg.minPoolSize})`);
  if (cfg.batchSize < 1 || cfg.batchSize > 10) throw new RangeError('batchSize must be 1..10');
  if (cfg.idleIpReclaimBatchSize < 1) throw new RangeError('idleIpReclaimBatchSize must be >= 1');
  if (!(cfg.idleIpReclaimJitterFactor >= 0 && cfg.idleIpReclaimJitterFactor <= 1))
    throw new RangeError('idleIpReclaimJitterFactor must be 0..1');
  if (!(cfg.maxEniCreatesPerMinute >= 0)) throw new RangeError('maxEniCreatesPerMinute must be >= 0');
  if (!(cfg.minEniLifetimeMs >= 0)) throw new RangeError('minEniLifetimeMs must be >= 0');
  if (!(cfg.eniCapRatio > 0)) throw new RangeError('eniCapRatio must be > 0');
  if (!Number.isInteger(cfg.eniCapShift)) throw new RangeError('eniCapShift must be an integer');
  cfg.eniTagFilter = { ...cfg.eniTagFilter };
  return cfg;
}

/** The keys of `o` whose value is not undefined (so an explicit undefined keeps the default). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
