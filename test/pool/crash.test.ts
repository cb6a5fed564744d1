// Crash safety: a child runs the pool on a SQLite file with allocate/release churn and is SIGKILLed at
// random points, then restarted on the same DB. After the final restart's reconcile, docs/ARCHITECTURE.md's
// invariants must hold against the mock cloud's own state, and no acknowledged allocation may be lost.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { SqlitePoolStore } from '../../daemon/store/sqliteStore.js';
import { createEniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { mockCloudClient } from '../support/mockCloud.js';
import { checkInvariants, NODE } from './mockRig.js';
import { mulberry32 } from '../../sim/random.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('pool-crash-');
let childScript: string;
beforeAll(async () => {
  // Bundle the child once (packages stay external): starting it is then plain node, not a tsx
  // transform of the whole import graph per start. It lives under node_modules/.cache so that its
  // package imports resolve from the repo's node_modules.
  const cacheDir = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'eni-ipam-crash-test');
  mkdirSync(cacheDir, { recursive: true });
  childScript = join(cacheDir, `child-${process.pid}.mjs`);
  await build({
    entryPoints: [join(import.meta.dirname, 'crashChild.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: childScript,
    logLevel: 'silent',
  });
});
afterAll(() => {
  rmSync(childScript, { force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one child until `killAfterMs` past its "ready" line, SIGKILLs it, and returns its stdout lines. */
function runAndKill(mc: MockCloudHandle, db: string, seed: number, killAfterMs: number): Promise<{ lines: string[]; stderr: string }> {
  const config = {
    url: mc.url,
    regionId: mc.regionId,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataUrl: mc.metadataUrl(NODE),
    db,
    seed,
  };
  const child = spawn(process.execPath, [childScript], {
    env: { ...process.env, CRASH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnedAt = Date.now();
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 45_000); // a loaded CI box can be slow to start it
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!timer && out.includes('ready\n')) {
        if (process.env.CRASH_DEBUG) console.log(`child ready after ${Date.now() - spawnedAt} ms`);
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL' || !out.includes('ready\n'))
        reject(new Error(`child exited code=${code} signal=${signal} before the kill: ${err}`));
      else resolve({ lines: out.split('\n').filter(Boolean), stderr: err });
    });
  });
}

async function crashRun(seed: number): Promise<void> {
  const rnd = mulberry32(seed);
  const mc = await startMockCloud({ attachDelayMs: 30, faults: { latency: { '*': [2, 15] } } });
  const db = join(dir, `crash-${seed}.sqlite`);
  // Last acknowledged event per pod key, across all children.
  const last = new Map<string, { ev: string; ip?: string }>();
  let allocs = 0;
  try {
    for (let round = 0; round < 3; round++) {
      const { lines } = await runAndKill(mc, db, seed * 100 + round, 250 + Math.floor(rnd() * 900));
      for (const l of lines) {
        const [ev, key, ip] = l.split(' ');
        if (ev === 'alloc' || ev === 'releasing' || ev === 'release') last.set(key!, { ev, ip });
        if (ev === 'alloc') allocs++;
      }
    }
    expect(allocs).toBeGreaterThan(20); // the churn really ran
    if (process.env.CRASH_DEBUG) console.log(`seed ${seed}: ${allocs} allocs`, JSON.stringify(mc.counters()));

    // Let whatever the dead child left in flight at the cloud finish, then restart on the same DB.
    await mc.settle();
    await sleep(40);
    await mc.settle();
    const store = new SqlitePoolStore({ path: db });
    const cloud = mockCloudClient(mc);
    const pool = await createEniMultiIpPool({
      cloud,
      store,
      instanceId: NODE,
      instanceType: 'ecs.g7.4xlarge',
      vSwitchIds: ['vsw-mock-a', 'vsw-mock-b'],
      securityGroupIds: ['sg-mock-1'],
      config: { minPoolSize: 2, maxPoolSize: 5, ipCooldownMs: 30 },
      timers: false,
    });
    await pool.start();
    await pool.whenIdle();
    await mc.settle();
    const snap = store.load();
    expect(checkInvariants(mc.dump(), snap), `seed ${seed}`).toEqual([]);
    // Every allocation the child acknowledged and did not start releasing is still there, same IP.
    const pods = new Map(snap.pods.map((p) => [p.podKey, p.ip]));
    for (const [key, e] of last) if (e.ev === 'alloc') expect(pods.get(key), `seed ${seed} ${key}`).toBe(e.ip);
    for (const [key, e] of last) if (e.ev === 'release') expect(pods.has(key), `seed ${seed} ${key}`).toBe(false);
    // and the pool is usable
    const a = await pool.allocate({ namespace: 'after', name: 'x', containerId: 'after-crash', ifName: 'eth0', networkName: 'terway' });
    expect([...pods.values()]).not.toContain(a.ip);
    await pool.stop();
    store.close();
  } finally {
    await mc.close();
  }
}

describe('pool crash safety (SIGKILL at random points, restart on the same DB)', () => {
  it('keeps the invariants over several seeds', async () => {
    await Promise.all([11, 23, 37].map((s) => crashRun(s)));
  }, 90_000);
});
