// Centralized IPAM end to end, in one process: the controller over the in-memory API server and the mock cloud
// (through the real SDK client), node sides running the real delegated pool and Node-resource source. Pods
// get addresses the controller placed; the cloud's state and the resources agree; reclaim goes through the
// node's release; no IP is held twice; the fewest calls are made.
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import type { NodeCr } from '../../daemon/k8s/nodeCr.js';
import { podKeyOf } from '../../pool/types.js';
import { apiStore, cloudClient, newController, scaleWorld, startNodeSide, type RigNode } from '../../sim/central/rig.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { numberedPod } from '../support/pods.js';
import { waitFor } from '../support/wait.js';
import { checkCentral, mutatingCalls } from './invariants.js';

const stops: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function rig(nodes: number, opts: { eniConf?: Record<string, unknown> } = {}) {
  const world = scaleWorld(nodes, nodes * 40);
  const mc: MockCloudHandle = await startMockCloud({ world: world.spec, attachDelayMs: 30 });
  stops.push(() => mc.close());
  const { store, nodes: api } = apiStore();
  const limiter = new RateLimiter({ qps: 1000, burst: 1000, terwayDefaults: false });
  const cloud = cloudClient(mc, { limiter, retry: { attempts: 3, baseMs: 20, factor: 2, capMs: 100, jitter: 0 } });
  const sides: RigNode[] = [];
  for (let i = 0; i < nodes; i++)
    sides.push(
      await startNodeSide({
        api,
        name: world.nodeNames[i]!,
        instanceId: world.instanceIds[i]!,
        vSwitchId: world.vSwitchOf(i),
        eniConf: opts.eniConf,
      }),
    );
  stops.push(async () => {
    for (const s of sides) await s.pool.stop();
  });
  await waitFor(async () => (await api.list()).items.length === nodes, 'every node resource created');
  const controller = newController({ nodes: api, cloud, limiter, attachPollMs: 20, tickMs: 50, newcomerMs: 20 });
  await controller.start();
  stops.push(() => controller.stop());
  return { mc, store, api, cloud, controller, sides, world };
}

describe('centralized IPAM: controller + node sides', () => {
  it('serves a burst of pods on every node from addresses the controller placed, with the fewest cloud calls', async () => {
    const { mc, api, sides } = await rig(3);
    mc.resetCounters();
    const allocs = await Promise.all(sides.flatMap((s) => Array.from({ length: 30 }, (_, i) => s.pool.allocate(numberedPod(i)))));
    expect(allocs).toHaveLength(90);
    const problems = checkCentral(mc.dump(), (await api.list()).items as NodeCr[], sides);
    expect(problems).toEqual([]);
    // Per node (pods on secondary ENIs only, each ENI's primary address a pod's too): one ENI created with 10
    // secondary IPs, attached, one assign of 9 (20 addresses), one created with 9 and attached (10).
    expect(mutatingCalls(mc.counters())).toBe(3 * 5);
    expect(mc.counters()['CreateNetworkInterface']).toBe(3 * 2);
    // The holders reach the resource.
    await waitFor(async () => {
      const items = (await api.list()).items as NodeCr[];
      return items.every(
        (cr) =>
          Object.values(cr.status?.networkInterfaces ?? {})
            .flatMap((n) => Object.values(n.ipv4))
            .filter((ip) => ip.use === 'assigned').length === 30,
      );
    }, 'every holder written back');
    const cr = (await api.get(sides[0]!.name))!;
    expect(cr.spec.nodeCap).toEqual({ adapters: 8, ipv4PerAdapter: 20 });
    expect(cr.status?.demand).toEqual({ waitingPods: 0 });
    const someIp = allocs[0]!;
    const onCr = Object.values(cr.status!.networkInterfaces!)
      .flatMap((n) => Object.values(n.ipv4))
      .find((ip) => ip.ip === someIp.ip);
    expect(onCr).toMatchObject({ status: 'Valid', use: 'assigned', podID: 'default/pod-0' });
  });

  it('keeps the pool between the watermarks: refills to min_pool_size without pods, and takes free IPs above max_pool_size back at once, only through the node', async () => {
    const { mc, api, sides } = await rig(1, { eniConf: { min_pool_size: 3, max_pool_size: 4, ip_cooldown: '0s' } });
    const side = sides[0]!;
    await waitFor(() => side.pool.stats().free >= 3, 'refilled to min_pool_size with no pod asking');
    const held = await Promise.all(Array.from({ length: 12 }, (_, i) => side.pool.allocate(numberedPod(i))));
    for (const a of held.slice(0, 10)) await side.pool.release(a.podKey);
    // Released IPs cool first (ip_cooldown), then the controller asks for those above max_pool_size back (no idle wait).
    await waitFor(
      async () => {
        const st = side.pool.stats();
        return st.free + st.cooling <= 4 && st.releasing === 0;
      },
      'idle IPs above max_pool_size given back and unassigned',
      60_000,
    );
    expect(side.pool.get(podKeyOf(numberedPod(10)))?.ip).toBe(held[10]!.ip);
    expect(side.pool.get(podKeyOf(numberedPod(11)))?.ip).toBe(held[11]!.ip);
    expect(checkCentral(mc.dump(), (await api.list()).items as NodeCr[], sides)).toEqual([]);
    expect(mc.counters()['UnassignPrivateIpAddresses'] ?? 0).toBeGreaterThan(0);
  });

  it("idle reclaim as the node-local pool runs it: once the node is quiet for idle_ip_reclaim_after, a batch per interval down to min_pool_size; the ENIs' primary addresses go only with their ENI", async () => {
    const { mc, api, sides } = await rig(1, {
      eniConf: {
        min_pool_size: 2,
        max_pool_size: 40,
        ip_cooldown: '0s',
        idle_ip_reclaim_after: '1s',
        idle_ip_reclaim_interval: '10ms',
        idle_ip_reclaim_batch_size: 3,
        idle_ip_reclaim_jitter_factor: '0',
      },
    });
    const side = sides[0]!;
    const held = await Promise.all(Array.from({ length: 25 }, (_, i) => side.pool.allocate(numberedPod(i))));
    // Pods use secondary ENIs only: the first pod gets the first ENI's own primary address.
    const enis = mc.dump().enis.filter((e) => e.instanceId === side.instanceId && e.type !== 'Primary');
    expect(enis.length).toBeGreaterThan(0);
    expect(held.map((a) => a.ip)).toContain(enis[0]!.primaryIp);
    for (const a of held.slice(0, 24)) await side.pool.release(a.podKey);
    await waitFor(
      async () => {
        const st = side.pool.stats();
        return st.free <= 2 && st.releasing === 0;
      },
      'idle IPs reclaimed down to min_pool_size',
      60_000,
    );
    expect(side.pool.get(podKeyOf(numberedPod(24)))?.ip).toBe(held[24]!.ip);
    expect(checkCentral(mc.dump(), (await api.list()).items as NodeCr[], sides)).toEqual([]);
    // Every ENI left still has its own primary address (never unassigned; whole idle ENIs were deleted instead).
    for (const e of mc.dump().enis.filter((x) => x.instanceId === side.instanceId && x.type !== 'Primary'))
      expect(e.primaryIp).toBeTruthy();
    expect(mc.counters()['UnassignPrivateIpAddresses'] ?? 0).toBeGreaterThan(0);
  });
});
