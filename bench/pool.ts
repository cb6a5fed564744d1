// Pool benchmark against the mock cloud through the real SDK client, SQLite pod DB on disk.
//   grpc burst: the daemon as it serves (daemon/main.ts as a child process, driver `none`, so the figure is the
//          IPAM path's; the mock cloud in another child process so its request handling runs on neither the
//          daemon's nor this process's event loop), pool warmed to >= 100 free IPs: 100 AllocIP calls started
//          in the same tick, each on its own connection as 100 plugin processes would open them, through the
//          plugin's own gRPC client (cni/grpc.ts), each timed from just before its send to its reply. 10 rounds
//          after one untimed warm-up round (the daemon's code is warm, as in a daemon that has been serving).
//          Beside it: the daemon's main-thread CPU per burst, and the same burst of Status calls (no pool, no
//          DB: what gRPC and 100 connection set-ups cost alone, the floor under the AllocIP figure).
//          A child process and not startDaemon in-process: in one process the client's 100 sends and reply
//          decodes would share the daemon's event loop and be counted as the daemon's latency.
//   warm:  the old in-daemon figure: 100 concurrent pool.allocate() calls in this process (no gRPC), each in
//          its own event-loop task, timed from inside that task (so it waits for its group's commit). It leaves
//          out everything a request pays before and after the pool; shown beside the gRPC figure so the
//          difference shows.
//   burst: 100 concurrent allocations on an empty node with 100 ms API latency (time, assign calls)
//   dual stack: the same burst and warm allocation with ip_stack dual (IPv4+IPv6 pairs of one ENI): its time,
//          its AssignPrivateIpAddresses / AssignIpv6Addresses calls (one per family per batch) and its allocate p99.
//   churn: a 1,000-event pod create/delete trace through the pool, against a naive one-call-per-pod allocator
//          and against the real pool with batching only (no IP cooldown, no idle hysteresis: max_pool_size =
//          min_pool_size, idle IPs reclaimed at once, no minimum ENI lifetime), so the figure shows what
//          batching and what hysteresis save.
// Prints a table, then one JSON object as the last line.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eniBackend } from '../cni/daemonClient.js';
import { connectUnix } from '../cni/grpc.js';
import type { PodRef as WirePodRef } from '../cni/wire.js';
import { AliyunCloud } from '../daemon/cloud/client.js';
import { SqlitePoolStore } from '../daemon/store/sqliteStore.js';
import { createEniMultiIpPool, type EniMultiIpPool } from '../pool/eniMultiIpPool.js';
import type { PoolConfigInput } from '../pool/config.js';
import type { PodRef } from '../pool/types.js';
import { API_VERSION } from '../proto/version.js';
import { NodeDaemon } from '../sim/cluster/daemonProc.js';
import { spawnMockCloud } from '../sim/mockcloud/child.js';
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

