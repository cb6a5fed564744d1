// Data-plane benchmark (`npm run bench:dataplane`, root): wall time of CNI ADD and DEL through the real plugin
// binary against a real daemon (veth driver, warm pool, running inside a simulated node netns behind the mock
// cloud), next to the reference `ptp` + `host-local` plugins doing the same ADD / DEL on fresh netns, and a bare
// `node -e 0`, all in the same run, interleaved, each launched with a clean environment (PATH + CNI_* only).
// Then a breakdown of our ADD / DEL: bare node start, plugin code load (VERSION), connect + one gRPC round trip
// (STATUS), daemon-side handler (its RPC latency histogram), the veth driver alone (in-process), and per run the
// moment the daemon logged the handler done, relative to the plugin's spawn.
//
// DEL, measured alike on both sides. Our daemon deletes a pod's veth and answers once the link is gone,
// leaving the kernel's trailing RCU wait of that delete to a background thread; ptp waits for it inside its
// DEL. After EVERY DEL (ours and ptp's) the same untimed-for-DEL step follows: a throw-away veth is created
// and deleted (the "next veth operation"), which cannot finish before earlier deletes' waits are through. It
// is timed on its own: after ptp's DEL it costs the baseline, after ours it also pays what our DEL deferred.
//   del_ms / ref_del_ms                  DEL alone, as the runtime waits for it
//   del_deferred_ms                      median next-veth-op after our DEL - median after ptp's DEL: the cost
//                                        our DEL moved out of its own time onto whatever touches links next
//   del_settled_ms / ref_del_settled_ms  DEL + the next veth operation, per run: the kernel work of each DEL
//                                        included, the honest side-by-side
//   next_veth_op_ms                      the throw-away veth create + delete after ptp's DEL (baseline)
// Dual stack: a second one-node cluster whose daemon runs ip_stack dual gets an ADD / DEL on a fresh netns in
// every round, interleaved with ours (before it on even rounds, after it on odd ones): dual_add_ms / dual_del_ms
// beside the IPv4-only add_ms / del_ms of the same run (target: dual ADD within 1.15 x the IPv4 ADD).
// Prints a table, and as its LAST line one JSON object {add_ms, del_ms, ref_add_ms, ref_del_ms, node_bare_ms,
// del_deferred_ms, del_settled_ms, ref_del_settled_ms, next_veth_op_ms, dual_add_ms, dual_del_ms}.
// Env: BENCH_RUNS (default 30), BENCH_WARMUP (default 3).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eniBackend } from '../cni/daemonClient.js';
import { connectUnix } from '../cni/grpc.js';
import { VethDriver } from '../drivers/veth.js';
import { API_VERSION } from '../proto/version.js';
import { startCluster, type Cluster } from '../sim/cluster/cluster.js';
import type { NodeDaemon } from '../sim/cluster/daemonProc.js';
import { NsRunner } from '../sim/cluster/nsRunner.js';
import { buildPluginTo, netConf, podEnv, type Pod } from '../sim/cluster/pods.js';
import { cleanEnv, median, percentile, stdoutJson, type TimedRun } from '../sim/cluster/proc.js';
import { cleanupStale, createNetns, deleteNetns, netnsPath } from '../sim/vpcsim/netns.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 30);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const PREFIX = 'bdp';
const DUAL_PREFIX = 'bdq';
const REF_DIR = '/usr/lib/cni';
const REF_NET = 'bdpref';

const out = (s = ''): void => void process.stdout.write(`${s}\n`);
const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(1) : 'n/a');
const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** ptp + host-local from Debian's containernetworking-plugins; installed with apt-get when missing. */
function ensureReferencePlugins(): void {
  const have = (): boolean => existsSync(join(REF_DIR, 'ptp')) && existsSync(join(REF_DIR, 'host-local'));
  if (have()) return;
  out(`reference plugins missing in ${REF_DIR}: apt-get install containernetworking-plugins`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'containernetworking-plugins'], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    install();
  }
  if (!have()) throw new Error(`containernetworking-plugins did not provide ${REF_DIR}/ptp and host-local`);
}

