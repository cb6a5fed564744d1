// The plugin as one file on the node: which build? ADD / DEL / VERSION wall time of each candidate against
// the real daemon (mock cloud, veth driver, warm pool), next to today's `dist/cni/terway` (a script that needs
// Node.js on the host) and the Go reference `ptp` + `host-local`, all in the same run, rounds interleaved and
// rotated, clean environment (PATH + CNI_*), every command launched from one launcher in the node netns.
//
//   npm run bench:plugin [-- --runs N]        (root: network namespaces)
//
// Candidates: `bun build --compile` (Bun runs our TypeScript unchanged), a Node.js single executable application
// with a startup snapshot, and one with a code cache. Last stdout line: one JSON object of medians (ms), sizes
// (MiB) and the newest glibc symbol version each binary needs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlugin } from '../cni/build.js';
import { startCluster, type Cluster } from '../sim/cluster/cluster.js';
import { e2eSupport } from '../sim/cluster/checks.js';
import { NsRunner } from '../sim/cluster/nsRunner.js';
import { netConf, podEnv, type Pod } from '../sim/cluster/pods.js';
import { cleanEnv, median, type TimedRun } from '../sim/cluster/proc.js';
import { cleanupStale, createNetns, deleteNetns, netnsPath } from '../sim/vpcsim/netns.js';
import { buildBunPlugin, buildSeaPlugin } from '../scripts/pluginExe.js';

const PREFIX = `bplg${process.pid % 10000}`;
const REF_DIR = '/usr/lib/cni';
const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 20;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs needs a positive integer');
const WARMUP = 2;
const out = (s = ''): void => void process.stdout.write(`${s}\n`);

interface Candidate {
  key: string;
  label: string;
  path: string;
}

