// Scale benchmark: N nodes start P pods each at the same moment against one mock cloud whose account allows Q
// requests per second (its own throttle, Throttling.User beyond it). The same workload runs twice, each time
// on a fresh mock world (N instances of ecs.g7.4xlarge, vSwitches for every pod):
//   node-local  N ENI multi-IP pools in this process (createEniMultiIpPool, pod DB in memory), each with its
//               own SDK cloud client and so its own token bucket (20 qps, burst 40, Terway's per-API limits),
//               as N separate daemons have;
//   central     one controller (controlplane/) with one rate limiter for the account (Q qps, burst Q, no
//               per-API caps: the mock has none to mirror), N node sides running the real delegated pool and
//               Node-resource source over the in-memory API server (sim/kube), pod DB in memory.
// A pod is one allocation with a deadline (--deadline-s); a failed one is retried after --retry-s (kubelet's
// pod worker backs off 10 s after a failed sandbox set-up) until it gets its IP. Set-up (pools started, node
// resources created and reconciled) runs unthrottled and untimed; counters are reset before the burst. A run
// still short of pods at --max-s is cut there: its time then shows as ">cap" in the table (the cap in the JSON).
//   *_s             time from the burst until the last pod has its IP
//   *_calls         mutating calls (Create/Attach/Assign/Unassign/Detach/Delete) the mock received, throttled ones included
//   *_throttled     attempts the clients saw answered with throttling
//   lower_bound_s   (fewest mutating calls that can place every pod) / Q; the fewest calls per node come from the
//                   pool's capacity rules (sim/central/lowerBound.ts: pods on secondary ENIs only, each ENI's
//                   primary address a pod's too): with 8 ENIs × 20 IPv4, 30 pods = one ENI created with 10
//                   secondary IPs and attached + 1 assign (20) + one created with 9 and attached (10) = 5
// Prints a table, then one JSON object as the last line. Figures are only meaningful on a quiet machine.
import { parseArgs } from 'node:util';
import { AliyunCloud } from '../daemon/cloud/client.js';
import { RateLimiter } from '../daemon/cloud/ratelimit.js';
import { createEniMultiIpPool, type EniMultiIpPool } from '../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../pool/store.js';
import type { IpAllocation, PodRef } from '../pool/types.js';
import { apiStore, cloudClient, newController, scaleWorld, SCALE_SG, startNodeSide, type RigNode } from '../sim/central/rig.js';
import { fewestCallsForNode } from '../sim/central/lowerBound.js';
import { spawnMockCloud, type MockCloudProcess } from '../sim/mockcloud/child.js';

const MUTATING = [
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
];
const LIMITS = { eniQuantity: 8, ipv4PerEni: 20 };

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '30' },
    qps: { type: 'string', default: '20' },
    'deadline-s': { type: 'string' },
    'retry-s': { type: 'string', default: '10' },
    'attach-delay-ms': { type: 'string', default: '100' },
    'attach-poll-ms': { type: 'string', default: '1000' },
    'max-s': { type: 'string' },
    only: { type: 'string' },
  },
  strict: true,
});
const N = Number(values.nodes);
const P = Number(values.pods);
const Q = Number(values.qps);
const fewestPerNode = fewestCallsForNode(P, LIMITS);
const fewest = N * fewestPerNode;
const lowerBoundS = fewest / Q;
// Each ADD waits at most this long (the plugin's timeout_seconds). The default covers twice the lower bound
// (at least the plugin's own 120 s): at this QPS no design can start every pod sooner than the bound.
const deadlineS = values['deadline-s'] !== undefined ? Number(values['deadline-s']) : Math.max(120, Math.ceil(2 * lowerBoundS));
const retryS = Number(values['retry-s']);
// A run that has not placed every pod by then stops there: its time is reported as this cap (a floor of the real figure).
const maxS = values['max-s'] !== undefined ? Number(values['max-s']) : Math.max(900, Math.ceil(6 * lowerBoundS));
const attachDelayMs = Number(values['attach-delay-ms']);
for (const [k, v] of Object.entries({ N, P, Q, deadlineS, retryS, attachDelayMs }))
  if (!(Number.isFinite(v) && v > 0) && !(k === 'attachDelayMs' && v === 0)) throw new Error(`bad ${k}: ${v}`);

interface Allocator {
  allocate(pod: PodRef, opts: { deadlineMs?: number }): Promise<IpAllocation>;
}

interface BurstResult {
  seconds: number;
  /** Failed ADDs (each one a FailedCreatePodSandBox the user sees), by reason. */
  failures: number;
  failureReasons: Record<string, number>;
  /** Pods that failed at least once. */
  podsFailed: number;
  /** Pods still without an IP when the run was cut at maxS. */
  unserved: number;
}

