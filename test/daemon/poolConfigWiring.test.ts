// eni_tag_filter and idle_ip_reclaim_jitter_factor reach the ENI multi-IP pool the daemon builds.
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY, EniMultiIpPool } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../../pool/store.js';
import { FakeCloud } from '../pool/fakeCloud.js';
import { testConfig } from '../support/daemon.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

let handle: DaemonHandle | undefined;
afterEach(async () => {
  await handle?.stop();
  handle = undefined;
});

describe('daemon → pool config', () => {
  it('passes eni_tag_filter and idle_ip_reclaim_jitter_factor on', async () => {
    const cloud = new FakeCloud({ eniQuantity: 4, ipv4PerEni: 4 });
    const tags = { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: cloud.instanceId };
    const unmatched = await cloud.createNetworkInterface({ vSwitchId: 'vsw-a', securityGroupIds: ['sg-1'], tags, secondaryIpCount: 1 });
    await cloud.attachNetworkInterface(unmatched.eniId, cloud.instanceId);
    const matched = await cloud.createNetworkInterface({
      vSwitchId: 'vsw-a',
      securityGroupIds: ['sg-1'],
      tags: { ...tags, team: 'a' },
      secondaryIpCount: 1,
    });
    await cloud.attachNetworkInterface(matched.eniId, cloud.instanceId);

    const dir = tempDir();
    const config = testConfig(dir, {
      instance_id: cloud.instanceId,
      security_group: 'sg-1',
      eni_tag_filter: { team: 'a' },
      idle_ip_reclaim_jitter_factor: 0.3,
    });
    handle = await startDaemon(config, { cloud, store: new MemoryPoolStore(), kube: null, logger: captureLog().logger });

    expect(handle.allocator).toBeInstanceOf(EniMultiIpPool);
    const pool = handle.allocator as EniMultiIpPool;
    expect(pool.config.eniTagFilter).toEqual({ team: 'a' });
    expect(pool.config.idleIpReclaimJitterFactor).toBe(0.3);
    const known = pool.eniRecords().map((e) => e.eniId);
    expect(known).toContain(matched.eniId);
    expect(known).not.toContain(unmatched.eniId);
  });
});
