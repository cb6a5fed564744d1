// A node daemon as a child process: `node --import tsx daemon/main.ts --config <eni_conf>`,
// inside the node's netns when there is one (`ip netns exec`), with its own socket, DB, metrics socket and
// metadata identity (the mock's per-instance metadata URL).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MockCloudHandle } from '../mockcloud/index.js';
import { spawnInNetns } from './netns.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DAEMON_MAIN = join(ROOT, 'daemon', 'main.ts');
/** Where the demo keeps per-run state: one folder per run prefix (tests pass their own `dir`). */
export const DEMO_RUN_ROOT = join(tmpdir(), process.getuid?.() === 0 ? 'eni-ipam-demo' : `eni-ipam-demo-${process.getuid?.() ?? 'user'}`);

export interface NodeDaemonOptions {
  instanceId: string;
  label: string;
  dir: string;
  /** Run inside this netns (kernel path); undefined: in the demo's own netns (allocation-only path). */
  netns?: string;
  mc: MockCloudHandle;
  driver: 'veth' | 'none';
  minPoolSize: number;
  maxPoolSize: number;
  /** More eni_conf keys (Terway names), merged over the defaults above. */
  extraConf?: Record<string, unknown>;
}

/** Where to register the daemon's stop as soon as it is spawned (the demo's Cleanup, a test's afterAll list). */
export interface StopRegistry {
  push(what: string, run: () => Promise<void>): unknown;
}

export interface NodeDaemon {
  instanceId: string;
  label: string;
  netns?: string;
  socketPath: string;
  metricsSocket: string;
  logPath: string;
  pid: number;
  /** SIGTERM (graceful: the daemon drains and closes its DB), SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Safety net: a daemon still running when the demo exits (teardown interrupted) is killed, never orphaned.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts the daemon and registers its stop on `cleanup` at once (before it is ready), so no path leaks it. */
export async function startNodeDaemon(o: NodeDaemonOptions, cleanup: StopRegistry): Promise<NodeDaemon> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const socketPath = join(o.dir, 'eni.socket');
  const metricsSocket = join(o.dir, 'metrics.socket');
  const logPath = join(o.dir, 'daemon.log');
  const configPath = join(o.dir, 'eni_conf.json');
  const eniConf = {
    version: '1',
    daemon_mode: 'ENIMultiIP',
    driver: o.driver,
    access_key: o.mc.accessKeyId,
    access_secret: o.mc.accessKeySecret,
    region_id: o.mc.regionId,
    cloud_endpoint: o.mc.url,
    metadata_endpoint: o.mc.metadataUrl(o.instanceId),
    socket_path: socketPath,
    db_path: join(o.dir, 'pods.db'),
    metrics_listen: `unix://${metricsSocket}`,
    min_pool_size: o.minPoolSize,
    max_pool_size: o.maxPoolSize,
    ip_cooldown: '0s',
    log_level: 'info',
    ...(o.extraConf ?? {}),
  };
  writeFileSync(configPath, JSON.stringify(eniConf, null, 2), { mode: 0o600 });

  // tsx resolved from this package (not from the caller's cwd), so the demo runs from any directory;
  // through require.resolve, which vitest provides too (it has no import.meta.resolve).
  const args = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, DAEMON_MAIN, '--config', configPath];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  const child: ChildProcess = o.netns
    ? spawnInNetns(o.netns, process.execPath, args, env)
    : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the daemon for ${o.label}`);
  live.add(child);
  child.once('exit', () => live.delete(child));
  writeFileSync(join(o.dir, 'daemon.pid'), String(pid));
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });

  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((res) => log.end(() => res()));
    })();
    return stopping;
  };

  cleanup.push(`stop the ${o.label} daemon (pid ${pid})`, stop);

  // Ready when the daemon logs "daemon ready" (pino JSON line); fail fast when it exits first.
  await new Promise<void>((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`${o.label}: daemon not ready after 30 s\n${tail(logPath)}`)), 30_000);
    const onData = (d: Buffer) => {
      buf = (buf + d.toString('utf8')).slice(-65536);
      if (buf.includes('"msg":"daemon ready"')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        res();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      setTimeout(() => rej(new Error(`${o.label}: daemon exited (${code ?? signal}) during start-up\n${tail(logPath)}`)), 50);
    });
  });

  return { instanceId: o.instanceId, label: o.label, netns: o.netns, socketPath, metricsSocket, logPath, pid, stop };
}

/** Process ids recorded by earlier runs under DEMO_RUN_ROOT/<prefix>/<node>/daemon.pid. */
export function recordedDaemonPids(runDir: string): number[] {
  const pids: number[] = [];
  let nodes: string[] = [];
  try {
    nodes = readdirSync(runDir);
  } catch {
    return pids;
  }
  for (const n of nodes) {
    try {
      const pid = Number(readFileSync(join(runDir, n, 'daemon.pid'), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 1) pids.push(pid);
    } catch {
      // no pid file: that node never started
    }
  }
  return pids;
}

/** True when `pid` is alive and is one of our daemons (its command line names this run's config). */
export function isOurDaemon(pid: number, runDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('daemon/main.ts')) && cmdline.some((a) => a.startsWith(runDir));
  } catch {
    return false;
  }
}

export function removeRunDir(runDir: string): void {
  rmSync(runDir, { recursive: true, force: true });
}
