// CNI plugin start-up + call latency: median wall time of plugin ADD and DEL (warm pool) next to a bare
// `node -e 0`, all with a clean environment (PATH + CNI_* only), runs interleaved.
//
//   npm run bench:cni                    the real daemon (daemon/main.ts in a simulated node netns, mock cloud,
//                                        veth driver, warm pool): needs root, iproute2 and network namespaces;
//                                        without them it says what is missing and exits 2 (there is no fake)
//   npm run bench:cni -- --socket PATH [--driver NAME]
//                                        an already running daemon (pod netns are created here when root);
//                                        --driver names its driver for the report (else "unknown")
//   --runs N                             ADD/DEL pairs (default 30)
//
// Last stdout line: {"add_ms", "del_ms", "node_bare_ms", "daemon", "driver"} for dist/cni/terway, where daemon is
// "real" (started here) or "external" (--socket) and driver the daemon's driver.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlugin, DEFAULT_PLUGIN_PATH } from '../cni/build.js';
import { eniBackend } from '../cni/daemonClient.js';
import { connectUnix } from '../cni/grpc.js';
import { API_VERSION } from '../proto/version.js';

interface Target {
  label: string;
  /** "real": a daemon this bench started; "external": the one at --socket. */
  daemon: 'real' | 'external';
  driver: string;
  socketPath: string;
  /** A netns path for pod i (created on demand), and its cleanup. */
  podNetns(i: number): Promise<string>;
  cleanup(): Promise<void>;
}

interface Run {
  code: number | null;
  stdout: string;
  ms: number;
}

const args = process.argv.slice(2);
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(argValue('--runs') ?? 30);
const WARMUP = 3;

async function timed(cmd: string, argv: string[], env: Record<string, string>, stdin: string): Promise<Run> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), ms: performance.now() - t0 }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.9 * xs.length) - 1)]!;

/** What the real daemon needs here and is missing (root, iproute2, netns), empty when it can run. */
async function missingForRealDaemon(): Promise<string[]> {
  if (process.getuid?.() !== 0) return ['root (network namespaces, veth)'];
  try {
    const { e2eSupport } = await import('../sim/cluster/checks.js');
    const s = await e2eSupport();
    return s.ok ? [] : s.missing;
  } catch (e) {
    return [(e as Error).message];
  }
}

async function netnsMaker(prefix: string): Promise<{ make(i: number): Promise<string>; cleanup(): Promise<void> }> {
  const { createNetns, cleanupStale, netnsPath } = await import('../sim/vpcsim/netns.js');
  await cleanupStale(prefix);
  return {
    async make(i) {
      await createNetns(`${prefix}-p${i}`);
      return netnsPath(`${prefix}-p${i}`);
    },
    cleanup: async () => {
      await cleanupStale(prefix);
    },
  };
}

async function realTarget(): Promise<Target> {
  const { startCluster } = await import('../sim/cluster/cluster.js');
  const prefix = `bcni${process.pid % 10000}`;
  const c = await startCluster({ prefix, nodes: 1, minPoolSize: 4, maxPoolSize: 8, ipCooldown: '0s' });
  // Pod netns under a prefix of their own: cleaning up `prefix` would take the cluster's node and router netns with
  // it (and the router's end of each ENI link, so the node would lose its secondary ENIs' links).
  const ns = await netnsMaker(`${prefix}p`);
  const daemon = c.nodes[0]!.daemon;
  const driver = String(daemon.eniConf()['driver']);
  return {
    label: `real daemon (daemon/main.ts in node netns ${daemon.netns}, mock cloud, ${driver} driver, warm pool)`,
    daemon: 'real',
    driver,
    socketPath: daemon.socketPath,
    podNetns: (i) => ns.make(i),
    cleanup: async () => {
      await ns.cleanup();
      await c.destroy();
    },
  };
}

async function socketTarget(socketPath: string, driver: string): Promise<Target> {
  const root = process.getuid?.() === 0;
  const ns = root ? await netnsMaker(`bcnis${process.pid % 10000}`) : undefined;
  return {
    label: `daemon at ${socketPath} (${driver} driver)`,
    daemon: 'external',
    driver,
    socketPath,
    podNetns: async (i) => (ns ? ns.make(i) : `/var/run/netns/bench-${i}`),
    cleanup: async () => {
      await ns?.cleanup();
    },
  };
}

