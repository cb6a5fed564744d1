// Pool benchmark against the mock cloud through the real SDK client (one process, SQLite pod DB).
//   warm:  100 concurrent allocations from a warm pool (latency per request, issue → resolve)
//   burst: 100 concurrent allocations on an empty node with 100 ms API latency (time, assign calls)
//   churn: a 1,000-event pod create/delete trace, pool vs a naive one-call-per-pod allocator
// Prints a table, then one JSON object as the last line.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AliyunCloud } from '../daemon/cloud/client.js';
import { SqlitePoolStore } from '../daemon/store/sqliteStore.js';
import { createEniMultiIpPool, type EniMultiIpPool } from '../pool/eniMultiIpPool.js';
import type { PoolConfigInput } from '../pool/config.js';
import type { PodRef } from '../pool/types.js';
import { startMockCloud, type MockCloudHandle } from '../sim/mockcloud/index.js';
import { mulberry32 } from '../sim/random.js';

const NODE = 'i-mock-node-1';
const MUTATING = [
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
];
const dir = mkdtempSync(join(tmpdir(), 'bench-pool-'));
let dbSeq = 0;

function client(mc: MockCloudHandle): AliyunCloud {
  return new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: mc.metadataUrl(NODE),
    qps: 1000,
    burst: 1000,
    terwayRateLimitDefaults: false,
    attachPollMs: 25,
  });
}

async function makePool(
  mc: MockCloudHandle,
  config: PoolConfigInput,
  timers = false,
  dbDir = dir,
): Promise<{ pool: EniMultiIpPool; store: SqlitePoolStore }> {
  const store = new SqlitePoolStore({ path: join(dbDir, `bench-${dbSeq++}.sqlite`) });
  const pool = await createEniMultiIpPool({
    cloud: client(mc),
    store,
    instanceId: NODE,
    instanceType: 'ecs.g7.4xlarge',
    vSwitchIds: ['vsw-mock-a', 'vsw-mock-b'],
    securityGroupIds: ['sg-mock-1'],
    config,
    timers,
  });
  await pool.start();
  return { pool, store };
}

const pod = (i: number, tag: string): PodRef => ({
  namespace: 'bench',
  name: `${tag}-${i}`,
  containerId: `${tag}-ctr-${i}`,
  ifName: 'eth0',
  networkName: 'terway',
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const sum = (c: Record<string, number>, keys: string[]) => keys.reduce((a, k) => a + (c[k] ?? 0), 0);

async function warm(dbDir = dir): Promise<{ p50: number; p99: number; samples: number }> {
  const mc = await startMockCloud({ attachDelayMs: 20 });
  const { pool, store } = await makePool(
    mc,
    { minPoolSize: 110, maxPoolSize: 130, ipCooldownMs: 0, idleIpReclaimAfterMs: 3_600_000 },
    false,
    dbDir,
  );
  await pool.whenIdle();
  const lat: number[] = [];
  for (let round = 0; round < 20; round++) {
    // 100 requests arriving together, each in its own event-loop task as gRPC handlers would be.
    const done = await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) =>
          new Promise<string>((resolve, reject) =>
            setImmediate(() => {
              const t0 = performance.now();
              pool.allocate(pod(round * 1000 + i, 'warm')).then((a) => {
                lat.push(performance.now() - t0);
                resolve(a.podKey);
              }, reject);
            }),
          ),
      ),
    );
    for (const k of done) await pool.release(k);
    await pool.whenIdle();
  }
  await pool.stop();
  store.close();
  await mc.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), samples: lat.length };
}

