// The chaos run: thousands of CNI operations through the real plugin (a separate process each, clean environment,
// as a runtime runs it), several at once, against one real daemon (daemon/main.ts as a child process on its SQLite
// pod DB) while the mock cloud fails about a fifth of its calls (throttling, 5xx, 503, timeouts, replies lost
// after the effect, latency) and the daemon is SIGKILLed again and again. Then every pod is DELeted, the faults
// stop, the daemon settles, and the run checks against the mock cloud's own dump.
//
// The runtime it plays follows the CNI spec: never two operations on one container at once, a DEL after every
// ADD (also a failed one), a failed DEL retried. Driver `none` (no root): the kernel keeps no trace of a pod, so
// only the daemon's books, the pending-DEL records and the cloud can be wrong.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeDaemon } from '../cluster/daemonProc.js';
import { buildPluginTo, NETWORK_NAME, netConf } from '../cluster/pods.js';
import { cleanEnv, timedRun, stdoutJson } from '../cluster/proc.js';
import { startMockCloud, type ErrorKind, type MockCloudHandle } from '../mockcloud/index.js';
import { mulberry32 } from '../random.js';
import { cloudDuplicates, poolCloudMismatches, type PoolDoc } from './checks.js';

export interface ChaosOptions {
  ops: number;
  concurrency: number;
  kills: number;
  seed: number;
  /** Share of cloud calls that fail by injection (default 0.2). */
  faultRate: number;
  /** Pods alive at most at once (the default world's node holds 140 addresses). */
  maxPods: number;
  log: (line: string) => void;
}

export interface ChaosResult {
  ops: number;
  kills: number;
  faults: number;
  add_ok: number;
  add_failed: number;
  del_failed: number;
  duplicates: number;
  held_after_dels: number;
  leaks_after_settle: number;
}

const NODE = 'i-mock-node-1';

/**
 * The fault mix: `rate` of all calls, spread over the kinds the real API answers with. The mutating calls also
 * lose replies after the effect (the address was assigned, the ENI created, but the caller never hears of it).
 */
function injectFaults(mc: MockCloudHandle, rate: number): void {
  const f = mc.faults;
  const share: [ErrorKind, number][] = [
    ['throttle', 0.35],
    ['5xx', 0.2],
    ['unavailable', 0.15],
    ['timeout', 0.05],
  ];
  for (const [kind, s] of share) f.setErrorRate('*', rate * s, kind);
  for (const action of ['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateNetworkInterface', 'AttachNetworkInterface']) {
    f.setErrorRate(action, rate * 0.15, '5xx', { afterEffect: true });
    f.setErrorRate(action, rate * 0.1, 'timeout', { afterEffect: true });
  }
  f.setLatency('*', [0, 40]);
}

interface Pod {
  id: string;
  ip?: string;
  /** A DEL failed: the runtime retries it. */
  delPending?: boolean;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const rand = mulberry32(o.seed);
  const dir = join(tmpdir(), `eni-chaos-${process.pid}-${o.seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const plugin = await buildPluginTo(join(dir, 'terway'));
  const mc = await startMockCloud({ attachDelayMs: 50, random: mulberry32(o.seed ^ 0x5eed) });
  const daemon = new NodeDaemon({
    instanceId: NODE,
    dir: join(dir, 'node'),
    cloud: mc,
    // A small warm pool reclaimed fast: the churn keeps assigning and unassigning (and creating and deleting ENIs),
    // so the cloud's faults land on the pool's every path, not on a pool that never calls the cloud.
    minPoolSize: 1,
    maxPoolSize: 4,
    ipCooldown: '1s',
    // The cloud reconcile runs often, so what a lost reply left in the cloud is adopted within the run.
    extra: { driver: 'none', gc_interval: '10s', pending_del_interval: '2s', idle_ip_reclaim_after: '2s', idle_ip_reclaim_interval: '1s' },
  });
  const r: ChaosResult = {
    ops: 0,
    kills: 0,
    faults: 0,
    add_ok: 0,
    add_failed: 0,
    del_failed: 0,
    duplicates: 0,
    held_after_dels: 0,
    leaks_after_settle: 0,
  };
  const live = new Map<string, Pod>(); // ADDed (or ADD attempted) and not DELeted yet
  const addFailures = new Map<string, number>(); // why ADDs failed (CNI code and message start), for the log
  const busy = new Set<string>();
  const holder = new Map<string, string>(); // ip -> pod id, from the runtime's view
  let seq = 0;
  // One kill in each of `kills` equal stretches of the run, at a seeded point inside it: spread, never bunched.
  const killAt = new Set(Array.from({ length: Math.min(o.kills, o.ops) }, (_, k) => Math.floor(((k + rand()) * o.ops) / o.kills)));

  const env = (p: Pod, command: string) =>
    cleanEnv({
      CNI_COMMAND: command,
      CNI_CONTAINERID: p.id,
      CNI_NETNS: `/var/run/netns/${p.id}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=chaos;K8S_POD_NAME=${p.id}`,
    });
  const conf = JSON.stringify({ ...netConf(daemon.socketPath), cniVersion: '1.0.0' });
  const cni = async (p: Pod, command: 'ADD' | 'DEL') => {
    const run = await timedRun(plugin, [], { env: env(p, command), stdin: conf, timeoutMs: 180_000 });
    return { ...run, json: stdoutJson(run) };
  };

  const del = async (p: Pod): Promise<void> => {
    const res = await cni(p, 'DEL');
    r.ops++;
    if (res.code !== 0) {
      r.del_failed++;
      p.delPending = true;
      o.log(`DEL ${p.id} failed: ${res.stdout.trim()} ${res.stderr.trim().slice(0, 300)}`);
      return;
    }
    if (p.ip && holder.get(p.ip) === p.id) holder.delete(p.ip);
    live.delete(p.id);
  };

  const add = async (): Promise<void> => {
    const p: Pod = { id: `chaos${o.seed}-${(seq++).toString(36)}` };
    live.set(p.id, p);
    busy.add(p.id);
    try {
      const res = await cni(p, 'ADD');
      r.ops++;
      const ip = (res.json?.ips as { address?: string }[] | undefined)?.[0]?.address?.split('/')[0];
      if (res.code === 0 && ip) {
        r.add_ok++;
        const other = holder.get(ip);
        if (other && other !== p.id) {
          r.duplicates++;
          o.log(`DUPLICATE: ${ip} handed to ${p.id} while ${other} holds it`);
        }
        holder.set(ip, p.id);
        p.ip = ip;
        return;
      }
      r.add_failed++;
      const why = `code ${String(res.json?.code ?? res.code)}: ${String(res.json?.msg ?? 'no error JSON').slice(0, 60)}`;
      addFailures.set(why, (addFailures.get(why) ?? 0) + 1);
      // The spec: a DEL follows a failed ADD. Then the runtime backs off before it tries the pod again.
      await del(p);
      await new Promise((res) => setTimeout(res, 100 + Math.floor(rand() * 400)));
    } finally {
      busy.delete(p.id);
    }
  };

  const delSome = async (): Promise<void> => {
    const idle = [...live.values()].filter((p) => !busy.has(p.id));
    if (idle.length === 0) return add();
    const p = idle[Math.floor(rand() * idle.length)]!;
    busy.add(p.id);
    try {
      await del(p);
    } finally {
      busy.delete(p.id);
    }
  };

  let killing: Promise<void> | undefined;
  const killAndRestart = async (): Promise<void> => {
    r.kills++;
    o.log(`kill -9 #${r.kills} (daemon pid ${daemon.pid}) at op ${r.ops}`);
    await daemon.kill('SIGKILL');
    // Down for a while: ADDs fail, DELs are recorded.
    await new Promise((res) => setTimeout(res, Math.floor(rand() * 1500)));
    await daemon.start({ waitWarm: false, readyTimeoutMs: 120_000 });
  };

