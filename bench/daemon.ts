// Daemon start-up and footprint: time from exec to the "daemon ready" log line (the daemon serves from then on)
// and resident memory, driver `none`, ENIMultiIP, against the mock cloud (a child process). Two builds of the same
// sources, starts interleaved: the image's (scripts/image.ts bundles daemon/main.ts with esbuild into one file;
// the chart runs it as `node /opt/eni-ipam/dist/daemon/main.js`) and tsc's dist/daemon/main.js (`npm run daemon`).
//   ready_ms_0    median over --runs starts with an empty pod DB (a fresh node: only the primary ENI)
//   ready_ms_250  median over --runs starts on a pod DB holding 250 pods (put there through AllocIP by a first
//                 daemon, which then stops), the cloud showing their ENIs and IPs
//   rss_mib_250   median VmRSS of those starts, sampled --settle-ms after ready (the daemon idle, serving)
//   baseline_node_ms  median of a bare `node -e 0` in the same run (what any Node process costs here)
// The table also shows the 250-pod starts with Kubernetes configured (kube_api_server + token, the in-memory API
// server of sim/kube in this process, holding the Node and the 250 pods), as every daemon in a cluster runs: the
// start reads its Node for the per-node settings (terway-config, exclusive ENI labels).
// The JSON figures are the image build's. Prints a table, then one JSON object as the last line. `--profile DIR`
// writes a V8 CPU profile of each start there (node --cpu-prof), to see where start-up time goes.
//   npm run bench:daemon [-- --runs N] [--pods N] [--settle-ms MS] [--profile DIR]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eniBackend } from '../cni/daemonClient.js';
import { connectUnix } from '../cni/grpc.js';
import { API_VERSION } from '../proto/version.js';
import { mapLimit } from '../sim/cluster/checks.js';
import { ROOT } from '../sim/cluster/daemonProc.js';
import { cleanEnv, median } from '../sim/cluster/proc.js';
import { spawnMockCloud, type MockCloudProcess } from '../sim/mockcloud/child.js';
import { defaultWorldSpec } from '../sim/mockcloud/index.js';
import { FakeApiServer } from '../sim/kube/index.js';
import { bundleEntries } from '../scripts/image.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const RUNS = Number(arg('--runs', '5'));
const PODS = Number(arg('--pods', '250'));
const SETTLE_MS = Number(arg('--settle-ms', '1000'));
const PROFILE_DIR = args.includes('--profile') ? resolve(arg('--profile', 'bench/out/daemon-prof')) : undefined;
const NODE = 'i-mock-node-1';
const TSC_MAIN = join(ROOT, 'dist', 'daemon', 'main.js');
// Under the package root (its package.json makes the bundle an ES module and leads the daemon to its .proto files).
const BUNDLE_DIR = join(ROOT, 'dist', 'image-bundle');
const BUNDLE_MAIN = join(BUNDLE_DIR, 'dist', 'daemon', 'main.js');

interface Build {
  label: string;
  main: string;
  empty: Start[];
  full: Start[];
  /** The full DB with Kubernetes configured (kube_api_server: the in-memory API server with the Node and the pods). */
  kube: Start[];
}

interface Start {
  readyMs: number;
  rssMib: number;
  peakMib: number;
}

/** The bench node: 10 ENIs of 30 IPv4 each, room for 9 × 30 = 270 pods (the default world's node holds 140). */
function benchWorld(): ReturnType<typeof defaultWorldSpec> {
  const w = defaultWorldSpec();
  w.instanceTypes = [...w.instanceTypes, { id: 'ecs.bench.large-node', eniQuantity: 10, ipv4PerEni: 30, ipv6PerEni: 30 }];
  w.instances = w.instances.map((i) => (i.id === NODE ? { ...i, instanceType: 'ecs.bench.large-node' } : i));
  return w;
}

function eniConf(mc: MockCloudProcess, dir: string): Record<string, unknown> {
  return {
    access_key: mc.accessKeyId,
    access_secret: mc.accessKeySecret,
    region_id: mc.regionId,
    cloud_endpoint: mc.url,
    vpc_endpoint: mc.url,
    metadata_endpoint: mc.metadataUrl(NODE),
    instance_id: NODE,
    socket_path: join(dir, 'eni.socket'),
    db_path: join(dir, 'pods.db'),
    driver: 'none',
    min_pool_size: 0,
    max_pool_size: 5,
    ip_cooldown: '0s',
    log_level: 'info',
  };
}

function vmKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

