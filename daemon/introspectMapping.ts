// The /v1/mapping document (pure, terway-cli mapping's cross-check): each pod allocation against the pool,
// the pod DB and the cloud's ENIs, plus every mismatch the other way round. A mismatch counts only when it
// shows in the pool reads both before and after the cloud call, so allocation traffic gives no false alarm.
import type { Eni } from './cloud/types.js';
import type { DaemonMode } from './config/index.js';
import type { IpAllocation } from '../pool/types.js';
import type { EniRecord, IpRecord, IpState } from '../pool/store.js';
import { compareIpv4 } from '../lib/ipv4.js';
import { matches, type PodFilter } from './introspectViews.js';

/** One pod allocation checked against the pool and the cloud (terway-cli mapping's rows). */
export interface MappingRow {
  pod: string; // namespace/name
  podKey: string;
  ip: string;
  eniId: string;
  /** The pool's record of the IP: its state when held for this pod, `other-pod` / `missing` otherwise; `n/a` when the mode keeps none. */
  pool: 'assigned' | 'other-pod' | 'missing' | 'n/a' | Exclude<IpState, 'assigned'>;
  /** `ok`: the cloud shows the IP on the allocation's ENI; `other-eni`: on another ENI of this instance; `n/a`: not checked (VPCIP). */
  cloud: 'ok' | 'missing' | 'other-eni' | 'n/a';
  /** In the pod DB (SQLite) as well as in the daemon's memory. */
  db: boolean;
  ok: boolean;
}

export interface MappingReport {
  ok: boolean;
  mode: DaemonMode;
  instanceId: string;
  checkedAt: string;
  /** False in VPCIP mode (pod IPs come from the pod CIDR, not from ENIs) or when no cloud client exists. */
  cloudChecked: boolean;
  counts: { pods: number; dbPods: number; poolIps: number; cloudIps: number };
  rows: MappingRow[];
  /** Secondary IPs on ENIs the pool manages that the pool does not know (assigned behind its back, or leaked). */
  cloudOnly: { ip: string; eniId: string }[];
  /** IPs the pool holds that the cloud does not show on that ENI (releasing ones are skipped: the cloud may be done first). */
  poolOnly: { ip: string; eniId: string; state: IpState; podKey?: string }[];
  /** IPs held by more than one pod allocation. */
  duplicates: { ip: string; podKeys: string[] }[];
  /** Pool IPs in state assigned whose pod has no allocation. */
  assignedWithoutPod: { ip: string; eniId: string; podKey?: string }[];
  /** Allocations in the pod DB the daemon does not hold in memory, and the reverse. */
  dbOnly: { podKey: string; ip: string }[];
  memoryOnly: { podKey: string; ip: string }[];
  /** ENIs the pool counts as in use that the cloud does not show attached to this instance. */
  enisMissingInCloud: string[];
  /** Informational: ENIs attached to this instance the pool does not manage; `ours` = tagged creator=eni-ipam for this node. */
  unmanagedEnis: { eniId: string; type: Eni['type']; ours: boolean }[];
}

export interface MappingInput {
  mode: DaemonMode;
  instanceId: string;
  /** The allocator's allocations (its memory). */
  pods: IpAllocation[];
  /** Allocations read from the pod DB; undefined when there is no DB to read. */
  dbPods?: IpAllocation[];
  /** Pool ENI / IP records read after the cloud answered; undefined when the mode keeps none. */
  pool?: { enis: EniRecord[]; ips: IpRecord[] };
  /** The same read before the cloud call: a mismatch must show in both to count (the pool moves meanwhile). */
  poolBefore?: { enis: EniRecord[]; ips: IpRecord[] };
  /** The cloud's ENIs attached to this instance; undefined: the cloud is not checked. */
  cloudEnis?: Eni[];
  filter?: PodFilter;
  now?: number;
}

/**
 * Cloud IPs an ENI carries for pods: VPCENI its primary IP (one ENI per pod); ENIMultiIP every address of a
 * secondary ENI, its own primary included; of eth0 only secondary IPs (pods an older version placed there).
 */
