// How many pods a node holds, as Terway counts it (daemon/config.go getPoolConfig). Pure.
//   secondary ENIs = ⌊EniQuantity × eni_cap_ratio⌋ + eni_cap_shift − 1   (eth0, the primary ENI, is the node's)
//                    − ENIs attached here that are not ours, capped by max_eni (it counts secondary ENIs; 0 = no cap)
//   ENIMultiIP pods = secondary ENIs × EniPrivateIpAddressQuantity        (a secondary ENI's own primary
//                     address is a pod address too: pkg/eni/local.go puts it in the same IP set)
//   VPCENI pods     = secondary ENIs
// The pool sizes follow: max_pool_size is capped by the capacity, min_eni > 0 sets min_pool_size to
// min_eni × IPs per ENI, and min_pool_size is capped by max_pool_size.

/** The knobs that shape the ENI quota (eni_conf max_eni, eni_cap_ratio, eni_cap_shift). */
export interface EniQuotaConfig {
  /** Secondary ENIs at most; 0 = the instance type's limit. */
  maxEni: number;
  /** Terway `eni_cap_ratio` (default 1): scales EniQuantity. */
  eniCapRatio: number;
  /** Terway `eni_cap_shift` (default 0): added to the scaled EniQuantity. */
  eniCapShift: number;
}

export interface CapacityLimits {
  /** ENIs per instance, the primary included (ECS `EniQuantity`). */
  eniQuantity: number;
  /** Private IPv4 per ENI, its primary address included (ECS `EniPrivateIpAddressQuantity`). */
  ipv4PerEni: number;
  instanceTypeId?: string;
}

export interface NodeCapacity {
  /** Pods the node holds in this mode. */
  pods: number;
  /** Secondary ENIs pods may use. */
  secondaryEnis: number;
  /** Pod addresses per secondary ENI (ENIMultiIP: EniPrivateIpAddressQuantity; VPCENI: 1). */
  perEni: number;
  /** The arithmetic in words, for errors and logs: "12 pods = (3 ENIs − 1) × 6 IPs (ecs.g7.large)". */
  explain: string;
}

/** Secondary ENIs pods may use (never negative). `foreign`: secondary ENIs attached here that are not ours. */
export function secondaryEniQuota(eniQuantity: number, cfg: EniQuotaConfig, foreign = 0): number {
  const scaled = Math.trunc(eniQuantity * cfg.eniCapRatio) + cfg.eniCapShift - 1 - foreign;
  const capped = cfg.maxEni > 0 ? Math.min(cfg.maxEni, scaled) : scaled;
  return Math.max(0, capped);
}

/** The ENI-count part of `explain`: "(3 ENIs − 1)", "(3 ENIs × 2 + 1 − 1 − 1 not ours)", or "max_eni 2". */
function enisExpr(eniQuantity: number, cfg: EniQuotaConfig, foreign: number): string {
  const uncapped = Math.trunc(eniQuantity * cfg.eniCapRatio) + cfg.eniCapShift - 1 - foreign;
  if (cfg.maxEni > 0 && cfg.maxEni < uncapped) return `max_eni ${cfg.maxEni}`;
  let s = `${eniQuantity} ENIs`;
  if (cfg.eniCapRatio !== 1) s += ` × ${cfg.eniCapRatio}`;
  if (cfg.eniCapShift > 0) s += ` + ${cfg.eniCapShift}`;
  if (cfg.eniCapShift < 0) s += ` − ${-cfg.eniCapShift}`;
  s += ' − 1';
  if (foreign > 0) s += ` − ${foreign} not ours`;
  return `(${s})`;
}

/** ENIMultiIP capacity: secondary ENIs × their addresses (each secondary ENI's primary included). */
export function multiIpCapacity(limits: CapacityLimits, cfg: EniQuotaConfig, foreign = 0): NodeCapacity {
  const secondaryEnis = secondaryEniQuota(limits.eniQuantity, cfg, foreign);
  const perEni = Math.max(0, limits.ipv4PerEni);
  const pods = secondaryEnis * perEni;
  const type = limits.instanceTypeId ? ` (${limits.instanceTypeId})` : '';
  return { pods, secondaryEnis, perEni, explain: `${pods} pods = ${enisExpr(limits.eniQuantity, cfg, foreign)} × ${perEni} IPs${type}` };
}

/** VPCENI capacity: one secondary ENI per pod. */
export function exclusiveEniCapacity(limits: CapacityLimits, cfg: EniQuotaConfig, foreign = 0): NodeCapacity {
  const secondaryEnis = secondaryEniQuota(limits.eniQuantity, cfg, foreign);
  const type = limits.instanceTypeId ? ` (${limits.instanceTypeId})` : '';
  return {
    pods: secondaryEnis,
    secondaryEnis,
    perEni: 1,
    explain: `${secondaryEnis} pods = ${enisExpr(limits.eniQuantity, cfg, foreign)}, one ENI each${type}`,
  };
}

/**
 * The pool's watermarks as Terway derives them from the configured ones and the capacity: max capped by the
 * capacity; min_eni > 0 means min = min_eni × IPs per ENI; min capped by max.
 */
export function effectivePoolSizes(
  cfg: { minPoolSize: number; maxPoolSize: number; minEni: number },
  capacity: Pick<NodeCapacity, 'pods' | 'perEni'>,
): { minPoolSize: number; maxPoolSize: number } {
  const maxPoolSize = Math.min(cfg.maxPoolSize, capacity.pods);
  const min = cfg.minEni > 0 ? cfg.minEni * capacity.perEni : cfg.minPoolSize;
  return { minPoolSize: Math.min(min, maxPoolSize), maxPoolSize };
}

/** A multi-IP pool's config with the pool sizes Terway derives for a node of these limits (effectivePoolSizes). */
export function withEffectivePoolSizes<C extends EniQuotaConfig & { minPoolSize: number; maxPoolSize: number; minEni: number }>(
  cfg: C,
  limits: CapacityLimits,
): C {
  return { ...cfg, ...effectivePoolSizes(cfg, multiIpCapacity(limits, cfg)) };
}
