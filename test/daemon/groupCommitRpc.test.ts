// Durable before reply, through the real gRPC server: a burst of AllocIP calls (one connection each, as
// plugins make them) is served by the pool's group commit, and every reply's allocation is already in the
// pod DB file, as another SQLite connection (a restarted daemon) reads it, when the reply arrives. A commit
// that fails turns its group's replies into failures: no success reply goes out ahead of its commit.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eniBackend } from '../../cni/daemonClient.js';
import { connectUnix } from '../../cni/grpc.js';
import { FailureReason, type AllocIPReply } from '../../cni/wire.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { SqlitePoolStore } from '../../daemon/store/index.js';
import type { StoreOp } from '../../pool/store.js';
import { API_VERSION } from '../../proto/version.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

/** The pod DB, whose next commit that writes a pod row fails when armed (a full disk, an I/O error). */
class ArmedStore extends SqlitePoolStore {
  armed = false;
  override apply(ops: StoreOp[]): void {
    if (this.armed && ops.some((o) => o.op === 'putPod')) {
      this.armed = false;
      throw new Error('disk I/O error');
    }
    super.apply(ops);
  }
}

describe('AllocIP burst over gRPC: each reply only after its commit', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle;
  let store: ArmedStore;
  let dbPath: string;

  /** `n` AllocIPs started at once, one connection each; `atReply` runs the moment each reply is decoded. */
  const burst = (n: number, tag: string, atReply: (r: AllocIPReply, podKey: string) => void) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const client = connectUnix(handle.socketPath);
        try {
          const pod = {
            k8sPodName: `${tag}-${i}`,
            k8sPodNamespace: 'default',
            k8sPodInfraContainerId: `${tag}-ctr-${i}`,
            netns: `/var/run/netns/${tag}-${i}`,
            ifName: 'eth0',
            networkName: 'terway',
          };
          const r = await eniBackend(client).allocIP({ pod, apiVersion: API_VERSION, pluginVersion: 'test' }, 30_000);
          atReply(r, `${tag}-ctr-${i}/eth0/terway`);
          return r;
        } finally {
          client.close();
        }
      }),
    );

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 20 });
    const dir = tempDir();
    dbPath = join(dir, 'pods.db');
    const config = mockCloudConfig(mock, dir, {
      min_pool_size: 15,
      max_pool_size: 40,
      ip_cooldown: '0s',
      db_path: dbPath,
    });
    store = new ArmedStore({ path: dbPath });
    handle = await startDaemon(config, { logger: captureLog().logger, store });
    await waitFor(() => handle.allocator.stats().free >= 15, 'pool warm', 10_000);
  });

  afterAll(async () => {
    await handle?.stop();
    store?.close();
    await mock?.close();
  });

  it('25 AllocIPs sent at once (more than the warm pool holds): every reply finds its pod row committed', async () => {
    const reader = new Database(dbPath, { readonly: true });
    try {
      const row = reader.prepare('SELECT ip FROM pods WHERE pod_key = ?');
      const replies = await burst(25, 'gc', (r, podKey) => {
        expect(r.success).toBe(true);
        // read right at the reply, before anything else runs
        expect(row.get(podKey)).toEqual({ ip: r.ips[0]!.address.replace('/32', '') });
      });
      expect(new Set(replies.map((r) => r.ips[0]!.address)).size).toBe(25);
    } finally {
      reader.close();
    }
  });

  it('a failed commit fails its whole group: a reply is a success exactly when its row is committed', async () => {
    await waitFor(() => handle.allocator.stats().free >= 15, 'pool warm again', 10_000);
    const reader = new Database(dbPath, { readonly: true });
    try {
      const row = reader.prepare('SELECT ip FROM pods WHERE pod_key = ?');
      store.armed = true;
      const replies = await burst(10, 'gcf', (r, podKey) => {
        const committed = row.get(podKey) as { ip: string } | undefined;
        if (r.success) expect(committed).toEqual({ ip: r.ips[0]!.address.replace('/32', '') });
        else {
          expect(r.failureReason).toBe(FailureReason.INTERNAL);
          expect(committed).toBeUndefined();
        }
      });
      expect(replies.some((r) => !r.success)).toBe(true);
      // the group's IPs went back: the pool's books hold exactly the committed allocations
      const held = handle.allocator.list().filter((a) => a.podKey.startsWith('gcf-'));
      expect(held.map((a) => a.podKey).sort()).toEqual(replies.flatMap((r, i) => (r.success ? [`gcf-ctr-${i}/eth0/terway`] : [])).sort());
    } finally {
      reader.close();
    }
  });
});
