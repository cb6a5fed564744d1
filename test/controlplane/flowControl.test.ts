// Cluster-wide flow control against the mock's account-wide throttle: the controller's one bucket paces every
// node's calls; when tokens are scarce, a node with pods waiting goes before nodes only pre-warming; and a
// throttling answer (the account is shared: someone else spends it too) is absorbed: retried, never a failed pod.
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import { apiStore, cloudClient, newController, scaleWorld, startNodeSide, type RigNode } from '../../sim/central/rig.js';
import { startMockCloud } from '../../sim/mockcloud/index.js';
import { numberedPod } from '../support/pods.js';
import { waitFor } from '../support/wait.js';

const stops: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function rig(nodes: number, qps: number, eniConf: (i: number) => Record<string, unknown>, attachPollMs = 20) {
  const world = scaleWorld(nodes, nodes * 60);
  const mc = await startMockCloud({ world: world.spec, attachDelayMs: 20 });
  stops.push(() => mc.close());
  const { nodes: api } = apiStore();
  const limiter = new RateLimiter({ qps, burst: 1, terwayDefaults: false });
  const cloud = cloudClient(mc, { limiter, retry: { attempts: 2, baseMs: 50, factor: 2, capMs: 200, jitter: 0 } });
  const sides: RigNode[] = [];
  for (let i = 0; i < nodes; i++)
    sides.push(
      await startNodeSide({
        api,
        name: world.nodeNames[i]!,
        instanceId: world.instanceIds[i]!,
        vSwitchId: world.vSwitchOf(i),
        eniConf: eniConf(i),
        allocDeadlineMs: 120_000,
      }),
    );
  stops.push(async () => {
    for (const s of sides) await s.pool.stop();
  });
  await waitFor(async () => (await api.list()).items.length === nodes, 'resources');
  const controller = newController({ nodes: api, cloud, limiter, attachPollMs, tickMs: 50, newcomerMs: 200 });
  return { mc, api, cloud, controller, sides, world };
}

describe('flow control', () => {
  it('with tokens scarce, a node whose pods wait is served before nodes pre-warming to min_pool_size', async () => {
    const { mc, controller, sides, world } = await rig(5, 2, (i) => (i < 4 ? { min_pool_size: 10, max_pool_size: 10 } : {}));
    // Pods use secondary ENIs only: every node's first addresses come with an ENI created for it (its node tag).
    const order: string[] = [];
    mc.events.on('eniCreated', (e: { eniId: string }) => order.push(mc.dump().enis.find((x) => x.eniId === e.eniId)?.tags['node'] ?? ''));
    await controller.start();
    stops.push(() => controller.stop());
    await waitFor(() => order.length >= 1, 'the first pre-warm create');
    const pods = Promise.all(Array.from({ length: 5 }, (_, i) => sides[4]!.pool.allocate(numberedPod(i))));
    await pods;
    const waiting = world.instanceIds[4]!;
    const at = order.indexOf(waiting);
    expect(at).toBeGreaterThanOrEqual(1);
    // Served as soon as its request reached the controller: at most one pre-warm call got in between.
    expect(at).toBeLessThanOrEqual(2);
    await waitFor(() => order.length === 5, 'every pre-warm done afterwards', 20_000);
  });

  it('throttling answers are absorbed by the controller: retried, and every pod gets its IP', async () => {
    const { mc, cloud, controller, sides } = await rig(2, 10, () => ({}), 1000);
    mc.faults.setThrottle(5, 1); // the account allows half of what the controller was told
    await controller.start();
    stops.push(() => controller.stop());
    const got = await Promise.all(sides.flatMap((s) => Array.from({ length: 25 }, (_, i) => s.pool.allocate(numberedPod(i)))));
    expect(got).toHaveLength(50);
    const throttled = Object.values(cloud.stats()).reduce((n, s) => n + s.throttled, 0);
    expect(throttled).toBeGreaterThan(0);
  });
});