interface Sample {
  add: number[];
  del: number[];
}

function must(what: string, r: TimedRun): TimedRun {
  if (r.code !== 0)
    throw new Error(`${what} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${r.stdout.trim()} ${r.stderr.trim()}`);
  return r;
}

function hasIp(r: TimedRun): boolean {
  const ips = (stdoutJson(r)?.['ips'] as { address?: string }[] | undefined) ?? [];
  return ips.some((i) => typeof i.address === 'string' && i.address.includes('/'));
}

/** Sum and count of one RPC's latency histogram in the daemon's /metrics text. */
function rpcHistogram(text: string, method: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.includes(`rpc_api="${method}"`) || !line.includes('error=""')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('eniipam_rpc_latency_seconds_sum')) sum += v;
    else if (line.startsWith('eniipam_rpc_latency_seconds_count')) count += v;
  }
  return { sum, count };
}

/** Mean daemon-side handler time (ms) of `method` between two /metrics scrapes. */
function rpcMeanMs(before: string, after: string, method: string): number {
  const a = rpcHistogram(before, method);
  const b = rpcHistogram(after, method);
  const n = b.count - a.count;
  return n > 0 ? ((b.sum - a.sum) / n) * 1000 : Number.NaN;
}

function cloudCalls(c: Cluster): Record<string, number> {
  return { ...c.mc.counters() };
}

function callDelta(before: Record<string, number>, after: Record<string, number>): string {
  const d = Object.keys(after)
    .filter((k) => (after[k] ?? 0) !== (before[k] ?? 0))
    .map((k) => `${k}+${(after[k] ?? 0) - (before[k] ?? 0)}`);
  return d.length ? d.join(', ') : 'none';
}

interface Round {
  /** `next`: the throw-away veth create + delete run right after that DEL. */
  ours: { add: TimedRun; del: TimedRun; next: TimedRun };
  ref: { add: TimedRun; del: TimedRun; next: TimedRun };
  bare: TimedRun;
  /** Breakdown probes, in the same round: plugin VERSION (start + exit), STATUS (+ connect + one RPC). */
  version: TimedRun;
  status: TimedRun;
}