  try {
    await daemon.start({ waitWarm: false, readyTimeoutMs: 120_000 });
    injectFaults(mc, o.faultRate);
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < o.ops) {
        const n = issued++;
        // One kill at a time: a kill point reached while the daemon restarts waits for it.
        if (killAt.has(n)) killing = (killing ?? Promise.resolve()).then(killAndRestart);
        const wantAdd = live.size < 4 || (live.size < o.maxPods && rand() < 0.55);
        await (wantAdd ? add() : delSome());
        if (n % 500 === 0) o.log(`op ${n}: ${live.size} pods live, add ok ${r.add_ok} / failed ${r.add_failed}, kills ${r.kills}`);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    await killing;

    // Settle: the faults stop, every pod is DELeted (failed DELs retried, as a runtime does), the daemon catches up.
    r.faults = Object.values(mc.faults.injected()).reduce((a, b) => a + b, 0);
    const calls = Object.values(mc.counters()).reduce((a, b) => a + b, 0);
    o.log(
      `ops done; ${r.faults} faults injected in ${calls} cloud calls: ${JSON.stringify(mc.faults.injected())}; deleting ${live.size} pods`,
    );
    if (addFailures.size > 0)
      o.log(`failed ADDs by reason: ${JSON.stringify(Object.fromEntries([...addFailures].sort((a, b) => b[1] - a[1])))}`);
    mc.faults.clear();
    for (let round = 0; round < 3 && live.size > 0; round++) {
      const left = [...live.values()];
      let next = 0;
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < left.length) await del(left[next++]!);
        }),
      );
    }
    await settle(daemon, mc, r, o);
  } finally {
    await daemon.kill('SIGTERM', 10_000).catch(() => undefined);
    await mc.close();
    if (r.duplicates + r.del_failed + r.held_after_dels + r.leaks_after_settle === 0) rmSync(dir, { recursive: true, force: true });
    else o.log(`kept ${dir} (daemon log: ${daemon.logPath})`);
  }
  return r;
}

/** Waits (bounded) for the pool to hold nothing and to match the cloud; records what is still wrong then. */
async function settle(daemon: NodeDaemon, mc: MockCloudHandle, r: ChaosResult, o: ChaosOptions): Promise<void> {
  const deadline = Date.now() + 120_000;
  let problems: string[] = [];
  let pool: PoolDoc | undefined;
  for (;;) {
    pool = await daemon.introspect<PoolDoc>('/v1/pool');
    const dump = mc.dump();
    problems = [...cloudDuplicates(dump), ...poolCloudMismatches(dump, NODE, pool)];
    const records = (await daemon.introspect<{ pods: unknown[] }>('/v1/pods')).pods.length;
    if (problems.length === 0 && pool.stats.assigned === 0 && records === 0) break;
    if (Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  r.held_after_dels = pool.stats.assigned;
  r.leaks_after_settle = problems.length;
  r.duplicates += cloudDuplicates(mc.dump()).length;
  for (const p of problems.slice(0, 20)) o.log(`after settle: ${p}`);
  if (pool.stats.assigned > 0) {
    const held = pool.enis.flatMap((e) => e.ips.assigned ?? []);
    o.log(`after every DEL the pool still has ${pool.stats.assigned} assigned: ${held.slice(0, 20).join(' ')}`);
  }
  o.log(`settled: pool ${JSON.stringify(pool.stats)}; network ${NETWORK_NAME}`);
}
