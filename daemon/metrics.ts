// Prometheus metrics on a private registry: RPC latency, pool gauges read from allocator.stats()
// at scrape time, cloud API counters from cloud.stats(), plus Terway's own families (terwayMetrics.ts).
// Served on an optional HTTP listener.
import http from 'node:http';
import { chmod } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IpAllocator, PoolStats } from '../pool/types.js';
import { secondaryEniQuota } from '../pool/capacity.js';
import type { ApiStats, Cloud } from './cloud/types.js';
import type { DaemonConfig, ListenAddress } from './config/types.js';
import { hasRecords } from './introspect.js';
import { prepareSocketPath, removeSocket } from './server/socket.js';
import { TerwayMetrics, type TerwaySources } from './terwayMetrics.js';

export interface MetricsSources extends TerwaySources {
  poolStats?: () => PoolStats;
  cloudStats?: () => Record<string, ApiStats>;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly rpcLatency: Histogram<'rpc_api' | 'error'>;
  readonly events: Counter<'reason' | 'type'>;
  /** Terway's metric names on the same registry; its cloudObserver feeds the OpenAPI / metadata histograms. */
  readonly terway = new TerwayMetrics(this.registry);
  private sources: MetricsSources = {};

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.rpcLatency = new Histogram({
      name: 'eniipam_rpc_latency_seconds',
      help: 'Latency of plugin RPCs by method and failure reason ("" on success).',
      labelNames: ['rpc_api', 'error'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.events = new Counter({
      name: 'eniipam_events_total',
      help: 'Events reported by the plugin.',
      labelNames: ['reason', 'type'],
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const poolGauge = (name: string, help: string, pick: (s: PoolStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = self.sources.poolStats?.();
          if (s) this.set(pick(s));
        },
      });
    };
    new Gauge({
      name: 'eniipam_pool_ips',
      help: 'IPs the pool owns, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const s = self.sources.poolStats?.();
        if (!s) return;
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'free' }, s.free);
        this.set({ state: 'assigned' }, s.assigned);
        this.set({ state: 'cooling' }, s.cooling);
        this.set({ state: 'reserved' }, s.reserved);
        this.set({ state: 'releasing' }, s.releasing);
      },
    });
    poolGauge('eniipam_pool_enis', 'ENIs the pool manages.', (s) => s.enis);
    poolGauge('eniipam_pool_pending_requests', 'AllocIP calls waiting for an IP.', (s) => s.pendingRequests);
    poolGauge('eniipam_pool_min_size', 'min_pool_size.', (s) => s.minPoolSize);
    poolGauge('eniipam_pool_max_size', 'max_pool_size.', (s) => s.maxPoolSize);
    poolGauge('eniipam_pool_backoff', '1 while allocation is paused after an exhaustion error.', (s) =>
      s.backoffUntil !== undefined && s.backoffUntil > Date.now() ? 1 : 0,
    );
    const cloudCounter = (name: string, help: string, pick: (s: ApiStats) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['api'],
        registers,
        collect() {
          const all = self.sources.cloudStats?.();
          if (!all) return;
          this.reset();
          for (const [api, s] of Object.entries(all)) this.inc({ api }, pick(s));
        },
      });
    };
    cloudCounter('eniipam_cloud_api_calls_total', 'Cloud API calls (each retry counts).', (s) => s.calls);
    cloudCounter('eniipam_cloud_api_errors_total', 'Cloud API calls that failed.', (s) => s.errors);
    cloudCounter('eniipam_cloud_api_throttled_total', 'Cloud API calls answered with throttling.', (s) => s.throttled);
    cloudCounter('eniipam_cloud_api_retries_total', 'Cloud API retries.', (s) => s.retries);
    cloudCounter('eniipam_cloud_api_latency_seconds_total', 'Summed cloud API latency.', (s) => s.totalLatencyMs / 1000);
    new Gauge({
      name: 'eniipam_cloud_api_latency_max_seconds',
      help: 'Slowest cloud API call so far.',
      labelNames: ['api'],
      registers,
      collect() {
        const all = self.sources.cloudStats?.();
        if (!all) return;
        for (const [api, s] of Object.entries(all)) this.set({ api }, s.maxLatencyMs / 1000);
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'eniipam_' });
  }

  setSources(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
    this.terway.setSources(sources);
  }

  /** Times one RPC; call the returned function with the failure reason ('' on success). */
  startRpc(method: string): (error: string) => void {
    const started = performance.now();
    return (error) => {
      const ms = performance.now() - started;
      this.rpcLatency.observe({ rpc_api: method, error }, ms / 1000);
      this.terway.observeRpc(method, error !== '', ms);
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** What the metrics read at scrape time, from the parts startDaemon built. */
export function metricSources(p: {
  allocator: IpAllocator;
  cloud?: Pick<Cloud, 'stats' | 'describeInstanceTypeLimits'>;
  config: Pick<DaemonConfig, 'maxEni' | 'eniCapRatio' | 'eniCapShift'>;
  instanceType: string;
}): MetricsSources {
  const { allocator: pool, cloud, config } = p;
  return {
    poolStats: () => pool.stats(),
    cloudStats: cloud ? () => cloud.stats() : undefined,
    // Terway's ENIIP factory gauges: ENIMultiIP only (the pool that keeps per-ENI IP records).
    poolRecords: hasRecords(pool) ? () => ({ enis: pool.eniRecords(), ips: pool.ipRecords() }) : undefined,
    // Cached by the cloud client since the pool asked for it at start: no API call.
    instanceLimits:
      cloud && hasRecords(pool)
        ? async () => {
            const l = await cloud.describeInstanceTypeLimits(p.instanceType);
            // Terway's factory labels: maxENI = secondary ENIs (daemon/config.go getPoolConfig), max_ip = IPv4PerAdapter.
            return { maxEni: secondaryEniQuota(l.eniQuantity, config), maxIpPerEni: l.ipv4PerEni };
          }
        : undefined,
  };
}

/** Peers allowed to read /v1/* over TCP. */
export function isLoopback(addr: string): boolean {
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

export interface MetricsServer {
  /** "host:port" or the unix socket path actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (and GET /healthz for probes) on a TCP address or a unix socket (mode 0600). */
export async function serveMetrics(
  metrics: DaemonMetrics,
  listen: ListenAddress,
  opts: {
    health?: () => { ok: boolean; message: string };
    /** Extra read-only JSON routes (introspection, /v1/*); undefined for paths they do not serve. */
    routes?: (method: string, path: string, query: URLSearchParams) => Promise<{ status: number; body: unknown }> | undefined;
  } = {},
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    // Split by hand: new URL() throws on some request targets, and a throw here would take the daemon down.
    const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
    const query = new URLSearchParams(search);
    if (opts.routes && path.startsWith('/v1/')) {
      // Pod names, IPs and config are for the node's operator: a TCP listener (`:port` binds every address,
      // for Prometheus) answers /v1/* to loopback peers only. A unix socket peer has no remote address.
      // Checked before routing: a refused peer must not trigger a cloud call either.
      const peer = req.socket.remoteAddress;
      if (peer !== undefined && !isLoopback(peer)) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ error: 'introspection is served to loopback and unix socket clients only' })}\n`);
        return;
      }
    }
    const routed = opts.routes && path.startsWith('/v1/') ? opts.routes(req.method ?? 'GET', path, query) : undefined;
    if (routed) {
      routed.then(
        (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(`${JSON.stringify(r.body, null, 2)}\n`);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(`${JSON.stringify({ error: e.message })}\n`);
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz' && opts.health) {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(`${h.message}\n`);
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      metrics.text().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${e.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`not found; try /metrics${opts.routes ? ', /v1/pods, /v1/pool, /v1/mapping, /v1/config, /v1/logs' : ''}\n`);
  });
  if (listen.kind === 'unix') {
    await prepareSocketPath(listen.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  let address: string;
  if (listen.kind === 'unix') {
    await chmod(listen.path, 0o600);
    address = listen.path;
  } else {
    const a = server.address();
    address = typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
  }
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          if (listen.kind === 'unix') void removeSocket(listen.path).then(resolve);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
