// Child process for crash.test.ts: runs the pool on a SQLite file against the mock cloud and churns
// allocations/releases until the parent SIGKILLs it. Prints "ready" once started, then one line per op.
import { SqlitePoolStore } from '../../daemon/store/sqliteStore.js';
import { createEniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import type { PodRef } from '../../pool/types.js';
import { mulberry32 } from '../../sim/random.js';
import { mockCloudClient } from '../support/mockCloud.js';

interface ChildConfig {
  url: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  metadataUrl: string;
  db: string;
  seed: number;
}

const cfg = JSON.parse(process.env.CRASH_CHILD_CONFIG ?? '{}') as ChildConfig;

async function main(): Promise<void> {
  const rnd = mulberry32(cfg.seed);
  const cloud = mockCloudClient({ ...cfg, metadataUrl: () => cfg.metadataUrl });
  const store = new SqlitePoolStore({ path: cfg.db });
  const meta = await cloud.getInstanceMetadata();
  const pool = await createEniMultiIpPool({
    cloud,
    store,
    instanceId: meta.instanceId,
    instanceType: meta.instanceType,
    vSwitchIds: ['vsw-mock-a', 'vsw-mock-b'],
    securityGroupIds: ['sg-mock-1'],
    config: {
      minPoolSize: 2,
      maxPoolSize: 5,
      ipCooldownMs: 30,
      statefulReserveMs: 200,
      idleIpReclaimAfterMs: 50,
      idleIpReclaimIntervalMs: 20,
      idleIpReclaimBatchSize: 10,
      tickIntervalMs: 15,
      gcIntervalMs: 300,
      allocDeadlineMs: 5_000,
      backoff: { otherErrorMs: 50 },
    },
    random: rnd,
  });
  await pool.start();
  process.stdout.write('ready\n');
  const live = new Set(pool.list().map((a) => a.podKey));
  let next = Math.floor(rnd() * 1e9);
  const worker = async () => {
    for (;;) {
      // Bursts of creates, then drains, so ENIs get created and emptied again.
      const phase = Math.floor(Date.now() / 400) % 2;
      if ((phase === 0 && live.size < 70) || live.size === 0) {
        const i = next++;
        const ref: PodRef = {
          namespace: 'crash',
          name: `p-${i % 50}`,
          containerId: `ctr-${i}`,
          ifName: 'eth0',
          networkName: 'terway',
          stateful: rnd() < 0.1,
        };
        try {
          const a = await pool.allocate(ref);
          live.add(a.podKey);
          process.stdout.write(`alloc ${a.podKey} ${a.ip}\n`);
        } catch (err) {
          process.stdout.write(`alloc-failed ${(err as Error).message}\n`);
          await new Promise((r) => setTimeout(r, 20));
        }
      } else {
        const keys = [...live];
        const k = keys[Math.floor(rnd() * keys.length)]!;
        live.delete(k);
        process.stdout.write(`releasing ${k}\n`);
        await pool.release(k);
        process.stdout.write(`release ${k}\n`);
      }
      await new Promise((r) => setTimeout(r, Math.floor(rnd() * 4)));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

main().catch((err) => {
  process.stderr.write(`crash child failed: ${(err as Error).stack}\n`);
  process.exit(3);
});