function podIpsOfEni(e: Eni, mode: DaemonMode): string[] {
  if (mode === 'VPCENI') return [e.primaryIp];
  return e.type === 'Primary' ? e.secondaryIps : [e.primaryIp, ...e.secondaryIps];
}

export function buildMapping(input: MappingInput): MappingReport {
  const { mode, filter } = input;
  const cloudChecked = input.cloudEnis !== undefined && mode !== 'VPCIP';
  const cloudEnis = new Map((input.cloudEnis ?? []).map((e) => [e.eniId, e]));
  const cloudIpEni = new Map<string, string>();
  for (const e of cloudEnis.values()) for (const ip of podIpsOfEni(e, mode)) cloudIpEni.set(ip, e.eniId);

  const poolIps = new Map((input.pool?.ips ?? []).map((r) => [r.ip, r]));
  const beforeIps = new Map((input.poolBefore?.ips ?? input.pool?.ips ?? []).map((r) => [r.ip, r]));
  const poolEnis = new Map((input.pool?.enis ?? []).map((e) => [e.eniId, e]));
  const beforeEnis = new Set((input.poolBefore?.enis ?? input.pool?.enis ?? []).map((e) => e.eniId));
  const dbKeys = input.dbPods ? new Map(input.dbPods.map((p) => [p.podKey, p])) : undefined;
  const memKeys = new Set(input.pods.map((p) => p.podKey));

  // Duplicates over memory and DB together: the same pod key counts once.
  const holders = new Map<string, Set<string>>();
  for (const p of [...input.pods, ...(input.dbPods ?? [])]) {
    const set = holders.get(p.ip) ?? new Set<string>();
    set.add(p.podKey);
    holders.set(p.ip, set);
  }
  const podByKey = new Map([...(input.dbPods ?? []), ...input.pods].map((p) => [p.podKey, p]));
  const wanted = (podKey: string | undefined): boolean => {
    if (!filter) return true;
    const p = podKey ? podByKey.get(podKey) : undefined;
    return p !== undefined && matches(filter, p);
  };

  const rows: MappingRow[] = input.pods
    .filter((a) => matches(filter, a))
    .map((a) => {
      let pool: MappingRow['pool'] = 'n/a';
      if (input.pool) {
        const r = poolIps.get(a.ip);
        pool = !r ? 'missing' : r.state === 'assigned' ? (r.podKey === a.podKey ? 'assigned' : 'other-pod') : r.state;
      }
      let cloud: MappingRow['cloud'] = 'n/a';
      if (cloudChecked) {
        const on = cloudIpEni.get(a.ip);
        cloud = on === a.eniId ? 'ok' : on ? 'other-eni' : 'missing';
      }
      const db = dbKeys ? dbKeys.has(a.podKey) : true;
      const ok =
        (pool === 'assigned' || pool === 'n/a') && (cloud === 'ok' || cloud === 'n/a') && db && (holders.get(a.ip)?.size ?? 0) <= 1;
      return { pod: `${a.namespace}/${a.name}`, podKey: a.podKey, ip: a.ip, eniId: a.eniId, pool, cloud, db, ok };
    })
    .sort((x, y) => x.pod.localeCompare(y.pod) || x.podKey.localeCompare(y.podKey));

  const duplicates = [...holders]
    .filter(([, keys]) => keys.size > 1)
    .filter(([, keys]) => [...keys].some((k) => wanted(k)))
    .map(([ip, keys]) => ({ ip, podKeys: [...keys].sort() }));

  const dbOnly = input.dbPods
    ? input.dbPods.filter((p) => !memKeys.has(p.podKey) && matches(filter, p)).map((p) => ({ podKey: p.podKey, ip: p.ip }))
    : [];
  const memoryOnly = dbKeys
    ? input.pods.filter((p) => !dbKeys.has(p.podKey) && matches(filter, p)).map((p) => ({ podKey: p.podKey, ip: p.ip }))
    : [];

  const assignedWithoutPod = input.pool
    ? [...poolIps.values()]
        .filter((r) => r.state === 'assigned' && (!r.podKey || !memKeys.has(r.podKey)))
        // Same record before the cloud call too: not an allocation that was just released.
        .filter((r) => beforeIps.get(r.ip)?.state === 'assigned' && beforeIps.get(r.ip)?.podKey === r.podKey)
        .filter((r) => !filter || wanted(r.podKey))
        .map((r) => ({ ip: r.ip, eniId: r.eniId, ...(r.podKey ? { podKey: r.podKey } : {}) }))
    : [];

  let cloudOnly: MappingReport['cloudOnly'] = [];
  let poolOnly: MappingReport['poolOnly'] = [];
  let enisMissingInCloud: string[] = [];
  const unmanagedEnis: MappingReport['unmanagedEnis'] = [];
  if (cloudChecked && input.pool) {
    for (const e of cloudEnis.values()) {
      const pe = poolEnis.get(e.eniId);
      if (!pe) {
        unmanagedEnis.push({ eniId: e.eniId, type: e.type, ours: e.tags['creator'] === 'eni-ipam' && e.tags['node'] === input.instanceId });
        continue;
      }
      // A record of eth0 (an older pod DB) holds only its pods' IPs: the rest of eth0's is not the pool's.
      if (pe.primary) continue;
      // An IP the pool took while DescribeNetworkInterfaces ran is in the later read: not a mismatch.
      for (const ip of podIpsOfEni(e, mode)) if (!poolIps.has(ip) && !beforeIps.has(ip)) cloudOnly.push({ ip, eniId: e.eniId });
    }
    for (const r of poolIps.values()) {
      if (r.state === 'releasing') continue;
      const pe = poolEnis.get(r.eniId);
      if (pe && pe.state !== 'inuse') continue; // attaching / deleting: the cloud is mid-change
      if (!beforeIps.has(r.ip)) continue; // taken during the cloud call
      if (cloudIpEni.get(r.ip) !== r.eniId)
        poolOnly.push({ ip: r.ip, eniId: r.eniId, state: r.state, ...(r.podKey ? { podKey: r.podKey } : {}) });
    }
    enisMissingInCloud = [...poolEnis.values()]
      .filter((e) => e.state === 'inuse' && beforeEnis.has(e.eniId) && !cloudEnis.has(e.eniId))
      .map((e) => e.eniId);
    if (filter) {
      // A pod filter narrows to what concerns that pod's IPs.
      const podIps = new Set(input.pods.filter((a) => matches(filter, a)).map((a) => a.ip));
      cloudOnly = cloudOnly.filter((c) => podIps.has(c.ip));
      poolOnly = poolOnly.filter((p) => podIps.has(p.ip) || wanted(p.podKey));
      enisMissingInCloud = enisMissingInCloud.filter((id) => input.pods.some((a) => a.eniId === id && matches(filter, a)));
    }
  }

  const byIpField = <T extends { ip: string }>(xs: T[]): T[] => xs.sort((a, b) => compareIpv4(a.ip, b.ip));
  const report: MappingReport = {
    ok: false,
    mode,
    instanceId: input.instanceId,
    checkedAt: new Date(input.now ?? Date.now()).toISOString(),
    cloudChecked,
    counts: {
      pods: input.pods.length,
      dbPods: input.dbPods?.length ?? 0,
      poolIps: poolIps.size,
      cloudIps: cloudChecked
        ? [...cloudEnis.values()].filter((e) => poolEnis.has(e.eniId)).reduce((n, e) => n + podIpsOfEni(e, mode).length, 0)
        : 0,
    },
    rows,
    cloudOnly: byIpField(cloudOnly),
    poolOnly: byIpField(poolOnly),
    duplicates: byIpField(duplicates),
    assignedWithoutPod: byIpField(assignedWithoutPod),
    dbOnly,
    memoryOnly,
    enisMissingInCloud,
    unmanagedEnis,
  };
  report.ok =
    rows.every((r) => r.ok) &&
    [
      report.cloudOnly,
      report.poolOnly,
      report.duplicates,
      report.assignedWithoutPod,
      report.dbOnly,
      report.memoryOnly,
      report.enisMissingInCloud,
    ].every((xs) => xs.length === 0);
  return report;
}