function must(what: string, r: TimedRun): TimedRun {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stdout.trim()} ${r.stderr.trim()}`);
  return r;
}

/** Newest GLIBC_x.y symbol version named in an ELF (what the host's glibc must at least be). */
export function newestGlibc(file: string): string {
  const text = readFileSync(file).toString('latin1');
  let best = [0, 0];
  for (const m of text.matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (v[0]! > best[0]! || (v[0] === best[0] && v[1]! > best[1]!)) best = v;
  }
  return `${best[0]}.${best[1]}`;
}

async function main(): Promise<number> {
  const support = await e2eSupport();
  if (!support.ok) {
    out(`bench:plugin needs ${support.missing.join(', ')}. Not run.`);
    return 2;
  }
  if (!existsSync(join(REF_DIR, 'ptp')) || !existsSync(join(REF_DIR, 'host-local'))) {
    out(`bench:plugin needs ${REF_DIR}/ptp and host-local (apt-get install containernetworking-plugins). Not run.`);
    return 2;
  }
  await cleanupStale(PREFIX);
  const work = mkdtempSync(join(tmpdir(), 'bench-plugin-'));
  let cluster: Cluster | undefined;
  let runner: NsRunner | undefined;
  try {
    out('building the candidates (esbuild script, bun --compile, node SEA + snapshot, node SEA + code cache) ...');
    const cands: Candidate[] = [
      { key: 'script', label: 'node script dist/cni/terway', path: await buildPlugin(join(work, 'script', 'terway')) },
      { key: 'bun', label: 'bun build --compile', path: await buildBunPlugin(join(work, 'bun', 'terway')) },
      {
        key: 'sea_snapshot',
        label: 'node SEA + startup snapshot',
        path: await buildSeaPlugin(join(work, 'seas', 'terway'), { snapshot: true }),
      },
      {
        key: 'sea_codecache',
        label: 'node SEA + code cache',
        path: await buildSeaPlugin(join(work, 'seac', 'terway'), { snapshot: false }),
      },
    ];
    cluster = await startCluster({ prefix: PREFIX, nodes: 1, minPoolSize: 10, maxPoolSize: 20, ipCooldown: '0s' });
    const daemon = cluster.nodes[0]!.daemon;
    const hostNs = `${PREFIX}-host`;
    await createNetns(hostNs);
    runner = await NsRunner.start(hostNs);
    const conf = JSON.stringify(netConf(daemon.socketPath));
    const refConf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'bench-ref',
      type: 'ptp',
      ipMasq: false,
      mtu: 1500,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.251.0.0/16' }]], dataDir: join(work, 'host-local') },
    });
    const run = runner;
    // Untimed after each DEL: a throw-away veth delete returns once the kernel's RCU wait of earlier deletes is through.
    const rcuBarrier = async () =>
      must(
        'rcu barrier',
        await run.run({ cmd: 'sh', args: ['-c', 'ip link add bpbar0 type veth peer name bpbar1 && ip link del bpbar0'], env: cleanEnv() }),
      );

    const add: Record<string, number[]> = {};
    const del: Record<string, number[]> = {};
    const ver: Record<string, number[]> = {};
    const rows = [...cands.map((c) => c.key), 'ptp'];
    for (const k of [...rows, 'node_bare']) ((add[k] = []), (del[k] = []), (ver[k] = []));

    for (let i = 0; i < WARMUP + RUNS; i++) {
      // rotate the order every round so drift hits every candidate alike
      const order = rows.map((_, j) => rows[(i + j) % rows.length]!);
      for (const key of order) {
        const ns = `${PREFIX}-${key.slice(0, 4)}${i}`;
        await createNetns(ns);
        try {
          let a: TimedRun, d: TimedRun, v: TimedRun;
          if (key === 'ptp') {
            const env = (cmd: string) =>
              cleanEnv({ CNI_COMMAND: cmd, CNI_CONTAINERID: `ref-${i}`, CNI_NETNS: netnsPath(ns), CNI_IFNAME: 'eth0', CNI_PATH: REF_DIR });
            a = must('ptp ADD', await run.run({ cmd: join(REF_DIR, 'ptp'), env: env('ADD'), stdin: refConf }));
            d = must('ptp DEL', await run.run({ cmd: join(REF_DIR, 'ptp'), env: env('DEL'), stdin: refConf }));
            v = must('ptp VERSION', await run.run({ cmd: join(REF_DIR, 'ptp'), env: cleanEnv({ CNI_COMMAND: 'VERSION' }) }));
          } else {
            const c = cands.find((x) => x.key === key)!;
            const pod: Pod = {
              name: `b-${key}-${i}`,
              netns: ns,
              netnsPath: netnsPath(ns),
              containerId: `b-${key}-${i}`,
              ifName: 'eth0',
              node: daemon,
            };
            a = must(`${key} ADD`, await run.run({ cmd: c.path, env: podEnv(pod, 'ADD'), stdin: conf }));
            if (!/"ips"/.test(a.stdout)) throw new Error(`${key} ADD printed no ips: ${a.stdout}`);
            d = must(`${key} DEL`, await run.run({ cmd: c.path, env: podEnv(pod, 'DEL'), stdin: conf }));
            v = must(`${key} VERSION`, await run.run({ cmd: c.path, env: cleanEnv({ CNI_COMMAND: 'VERSION' }) }));
          }
          await rcuBarrier();
          if (i >= WARMUP) (add[key]!.push(a.ms), del[key]!.push(d.ms), ver[key]!.push(v.ms));
        } finally {
          await deleteNetns(ns);
        }
      }
      const bare = must('node -e 0', await run.run({ cmd: process.execPath, args: ['-e', '0'], env: cleanEnv() }));
      if (i >= WARMUP) ver.node_bare!.push(bare.ms);
    }

    const size = (p: string) => statSync(p).size / 2 ** 20;
    const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
    out(`plugin builds, ${RUNS} rounds (+${WARMUP} warm-up), real daemon (veth driver, warm pool), clean env; medians in ms`);
    out(
      `${'candidate'.padEnd(32)} ${'ADD'.padStart(7)} ${'DEL'.padStart(7)} ${'VERSION'.padStart(8)} ${'ADD/ptp'.padStart(8)} ${'MiB'.padStart(6)}  needs`,
    );
    const ptpAdd = median(add.ptp!);
    for (const c of cands) {
      const needs =
        c.key === 'script' ? 'node on the host' : `glibc >= ${newestGlibc(c.path)}${c.key === 'bun' ? ', x86-64 AVX2' : ', libstdc++'}`;
      out(
        `${c.label.padEnd(32)} ${fmt(median(add[c.key]!)).padStart(7)} ${fmt(median(del[c.key]!)).padStart(7)} ${fmt(median(ver[c.key]!)).padStart(8)} ${(median(add[c.key]!) / ptpAdd).toFixed(2).padStart(7)}x ${size(c.path).toFixed(2).padStart(6)}  ${needs}`,
      );
    }
    out(
      `${'ptp + host-local (Go reference)'.padEnd(32)} ${fmt(ptpAdd).padStart(7)} ${fmt(median(del.ptp!)).padStart(7)} ${fmt(median(ver.ptp!)).padStart(8)} ${'1.00'.padStart(7)}x ${size(join(REF_DIR, 'ptp')).toFixed(1).padStart(6)}  glibc >= ${newestGlibc(join(REF_DIR, 'ptp'))}`,
    );
    out(`${'node -e 0 (bare start)'.padEnd(32)} ${''.padStart(7)} ${''.padStart(7)} ${fmt(median(ver.node_bare!)).padStart(8)}`);
    const json: Record<string, number | string> = {};
    for (const k of rows) {
      json[`${k}_add_ms`] = Number(fmt(median(add[k]!)));
      json[`${k}_del_ms`] = Number(fmt(median(del[k]!)));
      json[`${k}_version_ms`] = Number(fmt(median(ver[k]!)));
    }
    for (const c of cands) json[`${c.key}_mib`] = Number(size(c.path).toFixed(2));
    json.node_bare_ms = Number(fmt(median(ver.node_bare!)));
    out(JSON.stringify(json));
    return 0;
  } finally {
    await runner?.close();
    await cluster?.destroy().catch((e: Error) => out(`teardown: ${e.message}`));
    await cleanupStale(PREFIX);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