interface RunResult extends BurstResult {
  throttled: number;
  calls: number;
  counters: Record<string, number>;
  extra: Record<string, number>;
}

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** Every node starts P pods at once; a pod whose ADD fails is retried after retryS until it has its IP (or maxS passes). */
async function burst(nodes: Allocator[]): Promise<BurstResult> {
  const t0 = performance.now();
  let last = t0;
  let failures = 0;
  let done = 0;
  let cut = false;
  const reasons: Record<string, number> = {};
  const failedPods = new Set<string>();
  const total = nodes.length * P;
  const progress = setInterval(
    () => log(`  ${done}/${total} pods have an IP after ${((performance.now() - t0) / 1000).toFixed(0)} s (${failures} failed ADDs)`),
    30_000,
  );
  progress.unref();
  const pod = async (a: Allocator, n: number, i: number): Promise<void> => {
    for (let attempt = 0; !cut; attempt++) {
      const ref: PodRef = {
        namespace: 'default',
        name: `pod-${i}`,
        containerId: `c${i}-${attempt}`,
        ifName: 'eth0',
        networkName: 'terway',
      };
      try {
        await a.allocate(ref, { deadlineMs: deadlineS * 1000 });
        last = Math.max(last, performance.now());
        done++;
        return;
      } catch (err) {
        if (cut) return;
        failures++;
        failedPods.add(`${n}/${i}`);
        const e = err as { reason?: string; cloudCode?: string };
        const why = `${e.reason ?? 'Error'}${e.cloudCode ? `:${e.cloudCode}` : ''}`;
        reasons[why] = (reasons[why] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, retryS * 1000));
      }
    }
  };
  const all = Promise.all(nodes.flatMap((a, n) => Array.from({ length: P }, (_, i) => pod(a, n, i))));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, maxS * 1000)))]);
  clearTimeout(timer);
  clearInterval(progress);
  const unserved = total - done;
  if (unserved > 0) {
    cut = true;
    last = t0 + maxS * 1000;
    log(`  cut at ${maxS} s with ${unserved} pods still without an IP`);
  }
  return { seconds: (last - t0) / 1000, failures, failureReasons: reasons, podsFailed: failedPods.size, unserved };
}

const sumThrottled = (clients: AliyunCloud[]): number =>
  clients.reduce((n, c) => n + Object.values(c.stats()).reduce((m, s) => m + s.throttled, 0), 0);
const mutating = (c: Record<string, number>): number => MUTATING.reduce((n, a) => n + (c[a] ?? 0), 0);

async function freshCloud(): Promise<{ mc: MockCloudProcess; world: ReturnType<typeof scaleWorld> }> {
  const world = scaleWorld(N, N * (P + 15));
  const mc = await spawnMockCloud({ world: world.spec, attachDelayMs });
  return { mc, world };
}

async function runNodeLocal(): Promise<RunResult> {
  const { mc, world } = await freshCloud();
  const clients: AliyunCloud[] = [];
  const pools: EniMultiIpPool[] = [];
  try {
    log(`node-local: starting ${N} pools (unthrottled set-up)`);
    for (let i = 0; i < N; i++) {
      const instanceId = world.instanceIds[i]!;
      // A daemon's client: its own bucket (20 qps, burst 40) and Terway's per-API limits, default retries.
      const cloud = new AliyunCloud({
        regionId: mc.regionId,
        endpoint: mc.url,
        accessKeyId: mc.accessKeyId,
        accessKeySecret: mc.accessKeySecret,
        metadataBaseUrl: mc.metadataUrl(instanceId),
      });
      clients.push(cloud);
      const pool = await createEniMultiIpPool({
        cloud,
        store: new MemoryPoolStore(),
        instanceId,
        limits: LIMITS,
        vSwitchIds: [world.vSwitchOf(i)],
        securityGroupIds: [SCALE_SG],
        config: { allocDeadlineMs: deadlineS * 1000 },
      });
      pools.push(pool);
    }
    await Promise.all(pools.map((p) => p.start()));
    await mc.resetCounters();
    for (const c of clients) c.resetStats();
    await mc.setThrottle(Q, Q);
    log(`node-local: burst of ${N * P} pods`);
    const r = await burst(pools);
    const counters = await mc.counters();
    return { ...r, throttled: sumThrottled(clients), calls: mutating(counters), counters, extra: {} };
  } finally {
    await Promise.all(pools.map((p) => p.stop().catch(() => {})));
    for (const c of clients) c.close();
    await mc.close();
  }
}

