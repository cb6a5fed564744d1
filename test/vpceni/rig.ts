// Shared set-up for the VPCENI tests: an ENI pool factory over the mock cloud (through the SDK-backed
// client) and a SQLite pod DB file, and the pool's ENIs as the cloud sees them.
import { openPoolStore, type SqlitePoolStore } from '../../daemon/store/index.js';
import { EniPool, type EniPoolConfigInput, type EniPoolEvent } from '../../pool/enipool/index.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from '../../pool/ownership.js';
import type { MockCloudHandle, WorldDump } from '../../sim/mockcloud/index.js';
import type { FakeClock } from '../support/clock.js';
import { MOCK_NODE, mockCloudClient } from '../support/mockCloud.js';

export const NODE = MOCK_NODE;

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
