// Cluster-wide hygiene: ENIs of ours left detached are deleted when their instance is gone (released instances
// leave their secondary ENIs behind, the leak aws-vpc-cni #69 is about) or after the grace period; an ENI a
// node still uses, or one some node's create may be about to claim, is never touched. The controller's
// /v1/nodes and /metrics show every node's pool.
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import { ControlplaneMetrics, serveControlplane } from '../../controlplane/metrics.js';
import { leakedEnis } from '../../controlplane/hygiene.js';
import type { Eni } from '../../pool/cloud.js';
import { apiStore, cloudClient, newController, scaleWorld, SCALE_SG, startNodeSide, type RigNode } from '../../sim/central/rig.js';
import { startMockCloud } from '../../sim/mockcloud/index.js';
import { numberedPod } from '../support/pods.js';
import { waitFor } from '../support/wait.js';

const stops: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const eni = (id: string, over: Partial<Eni> = {}): Eni => ({
  eniId: id,
  mac: '00:16:3e:00:00:01',
  type: 'Secondary',
  status: 'Available',
  vSwitchId: 'vsw-1',
  zoneId: 'z',
  vpcId: 'vpc',
  securityGroupIds: [],
  primaryIp: '10.0.0.9',
  secondaryIps: [],
  ipv6s: [],
  tags: { creator: 'eni-ipam', node: 'i-gone' },
  ...over,
});

describe('leakedEnis (pure)', () => {
  it('instance gone: at once; instance there: after the grace period; never one a node knows or may be creating; never one not ours', () => {
    const firstSeen = new Map<string, number>();
    const listing = [
      eni('eni-gone'),
      eni('eni-old', { tags: { creator: 'eni-ipam', node: 'i-live' } }),
      eni('eni-known', { tags: { creator: 'eni-ipam', node: 'i-live' } }),
      eni('eni-creating', { tags: { creator: 'eni-ipam', node: 'i-busy' } }),
      eni('eni-foreign', { tags: { owner: 'someone' } }),
      eni('eni-attached', { status: 'InUse', instanceId: 'i-live', tags: { creator: 'eni-ipam', node: 'i-live' } }),
    ];
    const nodesByInstance = new Map([
      ['i-live', { knows: (id: string) => id === 'eni-known', creating: false }],
      ['i-busy', { knows: () => false, creating: true }],
    ]);
    const existing = new Set(['i-live', 'i-busy']);
    const first = leakedEnis({ now: 1_000, listing, nodesByInstance, existing, firstSeen, graceMs: 60_000 });
    expect(first).toEqual([{ eniId: 'eni-gone', instanceId: 'i-gone', reason: 'instance gone' }]);
    // A gone instance's ENI goes even while a stale resource still lists it.
    const stale = new Map([...nodesByInstance, ['i-gone', { knows: () => true, creating: true }]]);
    expect(leakedEnis({ now: 1_000, listing, nodesByInstance: stale, existing, firstSeen, graceMs: 60_000 })[0]?.eniId).toBe('eni-gone');
    const later = leakedEnis({ now: 61_000, listing, nodesByInstance, existing, firstSeen, graceMs: 60_000 });
    expect(later.map((l) => l.eniId).sort()).toEqual(['eni-gone', 'eni-old']);
    // Gone from the listing: forgotten.
    leakedEnis({ now: 62_000, listing: [], nodesByInstance, existing, firstSeen, graceMs: 60_000 });
    expect(firstSeen.size).toBe(0);
  });
});

describe('controller hygiene and introspection', () => {
  it("deletes a released instance's detached ENIs at the next resync; /v1/nodes and /metrics show the pools", async () => {
    const world = scaleWorld(2, 200);
    const mc = await startMockCloud({ world: world.spec, attachDelayMs: 20 });
    stops.push(() => mc.close());
    const { nodes: api } = apiStore();
    const limiter = new RateLimiter({ qps: 1000, burst: 1000, terwayDefaults: false });
    const cloud = cloudClient(mc, { limiter });
    const sides: RigNode[] = [];
    for (let i = 0; i < 2; i++)
      sides.push(await startNodeSide({ api, name: world.nodeNames[i]!, instanceId: world.instanceIds[i]!, vSwitchId: world.vSwitchOf(i) }));
    stops.push(async () => {
      for (const s of sides) await s.pool.stop();
    });
    await waitFor(async () => (await api.list()).items.length === 2, 'resources');
    const controller = newController({
      nodes: api,
      cloud,
      limiter,
      attachPollMs: 20,
      tickMs: 50,
      newcomerMs: 20,
      leakedEniGraceMs: 3_600_000,
    });
    await controller.start();
    stops.push(() => controller.stop());
    // Both nodes get two ENIs of ours (pods use secondary ENIs only: 30 pods = 20 + 10 addresses).
    await Promise.all(sides.flatMap((s) => Array.from({ length: 30 }, (_, i) => s.pool.allocate(numberedPod(i)))));
    const doomed = world.instanceIds[1]!;
    const leftBehind = mc
      .dump()
      .enis.filter((e) => e.tags['node'] === doomed)
      .map((e) => e.eniId);
    expect(leftBehind).toHaveLength(2);
    // A stray ENI of someone else's, detached: never ours to delete.
    const stray = (
      await cloud.createNetworkInterface({ vSwitchId: world.vSwitchOf(0), securityGroupIds: [SCALE_SG], tags: { owner: 'another-tool' } })
    ).eniId;

    mc.world.releaseInstance(doomed);
    await controller.resync();
    await waitFor(() => controller.counts.leakedDeleted === 2, 'the leaked ENIs deleted');
    expect(await api.get(world.nodeNames[1]!)).toBeDefined(); // one resync finding the instance gone is not enough for the resource
    await controller.resync();
    await waitFor(async () => (await api.get(world.nodeNames[1]!)) === undefined, "the gone node's resource deleted");
    const dump = mc.dump();
    expect(dump.enis.some((e) => leftBehind.includes(e.eniId))).toBe(false);
    expect(dump.enis.some((e) => e.eniId === stray)).toBe(true);
    // The live node's ENIs are untouched.
    expect(dump.enis.filter((e) => e.tags['node'] === world.instanceIds[0]).every((e) => e.status === 'InUse')).toBe(true);

    const metrics = new ControlplaneMetrics({
      controller: () => controller,
      leading: () => true,
      cloudStats: () => cloud.stats(),
      identity: 'test',
    });
    const server = await serveControlplane(metrics, '127.0.0.1:0', () => true);
    stops.push(() => server.close());
    const nodes = (await (await fetch(`http://${server.address}/v1/nodes`)).json()) as {
      leader: boolean;
      nodes: { name: string; ips: Record<string, number>; enis: unknown[] }[];
    };
    expect(nodes.leader).toBe(true);
    const live = nodes.nodes.find((n) => n.name === world.nodeNames[0])!;
    expect(live.ips).toMatchObject({ assigned: 30 });
    expect(live.enis).toHaveLength(2); // its two secondary ENIs (eth0 is the node's, not in the resource)
    const one = await fetch(`http://${server.address}/v1/nodes/${world.nodeNames[0]}`);
    expect(one.status).toBe(200);
    const text = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(text).toContain(`eniipam_controlplane_node_ips{node="${world.nodeNames[0]}",state="assigned"} 30`);
    expect(text).toContain('eniipam_controlplane_leader 1');
    expect(text).toContain(`eniipam_controlplane_node_enis{node="${world.nodeNames[0]}"} 2`);
    expect(text).toMatch(/eniipam_controlplane_leaked_enis_deleted 2/);
  });
});
