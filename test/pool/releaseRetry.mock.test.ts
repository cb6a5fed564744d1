// The multi-IP pool's release path against the mock cloud over HTTP (the SDK-backed client with its own
// retries off): an unassign whose reply was lost did happen; the pool's retry after the back-off gets
// ECS's answer for an address the ENI no longer holds, InvalidIp.IpUnassigned, and counts the release as
// done, rather than leaving the IPs `releasing` until a reconcile.
import { afterEach, describe, expect, it } from 'vitest';
import { startMockCloud } from '../../sim/mockcloud/index.js';
import { AliyunCloud } from '../../daemon/cloud/client.js';
import { createEniMultiIpPool, type PoolEvent } from '../../pool/eniMultiIpPool.js';
import { MemoryPoolStore } from '../../pool/store.js';
import { FakeClock } from '../support/clock.js';
import { MOCK_NODE } from '../support/mockCloud.js';
import { numberedPod as pod } from '../support/pods.js';
import { checkInvariants } from './mockRig.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('multi-IP pool release retried against the mock cloud', () => {
  it('a lost unassign reply: the retry answers InvalidIp.IpUnassigned and the release is finished at once', async () => {
    const mc = await startMockCloud({ attachDelayMs: 5 });
    cleanups.push(() => mc.close());
    const cloud = new AliyunCloud({
      regionId: mc.regionId,
      endpoint: mc.url,
      accessKeyId: mc.accessKeyId,
      accessKeySecret: mc.accessKeySecret,
      metadataBaseUrl: mc.metadataUrl(MOCK_NODE),
      qps: Infinity,
      terwayRateLimitDefaults: false,
      attachPollMs: 10,
      retry: { attempts: 1 }, // the pool's own retry is what this is about
    });
    cleanups.push(() => cloud.close());
    const clock = new FakeClock();
    const store = new MemoryPoolStore();
    const events: PoolEvent[] = [];
    const pool = await createEniMultiIpPool({
      cloud,
      store,
      instanceId: MOCK_NODE,
      instanceType: (await cloud.getInstanceMetadata()).instanceType,
      vSwitchIds: ['vsw-mock-a'],
      securityGroupIds: ['sg-mock-1'],
      config: {
        minPoolSize: 0,
        maxPoolSize: 0,
        ipCooldownMs: 0,
        backoff: { otherErrorMs: 5_000 },
      },
      clock,
      timers: false,
      onEvent: (e) => events.push(e),
    });
    cleanups.push(() => pool.stop());
    await pool.start();
    // One secondary ENI: its primary address (pod 1) and two secondary IPs (pods 2 and 3).
    const [held, ...rest] = await Promise.all([1, 2, 3].map((i) => pool.allocate(pod(i))));
    await pool.whenIdle();

    // The unassign lands in the cloud, its reply is lost (500 after the effect).
    mc.faults.failNext('UnassignPrivateIpAddresses', 1, '5xx', { afterEffect: true });
    // Free IPs above max_pool_size (0) are released as soon as they are free.
    for (const a of rest) await pool.release(a.podKey);
    await pool.whenIdle();
    const releasing = pool.ipRecords().filter((r) => r.state === 'releasing');
    expect(releasing.length).toBeGreaterThan(0);
    const dump = mc.dump();
    for (const r of releasing) expect(dump.enis.flatMap((e) => e.secondaryIps)).not.toContain(r.ip);

    mc.resetCounters();
    clock.advance(5_000);
    await pool.tick();
    await pool.whenIdle();
    expect(mc.counters()['UnassignPrivateIpAddresses']).toBe(1); // one retry, answered IpUnassigned
    expect(pool.stats().releasing).toBe(0);
    expect(events.filter((e) => e.reason === 'ReleaseIPFailed')).toHaveLength(1); // the lost reply only
    expect(pool.get(held!.podKey)).toEqual(held);
    expect(checkInvariants(mc.dump(), store.load())).toEqual([]);
  });
});