async function burst(): Promise<{ ms: number; assign: number; created: number; calls: Record<string, number> }> {
  const mc = await startMockCloud({ attachDelayMs: 100 });
  const { pool, store } = await makePool(mc, { minPoolSize: 0, maxPoolSize: 5 });
  await pool.whenIdle();
  mc.faults.setLatency('*', 100);
  mc.resetCounters();
  const t0 = performance.now();
  const allocs = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.allocate(pod(i, 'burst'))));
  const ms = performance.now() - t0;
  if (new Set(allocs.map((a) => a.ip)).size !== 100) throw new Error('burst: duplicate IPs');
  const calls = mc.counters();
  await pool.stop();
  store.close();
  await mc.close();
  return { ms, assign: calls.AssignPrivateIpAddresses ?? 0, created: calls.CreateNetworkInterface ?? 0, calls };
}

interface TraceEvent {
  at: number; // ms from start
  kind: 'create' | 'delete';
  id: number;
}

/** 500 pod creates and 500 deletes: pods arrive in waves (deployments scaling) and live 0.1–1.5 s. */
function churnTrace(seed: number): TraceEvent[] {
  const rnd = mulberry32(seed);
  const ev: TraceEvent[] = [];
  let t = 0;
  for (let id = 0; id < 500; id++) {
    t += rnd() < 0.1 ? 150 + rnd() * 200 : rnd() * 8; // mostly bursts, sometimes a pause
    const life = 100 + rnd() * 1400;
    ev.push({ at: t, kind: 'create', id }, { at: t + life, kind: 'delete', id });
  }
  return ev.sort((a, b) => a.at - b.at || (a.kind === 'delete' ? -1 : 1));
}

