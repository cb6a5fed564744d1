// Terway's metric families, with Terway's names, types, units (milliseconds), buckets and label names
// (pkg/metric/{rpc,aliyun,resource_pool,factory}.go and pkg/aliyun/metadata/metrics.go), so a Terway
// Grafana dashboard or alert reads this daemon unchanged. Terway writes `error` as Go's fmt.Sprint(err != nil):
// "true" / "false". Our own eniipam_* families stay beside these (metrics.ts).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolStats } from '../pool/types.js';
import type { EniRecord, IpRecord, PoolSnapshot, PoolStore, StoreOp } from '../pool/store.js';
import type { CloudObserver } from './cloud/types.js';

const RPC_BUCKETS_MS = [
  50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 26600, 27600, 29600, 33600, 41600, 57600, 89600, 110000, 120000,
];
const OPENAPI_BUCKETS_MS = [50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 13800, 14800, 16800, 20800, 28800, 44800];
const RATE_LIMITER_BUCKETS_MS = [200, 400, 800, 1600, 3200, 6400, 12800, 13800, 14800, 16800, 20800, 28800, 44800];
/** prometheus.ExponentialBuckets(1, 2, 10). */
const METADATA_BUCKETS_MS = Array.from({ length: 10 }, (_, i) => 2 ** i);

/** Terway's ResourcePoolTypeLocal: the node's own pool (ResourcePoolTypeRemote is the trunk / CRD path, not ours). */
const POOL_TYPE = 'LocalIP';
const IP_STACK = 'ipv4';
/** Terway's factory name for the ENI multi-IP pool (`factoryNameENIIP`). */
const FACTORY_NAME = 'eniip';

/** What the pool gauges read at scrape time. */
export interface TerwaySources {
  poolStats?: () => PoolStats;
  /** ENI multi-IP pool records (ENIMultiIP only): the terway_eniip_factory_* gauges. */
  poolRecords?: () => { enis: EniRecord[]; ips: IpRecord[] };
  /** Instance-type limits for the factory gauges' max_eni / max_ip labels; asked once, then kept. */
  instanceLimits?: () => Promise<{ maxEni: number; maxIpPerEni: number }>;
}

const bool = (b: boolean): string => String(b);

export class TerwayMetrics {
  private readonly rpcLatency: Histogram<'rpc_api' | 'error'>;
  private readonly openApiLatency: Histogram<'api' | 'error'>;
  private readonly rateLimiterLatency: Histogram<'api'>;
  private readonly metadataLatency: Histogram<'url' | 'error'>;
  private readonly poolDisposed: Counter<'type' | 'ipStack'>;
  private readonly poolAllocated: Counter<'type'>;
  private readonly ipAlloc: Counter<'eni' | 'status'>;
  private sources: TerwaySources = {};
  private limits?: { maxEni: number; maxIpPerEni: number };