/** One interleaved round on fresh netns; the order flips every round so drift hits both sides alike. */
async function round(i: number, runner: NsRunner, plugin: string, daemon: NodeDaemon, work: string): Promise<Round> {
  const oursNs = `${PREFIX}-o${i}`;
  const refNs = `${PREFIX}-r${i}`;
  await createNetns(oursNs);
  await createNetns(refNs);
  try {
    const pod: Pod = {
      name: `bench-${i}`,
      netns: oursNs,
      netnsPath: netnsPath(oursNs),
      containerId: `bench-ours-${i}`,
      ifName: 'eth0',
      node: daemon,
    };
    const oursConf = JSON.stringify(netConf(daemon.socketPath));
    const refConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: REF_NET,
      type: 'ptp',
      ipMasq: false,
      mtu: 1500,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/16' }]], dataDir: join(work, 'host-local') },
    });
    const refEnv = (cmd: string) =>
      cleanEnv({
        CNI_COMMAND: cmd,
        CNI_CONTAINERID: `bench-ref-${i}`,
        CNI_NETNS: netnsPath(refNs),
        CNI_IFNAME: 'eth0',
        CNI_PATH: REF_DIR,
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=ref-${i};K8S_POD_INFRA_CONTAINER_ID=bench-ref-${i}`,
      });
    const oursAdd = async () => {
      const r = must(`our ADD #${i}`, await runner.run({ cmd: plugin, env: podEnv(pod, 'ADD'), stdin: oursConf }));
      if (!hasIp(r)) throw new Error(`our ADD #${i}: no IP in the result: ${r.stdout}`);
      return r;
    };
    const refAdd = async () => {
      const r = must(`ptp ADD #${i}`, await runner.run({ cmd: join(REF_DIR, 'ptp'), env: refEnv('ADD'), stdin: refConf }));
      if (!hasIp(r)) throw new Error(`ptp ADD #${i}: no IP in the result: ${r.stdout}`);
      return r;
    };
    const bare = () => runner.run({ cmd: process.execPath, args: ['-e', '0'], env: cleanEnv() }).then((r) => must('node -e 0', r));
    // After every DEL, both sides alike, timed apart from the DEL: the next veth operation (a throw-away veth
    // created and deleted), which returns only once the kernel's RCU wait of earlier link deletes is through.
    // Our daemon leaves that trailing wait of its veth delete to a background thread; this step pays it, so
    // the next timed command (often the reference DEL) does not, and its time shows what was deferred.
    const nextVethOp = async () =>
      must(
        'next veth operation',
        await runner.run({
          cmd: 'sh',
          args: ['-c', 'ip link add bdpbar0 type veth peer name bdpbar1 && ip link del bdpbar0'],
          env: cleanEnv(),
        }),
      );
    const oursDel = async () => {
      const del = must(`our DEL #${i}`, await runner.run({ cmd: plugin, env: podEnv(pod, 'DEL'), stdin: oursConf }));
      return { del, next: await nextVethOp() };
    };
    const refDel = async () => {
      const del = must(`ptp DEL #${i}`, await runner.run({ cmd: join(REF_DIR, 'ptp'), env: refEnv('DEL'), stdin: refConf }));
      return { del, next: await nextVethOp() };
    };

    const statusConf = JSON.stringify({ ...netConf(daemon.socketPath), cniVersion: '1.1.0' });
    const version = async () => must('plugin VERSION', await runner.run({ cmd: plugin, env: cleanEnv({ CNI_COMMAND: 'VERSION' }) }));
    const status = async () =>
      must(
        'plugin STATUS',
        await runner.run({ cmd: plugin, env: cleanEnv({ CNI_COMMAND: 'STATUS', CNI_PATH: REF_DIR }), stdin: statusConf }),
      );

    const flip = i % 2 === 1;
    let oAdd: TimedRun, rAdd: TimedRun, oDel: { del: TimedRun; next: TimedRun }, rDel: { del: TimedRun; next: TimedRun };
    // The probes rotate too: whichever process runs first after the netns set-up pays a little more.
    const probes: Record<'b' | 'v' | 'st', TimedRun | undefined> = { b: undefined, v: undefined, st: undefined };
    const order = (['b', 'v', 'st'] as const).map((_, k, a) => a[(k + i) % a.length]!);
    for (const k of order) probes[k] = await (k === 'b' ? bare() : k === 'v' ? version() : status());
    const b = probes.b!;
    const v = probes.v!;
    const st = probes.st!;
    if (flip) {
      rAdd = await refAdd();
      oAdd = await oursAdd();
      oDel = await oursDel();
      rDel = await refDel();
    } else {
      oAdd = await oursAdd();
      rAdd = await refAdd();
      rDel = await refDel();
      oDel = await oursDel();
    }
    return { ours: { add: oAdd, ...oDel }, ref: { add: rAdd, ...rDel }, bare: b, version: v, status: st };
  } finally {
    await deleteNetns(oursNs);
    await deleteNetns(refNs);
  }
}

/** One dual-stack ADD + DEL through the plugin on a fresh netns (the result must carry an IPv6 address too). */
async function dualRound(i: number, runner: NsRunner, plugin: string, daemon: NodeDaemon): Promise<{ add: TimedRun; del: TimedRun }> {
  const ns = `${DUAL_PREFIX}-p${i}`;
  await createNetns(ns);
  try {
    const pod: Pod = {
      name: `bench-dual-${i}`,
      netns: ns,
      netnsPath: netnsPath(ns),
      containerId: `bench-dual-${i}`,
      ifName: 'eth0',
      node: daemon,
    };
    const conf = JSON.stringify(netConf(daemon.socketPath));
    const add = must(`dual ADD #${i}`, await runner.run({ cmd: plugin, env: podEnv(pod, 'ADD'), stdin: conf }));
    const ips = (stdoutJson(add)?.['ips'] as { address?: string }[] | undefined) ?? [];
    if (!ips.some((x) => x.address?.includes(':'))) throw new Error(`dual ADD #${i}: no IPv6 address in the result: ${add.stdout}`);
    const del = must(`dual DEL #${i}`, await runner.run({ cmd: plugin, env: podEnv(pod, 'DEL'), stdin: conf }));
    return { add, del };
  } finally {
    await deleteNetns(ns);
  }
}

