// One node daemon as a child process INSIDE its node netns (`ip netns exec NODE node --import tsx daemon/main.ts`),
// or in this process's netns when no netns is given (driver `none`: the allocation path only, no root),
// with its own eni_conf, socket, pod DB, metrics socket and metadata identity (the mock's per-instance URL).
// Kill it (SIGKILL) and start it again on the same DB to test crash recovery.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eniBackend, type EniBackend } from '../../cni/daemonClient.js';
import { connectUnix, type UnaryClient } from '../../cni/grpc.js';
import type { GetInfoReply, PodRef, StatusReply } from '../../cni/wire.js';
import { API_VERSION } from '../../proto/version.js';
import { cleanEnv } from './proc.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DAEMON_MAIN_TS = join(ROOT, 'daemon', 'main.ts');

/** What a daemon needs of the mock cloud handle. */
export interface CloudCoordinates {
  url: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  metadataUrl(instanceId: string): string;
}

export interface NodeDaemonOptions {
  instanceId: string;
  /** The node netns the daemon runs in (its ENI links live there); undefined: this process's netns. */
  netns?: string;
  /** Per-daemon folder: eni_conf.json, eni.socket, pods.db, metrics.socket, daemon.log. */
  dir: string;
  cloud: CloudCoordinates;
  minPoolSize: number;
  maxPoolSize: number;
  /** Go duration string, e.g. "0s" (IPs back in the free pool at once) or "30s". */
  ipCooldown?: string;
  /** Extra eni_conf keys (override the defaults above). */
  extra?: Record<string, unknown>;
}

export class DaemonExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly logTail: string,
  ) {
    super(`daemon exited (code ${code}, signal ${signal}) before it was ready; log tail:\n${logTail}`);
    this.name = 'DaemonExitedError';
  }
}

export class NodeDaemon {
  readonly socketPath: string;
  readonly dbPath: string;
  readonly metricsSocket: string;
  readonly logPath: string;
  readonly configPath: string;
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private client?: UnaryClient;
  private backendCache?: EniBackend;
  /** How many times start() ran (1 = first start). */
  starts = 0;

  constructor(readonly opts: NodeDaemonOptions) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.socketPath = join(opts.dir, 'eni.socket');
    this.dbPath = join(opts.dir, 'pods.db');
    this.metricsSocket = join(opts.dir, 'metrics.socket');
    this.logPath = join(opts.dir, 'daemon.log');
    this.configPath = join(opts.dir, 'eni_conf.json');
    writeFileSync(this.configPath, JSON.stringify(this.eniConf(), null, 2), { mode: 0o600 });
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }
  get netns(): string | undefined {
    return this.opts.netns;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  eniConf(): Record<string, unknown> {
    const { cloud, instanceId } = this.opts;
    return {
      version: '1',
      daemon_mode: 'ENIMultiIP',
      eniip_virtual_type: 'veth',
      driver: 'veth',
      access_key: cloud.accessKeyId,
      access_secret: cloud.accessKeySecret,
      region_id: cloud.regionId,
      cloud_endpoint: cloud.url,
      vpc_endpoint: cloud.url,
      metadata_endpoint: cloud.metadataUrl(instanceId),
      instance_id: instanceId,
      socket_path: this.socketPath,
      db_path: this.dbPath,
      metrics_listen: this.metricsSocket,
      min_pool_size: this.opts.minPoolSize,
      max_pool_size: this.opts.maxPoolSize,
      ip_cooldown: this.opts.ipCooldown ?? '0s',
      log_level: 'info',
      ...this.opts.extra,
    };
  }

  /** Starts the daemon in its netns and waits until Status says ready (pool warm when minPoolSize > 0). */
  async start(opts: { readyTimeoutMs?: number; waitWarm?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`daemon for ${this.instanceId} already running (pid ${this.pid})`);
    this.starts++;
    appendFileSync(this.logPath, `=== start #${this.starts} ${new Date().toISOString()} ===\n`);
    const node = [process.execPath, '--import', 'tsx', DAEMON_MAIN_TS, '--config', this.configPath];
    const [cmd, ...args] = this.netns ? ['ip', 'netns', 'exec', this.netns, ...node] : node;
    // The log file is the daemon's stdout/stderr itself: no pipe through this process, whose event loop
    // (a bench timing calls) would otherwise relay every line and could stall the daemon's synchronous writes.
    const log = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(cmd!, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    // Never orphaned: if the caller exits without kill() (a failed bench or suite), the daemon goes with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    void this.exited.then(() => process.off('exit', killOnExit));
    child.once('error', (e) => appendFileSync(this.logPath, `spawn error: ${e.message}\n`));
    await this.waitReady(opts.readyTimeoutMs ?? 45_000, opts.waitWarm ?? true);
  }

  private async waitReady(timeoutMs: number, waitWarm: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void this.exited?.then((e) => (exit = e));
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (exit) throw new DaemonExitedError(exit.code, exit.signal, this.logTail());
      if (existsSync(this.socketPath)) {
        try {
          const s = await this.status(2_000);
          last = `ready=${s.ready} free=${s.freeIps} total=${s.totalIps} ${s.message}`;
          if (s.ready && (!waitWarm || s.freeIps >= this.opts.minPoolSize)) return;
        } catch (e) {
          last = (e as Error).message;
          this.resetClient();
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`daemon for ${this.instanceId} not ready after ${timeoutMs} ms (${last}); log tail:\n${this.logTail()}`);
  }

  backend(): EniBackend {
    if (!this.backendCache) {
      this.client = connectUnix(this.socketPath);
      this.backendCache = eniBackend(this.client);
    }
    return this.backendCache;
  }

  private resetClient(): void {
    this.client?.close();
    this.client = undefined;
    this.backendCache = undefined;
  }

  status(timeoutMs = 5_000): Promise<StatusReply> {
    return this.backend().status({ apiVersion: API_VERSION }, timeoutMs);
  }

  getIpInfo(pod: PodRef, timeoutMs = 5_000): Promise<GetInfoReply> {
    return this.backend().getIPInfo({ pod, apiVersion: API_VERSION }, timeoutMs);
  }

  /** GET /metrics over the unix metrics socket (Prometheus text). */
  metrics(): Promise<string> {
    return this.get('/metrics');
  }

  /** GET an introspection document (`/v1/pool`, `/v1/mapping`, ...) over the metrics socket, parsed. */
  async introspect<T>(path: string): Promise<T> {
    return JSON.parse(await this.get(path)) as T;
  }

  private get(path: string): Promise<string> {
    return new Promise((res, rej) => {
      const req = request({ socketPath: this.metricsSocket, path, method: 'GET' }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
        r.on('error', rej);
      });
      req.on('error', rej);
      req.end();
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` if a gentler signal did not end it). */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    this.resetClient();
    const child = this.child;
    if (!child || !this.exited) return;
    if (this.running) child.kill(signal);
    const timer = setTimeout(() => {
      if (this.running) child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Parsed pino lines of the log (non-JSON lines skipped). */
  logRecords(): Record<string, unknown>[] {
    let text = '';
    try {
      text = readFileSync(this.logPath, 'utf8');
    } catch {
      return [];
    }
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* a partial line */
      }
    }
    return out;
  }
}