async function runCentral(): Promise<RunResult> {
  const { mc, world } = await freshCloud();
  const { store, nodes: api } = apiStore();
  const limiter = new RateLimiter({ qps: Q, burst: Q, terwayDefaults: false });
  const cloud = cloudClient(mc, { limiter });
  const sides: RigNode[] = [];
  const controller = newController({ nodes: api, cloud, limiter, attachPollMs: Number(values['attach-poll-ms']) });
  try {
    log(`central: starting ${N} node sides and the controller (unthrottled set-up)`);
    for (let i = 0; i < N; i++)
      sides.push(
        await startNodeSide({
          api,
          name: world.nodeNames[i]!,
          instanceId: world.instanceIds[i]!,
          vSwitchId: world.vSwitchOf(i),
          allocDeadlineMs: deadlineS * 1000,
        }),
      );
    while ((await api.list()).items.length < N) await new Promise((r) => setTimeout(r, 100));
    await controller.start();
    while ([...controller.nodes.values()].some((s) => !s.model?.lastSyncOpenAPITime) || sides.some((s) => s.pool.placements === 0))
      await new Promise((r) => setTimeout(r, 100));
    await mc.resetCounters();
    cloud.resetStats();
    await mc.setThrottle(Q, Q);
    const writesBefore = Object.values(store.stats.writes).reduce((a, b) => a + b, 0);
    const conflictsBefore = store.stats.conflicts;
    log(`central: burst of ${N * P} pods`);
    const r = await burst(sides.map((s) => s.pool));
    const writes = Object.values(store.stats.writes).reduce((a, b) => a + b, 0) - writesBefore;
    const counters = await mc.counters();
    return {
      ...r,
      throttled: sumThrottled([cloud]),
      calls: mutating(counters),
      counters,
      extra: {
        api_writes: writes,
        api_conflicts: store.stats.conflicts - conflictsBefore,
        api_writes_per_node_per_s: Number((writes / N / Math.max(r.seconds, 1e-3)).toFixed(3)),
        polls: counters['DescribeNetworkInterfaces'] ?? 0,
      },
    };
  } finally {
    await controller.stop();
    for (const s of sides) await s.pool.stop().catch(() => {});
    cloud.close();
    await mc.close();
  }
}

async function main(): Promise<void> {
  log(
    `scale bench: ${N} nodes × ${P} pods, account limit ${Q} qps; fewest calls ${fewest} (${fewestPerNode}/node), lower bound ${lowerBoundS.toFixed(1)} s; ADD deadline ${deadlineS} s, retry after ${retryS} s, cut at ${maxS} s`,
  );
  const local = values.only === 'central' ? undefined : await runNodeLocal();
  const central = values.only === 'node-local' ? undefined : await runCentral();
  const row = (name: string, r?: RunResult): string =>
    r
      ? `${name.padEnd(11)} ${`${r.unserved > 0 ? '>' : ''}${r.seconds.toFixed(1)}`.padStart(9)} ${(r.seconds / lowerBoundS).toFixed(2).padStart(8)} ${String(r.failures).padStart(9)} ${String(r.podsFailed).padStart(8)} ${String(r.unserved).padStart(9)} ${String(r.throttled).padStart(10)} ${String(r.calls).padStart(8)} ${(r.calls / fewest).toFixed(2).padStart(8)}  ${JSON.stringify(r.counters)}`
      : `${name.padEnd(11)} (not run)`;
  console.log(
    `${'mode'.padEnd(11)} ${'time s'.padStart(9)} ${'× bound'.padStart(8)} ${'failures'.padStart(9)} ${'pods'.padStart(8)} ${'unserved'.padStart(9)} ${'throttled'.padStart(10)} ${'calls'.padStart(8)} ${'× fewest'.padStart(8)}  cloud requests`,
  );
  console.log(row('node-local', local));
  console.log(row('central', central));
  for (const [name, r] of [
    ['node-local', local],
    ['central', central],
  ] as const)
    if (r && r.failures > 0) console.log(`${name} failed ADDs by reason: ${JSON.stringify(r.failureReasons)}`);
  if (central) console.log(`central API server: ${JSON.stringify(central.extra)}`);
  console.log(
    JSON.stringify({
      nodes: N,
      pods_per_node: P,
      qps: Q,
      lower_bound_s: Number(lowerBoundS.toFixed(2)),
      node_local_s: local ? Number(local.seconds.toFixed(2)) : null,
      central_s: central ? Number(central.seconds.toFixed(2)) : null,
      node_local_pod_failures: local?.failures ?? null,
      central_pod_failures: central?.failures ?? null,
      node_local_throttled: local?.throttled ?? null,
      central_throttled: central?.throttled ?? null,
      node_local_calls: local?.calls ?? null,
      central_calls: central?.calls ?? null,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
