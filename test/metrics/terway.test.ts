// Terway's metric names on a real daemon: startDaemon against the mock cloud (the unmodified SDK), plugin
// RPCs over gRPC, /metrics scraped from the unix-socket listener and read with a real text-format parser.
// Names, types, units and label names are Terway's (pkg/metric/*.go), so its dashboards work unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { family, labelNames, parseExposition, sampleNames, series, single, type PromFamily } from './promText.js';
import { selectors, substituteGrafanaVars } from './promql.js';

const NODE = 'i-mock-node-1';
const DASHBOARD = join(import.meta.dirname, '..', '..', 'charts', 'eni-ipam', 'files', 'grafana-dashboard.json');

/** Every `expr` of every panel target, rows' nested panels included. */
function dashboardExprs(dash: { panels?: unknown[] }): string[] {
  const out: string[] = [];
  const walk = (panels: unknown[] = []): void => {
    for (const p of panels as { targets?: { expr?: string }[]; panels?: unknown[] }[]) {
      for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

function scrape(socketPath: string): Promise<Map<string, PromFamily>> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: '/metrics' }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(parseExposition(body)) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

describe("Terway's metrics on a real daemon", () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle;
  let client: TestClient;
  let sock: string;
  const pods = ['tm-a', 'tm-b', 'tm-c'];
  let before: Map<string, PromFamily>;
  let after: Map<string, PromFamily>;
  let totalBeforeRelease = 0;

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10 });
    const dir = tempDir('eni-tm-');
    sock = join(dir, 'metrics.sock');
    const config = mockCloudConfig(
      mock,
      dir,
      {
        min_pool_size: 0,
        max_pool_size: 1,
        idle_ip_reclaim_interval: '10ms',
        ip_cooldown: '0s',
        metrics_listen: sock,
      },
      NODE,
    );
    handle = await startDaemon(config, { logger: captureLog().logger });
    client = connect(handle.socketPath);
    // The first AssignPrivateIpAddresses attempt is throttled: one failed attempt, then the retry succeeds.
    mock.faults.failNext('AssignPrivateIpAddresses', 1, 'throttle');
    for (const c of pods) {
      const r = await client.call<Record<string, unknown>>('AllocIP', { pod: podMsg(c), api_version: API_VERSION }, 30_000);
      expect(r['success'], JSON.stringify(r)).toBe(true);
    }
    // A rejected AllocIP (no interface name) counts with error="true".
    await expect(client.call('AllocIP', { pod: podMsg('tm-bad', { if_name: '' }), api_version: API_VERSION }, 30_000)).rejects.toThrow(
      /if_name/,
    );
    before = await scrape(sock);
    totalBeforeRelease = handle.allocator.stats().total;
    for (const c of pods) await client.call('ReleaseIP', { pod: podMsg(c), api_version: API_VERSION, reason: 'test' }, 30_000);
    // Above max_pool_size the idle IPs go back to the cloud at once (no idle_ip_reclaim_after).
    await waitFor(() => handle.allocator.stats().total <= 1 && handle.allocator.stats().releasing === 0, 'idle IPs released', 20_000);
    after = await scrape(sock);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  it('terway_rpc_latency: a histogram in ms by rpc_api and error ("true" / "false")', () => {
    const f = family(after, 'terway_rpc_latency');
    expect(f.type).toBe('histogram');
    expect(labelNames(f)).toEqual(['error', 'rpc_api']);
    expect(single(f, { rpc_api: 'AllocIP', error: 'false' })).toBe(pods.length);
    expect(single(f, { rpc_api: 'AllocIP', error: 'true' })).toBe(1);
    expect(single(f, { rpc_api: 'ReleaseIP', error: 'false' })).toBe(pods.length);
    // Terway's buckets, in milliseconds.
    const buckets = [...series(f, { rpc_api: 'AllocIP', error: 'false' })[0]!.buckets!.keys()].filter((b) => b !== Infinity);
    expect(buckets).toEqual([
      50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 26600, 27600, 29600, 33600, 41600, 57600, 89600, 110000, 120000,
    ]);
    // Our own seconds histogram is still there beside it.
    expect(single(family(after, 'eniipam_rpc_latency_seconds'), { rpc_api: 'AllocIP', error: '' })).toBe(pods.length);
  });

  it('aliyun_openapi_latency: one observation per attempt by api and error, agreeing with the call counters', () => {
    const f = family(after, 'aliyun_openapi_latency');
    expect(f.type).toBe('histogram');
    expect(labelNames(f)).toEqual(['api', 'error']);
    expect(single(f, { api: 'AssignPrivateIpAddresses', error: 'true' })).toBe(1);
    expect(single(f, { api: 'AssignPrivateIpAddresses', error: 'false' })).toBeGreaterThanOrEqual(1);
    expect(single(f, { api: 'UnassignPrivateIpAddresses', error: 'false' })).toBeGreaterThanOrEqual(1);
    const calls = family(after, 'eniipam_cloud_api_calls_total');
    const apis = calls.series.map((m) => m.labels['api']!);
    expect(apis).toContain('DescribeNetworkInterfaces');
    for (const api of apis) {
      const observed = series(f, { api }).reduce((n, m) => n + m.count!, 0);
      expect(observed, api).toBe(single(calls, { api }));
    }
  });

  it('rate_limiter_latency: every attempt waited on the limiter (0 ms or more), by api', () => {
    const f = family(after, 'rate_limiter_latency');
    expect(f.type).toBe('histogram');
    expect(labelNames(f)).toEqual(['api']);
    const calls = family(after, 'eniipam_cloud_api_calls_total');
    for (const m of calls.series) expect(single(f, { api: m.labels['api']! })).toBe(m.value);
  });

  it('aliyun_metadata_latency: by full URL and error', () => {
    const f = family(after, 'aliyun_metadata_latency');
    expect(f.type).toBe('histogram');
    expect(labelNames(f)).toEqual(['error', 'url']);
    const url = `${mock.metadataUrl(NODE)}/latest/meta-data/instance-id`;
    expect(single(f, { url, error: 'false' })).toBeGreaterThanOrEqual(1);
  });

  it('terway_resource_pool_{total,idle}_count follow the pool; allocated / disposed count what went in and out', () => {
    const total = family(before, 'terway_resource_pool_total_count');
    const idle = family(before, 'terway_resource_pool_idle_count');
    expect([total.type, idle.type]).toEqual(['gauge', 'gauge']);
    expect(labelNames(total)).toEqual(['ipStack', 'type']);
    const ours = family(before, 'eniipam_pool_ips');
    expect(single(total, { type: 'LocalIP', ipStack: 'ipv4' })).toBe(single(ours, { state: 'total' }));
    expect(single(idle, { type: 'LocalIP', ipStack: 'ipv4' })).toBe(single(ours, { state: 'free' }));

    const allocated = family(after, 'terway_resource_pool_allocated_count');
    expect(allocated.type).toBe('counter');
    expect(labelNames(allocated)).toEqual(['type']);
    expect(single(allocated, { type: 'LocalIP' })).toBe(pods.length);

    const disposed = family(after, 'terway_resource_pool_disposed_count');
    expect(disposed.type).toBe('counter');
    expect(labelNames(disposed)).toEqual(['ipStack', 'type']);
    const totalAfter = single(family(after, 'terway_resource_pool_total_count'), { type: 'LocalIP', ipStack: 'ipv4' });
    expect(totalAfter).toBe(handle.allocator.stats().total);
    expect(single(disposed, { type: 'LocalIP', ipStack: 'ipv4' })).toBe(totalBeforeRelease - totalAfter);
    expect(totalBeforeRelease - totalAfter).toBeGreaterThan(0);
  });

  it('terway_eniip_factory_*: ENIs and their IPs by MAC, with the instance limits as labels; IP allocations by ENI', () => {
    const dump = mock.dump();
    const enis = dump.enis.filter((e) => e.instanceId === NODE);
    const eniCount = family(before, 'terway_eniip_factory_eni_count');
    expect(eniCount.type).toBe('gauge');
    // ecs.g7.large-like default world: the mock's instance type limits.
    const type = dump.instanceTypes.find((t) => t.id === dump.instances.find((i) => i.instanceId === NODE)!.instanceType)!;
    // Terway's maxENI: secondary ENIs (EniQuantity − 1)
    expect(single(eniCount, { name: 'eniip', max_eni: String(type.eniQuantity - 1) })).toBe(handle.allocator.stats().enis);

    const ipCount = family(before, 'terway_eniip_factory_ip_count');
    expect(labelNames(ipCount)).toEqual(['eni', 'max_ip', 'name']);
    for (const m of ipCount.series) {
      const eni = enis.find((e) => e.mac === m.labels['eni']);
      expect(eni, m.labels['eni']).toBeDefined();
      expect(m.labels['max_ip']).toBe(String(type.ipv4PerEni));
    }
    expect(ipCount.series.reduce((n, m) => n + m.value!, 0)).toBe(totalBeforeRelease);

    const alloc = family(after, 'terway_eniip_factory_ip_alloc_count');
    expect(alloc.type).toBe('counter');
    expect(labelNames(alloc)).toEqual(['eni', 'status']);
    // IPs come with their ENI at creation or from AssignPrivateIpAddresses: the assigned ones count, by the
    // MAC of the (secondary) ENI they went to
    const assigned = alloc.series.filter((m) => m.labels['status'] === 'succeed');
    expect(assigned.length).toBeGreaterThan(0);
    for (const m of assigned) expect(enis.find((e) => e.mac === m.labels['eni'])?.type).toBe('Secondary');
    const sum = assigned.reduce((n, m) => n + m.value!, 0);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(totalBeforeRelease);
  });

  it("every PromQL expression in the chart's Grafana dashboard parses and selects series this daemon exports", () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: unknown[];
      templating: { list: { name: string; type: string; definition?: string }[] };
    };
    // Sample name -> the label names its series carry (Prometheus adds `instance` when it scrapes).
    const exported = new Map<string, Set<string>>();
    for (const f of after.values())
      for (const n of sampleNames(f)) exported.set(n, new Set([...labelNames(f), 'instance', ...(n.endsWith('_bucket') ? ['le'] : [])]));
    const vars = Object.fromEntries(dash.templating.list.map((v) => [v.name, '.*']));
    const exprs = dashboardExprs(dash);
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const expr of exprs) {
      for (const sel of selectors(substituteGrafanaVars(expr, vars))) {
        expect(exported.has(sel.metric), `${sel.metric} in ${expr}`).toBe(true);
        for (const l of sel.labels) expect(exported.get(sel.metric)!.has(l), `label ${l} of ${sel.metric} in ${expr}`).toBe(true);
        used.add(sel.metric);
      }
    }
    // Template variables read label values of an exported metric.
    for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(v.definition ?? '');
      expect(m, v.definition).not.toBeNull();
      expect(exported.get(m![1]!)?.has(m![2]!), v.definition).toBe(true);
    }
    // The panels the chart promises: pool idle / allocated / total, RPC latency, OpenAPI latency and errors, throttling.
    for (const m of [
      'terway_resource_pool_idle_count',
      'terway_resource_pool_total_count',
      'terway_resource_pool_allocated_count',
      'terway_rpc_latency_bucket',
      'aliyun_openapi_latency_bucket',
      'aliyun_openapi_latency_count',
      'eniipam_cloud_api_throttled_total',
      'rate_limiter_latency_bucket',
    ])
      expect(used, m).toContain(m);
  });
});
