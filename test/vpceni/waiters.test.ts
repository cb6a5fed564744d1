// ENI pool: a released ENI goes to a request that is waiting rather than being detached and deleted
// (above maxPoolSize) while that request waits for a new ENI to be created and attached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { FakeClock } from '../support/clock.js';
import { podRef as pod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { makePool, type PoolRig } from './rig.js';

describe('ENI pool: release while a request waits', () => {
  let mc: MockCloudHandle;
  let rig: PoolRig;
  const clock = new FakeClock();

  beforeAll(async () => {
    // a slow attach: the waiting request's own ENI is still on its way when the first pod is deleted
    mc = await startMockCloud({ attachDelayMs: 400, detachDelayMs: 10 });
    rig = makePool(mc, join(tempDir(), 'pods.db'), clock, { minPoolSize: 0, maxPoolSize: 0, cooldownMs: 0, maxEni: 3 });
    await rig.pool.start();
    await rig.pool.idle();
  });

  afterAll(async () => {
    await rig?.close();
    await mc?.close();
  });

  it('hands the released ENI to the waiter at once instead of deleting it', async () => {
    const a = await rig.pool.allocate(pod('a'));
    const pending = rig.pool.allocate(pod('b'));
    await new Promise((r) => setTimeout(r, 50)); // b waits; its ENI is being created / attached
    expect(rig.pool.stats().pendingRequests).toBe(1);
    await rig.pool.release(a.podKey);
    const b = await pending;
    expect(b.eniId).toBe(a.eniId);
    expect(mc.dump().enis.find((e) => e.eniId === a.eniId)?.status).toBe('InUse');
    // the ENI created for b arrives idle above maxPoolSize 0 and goes
    await rig.pool.idle();
    rig.pool.tick();
    await rig.pool.idle();
    expect(rig.pool.stats()).toMatchObject({ enis: 1, assigned: 1, free: 0 });
  });
});

describe('placeReleased with waiters (pure)', () => {
  it('keeps the ENI (free, or cooling) when a request waits, even at maxPoolSize', async () => {
    const { placeReleased } = await import('../../pool/enipool/planner.js');
    expect(placeReleased([], 0, 0, 1000, 0)).toEqual({ state: 'releasing' });
    expect(placeReleased([], 0, 0, 1000, 1)).toEqual({ state: 'free' });
    expect(placeReleased([], 0, 500, 1000, 1)).toEqual({ state: 'cooling', coolUntil: 1500 });
  });
});

describe('ENI pool: an ENI created but not taken into the pool', () => {
  it('is deleted at once, not left Available until the next start', async () => {
    const { startMockCloud } = await import('../../sim/mockcloud/index.js');
    const { EniPool } = await import('../../pool/enipool/index.js');
    const { openPoolStore } = await import('../../daemon/store/index.js');
    const { mockCloudClient } = await import('../support/mockCloud.js');
    const { oursInCloud, NODE } = await import('./rig.js');
    const mc = await startMockCloud({ attachDelayMs: 10, detachDelayMs: 10 });
    const real = mockCloudClient(mc);
    // DescribeVSwitches does not know vsw-mock-b (a narrow RAM policy, say): the pool cannot record an ENI made there
    const cloud = new Proxy(real, {
      get(target, prop, recv) {
        if (prop === 'describeVSwitches')
          return async (ids: string[]) => (await target.describeVSwitches(ids)).filter((v) => v.vSwitchId !== 'vsw-mock-b');
        const v = Reflect.get(target, prop, recv) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const store = openPoolStore(join(tempDir(), 'pods.db'), { checkpointIntervalMs: 0 });
    const pool = new EniPool({
      cloud,
      store,
      instanceId: NODE,
      eniQuantity: 8,
      vSwitchIds: ['vsw-mock-b'],
      securityGroupIds: ['sg-mock-1'],
      config: { minPoolSize: 1, maxPoolSize: 1 },
      clock: new FakeClock(),
      timers: false,
    });
    try {
      await pool.start();
      await pool.idle();
      expect(pool.stats().enis).toBe(0);
      expect(oursInCloud(mc.dump())).toEqual([]);
    } finally {
      await pool.stop();
      store.close();
      await mc.close();
    }
  });
});