  /** Hooks for the cloud client: per attempt, per rate-limiter wait, per metadata request. */
  readonly cloudObserver: CloudObserver;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rpcLatency = new Histogram({
      name: 'terway_rpc_latency',
      help: 'terway rpc latency in ms',
      labelNames: ['rpc_api', 'error'],
      buckets: RPC_BUCKETS_MS,
      registers,
    });
    this.openApiLatency = new Histogram({
      name: 'aliyun_openapi_latency',
      help: 'aliyun openapi latency in ms',
      labelNames: ['api', 'error'],
      buckets: OPENAPI_BUCKETS_MS,
      registers,
    });
    this.rateLimiterLatency = new Histogram({
      name: 'rate_limiter_latency',
      help: 'rate_limiter_latency in ms',
      labelNames: ['api'],
      buckets: RATE_LIMITER_BUCKETS_MS,
      registers,
    });
    this.metadataLatency = new Histogram({
      name: 'aliyun_metadata_latency',
      help: 'aliyun metadata latency in ms',
      labelNames: ['url', 'error'],
      buckets: METADATA_BUCKETS_MS,
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['type', 'ipStack'],
        registers,
        collect() {
          const s = self.sources.poolStats?.();
          if (s) this.set({ type: POOL_TYPE, ipStack: IP_STACK }, pick(s));
        },
      });
    };
    poolGauge('terway_resource_pool_total_count', 'terway total resources amount in the pool', (s) => s.total);
    poolGauge('terway_resource_pool_idle_count', 'terway amount of idle resources in the pool', (s) => s.free);
    this.poolDisposed = new Counter({
      name: 'terway_resource_pool_disposed_count',
      help: 'terway resource count of being disposed',
      labelNames: ['type', 'ipStack'],
      registers,
    });
    this.poolAllocated = new Counter({
      name: 'terway_resource_pool_allocated_count',
      help: 'terway resource allocation count',
      labelNames: ['type'],
      registers,
    });
    new Gauge({
      name: 'terway_eniip_factory_eni_count',
      help: 'amount of allocated terway multi-ip factory eni',
      labelNames: ['name', 'max_eni'],
      registers,
      async collect() {
        const r = self.sources.poolRecords?.();
        if (!r) return;
        const limits = await self.instanceLimits();
        this.reset();
        // Secondary ENIs (a record of eth0 only lingers for pods placed there by an older version).
        this.set({ name: FACTORY_NAME, max_eni: limits ? String(limits.maxEni) : '' }, r.enis.filter((e) => !e.primary).length);
      },
    });
    new Gauge({
      name: 'terway_eniip_factory_ip_count',
      help: 'amount of allocated terway multi-ip secondary ip',
      labelNames: ['name', 'eni', 'max_ip'],
      registers,
      async collect() {
        const r = self.sources.poolRecords?.();
        if (!r) return;
        const limits = await self.instanceLimits();
        const perEni = new Map<string, number>(r.enis.map((e) => [e.eniId, 0]));
        for (const ip of r.ips) perEni.set(ip.eniId, (perEni.get(ip.eniId) ?? 0) + 1);
        this.reset(); // ENIs that left the pool must not linger
        for (const e of r.enis) {
          this.set({ name: FACTORY_NAME, eni: e.mac, max_ip: limits ? String(limits.maxIpPerEni) : '' }, perEni.get(e.eniId) ?? 0);
        }
      },
    });
    this.ipAlloc = new Counter({
      name: 'terway_eniip_factory_ip_alloc_count',
      help: 'counter of eniip factory ip allocation',
      labelNames: ['eni', 'status'],
      registers,
    });

    this.cloudObserver = {
      apiCall: (api, ms, failed) => this.openApiLatency.observe({ api, error: bool(failed) }, ms),
      rateLimitWait: (api, ms) => this.rateLimiterLatency.observe({ api }, ms),
      metadataRequest: (url, ms, failed) => this.metadataLatency.observe({ url, error: bool(failed) }, ms),
      ipsAssigned: (eniId, count, ok) => {
        if (count > 0) this.ipAlloc.inc({ eni: this.eniLabel(eniId), status: ok ? 'succeed' : 'fail' }, count);
      },
    };
  }

  setSources(sources: TerwaySources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One plugin RPC; `failed` is Terway's `err != nil`. */
  observeRpc(method: string, failed: boolean, ms: number): void {
    this.rpcLatency.observe({ rpc_api: method, error: bool(failed) }, ms);
  }

  /**
   * The pool's store with allocation / disposal counting: a pod row committed under a new key is an
   * allocation (terway_resource_pool_allocated_count); an IP row leaving the pool (unassigned, dropped by
   * reconcile, or gone with its ENI; in VPCENI one row per ENI) is a disposal. Counted after the commit succeeded.
   */
  tapStore(store: PoolStore): PoolStore {
    const pods = new Set<string>();
    const ipsOfEni = new Map<string, Set<string>>();
    const eniOfIp = new Map<string, string>();
    const forget = (ip: string): boolean => {
      const eniId = eniOfIp.get(ip);
      if (eniId === undefined) return false;
      eniOfIp.delete(ip);
      ipsOfEni.get(eniId)?.delete(ip);
      return true;
    };
    const remember = (ip: IpRecord): void => {
      forget(ip.ip);
      eniOfIp.set(ip.ip, ip.eniId);
      let set = ipsOfEni.get(ip.eniId);
      if (!set) ipsOfEni.set(ip.eniId, (set = new Set()));
      set.add(ip.ip);
    };
    const count = (ops: StoreOp[]): void => {
      let allocated = 0;
      let disposed = 0;
      for (const o of ops) {
        switch (o.op) {
          case 'putPod':
            if (!pods.has(o.pod.podKey)) allocated++;
            pods.add(o.pod.podKey);
            break;
          case 'deletePod':
            pods.delete(o.podKey);
            break;
          case 'putIp':
            remember(o.ip);
            break;
          case 'deleteIp':
            if (forget(o.ip)) disposed++;
            break;
          case 'deleteEni':
            for (const ip of ipsOfEni.get(o.eniId) ?? []) if (forget(ip)) disposed++;
            ipsOfEni.delete(o.eniId);
            break;
          case 'putEni':
            break;
        }
      }
      if (allocated > 0) this.poolAllocated.inc({ type: POOL_TYPE }, allocated);
      if (disposed > 0) this.poolDisposed.inc({ type: POOL_TYPE, ipStack: IP_STACK }, disposed);
    };
    return {
      load(): PoolSnapshot {
        const snap = store.load();
        pods.clear();
        ipsOfEni.clear();
        eniOfIp.clear();
        for (const p of snap.pods) pods.add(p.podKey);
        for (const ip of snap.ips) remember(ip);
        return snap;
      },
      apply(ops: StoreOp[]): void {
        store.apply(ops);
        count(ops);
      },
      close: () => store.close(),
    };
  }

  /** The factory labels an ENI by its MAC; the pool knows every ENI it assigns IPs to. */
  private eniLabel(eniId: string): string {
    return this.sources.poolRecords?.().enis.find((e) => e.eniId === eniId)?.mac ?? eniId;
  }

  private async instanceLimits(): Promise<{ maxEni: number; maxIpPerEni: number } | undefined> {
    if (!this.limits && this.sources.instanceLimits) {
      try {
        this.limits = await this.sources.instanceLimits();
      } catch {
        // Labels stay empty this scrape; asked again on the next.
      }
    }
    return this.limits;
  }
}
