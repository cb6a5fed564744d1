// Read-only introspection for operators (AWS VPC CNI's /v1/enis, terway-cli list/show/mapping):
// GET /v1/pods, /v1/pool, /v1/config, /v1/mapping, /v1/logs as JSON on the metrics listener. This file is the I/O
// and the routes (reads the allocator, the pod DB and, for /v1/mapping only, one DescribeNetworkInterfaces
// call); the documents are built by pure functions (introspectViews.ts, introspectMapping.ts).
import { CloudError, type Cloud, type Eni } from './cloud/types.js';
import { parseGoDuration, redactConfig, type DaemonConfig } from './config/index.js';
import type { LogRing } from './logRing.js';
import type { IpAllocation, IpAllocator } from '../pool/types.js';
import type { EniRecord, IpRecord, PoolSnapshot } from '../pool/store.js';
import { parsePodFilter, podsView, poolView, type PodFilter, type PodView, type PoolView } from './introspectViews.js';
import { buildMapping, type MappingReport } from './introspectMapping.js';
import { maxPodsFor, type MaxPods } from './maxPods.js';
import type { CapacityLimits } from '../pool/capacity.js';

export {
  IP_STATES,
  parsePodFilter,
  podsView,
  poolView,
  type PodFilter,
  type PodView,
  type EniView,
  type PoolView,
} from './introspectViews.js';
export { buildMapping, type MappingRow, type MappingReport, type MappingInput } from './introspectMapping.js';

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
  /** The node's max pods (maxPods.ts); absent when the daemon was given a ready allocator. */
  maxPods?: () => MaxPods;
  /** This node's instance type (GET /v1/capacity names it). */
  instanceType?: string;
  /** Limits of an instance type (GET /v1/capacity?instanceType=): DescribeInstanceTypes, cached by the client. */
  limitsOf?: (instanceType: string) => Promise<CapacityLimits>;
}

/** GET /v1/capacity: the pods a node holds in this daemon's mode, for kubelet's --max-pods. */
export interface CapacityView extends MaxPods {
  instanceType?: string;
  /** `node`: this node as it stands (ENIs of other tools left out); `instanceType`: any node of that type. */
  scope: 'node' | 'instanceType';
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
      case '/v1/logs':
        return this.logs(query);
      case '/v1/config':
        return { status: 200, body: this.config() };
      case '/v1/capacity':
        return this.capacity(query.get('instanceType') ?? undefined, query.get('mode') ?? undefined);
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
        return {
          status: 404,
          body: { error: `unknown path ${path}; try /v1/pods, /v1/pool, /v1/config, /v1/mapping, /v1/capacity, /v1/logs` },
        };
    }
  }

  /** This node's max pods, or (`?instanceType=`) those of a node of that type in this daemon's mode (or `?mode=`). */
  private async capacity(instanceType?: string, mode?: string): Promise<IntrospectReply> {
    const { config } = this.src;
    if (mode !== undefined && mode !== 'ENIMultiIP' && mode !== 'VPCENI' && mode !== 'VPCIP')
      return { status: 400, body: { error: `mode: ENIMultiIP, VPCENI or VPCIP (got ${JSON.stringify(mode)})` } };
    if (instanceType) {
      if (!this.src.limitsOf) return { status: 404, body: { error: 'this daemon has no cloud client to ask for instance type limits' } };
      let limits: CapacityLimits;
      try {
        limits = await this.src.limitsOf(instanceType);
      } catch (e) {
        return { status: 502, body: { error: `DescribeInstanceTypes ${instanceType}: ${(e as Error).message}` } };
      }
      try {
        const body: CapacityView = {
          ...maxPodsFor({ ...config, daemonMode: mode ?? config.daemonMode }, limits),
          instanceType,
          scope: 'instanceType',
        };
        return { status: 200, body };
      } catch (e) {
        return { status: 400, body: { error: (e as Error).message } }; // VPCIP without a pod CIDR
      }
    }
    if (!this.src.maxPods)
      return { status: 404, body: { error: 'this daemon does not know its capacity (it was given a ready allocator)' } };
    const body: CapacityView = {
      ...this.src.maxPods(),
      ...(this.src.instanceType ? { instanceType: this.src.instanceType } : {}),
      scope: 'node',
    };
    return { status: 200, body };
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