async function main(): Promise<number> {
  const socketArg = argValue('--socket');
  if (!socketArg) {
    const missing = await missingForRealDaemon();
    if (missing.length > 0) {
      console.error(
        `bench:cni needs the real daemon and cannot start it here: missing ${missing.join(', ')}. ` +
          'Run it as root with iproute2 and network namespaces, or point it at a running daemon with --socket PATH. Not run.',
      );
      return 2;
    }
  }
  const plugin = await buildPlugin(DEFAULT_PLUGIN_PATH);
  // The same bundle as installed by a node's init container: outside any package.json, so CommonJS.
  const instDir = mkdtempSync(join(tmpdir(), 'cni-bin-'));
  const installed = join(instDir, 'terway');
  copyFileSync(plugin, installed);

  const target = socketArg ? await socketTarget(socketArg, argValue('--driver') ?? 'unknown') : await realTarget();

  const PATH = process.env.PATH ?? '/usr/bin:/bin';
  const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'terway', type: 'terway', socket: target.socketPath });
  const bare: number[] = [];
  const add: number[] = [];
  const del: number[] = [];
  const addInst: number[] = [];
  const delInst: number[] = [];
  const allocRpc: number[] = [];
  const releaseRpc: number[] = [];
  const allocCold: number[] = [];
  const releaseCold: number[] = [];
  const netnsOf: string[] = [];
  try {
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const netns = await target.podNetns(i);
      netnsOf[i] = netns;
      const pod = (bin: string, cmd: string, id: string) =>
        timed(
          bin,
          [],
          {
            PATH,
            CNI_COMMAND: cmd,
            CNI_CONTAINERID: id,
            CNI_NETNS: netns,
            CNI_IFNAME: 'eth0',
            CNI_PATH: '/opt/cni/bin',
            CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${i};K8S_POD_INFRA_CONTAINER_ID=${id}`,
          },
          conf,
        );
      const check = (r: Run, what: string) => {
        if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stdout.trim()}`);
        return r.ms;
      };
      // interleaved: bare, ADD, bare, DEL, then the installed copy
      const b1 = (await timed('node', ['-e', '0'], { PATH }, '')).ms;
      const a = check(await pod(plugin, 'ADD', `bench-${i}-a`), 'ADD');
      const b2 = (await timed('node', ['-e', '0'], { PATH }, '')).ms;
      const dl = check(await pod(plugin, 'DEL', `bench-${i}-a`), 'DEL');
      const ai = check(await pod(installed, 'ADD', `bench-${i}-b`), 'ADD (installed copy)');
      const di = check(await pod(installed, 'DEL', `bench-${i}-b`), 'DEL (installed copy)');
      if (i < WARMUP) continue;
      bare.push(b1, b2);
      add.push(a);
      del.push(dl);
      addInst.push(ai);
      delInst.push(di);
    }
    // The daemon's share: the same AllocIP / ReleaseIP from a warm in-process client (no process start).
    const client = connectUnix(target.socketPath);
    const be = eniBackend(client);
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const pod = {
        k8sPodName: `pod-${i}`,
        k8sPodNamespace: 'bench',
        k8sPodInfraContainerId: `bench-${i}-rpc`,
        netns: netnsOf[i]!,
        ifName: 'eth0',
        networkName: 'terway',
      };
      const t0 = performance.now();
      const a = await be.allocIP({ pod, apiVersion: API_VERSION, pluginVersion: 'bench' }, 60_000);
      const t1 = performance.now();
      const r = await be.releaseIP({ pod, apiVersion: API_VERSION, pluginVersion: 'bench', reason: 'bench' }, 60_000);
      const t2 = performance.now();
      if (!a.success || !r.success) throw new Error(`direct RPC failed: ${a.message} ${r.message}`);
      // the same on a fresh connection per call, as the plugin does (the daemon's per-connection cost)
      const cold = async <T>(f: (b: ReturnType<typeof eniBackend>) => Promise<T>): Promise<[T, number]> => {
        const c = connectUnix(target.socketPath);
        const s0 = performance.now();
        try {
          const v = await f(eniBackend(c));
          return [v, performance.now() - s0];
        } finally {
          c.close();
        }
      };
      const coldPod = { ...pod, k8sPodInfraContainerId: `bench-${i}-cold` };
      const [ca, cat] = await cold((b) => b.allocIP({ pod: coldPod, apiVersion: API_VERSION, pluginVersion: 'bench' }, 60_000));
      const [cr, crt] = await cold((b) =>
        b.releaseIP({ pod: coldPod, apiVersion: API_VERSION, pluginVersion: 'bench', reason: 'bench' }, 60_000),
      );
      if (!ca.success || !cr.success) throw new Error(`direct RPC failed: ${ca.message} ${cr.message}`);
      if (i < WARMUP) continue;
      allocRpc.push(t1 - t0);
      releaseRpc.push(t2 - t1);
      allocCold.push(cat);
      releaseCold.push(crt);
    }
    client.close();
  } finally {
    await target.cleanup();
    rmSync(instDir, { recursive: true, force: true });
  }

  const nb = median(bare);
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(44)} ${median(xs).toFixed(1).padStart(8)} ${p90(xs).toFixed(1).padStart(8)} ${(median(xs) / nb).toFixed(2).padStart(8)}x`;
  console.log(`CNI plugin latency, ${RUNS} interleaved runs (+${WARMUP} warm-up), clean env; target: ${target.label}`);
  console.log(`${'what'.padEnd(44)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'vs bare'.padStart(9)}`);
  console.log(row('node -e 0 (bare start)', bare));
  console.log(row('ADD  dist/cni/terway (CJS: dist/cni/package.json)', add));
  console.log(row('DEL  dist/cni/terway', del));
  console.log(row('ADD  installed copy (no package.json: CJS)', addInst));
  console.log(row('DEL  installed copy', delInst));
  console.log(row('AllocIP RPC, warm in-process client', allocRpc));
  console.log(row('ReleaseIP RPC, warm in-process client', releaseRpc));
  console.log(row('AllocIP RPC, new connection per call', allocCold));
  console.log(row('ReleaseIP RPC, new connection per call', releaseCold));
  console.log(
    `plugin's own cost (median ADD/DEL - bare start - new-connection RPC): ADD ${(median(add) - nb - median(allocCold)).toFixed(1)} ms, DEL ${(median(del) - nb - median(releaseCold)).toFixed(1)} ms`,
  );
  console.log(
    JSON.stringify({
      add_ms: Number(median(add).toFixed(1)),
      del_ms: Number(median(del).toFixed(1)),
      node_bare_ms: Number(nb.toFixed(1)),
      daemon: target.daemon,
      driver: target.driver,
    }),
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