async function warm(dbDir = dir, ipStack: 'ipv4' | 'dual' = 'ipv4'): Promise<{ p50: number; p99: number; samples: number }> {
  const mc = await startMockCloud({ attachDelayMs: 20 });
  const { pool, store } = await makePool(
    mc,
    { ipStack, minPoolSize: 110, maxPoolSize: 130, ipCooldownMs: 0, idleIpReclaimAfterMs: 3_600_000 },
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

interface BurstFigures {
  p50: number;
  p99: number;
  samples: number;
  /** Median over the rounds of the daemon's main-thread CPU time per burst (NaN without /proc). */
  cpuMs: number;
}

/** CPU time (ms) the thread `pid` (a process's main thread) has run, from /proc; NaN where there is none. */
function threadCpuMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/**
 * 100 calls started in the same tick, each on a new connection (as 100 plugin processes), each timed from
 * just before its send to its reply; `rounds` timed rounds after one untimed warm-up round.
 */
async function burstOverGrpc(
  daemon: NodeDaemon,
  rounds: number,
  call: (backend: ReturnType<typeof eniBackend>, pod: WirePodRef) => Promise<void>,
  between: (pods: WirePodRef[]) => Promise<void>,
): Promise<BurstFigures> {
  const lat: number[] = [];
  const cpu: number[] = [];
  for (let round = -1; round < rounds; round++) {
    const pods = Array.from({ length: 100 }, (_, i) => ({
      k8sPodName: `grpc-${round + 1}-${i}`,
      k8sPodNamespace: 'bench',
      k8sPodInfraContainerId: `grpc-ctr-${round + 1}-${i}`,
      netns: `/var/run/netns/bench-grpc-${i}`,
      ifName: 'eth0',
      networkName: 'terway',
    }));
    const cpu0 = threadCpuMs(daemon.pid!);
    const ms = await Promise.all(
      pods.map(async (pod) => {
        const client = connectUnix(daemon.socketPath);
        try {
          const t0 = performance.now();
          await call(eniBackend(client), pod);
          return performance.now() - t0;
        } finally {
          client.close();
        }
      }),
    );
    if (round >= 0) {
      lat.push(...ms);
      cpu.push(threadCpuMs(daemon.pid!) - cpu0);
    }
    await between(pods);
  }
  return { p50: pct(lat, 50), p99: pct(lat, 99), samples: lat.length, cpuMs: pct(cpu, 50) };
}

/** The daemon as it serves: child process, real gRPC socket, warm pool of >= 100 free IPs, driver `none`. */
async function grpcBurst(rounds = 10): Promise<{ alloc: BurstFigures; status: BurstFigures; minPool: number }> {
  const minPool = 100;
  const mc = await spawnMockCloud({ attachDelayMs: 20 });
  const daemonDir = mkdtempSync(join(tmpdir(), 'bench-pool-d-'));
  const daemon = new NodeDaemon({
    instanceId: NODE,
    dir: daemonDir,
    cloud: mc,
    minPoolSize: minPool,
    // Above the node's capacity: no idle reclaim between rounds.
    maxPoolSize: 200,
    ipCooldown: '0s',
    extra: { driver: 'none' },
  });
  try {
    await daemon.start(); // ready with >= min_pool_size free IPs
    const warmAgain = async () => {
      const deadline = Date.now() + 30_000;
      while ((await daemon.status()).freeIps < minPool) {
        if (Date.now() > deadline) throw new Error(`grpc burst: pool not back to ${minPool} free IPs`);
        await sleep(20);
      }
    };
    const alloc = await burstOverGrpc(
      daemon,
      rounds,
      async (b, pod) => {
        const r = await b.allocIP({ pod, apiVersion: API_VERSION, pluginVersion: 'bench' }, 60_000);
        if (!r.success) throw new Error(`AllocIP ${pod.k8sPodInfraContainerId}: ${r.message}`);
      },
      async (pods) => {
        const b = daemon.backend();
        for (const pod of pods) {
          const r = await b.releaseIP({ pod, apiVersion: API_VERSION, pluginVersion: 'bench', reason: 'bench' }, 60_000);
          if (!r.success) throw new Error(`ReleaseIP ${pod.k8sPodInfraContainerId}: ${r.message}`);
        }
        await warmAgain();
      },
    );
    const status = await burstOverGrpc(
      daemon,
      rounds,
      async (b) => {
        const r = await b.status({ apiVersion: API_VERSION }, 60_000);
        if (!r.ready) throw new Error(`Status: not ready: ${r.message}`);
      },
      async () => undefined,
    );
    return { alloc, status, minPool };
  } catch (e) {
    process.stderr.write(`grpc burst failed; daemon log tail:\n${daemon.logTail(40)}\n`);
    throw e;
  } finally {
    await daemon.kill('SIGTERM');
    await mc.close();
    rmSync(daemonDir, { recursive: true, force: true });
  }
}

async function burst(
  ipStack: 'ipv4' | 'dual' = 'ipv4',
): Promise<{ ms: number; assign: number; assign6: number; created: number; calls: Record<string, number> }> {
  const mc = await startMockCloud({ attachDelayMs: 100 });
  const { pool, store } = await makePool(mc, { ipStack, minPoolSize: 0, maxPoolSize: 5 });
  await pool.whenIdle();
  mc.faults.setLatency('*', 100);
  mc.resetCounters();
  const t0 = performance.now();
  const allocs = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.allocate(pod(i, 'burst'))));
  const ms = performance.now() - t0;
  if (new Set(allocs.map((a) => a.ip)).size !== 100) throw new Error('burst: duplicate IPs');
  if (ipStack === 'dual' && new Set(allocs.map((a) => a.ipv6)).size !== 100) throw new Error('burst: a pod without its own IPv6 address');
  const calls = mc.counters();
  await pool.stop();
  store.close();
  await mc.close();
  return {
    ms,
    assign: calls.AssignPrivateIpAddresses ?? 0,
    assign6: calls.AssignIpv6Addresses ?? 0,
    created: calls.CreateNetworkInterface ?? 0,
    calls,
  };
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

/** Our pool's churn settings: a band of free IPs (min 2 .. max 10), quiet 0.5 s before idle reclaim shrinks it toward min, a short cooldown. */
const CHURN_OURS: PoolConfigInput = {
  minPoolSize: 2,
  maxPoolSize: 10,
  ipCooldownMs: 50,
  idleIpReclaimAfterMs: 500,
  idleIpReclaimIntervalMs: 200,
  idleIpReclaimBatchSize: 5,
  tickIntervalMs: 25,
  gcIntervalMs: 3_600_000,
};

/**
 * The stronger baseline: the same pool, batching cloud calls, with every hysteresis off: no band
 * (max_pool_size = min_pool_size), free IPs above it reclaimed at once and in one call, no cooldown, and ENIs
 * deletable as soon as they are empty.
 */
const CHURN_BATCH_ONLY: PoolConfigInput = {
  ...CHURN_OURS,
  maxPoolSize: CHURN_OURS.minPoolSize,
  ipCooldownMs: 0,
  idleIpReclaimAfterMs: 0,
  idleIpReclaimIntervalMs: 0,
  idleIpReclaimJitterFactor: 0,
  idleIpReclaimBatchSize: 10,
  minEniLifetimeMs: 0,
};

async function churnPool(
  trace: TraceEvent[],
  config: PoolConfigInput,
): Promise<{ calls: number; total: number; maxLive: number; byApi: Record<string, number> }> {
  const mc = await startMockCloud({ attachDelayMs: 30, faults: { latency: { '*': [5, 20] } } });
  const { pool, store } = await makePool(mc, config, true);
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

/**
 * The baseline: one AssignPrivateIpAddresses per pod create, one Unassign per delete, secondary ENIs added when full
 * (pods use secondary ENIs only, as in our pool: eth0 is the node's).
 */
async function churnNaive(trace: TraceEvent[]): Promise<{ calls: number; total: number }> {
  const mc = await startMockCloud({ attachDelayMs: 30, faults: { latency: { '*': [5, 20] } } });
  const cloud = client(mc);
  const limits = await cloud.describeInstanceTypeLimits('ecs.g7.4xlarge');
  const enis: { eniId: string; used: number }[] = [];
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
  const g = await grpcBurst();
  const b = await burst();
  // Dual stack (ip_stack dual): the same burst and warm allocation, pairs of one ENI.
  const bd = await burst('dual');
  const wd = await warm(dir, 'dual');
  const trace = churnTrace(7);
  const [cp, cb, cn] = await Promise.all([churnPool(trace, CHURN_OURS), churnPool(trace, CHURN_BATCH_ONLY), churnNaive(trace)]);
  rmSync(dir, { recursive: true, force: true });

  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : 'n/a');
  const rows: [string, string, string][] = [
    [
      '100 AllocIP over gRPC at once: p50',
      ms(g.alloc.p50),
      `${g.alloc.samples} samples; daemon child process, min_pool_size ${g.minPool}, driver none`,
    ],
    ['100 AllocIP over gRPC at once: p99', ms(g.alloc.p99), `target ≤ 15 ms -> ${g.alloc.p99 <= 15 ? 'MET' : 'NOT MET'}`],
    ['  daemon main-thread CPU per 100 AllocIP', ms(g.alloc.cpuMs), 'median of rounds; the serial work every burst waits for'],
    ['100 Status over gRPC at once: p50', ms(g.status.p50), 'transport floor: gRPC + a connection per call, no pool, no DB'],
    ['100 Status over gRPC at once: p99', ms(g.status.p99), `daemon CPU per 100: ${ms(g.status.cpuMs)}`],
    ['in-daemon pool.allocate p50 (100 concurrent)', `${w.p50.toFixed(3)} ms`, `${w.samples} samples; no gRPC, timed inside each task`],
    [
      'in-daemon pool.allocate p99 (100 concurrent)',
      `${w.p99.toFixed(3)} ms`,
      'the old "warm" figure: the pool and its group commit, no request',
    ],
    ['  same, pod DB on tmpfs', wMem ? `${wMem.p99.toFixed(3)} ms` : 'n/a', 'diagnostic only: the pool without disk write stalls'],
    ['burst: 100 pods, 100 ms API latency', `${b.ms.toFixed(0)} ms`, ''],
    ['burst: AssignPrivateIpAddresses calls', `${b.assign}`, `target ≤ ${Math.ceil(100 / 10) + b.created} (ceil(100/10) + ENIs created)`],
    ['burst: ENIs created', `${b.created}`, `all calls: ${JSON.stringify(b.calls)}`],
    ['dual stack burst: 100 pods, 100 ms API latency', `${bd.ms.toFixed(0)} ms`, `IPv4 burst above: ${b.ms.toFixed(0)} ms`],
    [
      'dual stack burst: Assign calls IPv4 / IPv6',
      `${bd.assign} / ${bd.assign6}`,
      `one per family per batch: target IPv6 = IPv4 calls -> ${bd.assign6 === bd.assign ? 'MET' : 'NOT MET'}; ENIs created ${bd.created}`,
    ],
    [
      'dual stack pool.allocate p99 (100 concurrent)',
      `${wd.p99.toFixed(3)} ms`,
      `p50 ${wd.p50.toFixed(3)} ms; IPv4 p99 ${w.p99.toFixed(3)} ms`,
    ],
    ['churn: events', `${trace.length}`, `max live pods ${cp.maxLive}`],
    ['churn: pool cloud calls (mutating)', `${cp.calls}`, `all incl. describes: ${cp.total}`],
    ['churn: batching-only pool (mutating)', `${cb.calls}`, `all incl. describes: ${cb.total}; no cooldown, no idle hysteresis`],
    ['churn: naive cloud calls (mutating)', `${cn.calls}`, `all incl. describes: ${cn.total}; target pool ≤ ${Math.floor(cn.calls / 4)}`],
  ];
  const w1 = Math.max(...rows.map((r) => r[0].length));
  const w2 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'metric'.padEnd(w1)}  ${'value'.padStart(w2)}  note`);
  for (const [k, v, n] of rows) console.log(`${k.padEnd(w1)}  ${v.padStart(w2)}  ${n}`);
  console.log(`(pool churn calls by API: ${JSON.stringify(cp.byApi)}; batching-only: ${JSON.stringify(cb.byApi)})`);
  console.log(`(bench took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  console.log(
    JSON.stringify({
      burst100_grpc_p50_ms: Number(g.alloc.p50.toFixed(2)),
      burst100_grpc_p99_ms: Number(g.alloc.p99.toFixed(2)),
      burst100_grpc_daemon_cpu_ms: Number.isFinite(g.alloc.cpuMs) ? Number(g.alloc.cpuMs.toFixed(1)) : null,
      burst100_status_p99_ms: Number(g.status.p99.toFixed(2)),
      warm_alloc_p50_ms: Number(w.p50.toFixed(3)),
      warm_alloc_p99_ms: Number(w.p99.toFixed(3)),
      burst_pods: 100,
      burst_ms: Math.round(b.ms),
      burst_assign_calls: b.assign,
      burst_enis_created: b.created,
      dual_burst_ms: Math.round(bd.ms),
      dual_burst_assign_calls: bd.assign,
      dual_burst_assign6_calls: bd.assign6,
      dual_warm_alloc_p99_ms: Number(wd.p99.toFixed(3)),
      churn_events: trace.length,
      churn_cloud_calls: cp.calls,
      batch_only_churn_cloud_calls: cb.calls,
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
