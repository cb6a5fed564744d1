// Read-only introspection for operators (AWS VPC CNI's /v1/enis, terway-cli list/show/mapping):
// GET /v1/pods, /v1/pool, /v1/config, /v1/mapping, /v1/logs as JSON on the metrics listener. The pure views
// (podsView, poolView, buildMapping) are separate from the I/O (Introspection: reads the allocator,
// the pod DB and, for /v1/mapping only, one DescribeNetworkInterfaces call).
import { CloudError, type Cloud, type Eni } from './cloud/types.js';
import { parseGoDuration, redactConfig, type DaemonConfig, type DaemonMode } from './config/index.js';
import type { LogRing } from './logRing.js';
import type { IpAllocation, IpAllocator, PoolStats } from '../pool/types.js';
import type { EniRecord, IpRecord, IpState, PoolSnapshot } from '../pool/store.js';

export const IP_STATES: readonly IpState[] = ['free', 'assigned', 'cooling', 'reserved', 'releasing'];

/** `namespace/name` filter from `?pod=`; a bare name matches any namespace. */
export interface PodFilter {
  namespace?: string;
  name: string;
}

export function parsePodFilter(s: string | null | undefined): PodFilter | undefined {
  if (!s) return undefined;
  const i = s.indexOf('/');
  return i < 0 ? { name: s } : { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

function matches(f: PodFilter | undefined, a: Pick<IpAllocation, 'namespace' | 'name'>): boolean {
  return !f || (a.name === f.name && (f.namespace === undefined || a.namespace === f.namespace));
}

// ---------------------------------------------------------------- /v1/pods

export interface PodView {
  namespace: string;
  name: string;
  containerId: string;
  ifName: string;
  networkName: string;
  podKey: string;
  ip: string;
  eniId: string;
  eniMac: string;
  vSwitchId: string;
  netns: string;
  /** ISO 8601. */
  allocatedAt: string;
}

export function podsView(allocs: IpAllocation[], filter?: PodFilter): PodView[] {
  return allocs
    .filter((a) => matches(filter, a))
    .map((a) => ({
      namespace: a.namespace,
      name: a.name,
      containerId: a.containerId,
      ifName: a.ifName,
      networkName: a.networkName,
      podKey: a.podKey,
      ip: a.ip,
      eniId: a.eniId,
      eniMac: a.eniMac,
      vSwitchId: a.vSwitchId,
      netns: a.netns,
      allocatedAt: new Date(a.allocatedAt).toISOString(),
    }))
    .sort((x, y) => `${x.namespace}/${x.name}/${x.podKey}`.localeCompare(`${y.namespace}/${y.name}/${y.podKey}`));
}

// ---------------------------------------------------------------- /v1/pool

export interface EniView {
  eniId: string;
  mac: string;
  primary: boolean;
  /** Pool-side lifecycle: attaching / inuse / deleting. */
  state: EniRecord['state'];
  createdByUs: boolean;
  vSwitchId: string;
  vSwitchCidr: string;
  /** IPs the pool holds on this ENI, by pool state (sorted). */
  ips: Record<IpState, string[]>;
  /** ip -> podKey for the assigned ones. */
  assignedTo: Record<string, string>;
  /** ip -> `namespace/name` for the reserved ones (stateful pods). */
  reservedFor: Record<string, string>;
}

export interface PoolView {
  mode: DaemonMode;
  instanceId: string;
  /** Where the ENI / IP records came from: the live pool, the pod DB (VPCENI), or nowhere (VPCIP keeps none). */
  source: 'pool' | 'db' | 'none';
  stats: PoolStats;
  enis: EniView[];
}

function ipSortKey(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

const byIp = (a: string, b: string): number => ipSortKey(a) - ipSortKey(b);

export function poolView(input: {
  mode: DaemonMode;
  instanceId: string;
  stats: PoolStats;
  source: PoolView['source'];
  enis: EniRecord[];
  ips: IpRecord[];
  eniId?: string;
}): PoolView {
  const enis = input.enis
    .filter((e) => !input.eniId || e.eniId === input.eniId)
    .map((e): EniView => {
      const ips = Object.fromEntries(IP_STATES.map((s) => [s, [] as string[]])) as Record<IpState, string[]>;
      const assignedTo: Record<string, string> = {};
      const reservedFor: Record<string, string> = {};
      for (const r of input.ips) {
        if (r.eniId !== e.eniId) continue;
        ips[r.state].push(r.ip);
        if (r.state === 'assigned' && r.podKey) assignedTo[r.ip] = r.podKey;
        if (r.state === 'reserved' && r.reservedFor) reservedFor[r.ip] = r.reservedFor;
      }
      for (const s of IP_STATES) ips[s].sort(byIp);
      return {
        eniId: e.eniId,
        mac: e.mac,
        primary: e.primary,
        state: e.state,
        createdByUs: e.createdByUs,
        vSwitchId: e.vSwitchId,
        vSwitchCidr: e.vSwitchCidr,
        ips,
        assignedTo,
        reservedFor,
      };
    })
    // Primary ENI first, then by id: stable output for diffing.
    .sort((a, b) => Number(b.primary) - Number(a.primary) || a.eniId.localeCompare(b.eniId));
  return { mode: input.mode, instanceId: input.instanceId, source: input.source, stats: input.stats, enis };
}

// ---------------------------------------------------------------- /v1/mapping

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

/** Cloud IPs a pool ENI carries for pods: secondary IPs, or the primary IP in VPCENI mode (one ENI per pod). */
function podIpsOfEni(e: Eni, mode: DaemonMode): string[] {
  return mode === 'VPCENI' ? [e.primaryIp] : e.secondaryIps;
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
      if (!poolEnis.has(e.eniId)) {
        if (e.type !== 'Primary' || mode !== 'ENIMultiIP') {
          unmanagedEnis.push({
            eniId: e.eniId,
            type: e.type,
            ours: e.tags['creator'] === 'eni-ipam' && e.tags['node'] === input.instanceId,
          });
        }
        continue;
      }
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

  const byIpField = <T extends { ip: string }>(xs: T[]): T[] => xs.sort((a, b) => byIp(a.ip, b.ip));
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

// ---------------------------------------------------------------- I/O: sources and routes

/** The pool's record accessors (EniMultiIpPool has them; other allocators may not). */
interface PoolRecords {
  ipRecords(): IpRecord[];
  eniRecords(): EniRecord[];
}

export function hasRecords(a: IpAllocator): a is IpAllocator & PoolRecords {
  const r = a as Partial<PoolRecords>;
  return typeof r.ipRecords === 'function' && typeof r.eniRecords === 'function';
}

export interface IntrospectionSources {
  instanceId: string;
  config: DaemonConfig;
  allocator: IpAllocator;
  /** Only describeNetworkInterfaces is called, and only by /v1/mapping. */
  cloud?: Pick<Cloud, 'describeNetworkInterfaces'>;
  /** Reads the pod DB (synchronous SQLite read); absent when the daemon was given a ready allocator. */
  loadDb?: () => PoolSnapshot;
  /** The daemon's recent log lines; absent when it was given a logger of its own (tests). */
  logs?: Pick<LogRing, 'lines'>;
}

export interface IntrospectReply {
  status: number;
  body: unknown;
}

function dbAllocations(snap: PoolSnapshot): IpAllocation[] {
  return snap.pods.map(({ mode: _m, stateful: _s, ...a }) => a);
}

/** DescribeNetworkInterfaces failed: /v1/mapping has no verdict (502), unlike a daemon-side failure (500). */
class CloudCheckError extends Error {
  constructor(cause: unknown) {
    super('cloud check failed', { cause });
    this.name = 'CloudCheckError';
  }
}

export class Introspection {
  constructor(private readonly src: IntrospectionSources) {}

  private records(): { source: PoolView['source']; enis: EniRecord[]; ips: IpRecord[] } | undefined {
    const a = this.src.allocator;
    if (hasRecords(a)) return { source: 'pool', enis: a.eniRecords(), ips: a.ipRecords() };
    if (this.src.config.daemonMode === 'VPCIP' || !this.src.loadDb) return undefined;
    const snap = this.src.loadDb();
    return { source: 'db', enis: snap.enis, ips: snap.ips };
  }

  pods(filter?: PodFilter): PodView[] {
    return podsView(this.src.allocator.list(), filter);
  }

  pool(eniId?: string): PoolView {
    const r = this.records();
    return poolView({
      mode: this.src.config.daemonMode,
      instanceId: this.src.instanceId,
      stats: this.src.allocator.stats(),
      source: r?.source ?? 'none',
      enis: r?.enis ?? [],
      ips: r?.ips ?? [],
      eniId,
    });
  }

  config(): Record<string, unknown> {
    return redactConfig(this.src.config);
  }

  /**
   * One DescribeNetworkInterfaces call (none in VPCIP mode); the pool is read before and after it. Concurrent
   * requests share one call (and its "before" read), so a looping script cannot eat the cloud API quota.
   */
  async mapping(filter?: PodFilter): Promise<MappingReport> {
    const mode = this.src.config.daemonMode;
    this.pending ??= this.readCloud().finally(() => {
      this.pending = undefined;
    });
    const { before, cloudEnis } = await this.pending;
    // Memory and DB read in the same tick: better-sqlite3 is synchronous, so no allocation lands between them.
    const after = this.records();
    const pods = this.src.allocator.list();
    const dbPods = this.src.loadDb ? dbAllocations(this.src.loadDb()) : undefined;
    return buildMapping({
      mode,
      instanceId: this.src.instanceId,
      pods,
      dbPods,
      pool: after,
      poolBefore: before,
      cloudEnis: cloudEnis?.filter((e) => e.instanceId === this.src.instanceId),
      filter,
    });
  }

  private pending?: Promise<{ before: ReturnType<Introspection['records']>; cloudEnis?: Eni[] }>;

  private async readCloud(): Promise<{ before: ReturnType<Introspection['records']>; cloudEnis?: Eni[] }> {
    const before = this.records();
    if (!this.src.cloud || this.src.config.daemonMode === 'VPCIP') return { before };
    try {
      return { before, cloudEnis: await this.src.cloud.describeNetworkInterfaces({ instanceId: this.src.instanceId }) };
    } catch (e) {
      throw new CloudCheckError(e);
    }
  }

  /** Routes GET /v1/*; undefined for paths it does not serve. Never throws: failures become a rejected promise (500). */
  route(method: string, path: string, query: URLSearchParams): Promise<IntrospectReply> | undefined {
    if (!path.startsWith('/v1/')) return undefined;
    return this.serve(method, path, query);
  }

  private async serve(method: string, path: string, query: URLSearchParams): Promise<IntrospectReply> {
    if (method !== 'GET') return { status: 405, body: { error: 'read-only: GET only' } };
    const pod = parsePodFilter(query.get('pod'));
    switch (path) {
      case '/v1/pods':
        return { status: 200, body: { pods: this.pods(pod) } };
      case '/v1/pool':
        return { status: 200, body: this.pool(query.get('eni') ?? undefined) };
      case '/v1/config':
        return { status: 200, body: this.config() };
      case '/v1/logs':
        return this.logs(query);
      case '/v1/mapping':
        try {
          return { status: 200, body: await this.mapping(pod) };
        } catch (e) {
          if (!(e instanceof CloudCheckError)) throw e;
          // The cloud could not be asked: no verdict (the CLI exits 2, not 1).
          const c = e.cause;
          return {
            status: 502,
            body: {
              error: `cloud check failed: ${(c as Error)?.message ?? String(c)}`,
              ...(c instanceof CloudError ? { code: c.code, requestId: c.requestId } : {}),
            },
          };
        }
      default:
        return { status: 404, body: { error: `unknown path ${path}; try /v1/pods, /v1/pool, /v1/config, /v1/mapping, /v1/logs` } };
    }
  }

  /** `?since=1h` (Go duration back from now), `?limit=N` (newest N lines). */
  private logs(query: URLSearchParams): IntrospectReply {
    if (!this.src.logs)
      return { status: 404, body: { error: 'this daemon keeps no log lines in memory (it was started with a logger of its own)' } };
    const since = query.get('since');
    const sinceMs = since ? parseGoDuration(since) : undefined;
    const limit = query.get('limit');
    if ((since && (sinceMs === undefined || sinceMs < 0)) || (limit && !/^\d+$/.test(limit))) {
      return { status: 400, body: { error: 'since: a Go duration such as 30m or 1h; limit: a line count' } };
    }
    return {
      status: 200,
      body: this.src.logs.lines({
        ...(sinceMs !== undefined ? { sinceMs: Date.now() - sinceMs } : {}),
        ...(limit ? { limit: Number(limit) } : {}),
      }),
    };
  }
}
