// Group commit: allocations requested in the same event-loop turn are committed in one pod-DB transaction,
// and none of them resolves before that commit. Checked against the in-memory store (commit count, failure)
// and against the real SQLite store read through a second connection (what a restarted daemon would see).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlitePoolStore } from '../../daemon/store/index.js';
import { createEniMultiIpPool, type EniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore, type PoolStore, type StoreOp } from '../../pool/store.js';
import { PoolError, podKeyOf, type IpAllocation } from '../../pool/types.js';
import { numberedPod as pod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { FakeCloud } from './fakeCloud.js';

const pools: EniMultiIpPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});
const dir = tempDir('groupcommit-');

/** A pool warmed to `minPoolSize` free IPs on the in-memory cloud. */
async function warmPool(store: PoolStore, minPoolSize: number): Promise<{ pool: EniMultiIpPool; cloud: FakeCloud }> {
  const cloud = new FakeCloud({ ipv4PerEni: 20 });
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: cloud.instanceId,
    instanceType: 'ecs.fake',
    vSwitchIds: ['vsw-a'],
    securityGroupIds: ['sg-1'],
    config: { minPoolSize, maxPoolSize: minPoolSize + 10, ipCooldownMs: 0, allocDeadlineMs: 5_000 },
    timers: false,
  });
  pools.push(pool);
  await pool.start();
  await pool.whenIdle();
  expect(pool.stats().free).toBeGreaterThanOrEqual(minPoolSize);
  return { pool, cloud };
}

/** A store whose next commit that writes a pod row fails (a full disk, an I/O error). */
class FailingOnceStore extends MemoryPoolStore {
  armed = false;
  override apply(ops: StoreOp[]): void {
    if (this.armed && ops.some((o) => o.op === 'putPod')) {
      this.armed = false;
      throw new Error('disk I/O error');
    }
    super.apply(ops);
  }
}

describe('group commit of allocations', () => {
  it('a burst in one turn is one commit, and each allocation is in the store when its promise resolves', async () => {
    const store = new MemoryPoolStore();
    const { pool, cloud } = await warmPool(store, 10);
    const calls = { ...cloud.calls };
    const commits = store.commits;
    const seenAtResolve: boolean[] = [];
    const allocs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pool.allocate(pod(i)).then((a) => {
          seenAtResolve.push(store.load().pods.some((p) => p.podKey === a.podKey && p.ip === a.ip));
          return a;
        }),
      ),
    );
    expect(seenAtResolve).toEqual(Array(8).fill(true));
    expect(store.commits).toBe(commits + 1);
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(8);
    expect(cloud.calls).toEqual(calls); // served from the warm pool
    // an allocation of a later turn is its own commit
    await pool.whenIdle(); // (the refill toward min_pool_size commits too)
    const later = store.commits;
    await pool.allocate(pod(100));
    expect(store.commits).toBe(later + 1);
  });

  it('each allocation is readable from another SQLite connection when it resolves (committed, not just written)', async () => {
    const path = join(dir, 'pods.db');
    const store = new SqlitePoolStore({ path });
    const reader = new Database(path, { readonly: true });
    try {
      const { pool } = await warmPool(store, 12);
      const row = reader.prepare('SELECT ip FROM pods WHERE pod_key = ?');
      const state = reader.prepare('SELECT state, pod_key FROM ips WHERE ip = ?');
      const check = (a: IpAllocation) => {
        expect(row.get(a.podKey)).toEqual({ ip: a.ip });
        expect(state.get(a.ip)).toEqual({ state: 'assigned', pod_key: a.podKey });
        return a;
      };
      const allocs = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.allocate(pod(i)).then(check)));
      expect(new Set(allocs.map((a) => a.ip)).size).toBe(10);
    } finally {
      reader.close();
      await Promise.all(pools.splice(0).map((p) => p.stop()));
      store.close();
    }
  });

  it('a failed group commit fails every request of the group and gives their IPs back', async () => {
    const store = new FailingOnceStore();
    const { pool } = await warmPool(store, 6);
    const free = pool.stats().free;
    store.armed = true;
    const results = await Promise.allSettled([1, 2, 3].map((i) => pool.allocate(pod(i))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: 'Internal' });
    }
    expect(pool.list()).toEqual([]);
    expect(pool.stats()).toMatchObject({ free, assigned: 0 });
    expect(store.load().pods).toEqual([]);
    // the next turn commits normally
    const a = await pool.allocate(pod(1));
    expect(store.load().pods.map((p) => p.ip)).toEqual([a.ip]);
  });

  it('requests beyond the free IPs in the same turn wait for the cloud and are served in order', async () => {
    const store = new MemoryPoolStore();
    const { pool, cloud } = await warmPool(store, 3);
    const free = pool.stats().free;
    const allocs = await Promise.all(Array.from({ length: free + 4 }, (_, i) => pool.allocate(pod(i))));
    expect(new Set(allocs.map((a) => a.ip)).size).toBe(free + 4);
    expect(cloud.calls['AssignPrivateIpAddresses']).toBeGreaterThan(0);
    const rows = new Map(store.load().pods.map((p) => [p.podKey, p.ip]));
    for (const a of allocs) expect(rows.get(a.podKey)).toBe(a.ip);
  });

  it('a request released or stopped before its turn ends takes no IP', async () => {
    const store = new MemoryPoolStore();
    const { pool } = await warmPool(store, 4);
    const free = pool.stats().free;
    const released = pool.allocate(pod(1));
    const kept = pool.allocate(pod(2));
    expect(pool.stats().pendingRequests).toBe(2);
    expect(await pool.release(podKeyOf(pod(1)))).toBeUndefined();
    await expect(released).rejects.toMatchObject({ reason: 'Internal' });
    await kept;
    expect(pool.list().map((a) => a.podKey)).toEqual([podKeyOf(pod(2))]);
    expect(pool.stats()).toMatchObject({ free: free - 1, pendingRequests: 0 });

    const late = pool.allocate(pod(3)).catch((e: unknown) => e);
    await pool.stop();
    expect(await late).toMatchObject({ reason: 'ShuttingDown' });
    expect(store.load().pods.map((p) => p.podKey)).toEqual([podKeyOf(pod(2))]);
  });
});
