// Shared set-up for the VPCENI tests: the SDK-backed cloud client against the mock cloud, a fake
// clock, and a pool factory over a SQLite pod DB file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { AliyunCloud } from '../../daemon/cloud/client.js';
import { openPoolStore, type SqlitePoolStore } from '../../daemon/store/index.js';
import { EniPool, type EniPoolConfigInput, type EniPoolEvent } from '../../pool/enipool/index.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from '../../pool/ownership.js';
import type { PodRef } from '../../pool/types.js';
import type { MockCloudHandle, WorldDump } from '../../sim/mockcloud/index.js';
import { FakeClock } from '../support/clock.js';

export const NODE = 'i-mock-node-1';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vpceni-'));
  made.push(d);
  return d;
}

export function mockCloudClient(mc: MockCloudHandle, instanceId = NODE): AliyunCloud {
  return new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: mc.metadataUrl(instanceId),
    qps: 1000,
    burst: 1000,
    terwayRateLimitDefaults: false,
    attachPollMs: 10,
    retry: { attempts: 3, baseMs: 10, factor: 2, capMs: 50, jitter: 0.1 },
  });
}

export function pod(id: string, over: Partial<PodRef> = {}): PodRef {
  return {
    namespace: 'default',
    name: `pod-${id}`,
    containerId: id,
    ifName: 'eth0',
    networkName: 'eni-net',
    netns: `/var/run/netns/${id}`,
    ...over,
  };
}

export interface PoolRig {
  pool: EniPool;
  store: SqlitePoolStore;
  events: EniPoolEvent[];
  close(): Promise<void>;
}

export function makePool(
  mc: MockCloudHandle,
  dbPath: string,
  clock: FakeClock,
  config: EniPoolConfigInput,
  opts: { vSwitchIds?: string[]; instanceId?: string } = {},
): PoolRig {
  const store = openPoolStore(dbPath, { checkpointIntervalMs: 0 });
  const events: EniPoolEvent[] = [];
  const instanceId = opts.instanceId ?? NODE;
  const pool = new EniPool({
    cloud: mockCloudClient(mc, instanceId),
    store,
    instanceId,
    // The quota comes from the mock's instance type, read with DescribeInstanceTypes through the SDK.
    instanceType: worldInstanceType(mc, instanceId),
    vSwitchIds: opts.vSwitchIds ?? ['vsw-mock-b'],
    securityGroupIds: ['sg-mock-1'],
    config: { tickIntervalMs: 1_000, ...config },
    clock,
    timers: false,
    onEvent: (e) => events.push(e),
  });
  return {
    pool,
    store,
    events,
    close: async () => {
      await pool.stop();
      store.close();
    },
  };
}

function worldInstanceType(mc: MockCloudHandle, instanceId: string): string {
  const inst = mc.dump().instances.find((i) => i.instanceId === instanceId);
  if (!inst) throw new Error(`no instance ${instanceId} in the mock world`);
  return inst.instanceType;
}

/** ENIs the pool created for this node (tagged), as the cloud sees them. */
export function oursInCloud(dump: WorldDump, instanceId = NODE): WorldDump['enis'] {
  return dump.enis.filter((e) => e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE && e.tags[NODE_TAG_KEY] === instanceId);
}