async function replay(trace: TraceEvent[], create: (id: number) => Promise<void>, del: (id: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const created = new Map<number, Promise<void>>();
  const pending: Promise<void>[] = [];
  let maxLive = 0;
  let live = 0;
  for (const e of trace) {
    const wait = e.at - (performance.now() - t0);
    if (wait > 1) await sleep(wait);
    if (e.kind === 'create') {
      const p = create(e.id);
      created.set(e.id, p);
      pending.push(p);
      maxLive = Math.max(maxLive, ++live);
    } else {
      live--;
      // A pod is deleted only after its ADD finished (kubelet order).
      pending.push(created.get(e.id)!.then(() => del(e.id)));
    }
  }
  await Promise.all(pending);
  return maxLive;
}

async function churnPool(trace: TraceEvent[]): Promise<{ calls: number; total: number; maxLive: number; byApi: Record<string, number> }> {
  const mc = await startMockCloud({ attachDelayMs: 30, faults: { latency: { '*': [5, 20] } } });
  const { pool, store } = await makePool(
    mc,
    {
      minPoolSize: 2,
      maxPoolSize: 10,
      ipCooldownMs: 50,
      idleIpReclaimAfterMs: 500,
      idleIpReclaimIntervalMs: 200,
      idleIpReclaimBatchSize: 5,
      tickIntervalMs: 25,
      gcIntervalMs: 3_600_000,
    },
    true,
  );
  await pool.whenIdle();
  mc.resetCounters();
  const keys = new Map<number, string>();
  const maxLive = await replay(
    trace,
    async (id) => {
      const a = await pool.allocate(pod(id, 'churn'));
      keys.set(id, a.podKey);
    },
    async (id) => {
      await pool.release(keys.get(id)!);
    },
  );
  await pool.whenIdle();
  const c = mc.counters();
  await pool.stop();
  store.close();
  await mc.close();
  return { calls: sum(c, MUTATING), total: Object.values(c).reduce((a, b) => a + b, 0), maxLive, byApi: c };
}

/** The baseline: one AssignPrivateIpAddresses per pod create, one Unassign per delete, ENIs added when full. */
async function churnNaive(trace: TraceEvent[]): Promise<{ calls: number; total: number }> {
  const mc = await startMockCloud({ attachDelayMs: 30, faults: { latency: { '*': [5, 20] } } });
  const cloud = client(mc);
  const limits = await cloud.describeInstanceTypeLimits('ecs.g7.4xlarge');
  const primary = (await cloud.describeNetworkInterfaces({ instanceId: NODE })).find((e) => e.type === 'Primary')!;
  const enis = [{ eniId: primary.eniId, used: primary.secondaryIps.length }];
  const ipOf = new Map<number, { eniId: string; ip: string }>();
  let growing: Promise<void> | undefined;
  mc.resetCounters();
  const create = async (id: number): Promise<void> => {
    for (;;) {
      const e = enis.find((x) => x.used < limits.ipv4PerEni - 1);
      if (e) {
        e.used++;
        const [ip] = await cloud.assignPrivateIpAddresses(e.eniId, 1);
        ipOf.set(id, { eniId: e.eniId, ip: ip! });
        return;
      }
      growing ??= (async () => {
        const n = await cloud.createNetworkInterface({ vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'] });
        await cloud.attachNetworkInterface(n.eniId, NODE);
        enis.push({ eniId: n.eniId, used: 0 });
      })().finally(() => (growing = undefined));
      await growing;
    }
  };
  const del = async (id: number): Promise<void> => {
    const a = ipOf.get(id)!;
    await cloud.unassignPrivateIpAddresses(a.eniId, [a.ip]);
    enis.find((x) => x.eniId === a.eniId)!.used--;
  };
  await replay(trace, create, del);
  const c = mc.counters();
  await mc.close();
  return { calls: sum(c, MUTATING), total: Object.values(c).reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
  const started = performance.now();
  const w = await warm();
  // Same run with the pod DB on tmpfs: separates the pool's own cost from disk write stalls.
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/bench-pool-') : undefined;
  const wMem = shm ? await warm(shm) : undefined;
  if (shm) rmSync(shm, { recursive: true, force: true });
  const b = await burst();
  const trace = churnTrace(7);
  const [cp, cn] = await Promise.all([churnPool(trace), churnNaive(trace)]);
  rmSync(dir, { recursive: true, force: true });

  const rows: [string, string, string][] = [
    ['warm alloc p50 (100 concurrent)', `${w.p50.toFixed(3)} ms`, `${w.samples} samples`],
    ['warm alloc p99 (100 concurrent)', `${w.p99.toFixed(3)} ms`, 'target ≤ 2 ms (pod DB on disk, WAL, synchronous=NORMAL)'],
    ['warm alloc p99, pod DB on tmpfs', wMem ? `${wMem.p99.toFixed(3)} ms` : 'n/a', 'diagnostic only: the pool without disk write stalls'],
    ['burst: 100 pods, 100 ms API latency', `${b.ms.toFixed(0)} ms`, ''],
    ['burst: AssignPrivateIpAddresses calls', `${b.assign}`, `target ≤ ${Math.ceil(100 / 10) + b.created} (ceil(100/10) + ENIs created)`],
    ['burst: ENIs created', `${b.created}`, `all calls: ${JSON.stringify(b.calls)}`],
    ['churn: events', `${trace.length}`, `max live pods ${cp.maxLive}`],
    ['churn: pool cloud calls (mutating)', `${cp.calls}`, `all incl. describes: ${cp.total}`],
    ['churn: naive cloud calls (mutating)', `${cn.calls}`, `all incl. describes: ${cn.total}; target pool ≤ ${Math.floor(cn.calls / 4)}`],
  ];
  const w1 = Math.max(...rows.map((r) => r[0].length));
  const w2 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'metric'.padEnd(w1)}  ${'value'.padStart(w2)}  note`);
  for (const [k, v, n] of rows) console.log(`${k.padEnd(w1)}  ${v.padStart(w2)}  ${n}`);
  console.log(`(pool churn calls by API: ${JSON.stringify(cp.byApi)}; bench took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  console.log(
    JSON.stringify({
      warm_alloc_p50_ms: Number(w.p50.toFixed(3)),
      warm_alloc_p99_ms: Number(w.p99.toFixed(3)),
      burst_pods: 100,
      burst_ms: Math.round(b.ms),
      burst_assign_calls: b.assign,
      burst_enis_created: b.created,
      churn_events: trace.length,
      churn_cloud_calls: cp.calls,
      naive_churn_cloud_calls: cn.calls,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
