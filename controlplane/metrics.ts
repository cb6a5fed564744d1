// The controller's /metrics (prom-client, read at scrape time), /healthz and the introspection GET /v1/nodes
// [/NAME] (every node's pool, as views.ts shows it). /v1/* lists pod names and IPs: it is answered to
// loopback peers only (kubectl port-forward arrives on loopback), as the daemon's introspection is.
import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiStats } from '../daemon/cloud/types.js';
import type { Controller } from './controller.js';
import { nodePoolView, type NodePoolView } from './views.js';

export interface ControlplaneSources {
  /** The controller of the current term (undefined while this replica does not lead). */
  controller(): Controller | undefined;
  leading(): boolean;
  cloudStats(): Record<string, ApiStats>;
  identity: string;
}

export class ControlplaneMetrics {
  readonly registry = new Registry();
  readonly statusWrites: Counter<'result'>;

  constructor(private readonly src: ControlplaneSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'eniipam_controlplane_' });
    const views = (): NodePoolView[] => {
      const c = src.controller();
      const now = Date.now();
      return c ? [...c.nodes.values()].map((s) => nodePoolView(s, now)) : [];
    };
    new Gauge({
      name: 'eniipam_controlplane_leader',
      help: '1 while this replica holds the lease.',
      registers,
      collect() {
        this.set(src.leading() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'eniipam_controlplane_nodes',
      help: 'Node resources the controller manages (0 on a standby).',
      registers,
      collect() {
        this.set(src.controller()?.nodes.size ?? 0);
      },
    });
    new Gauge({
      name: 'eniipam_controlplane_node_ips',
      help: "IPs on each node's ENIs, by state (free, assigned, cooling, reserved, releasing, invalid).",
      labelNames: ['node', 'state'],
      registers,
      collect() {
        this.reset();
        for (const v of views())
          for (const [state, n] of Object.entries(v.ips)) if (state !== 'total') this.set({ node: v.name, state }, n);
      },
    });
    new Gauge({
      name: 'eniipam_controlplane_node_waiting_pods',
      help: 'Pods waiting for an IP, as each node reports them.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const v of views()) this.set({ node: v.name }, v.waitingPods);
      },
    });
    new Gauge({
      name: 'eniipam_controlplane_node_enis',
      help: 'Secondary ENIs (the ones pods use) on each node the controller manages.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const v of views()) this.set({ node: v.name }, v.enis.filter((e) => e.type !== 'Primary').length);
      },
    });
    new Gauge({
      name: 'eniipam_controlplane_cloud_operations_in_flight',
      help: 'Creates / assigns recorded in the node resources and not answered yet.',
      registers,
      collect() {
        this.set(views().reduce((n, v) => n + v.cloudOperations, 0));
      },
    });
    const counter = (name: string, help: string, pick: (c: Controller) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const c = src.controller();
          this.set(c ? pick(c) : 0);
        },
      });
    };
    counter('eniipam_controlplane_steps_started', 'Cloud steps started this term.', (c) => c.counts.stepsStarted);
    counter('eniipam_controlplane_listings', 'Full VPC listings this term (sync_openapi).', (c) => c.counts.listings);
    counter('eniipam_controlplane_instance_listings', 'Single-instance listings this term.', (c) => c.counts.instanceListings);
    counter('eniipam_controlplane_leaked_enis_deleted', 'Leaked ENIs deleted this term.', (c) => c.counts.leakedDeleted);
    counter('eniipam_controlplane_dispatched', 'Work launched by the dispatcher this term.', (c) => c.dispatcher.launched);
    this.statusWrites = new Counter({
      name: 'eniipam_controlplane_status_writes_total',
      help: 'Node resource status writes, and the conflicts (409) re-applied.',
      labelNames: ['result'],
      registers,
    });
    const cloud = (name: string, help: string, pick: (s: ApiStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['api'],
        registers,
        collect() {
          this.reset();
          for (const [api, s] of Object.entries(src.cloudStats())) this.set({ api }, pick(s));
        },
      });
    };
    cloud('eniipam_cloud_api_calls_total', 'Cloud API calls (each retry counts).', (s) => s.calls);
    cloud('eniipam_cloud_api_errors_total', 'Cloud API calls that failed.', (s) => s.errors);
    cloud('eniipam_cloud_api_throttled_total', 'Cloud API calls answered with throttling.', (s) => s.throttled);
    cloud('eniipam_cloud_api_retries_total', 'Cloud API retries.', (s) => s.retries);
  }

  /** GET /v1/nodes and /v1/nodes/NAME. */
  route(path: string): { status: number; body: unknown } {
    const c = this.src.controller();
    const now = Date.now();
    if (path === '/v1/nodes') {
      const nodes = c ? [...c.nodes.values()].map((s) => nodePoolView(s, now)).sort((a, b) => a.name.localeCompare(b.name)) : [];
      return { status: 200, body: { leader: this.src.leading(), identity: this.src.identity, nodes } };
    }
    const m = /^\/v1\/nodes\/([^/]+)$/.exec(path);
    if (m) {
      const s = c?.nodes.get(decodeURIComponent(m[1]!));
      if (!c) return { status: 503, body: { error: 'this replica does not lead: ask the leader', identity: this.src.identity } };
      return s ? { status: 200, body: nodePoolView(s, now) } : { status: 404, body: { error: `no node ${m[1]}` } };
    }
    return { status: 404, body: { error: 'try /v1/nodes or /v1/nodes/NAME' } };
  }
}

const isLoopback = (a: string): boolean => a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');

/** Serves /metrics, /healthz (200 once started) and /v1/nodes on `host:port`. */
export async function serveControlplane(
  metrics: ControlplaneMetrics,
  address: string,
  healthy: () => boolean,
): Promise<{ address: string; close(): Promise<void> }> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`metricsBindAddress must be host:port or :port (got ${address})`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const send = (res: http.ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET\n');
    if (path.startsWith('/v1/')) {
      if (!isLoopback(req.socket.remoteAddress ?? ''))
        return send(res, 403, 'application/json', `${JSON.stringify({ error: 'introspection is served to loopback clients only' })}\n`);
      const r = metrics.route(path);
      return send(res, r.status, 'application/json', `${JSON.stringify(r.body, null, 2)}\n`);
    }
    if (path === '/healthz') return healthy() ? send(res, 200, 'text/plain', 'ok\n') : send(res, 503, 'text/plain', 'starting\n');
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => send(res, 200, metrics.registry.contentType, body),
        (e: Error) => send(res, 500, 'text/plain', `metrics collection failed: ${e.message}\n`),
      );
      return;
    }
    send(res, 404, 'text/plain', 'not found; try /metrics, /healthz, /v1/nodes\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[3]), host, resolve);
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : address;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
