// Durable before reply, through the real gRPC server: a burst of AllocIP calls (one connection each, as
// plugins make them) is served by the pool's group commit, and every reply's allocation is already in the
// pod DB file, as another SQLite connection (a restarted daemon) reads it, when the reply arrives.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eniBackend } from '../../cni/daemonClient.js';
import { connectUnix } from '../../cni/grpc.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { API_VERSION } from '../../proto/version.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { captureLog, tempDir, waitFor } from './helpers.js';

describe('AllocIP burst over gRPC: each reply only after its commit', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle;
  let dbPath: string;

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 20 });
    const dir = tempDir();
    dbPath = join(dir, 'pods.db');
    const config = parseDaemonConfig({
      region_id: mock.regionId,
      access_key: mock.accessKeyId,
      access_secret: mock.accessKeySecret,
      cloud_endpoint: mock.url,
      metadata_endpoint: mock.metadataUrl('i-mock-node-1'),
      min_pool_size: 15,
      max_pool_size: 40,
      ip_cooldown: '0s',
      socket_path: join(dir, 'eni.socket'),
      db_path: dbPath,
      driver: 'none',
    }).config;
    handle = await startDaemon(config, { logger: captureLog().logger });
    await waitFor(() => handle.allocator.stats().free >= 15, 'pool warm', 10_000);
  });

  afterAll(async () => {
    await handle?.stop();
    await mock?.close();
  });

  it('25 AllocIPs sent at once (more than the warm pool holds): every reply finds its pod row committed', async () => {
    const reader = new Database(dbPath, { readonly: true });
    try {
      const row = reader.prepare('SELECT ip FROM pods WHERE pod_key = ?');
      const replies = await Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const client = connectUnix(handle.socketPath);
          try {
            const pod = {
              k8sPodName: `gc-${i}`,
              k8sPodNamespace: 'default',
              k8sPodInfraContainerId: `gc-ctr-${i}`,
              netns: `/var/run/netns/gc-${i}`,
              ifName: 'eth0',
              networkName: 'terway',
            };
            const r = await eniBackend(client).allocIP({ pod, apiVersion: API_VERSION, pluginVersion: 'test' }, 30_000);
            expect(r.success).toBe(true);
            const ip = r.ips[0]!.address.replace('/32', '');
            // read right at the reply, before anything else runs
            expect(row.get(`gc-ctr-${i}/eth0/terway`)).toEqual({ ip });
            return ip;
          } finally {
            client.close();
          }
        }),
      );
      expect(new Set(replies).size).toBe(25);
    } finally {
      reader.close();
    }
  });
});
