// The mock cloud as a child process (`node --import tsx sim/mockcloud/main.ts`), for callers that time
// something: the mock's request handling (signatures, JSON) then runs on its own event loop, not on theirs.
// Counters come over the admin endpoint.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FaultSpec, WorldDump, WorldSpec } from './types.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface MockCloudProcess {
  url: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  adminUrl: string;
  pid: number;
  metadataUrl(instanceId: string): string;
  /** Calls per action name since start or the last reset (GET /admin/counters). */
  counters(): Promise<Record<string, number>>;
  resetCounters(): Promise<void>;
  /** The account-wide throttle (POST /admin/faults/throttle); null turns it off. */
  setThrottle(qps: number | null, burst?: number): Promise<void>;
  dump(): Promise<WorldDump>;
  /** SIGTERM, SIGKILL after 5 s; resolves once it exited. */
  close(): Promise<void>;
}

interface Banner {
  url: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  admin: string;
}

export interface SpawnOptions {
  attachDelayMs?: number;
  /** A world other than the default one (partial: filled from the default field by field). */
  world?: Partial<WorldSpec>;
  /** Faults from the start (the admin endpoint changes them later). */
  faults?: FaultSpec;
}

export async function spawnMockCloud(opts: SpawnOptions = {}): Promise<MockCloudProcess> {
  const args = ['--import', 'tsx', join(ROOT, 'sim', 'mockcloud', 'main.ts'), '--port', '0'];
  if (opts.attachDelayMs !== undefined) args.push('--attach-delay', String(opts.attachDelayMs));
  // World and faults go over files the child reads at start; removed once it listens.
  const specDir = opts.world || opts.faults ? mkdtempSync(join(tmpdir(), 'mockcloud-spec-')) : undefined;
  if (specDir && opts.world) {
    writeFileSync(join(specDir, 'world.json'), JSON.stringify(opts.world));
    args.push('--world', join(specDir, 'world.json'));
  }
  if (specDir && opts.faults) {
    writeFileSync(join(specDir, 'faults.json'), JSON.stringify(opts.faults));
    args.push('--faults', join(specDir, 'faults.json'));
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  // Never orphaned: if the caller exits without close() (a failed bench), the mock goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
  const banner = await new Promise<Banner>((res, rej) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      try {
        res(JSON.parse(l) as Banner);
      } catch (e) {
        rej(new Error(`mock cloud banner is not JSON: ${l} (${(e as Error).message})`));
      }
    });
    child.once('exit', (code, signal) => rej(new Error(`mock cloud exited (${code ?? signal}) before listening: ${stderr}`)));
  }).finally(() => {
    if (specDir) rmSync(specDir, { recursive: true, force: true });
  });
  const admin = async (method: 'GET' | 'POST', path: string, body: unknown = {}): Promise<unknown> => {
    const r = await fetch(`${banner.admin}${path}`, { method, ...(method === 'POST' ? { body: JSON.stringify(body) } : {}) });
    if (!r.ok) throw new Error(`mock cloud admin ${method} ${path}: HTTP ${r.status}`);
    return r.json();
  };
  return {
    url: banner.url,
    regionId: banner.regionId,
    accessKeyId: banner.accessKeyId,
    accessKeySecret: banner.accessKeySecret,
    adminUrl: banner.admin,
    pid: child.pid!,
    metadataUrl: (id) => `${banner.url}/metadata/${id}`,
    counters: async () => (await admin('GET', '/counters')) as Record<string, number>,
    resetCounters: async () => void (await admin('POST', '/counters/reset')),
    setThrottle: async (qps, burst) => void (await admin('POST', '/faults/throttle', { qps, ...(burst !== undefined ? { burst } : {}) })),
    dump: async () => (await admin('GET', '/dump')) as WorldDump,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
