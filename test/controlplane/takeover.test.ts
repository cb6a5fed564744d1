// Two controller replicas on one Lease. The leader is killed while its creates and assigns are on the wire
// (recorded in the resources, not answered yet); the standby takes over once the lease runs out, resumes
// from the resources and a cloud listing, re-issues the recorded calls with their ClientTokens, and every
// pod gets an address: no IP twice, none lost, no ENI created twice or left behind.
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import type { NodeCr } from '../../daemon/k8s/nodeCr.js';
import type { Lease } from '../../controlplane/ports.js';
import { Replica } from '../../controlplane/replica.js';
import { CREATOR_TAG_KEY, NODE_TAG_KEY } from '../../pool/ownership.js';
import { apiStore, cloudClient, newController, scaleWorld, startNodeSide, type RigNode } from '../../sim/central/rig.js';
import { LEASES } from '../../sim/kube/index.js';
import { startMockCloud } from '../../sim/mockcloud/index.js';
import { numberedPod } from '../support/pods.js';
import { waitFor } from '../support/wait.js';
import { checkCentral } from './invariants.js';

const stops: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const quiet = { info() {}, warn() {} };

describe('controller takeover', () => {
  it('a leader killed mid-batch: the standby resumes the recorded calls with their ClientTokens, no duplicate or lost IP', async () => {
    const world = scaleWorld(2, 100);
    const mc = await startMockCloud({ world: world.spec, attachDelayMs: 30 });
    stops.push(() => mc.close());
    // Slow creates and assigns: the kill lands while they are on the wire.
    mc.faults.setLatency('CreateNetworkInterface', 300);
    mc.faults.setLatency('AssignPrivateIpAddresses', 300);
    // What the cloud did (a call answered from its ClientToken does nothing and emits nothing).
    let effected = 0;
    mc.events.on('eniCreated', () => effected++);
    mc.events.on('ipsAssigned', () => effected++);
    const { store, nodes: api } = apiStore();
    const sides: RigNode[] = [];
    for (let i = 0; i < 2; i++)
      sides.push(
        await startNodeSide({
          api,
          name: world.nodeNames[i]!,
          instanceId: world.instanceIds[i]!,
          vSwitchId: world.vSwitchOf(i),
          allocDeadlineMs: 60_000,
        }),
      );
    stops.push(async () => {
      for (const s of sides) await s.pool.stop();
    });

    const replica = (identity: string): Replica => {
      const limiter = new RateLimiter({ qps: 1000, burst: 1000, terwayDefaults: false });
      const cloud = cloudClient(mc, { limiter, retry: { attempts: 3, baseMs: 20, factor: 2, capMs: 100, jitter: 0 } });
      return new Replica({
        leases: store.objectApi<Lease>(LEASES),
        name: 'eni-ipam-controlplane',
        namespace: 'kube-system',
        identity,
        leaseDurationMs: 900,
        renewDeadlineMs: 600,
        retryPeriodMs: 100,
        now: Date.now,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        log: quiet,
        newController: (isLeader) => newController({ nodes: api, cloud, limiter, isLeader, attachPollMs: 20, tickMs: 50, newcomerMs: 20 }),
      });
    };
    const a = replica('a');
    const b = replica('b');
    a.start();
    await waitFor(() => a.controller !== undefined, 'a leads');
    b.start();
    stops.push(() => b.stop());
    stops.push(() => a.kill());

    const allocs = sides.flatMap((s) => Array.from({ length: 30 }, (_, i) => s.pool.allocate(numberedPod(i))));
    // The moment calls are recorded and on the wire, the leader dies.
    await waitFor(
      async () => ((await api.list()).items as NodeCr[]).some((cr) => Object.keys(cr.status?.cloudOperations ?? {}).length > 0),
      'calls recorded in flight',
    );
    await a.kill();
    const inFlightAtKill = ((await api.list()).items as NodeCr[]).flatMap((cr) => Object.keys(cr.status?.cloudOperations ?? {}));
    expect(inFlightAtKill.length).toBeGreaterThan(0);

    await waitFor(() => b.controller !== undefined, 'b takes over', 10_000);
    const got = await Promise.all(allocs);
    expect(got).toHaveLength(60);
    await waitFor(
      async () => ((await api.list()).items as NodeCr[]).every((cr) => Object.keys(cr.status?.cloudOperations ?? {}).length === 0),
      'every recorded call resolved',
    );
    expect(checkCentral(mc.dump(), (await api.list()).items as NodeCr[], sides)).toEqual([]);
    // No ENI was created twice: each node has exactly the two the plan asked for (30 pods = 20 + 10 addresses
    // on secondary ENIs), and the resource has them.
    for (const s of sides) {
      const ours = mc.dump().enis.filter((e) => e.tags[CREATOR_TAG_KEY] && e.tags[NODE_TAG_KEY] === s.instanceId);
      expect(ours).toHaveLength(2);
      const cr = (await api.get(s.name))!;
      for (const e of ours) expect(cr.status!.networkInterfaces![e.eniId]).toBeDefined();
    }
    // The calls recorded at the kill were sent again and answered with their first result (ClientToken): more
    // requests than effects, and nothing allocated twice (the checks above).
    const c = mc.counters();
    expect((c['CreateNetworkInterface'] ?? 0) + (c['AssignPrivateIpAddresses'] ?? 0)).toBeGreaterThan(effected);
    expect(b.controller!.counts.stepsStarted).toBeGreaterThan(0);
  });
});