interface Running {
  pid: number;
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts the built daemon `main` on `configPath`; resolves at its "daemon ready" line. */
function startDaemon(main: string, configPath: string, label: string): Promise<Running> {
  const flags = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${label}.cpuprofile`] : [];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...flags, main, '--config', configPath], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  let tail = '';
  return new Promise((resolveStart, reject) => {
    let ready = false;
    child.stdout.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-8192);
      if (!ready && tail.includes('"msg":"daemon ready"')) {
        ready = true;
        const readyMs = performance.now() - t0;
        resolveStart({
          pid: child.pid!,
          readyMs,
          stop: async () => {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-8192)));
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`daemon exited (${code ?? signal}) before ready:\n${tail}`));
    });
  });
}

async function measuredStart(main: string, configPath: string, label: string): Promise<Start> {
  const d = await startDaemon(main, configPath, label);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const out = { readyMs: d.readyMs, rssMib: vmKib(d.pid, 'VmRSS') / 1024, peakMib: vmKib(d.pid, 'VmHWM') / 1024 };
  await d.stop();
  return out;
}

async function bareNodeMs(): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((res, rej) => {
    const c = spawn(process.execPath, ['-e', '0'], { env: cleanEnv(), stdio: 'ignore' });
    c.once('error', rej);
    c.once('exit', () => res());
  });
  return performance.now() - t0;
}

/** Puts `n` pods in the pod DB through AllocIP on a running daemon (then stopped). */
async function populate(configPath: string, socketPath: string, n: number): Promise<void> {
  const d = await startDaemon(BUNDLE_MAIN, configPath, 'populate');
  try {
    const client = connectUnix(socketPath);
    const backend = eniBackend(client);
    const ids = Array.from({ length: n }, (_, i) => i);
    await mapLimit(ids, 16, async (i) => {
      const pod = {
        k8sPodName: `bench-${i}`,
        k8sPodNamespace: 'default',
        k8sPodInfraContainerId: `bench-${i.toString().padStart(4, '0')}`,
        netns: `/var/run/netns/bench-${i}`,
        ifName: 'eth0',
        networkName: 'terway',
      };
      const r = await backend.allocIP({ pod, apiVersion: API_VERSION, pluginVersion: 'bench' }, 120_000);
      if (!r.success) throw new Error(`AllocIP ${pod.k8sPodInfraContainerId}: ${r.message}`);
    });
    client.close();
  } finally {
    await d.stop();
  }
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

async function main(): Promise<void> {
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  try {
    readFileSync(TSC_MAIN);
  } catch {
    throw new Error(`${TSC_MAIN} is missing: run npm run build first (npm run bench:daemon does)`);
  }
  await bundleEntries(BUNDLE_DIR);
  const builds: Build[] = [
    { label: 'image (esbuild bundle)', main: BUNDLE_MAIN, empty: [], full: [], kube: [] },
    { label: 'tsc dist', main: TSC_MAIN, empty: [], full: [], kube: [] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'bench-daemon-'));
  const mc = await spawnMockCloud({ attachDelayMs: 20, world: benchWorld() });
  let api: FakeApiServer | undefined;
  try {
    const baseline: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const [b, build] of builds.entries()) {
        // A fresh node each time: its own DB, and the cloud shows only the primary ENI (min_pool_size 0).
        const runDir = join(dir, `empty-${i}-${b}`);
        mkdirSync(runDir, { mode: 0o700 });
        writeFileSync(join(runDir, 'eni_conf.json'), JSON.stringify(eniConf(mc, runDir)));
        baseline.push(await bareNodeMs());
        build.empty.push(await measuredStart(build.main, join(runDir, 'eni_conf.json'), `empty-${i}-${b}`));
      }
    }

    const fullDir = join(dir, 'full');
    mkdirSync(fullDir, { mode: 0o700 });
    const config = join(fullDir, 'eni_conf.json');
    writeFileSync(config, JSON.stringify(eniConf(mc, fullDir)));
    await populate(config, join(fullDir, 'eni.socket'), PODS);
    api = await FakeApiServer.start();
    api.addNode('bench-node');
    for (let i = 0; i < PODS; i++) api.addPod({ namespace: 'default', name: `bench-${i}`, nodeName: 'bench-node' });
    const tokenFile = join(fullDir, 'kube-token');
    writeFileSync(tokenFile, api.token, { mode: 0o600 });
    const kubeConfig = join(fullDir, 'eni_conf_kube.json');
    writeFileSync(
      kubeConfig,
      JSON.stringify({ ...eniConf(mc, fullDir), kube_api_server: api.url, kube_token_file: tokenFile, node_name: 'bench-node' }),
    );
    for (let i = 0; i < RUNS; i++) {
      for (const [b, build] of builds.entries()) {
        baseline.push(await bareNodeMs());
        build.full.push(await measuredStart(build.main, config, `pods${PODS}-${i}-${b}`));
        build.kube.push(await measuredStart(build.main, kubeConfig, `pods${PODS}-kube-${i}-${b}`));
      }
    }

    const row = (label: string, xs: Start[]) =>
      `${label.padEnd(44)} ${fmt(median(xs.map((s) => s.readyMs))).padStart(8)} ${fmt(Math.min(...xs.map((s) => s.readyMs))).padStart(8)} ${fmt(
        Math.max(...xs.map((s) => s.readyMs)),
      ).padStart(8)} ${fmt(median(xs.map((s) => s.rssMib)), 1).padStart(9)} ${fmt(Math.max(...xs.map((s) => s.peakMib)), 1).padStart(9)}`;
    console.log(`daemon start-up, ${RUNS} starts each (driver none, mock cloud child)`);
    console.log(
      `${'build, pod DB'.padEnd(44)} ${'ready ms'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'RSS MiB'.padStart(9)} ${'peak MiB'.padStart(9)}`,
    );
    for (const b of builds) {
      console.log(row(`${b.label}, empty`, b.empty));
      console.log(row(`${b.label}, ${PODS} pods`, b.full));
      console.log(row(`${b.label}, ${PODS} pods, Kubernetes`, b.kube));
    }
    console.log(`bare node -e 0: ${fmt(median(baseline))} ms (median of ${baseline.length}); RSS sampled ${SETTLE_MS} ms after ready`);
    if (PROFILE_DIR) console.log(`CPU profiles in ${PROFILE_DIR}`);
    const image = builds[0]!;
    console.log(
      JSON.stringify({
        ready_ms_0: Math.round(median(image.empty.map((s) => s.readyMs))),
        ready_ms_250: Math.round(median(image.full.map((s) => s.readyMs))),
        rss_mib_250: Number(median(image.full.map((s) => s.rssMib)).toFixed(1)),
        baseline_node_ms: Math.round(median(baseline)),
      }),
    );
  } finally {
    await api?.close();
    await mc.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(BUNDLE_DIR, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