/** Status over a fresh connection each time, from this (warm) process: transport + daemon cost without a cold client. */
async function warmStatusRtt(socketPath: string, runs: number): Promise<number[]> {
  const xs: number[] = [];
  for (let i = -WARMUP; i < runs; i++) {
    const client = connectUnix(socketPath);
    const t = performance.now();
    await eniBackend(client).status({ apiVersion: API_VERSION }, 5_000);
    const ms = performance.now() - t;
    client.close();
    if (i >= 0) xs.push(ms);
  }
  return xs;
}

/** The veth driver alone, in this process (warm), on fresh pod netns against its own host netns. */
async function driverOnly(runs: number): Promise<Sample> {
  const hostNs = `${PREFIX}-drv`;
  await createNetns(hostNs);
  const driver = new VethDriver({ hostNetnsPath: netnsPath(hostNs) });
  const s: Sample = { add: [], del: [] };
  try {
    for (let i = -WARMUP; i < runs; i++) {
      const podNs = `${PREFIX}-d${i + WARMUP}`;
      await createNetns(podNs);
      try {
        const spec = {
          containerId: `bench-drv-${i + WARMUP}`,
          netnsPath: netnsPath(podNs),
          ifName: 'eth0',
          ip: '10.251.0.10',
          eniId: 'eni-bench',
          eniMac: '00:16:3e:00:00:01',
          primaryEni: true,
          vSwitchCidr: '10.251.0.0/16',
          gateway: '10.251.255.253',
          mtu: 1500,
        };
        let t = performance.now();
        await driver.setup(spec);
        const add = performance.now() - t;
        t = performance.now();
        await driver.teardown({
          containerId: spec.containerId,
          netnsPath: spec.netnsPath,
          ifName: 'eth0',
          ip: spec.ip,
          eniMac: spec.eniMac,
          primaryEni: true,
        });
        const del = performance.now() - t;
        if (i >= 0) {
          s.add.push(add);
          s.del.push(del);
        }
      } finally {
        await deleteNetns(podNs);
      }
    }
  } finally {
    await driver.close();
    await deleteNetns(hostNs);
  }
  return s;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    out('bench:dataplane needs root (network namespaces, veth, policy routing). Not run.');
    return 2;
  }
  ensureReferencePlugins();
  await cleanupStale(PREFIX);
  await cleanupStale(DUAL_PREFIX);
  const work = mkdtempSync(join(tmpdir(), 'bench-dataplane-'));
  let cluster: Cluster | undefined;
  let dualCluster: Cluster | undefined;
  let runner: NsRunner | undefined;
  try {
    const plugin = await buildPluginTo(join(work, 'terway'));
    out(`building the cluster: mock cloud, 1 node netns, daemon (veth driver, min_pool_size 10, ip_cooldown 0s) ...`);
    cluster = await startCluster({ prefix: PREFIX, nodes: 1, minPoolSize: 10, maxPoolSize: 20, ipCooldown: '0s' });
    const daemon = cluster.nodes[0]!.daemon;
    out(`building the dual-stack cluster: the same, its daemon with ip_stack dual ...`);
    dualCluster = await startCluster({
      prefix: DUAL_PREFIX,
      nodes: 1,
      minPoolSize: 10,
      maxPoolSize: 20,
      ipCooldown: '0s',
      extra: { ip_stack: 'dual' },
    });
    const dualDaemon = dualCluster.nodes[0]!.daemon;
    // "The host" for ptp (its veth host ends and /32 routes land here) and where every command is launched.
    const hostNs = `${PREFIX}-host`;
    await createNetns(hostNs);
    runner = await NsRunner.start(hostNs);

    for (let i = 0; i < WARMUP; i++) {
      await round(1000 + i, runner, plugin, daemon, work);
      await dualRound(1000 + i, runner, plugin, dualDaemon);
    }
    const dual: Sample = { add: [], del: [] };
    const m0 = await daemon.metrics();
    const calls0 = cloudCalls(cluster);
    const ours: Sample = { add: [], del: [] };
    // Our DEL leaves the kernel's trailing RCU wait of the veth delete to the daemon's background: the
    // reference DEL is split by whether it ran right after ours (odd rounds) to show it is not slowed
    // (the next veth operation after every DEL is what keeps it so).
    const refDelAfterOurs: number[] = [];
    const refDelBeforeOurs: number[] = [];
    const oursRuns: { i: number; add: TimedRun; del: TimedRun }[] = [];
    const ref: Sample = { add: [], del: [] };
    // The next veth operation after each DEL, and DEL + that operation per run (the DEL's kernel work included).
    const nextAfter = { ours: [] as number[], ref: [] as number[] };
    const settled = { ours: [] as number[], ref: [] as number[] };
    const bare: number[] = [];
    const version: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const d0 = i % 2 === 0 ? await dualRound(i, runner, plugin, dualDaemon) : undefined;
      const r = await round(i, runner, plugin, daemon, work);
      const d = d0 ?? (await dualRound(i, runner, plugin, dualDaemon));
      dual.add.push(d.add.ms);
      dual.del.push(d.del.ms);
      oursRuns.push({ i, ...r.ours });
      ours.add.push(r.ours.add.ms);
      ours.del.push(r.ours.del.ms);
      ref.add.push(r.ref.add.ms);
      ref.del.push(r.ref.del.ms);
      nextAfter.ours.push(r.ours.next.ms);
      nextAfter.ref.push(r.ref.next.ms);
      settled.ours.push(r.ours.del.ms + r.ours.next.ms);
      settled.ref.push(r.ref.del.ms + r.ref.next.ms);
      (i % 2 === 1 ? refDelAfterOurs : refDelBeforeOurs).push(r.ref.del.ms);
      bare.push(r.bare.ms);
      version.push(r.version.ms);
      status.push(r.status.ms);
    }
    const m1 = await daemon.metrics();
    const calls1 = cloudCalls(cluster);

    const drv = await driverOnly(RUNS);
    const warmRtt = median(await warmStatusRtt(daemon.socketPath, RUNS));

    const res = {
      add_ms: round1(median(ours.add)),
      del_ms: round1(median(ours.del)),
      ref_add_ms: round1(median(ref.add)),
      ref_del_ms: round1(median(ref.del)),
      node_bare_ms: round1(median(bare)),
      del_deferred_ms: round1(median(nextAfter.ours) - median(nextAfter.ref)),
      del_settled_ms: round1(median(settled.ours)),
      ref_del_settled_ms: round1(median(settled.ref)),
      next_veth_op_ms: round1(median(nextAfter.ref)),
      dual_add_ms: round1(median(dual.add)),
      dual_del_ms: round1(median(dual.del)),
    };

    out();
    out(`CNI ADD / DEL wall time, ${RUNS} interleaved runs after ${WARMUP} warm-up, fresh netns each, clean env (ms)`);
    const w = [44, 8, 8, 8];
    out(row(['', 'median', 'p90', 'min'], w));
    const line = (name: string, xs: number[]) => out(row([name, fmt(median(xs)), fmt(percentile(xs, 90)), fmt(Math.min(...xs))], w));
    line('ours ADD (terway plugin -> daemon, veth)', ours.add);
    line('ptp + host-local ADD (reference)', ref.add);
    line('ours ADD, ip_stack dual (IPv4 + IPv6)', dual.add);
    line('ours DEL', ours.del);
    line('ours DEL, ip_stack dual', dual.del);
    line('ptp + host-local DEL (reference)', ref.del);
    line('node -e 0 (bare node start)', bare);
    line('next veth op (create+delete) after our DEL', nextAfter.ours);
    line('next veth op (create+delete) after ptp DEL', nextAfter.ref);
    line('ours DEL + next veth op (settled)', settled.ours);
    line('ptp DEL + next veth op (settled)', settled.ref);
    line('  ref DEL right after ours (odd rounds)', refDelAfterOurs);
    line('  ref DEL before ours (even rounds)', refDelBeforeOurs);
    out();
    out(`pool warm during the timed runs: cloud calls made meanwhile: ${callDelta(calls0, calls1)}`);
    const load = loadavg()[0]!;
    out(
      `load average (1 min) at the end: ${load.toFixed(1)} on ${cpus().length} CPUs${load > cpus().length ? '  WARNING: the machine is busy; node start-up suffers more than the Go reference, figures are inflated' : ''}`,
    );

    const addTarget = res.node_bare_ms + 1.5 * res.ref_add_ms;
    const delTarget = res.node_bare_ms + 1.5 * res.ref_del_ms;
    const settledTarget = res.node_bare_ms + 1.5 * res.ref_del_settled_ms;
    const addMet = res.add_ms <= addTarget;
    const dualTarget = 1.15 * res.add_ms;
    const delMet = res.del_ms <= delTarget;
    out();
    out(
      `target ADD: ${fmt(res.add_ms)} <= node_bare ${fmt(res.node_bare_ms)} + 1.5 x ref ${fmt(res.ref_add_ms)} = ${fmt(addTarget)}  -> ${addMet ? 'MET' : 'NOT MET'}`,
    );
    out(
      `target dual ADD: ${fmt(res.dual_add_ms)} <= 1.15 x IPv4 ADD ${fmt(res.add_ms)} = ${fmt(dualTarget)}  -> ${res.dual_add_ms <= dualTarget ? 'MET' : 'NOT MET'}`,
    );
    out(
      `target DEL: ${fmt(res.del_ms)} <= node_bare ${fmt(res.node_bare_ms)} + 1.5 x ref ${fmt(res.ref_del_ms)} = ${fmt(delTarget)}  -> ${delMet ? 'MET' : 'NOT MET'}`,
    );
    out(
      `DEL with each side's kernel work (DEL + next veth op): ${fmt(res.del_settled_ms)} <= node_bare ${fmt(res.node_bare_ms)} + 1.5 x ref ${fmt(res.ref_del_settled_ms)} = ${fmt(settledTarget)}  -> ${res.del_settled_ms <= settledTarget ? 'MET' : 'NOT MET'}`,
    );
    out(
      `our DEL's deferred kernel wait (next veth op after ours - after ptp's): ${fmt(res.del_deferred_ms)} ms, paid by whatever touches links next, not by the DEL`,
    );

    // Where our time goes.
    const vMed = median(version);
    const sMed = median(status);
    const srvStatus = rpcMeanMs(m0, m1, 'Status');
    const srvAlloc = rpcMeanMs(m0, m1, 'AllocIP');
    const srvRelease = rpcMeanMs(m0, m1, 'ReleaseIP');
    const rtt = sMed - vMed - (Number.isFinite(srvStatus) ? srvStatus : 0);
    const dAdd = median(drv.add);
    const dDel = median(drv.del);
    const parts = (total: number, srv: number, drvMs: number, label: string): { name: string; ms: number; sub?: boolean }[] => [
      { name: 'bare node start + exit (node -e 0)', ms: res.node_bare_ms },
      { name: 'plugin code load + VERSION beyond bare node', ms: vMed - res.node_bare_ms },
      { name: 'read config + connect + one gRPC round trip (STATUS - VERSION)', ms: rtt },
      { name: '  of which transport + daemon, warm client (in-process)', ms: warmRtt, sub: true },
      { name: `daemon ${label} handler (mean, RPC histogram)`, ms: srv },
      { name: '  of which veth driver (in-process, separate runs)', ms: drvMs, sub: true },
      // Negative only when the machine is noisy (mean vs median of separate runs): shown as n/a.
      { name: '  of which pool allocate/release + pod DB (rest)', ms: srv - drvMs >= 0 ? srv - drvMs : Number.NaN, sub: true },
      { name: 'unattributed (result printing, bigger messages, noise)', ms: total - vMed - rtt - srv },
    ];
    out();
    out('where our time goes (medians of probes run in the same rounds; daemon handler = mean of its RPC histogram):');
    const w2 = [66, 8, 6];
    for (const [verb, total, srv, drvMs, label] of [
      ['ADD', res.add_ms, srvAlloc, dAdd, 'AllocIP'],
      ['DEL', res.del_ms, srvRelease, dDel, 'ReleaseIP'],
    ] as const) {
      out(row([`${verb} ${fmt(total)} ms`, 'ms', '%'], w2));
      const ps = parts(total, srv, drvMs, label);
      for (const p of ps) out(row([`  ${p.name}`, fmt(p.ms), Number.isFinite(p.ms) ? `${Math.round((p.ms / total) * 100)}` : ''], w2));
      const top = ps.filter((p) => !p.sub && Number.isFinite(p.ms)).sort((a, b) => b.ms - a.ms)[0];
      if (top) out(`  -> dominated by: ${top.name.trim()} (${fmt(top.ms)} of ${fmt(total)} ms)`);
      const ownTop = ps.filter((p) => !p.sub && Number.isFinite(p.ms) && p !== ps[0]).sort((a, b) => b.ms - a.ms)[0];
      if (ownTop && ownTop !== top) out(`     largest part beyond starting node: ${ownTop.name.trim()} (${fmt(ownTop.ms)} ms)`);
    }
    // Per run, from the daemon's own log timestamps (ms resolution): when did the handler finish, relative to spawn?
    const logs = daemon.logRecords();
    const doneAt = (msg: string, containerId: string): number | undefined => {
      const rec = logs.find((l) => l['msg'] === msg && l['containerId'] === containerId);
      const t = rec?.['time'];
      return typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : undefined;
    };
    for (const [verb, msg, pick] of [
      ['ADD', 'AllocIP done', (x: (typeof oursRuns)[number]) => x.add],
      ['DEL', 'ReleaseIP done', (x: (typeof oursRuns)[number]) => x.del],
    ] as const) {
      const toDone: number[] = [];
      const tail: number[] = [];
      for (const x of oursRuns) {
        const run = pick(x);
        const t = doneAt(msg, `bench-ours-${x.i}`);
        if (t === undefined || run.startedAt === undefined) continue;
        toDone.push(t - run.startedAt);
        tail.push(run.ms - (t - run.startedAt));
      }
      if (toDone.length > 0) {
        out(
          `  ${verb} per run (daemon log "${msg}" vs spawn, ${toDone.length} runs): spawn -> daemon handler done ${fmt(median(toDone))} ms, ` +
            `then -> plugin exit ${fmt(median(tail))} ms`,
        );
      } else {
        out(`  ${verb}: no "${msg}" lines with containerId in the daemon log; per-run split not available`);
      }
    }
    out('  (a negative part means the difference of two medians is within the noise of this run)');
    out(
      `  (daemon-side means: AllocIP ${fmt(srvAlloc)} ms, ReleaseIP ${fmt(srvRelease)} ms, Status ${fmt(srvStatus)} ms; driver alone: setup ${fmt(dAdd)} ms, teardown ${fmt(dDel)} ms)`,
    );
    out();
    out(JSON.stringify(res));
    return 0;
  } finally {
    await runner?.close().catch(() => undefined);
    await cluster?.destroy().catch((e: Error) => process.stderr.write(`cleanup: ${e.message}\n`));
    await dualCluster?.destroy().catch((e: Error) => process.stderr.write(`cleanup: ${e.message}\n`));
    await cleanupStale(PREFIX).catch(() => undefined);
    await cleanupStale(DUAL_PREFIX).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`bench:dataplane failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
