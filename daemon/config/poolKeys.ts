// eni_conf keys of the pool: where new ENIs go (vSwitches, security groups), the idle-IP watermarks and
// reclaim, ENI counts, selection and tags, cool-down, stateful reservation, and the GC period.
import { DEFAULTS } from './defaults.js';
import { isPlainObject, show, type Reader } from './reader.js';
import type { DaemonConfig } from './types.js';

export type PoolKeys = Pick<
  DaemonConfig,
  | 'vSwitches'
  | 'vSwitchSelectionPolicy'
  | 'securityGroupIds'
  | 'maxPoolSize'
  | 'minPoolSize'
  | 'idleIpReclaimAfterMs'
  | 'idleIpReclaimIntervalMs'
  | 'idleIpReclaimBatchSize'
  | 'idleIpReclaimJitterFactor'
  | 'minEni'
  | 'maxEni'
  | 'eniCapRatio'
  | 'eniCapShift'
  | 'eniSelectionPolicy'
  | 'eniTags'
  | 'eniTagFilter'
  | 'ipCooldownMs'
  | 'statefulIpReserveMs'
  | 'gcIntervalMs'
  | 'gcGraceMs'
  | 'ipamType'
>;

function readVSwitches(r: Reader): Record<string, string[]> {
  const key = 'vswitches';
  if (!r.has(key)) return {};
  const v = r.value(key);
  if (!isPlainObject(v)) {
    r.fail(key, `must be an object of zone id -> [vSwitch ids] (got ${show(key, v)})`);
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const [zone, ids] of Object.entries(v)) {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.trim() === '')) {
      r.fail(`${key}.${zone}`, `must be a list of vSwitch ids (got ${show(key, ids)})`);
      continue;
    }
    out[zone] = [...new Set(ids as string[])];
  }
  return out;
}

/** security_group (comma-separated) + security_groups, de-duplicated, at most 10 (an ENI's limit). */
function readSecurityGroups(r: Reader): string[] {
  const ids: string[] = [];
  const single = r.str('security_group');
  if (single !== undefined)
    ids.push(
      ...single
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  ids.push(...(r.stringList('security_groups', 'security group ids') ?? []));
  const unique = [...new Set(ids)];
  if (unique.length > 10) {
    r.fail(r.has('security_groups') ? 'security_groups' : 'security_group', `at most 10 security groups per ENI (got ${unique.length})`);
  }
  return unique;
}

export function readPoolKeys(r: Reader): PoolKeys {
  const vSwitches = readVSwitches(r);
  // Terway maps `ordered` to its "most" policy (the vSwitch with the most free IPs); `most` names it directly.
  const policy = r.oneOf('vswitch_selection_policy', ['random', 'ordered', 'most'] as const, DEFAULTS.vSwitchSelectionPolicy);
  const vSwitchSelectionPolicy = policy === 'most' ? 'ordered' : policy;
  const securityGroupIds = readSecurityGroups(r);

  const minPoolSize = r.int('min_pool_size', DEFAULTS.minPoolSize);
  const maxPoolSize = r.int('max_pool_size', Math.max(DEFAULTS.maxPoolSize, minPoolSize), {
    min: minPoolSize,
    what: `>= min_pool_size (${minPoolSize})`,
  });
  const idleIpReclaimAfterMs = r.duration('idle_ip_reclaim_after');
  const idleIpReclaimIntervalMs = r.duration('idle_ip_reclaim_interval') ?? DEFAULTS.idleIpReclaimIntervalMs;
  const idleIpReclaimBatchSize = r.int('idle_ip_reclaim_batch_size', DEFAULTS.idleIpReclaimBatchSize);
  // A string in Terway's Config ("0.1", parsed with strconv.ParseFloat); a number is accepted too.
  const idleIpReclaimJitterFactor = r.num('idle_ip_reclaim_jitter_factor', DEFAULTS.idleIpReclaimJitterFactor, { numericString: true });
  // Secondary ENIs (Terway getPoolConfig): the primary ENI is the node's and never counted.
  const minEni = r.int('min_eni', DEFAULTS.minEni);
  const maxEni = r.int('max_eni', DEFAULTS.maxEni);
  const eniCapRatio = r.num('eni_cap_ratio', DEFAULTS.eniCapRatio);
  const eniCapShift = r.int('eni_cap_shift', DEFAULTS.eniCapShift);
  if (maxEni !== 0 && maxEni < minEni) r.fail('max_eni', `must be 0 (the instance limit) or >= min_eni (${minEni}) (got ${maxEni})`);
  const eniSelectionPolicy = r.oneOf('eni_selection_policy', ['most_ips', 'least_ips'] as const, DEFAULTS.eniSelectionPolicy);
  const eniTags = r.stringMap('eni_tags');
  const eniTagFilter = r.stringMap('eni_tag_filter');

  return {
    vSwitches,
    vSwitchSelectionPolicy,
    securityGroupIds,
    maxPoolSize,
    minPoolSize,
    idleIpReclaimAfterMs,
    idleIpReclaimIntervalMs,
    idleIpReclaimBatchSize,
    idleIpReclaimJitterFactor,
    minEni,
    maxEni,
    eniCapRatio,
    eniCapShift,
    eniSelectionPolicy,
    eniTags,
    eniTagFilter,
    ipCooldownMs: r.duration('ip_cooldown') ?? DEFAULTS.ipCooldownMs,
    statefulIpReserveMs: r.duration('stateful_ip_reserve') ?? DEFAULTS.statefulIpReserveMs,
    gcIntervalMs: r.duration('gc_interval') ?? DEFAULTS.gcIntervalMs,
    gcGraceMs: r.duration('gc_grace') ?? DEFAULTS.gcGraceMs,
    ipamType: r.oneOf('ipam_type', ['', 'crd'] as const, DEFAULTS.ipamType),
  };
}
