// End to end, two nodes: mock cloud + simulated VPC kernel + one real daemon per node (inside its node netns)
// + the real plugin binary. Pods reach every pod on both nodes and their node; DEL leaves the nodes as they were
// and the IPs back in the pool (still assigned to the node's ENIs in the cloud).
import { describe, expect, it } from 'vitest';
import { cleanupProblems, cloudIpProblems, e2eSupport, mapLimit, meshJobs, pingFailures } from '../../sim/cluster/checks.js';
import type { Cluster } from '../../sim/cluster/cluster.js';
import { uniquePrefix } from '../../sim/vpcsim/index.js';
import { addPod, createPod, delPod, type Pod } from '../../sim/cluster/pods.js';
import type { NetnsSnapshot } from '../../sim/cluster/snapshot.js';
import { useE2eCluster } from './lib/suite.js';

const TAG = 'e2tn';
const PREFIX = uniquePrefix(TAG); // unique per run: suites of other checkouts may run at the same time
const PODS_PER_NODE = 3;
const support = await e2eSupport();
if (!support.ok) console.warn(`[e2e twoNodes] SKIPPED: missing ${support.missing.join(', ')}`);

describe.skipIf(!support.ok)(`e2e: two nodes, ${PODS_PER_NODE} pods each, real plugin + daemons`, () => {
  let c: Cluster;
  let plugin: string;
  let before: Map<string, NetnsSnapshot>;
  const pods: Pod[] = [];

  useE2eCluster(
    { prefix: PREFIX, reapTag: TAG, minPoolSize: PODS_PER_NODE + 1, maxPoolSize: 10 },
    () => pods,
    (r) => ({ c, plugin, before } = r),
  );

  it('ADD through the plugin gives every pod an address of a secondary ENI the cloud shows (never eth0)', async () => {
    for (const n of c.nodes)
      for (let i = 0; i < PODS_PER_NODE; i++) pods.push(await createPod(PREFIX, `${n.instanceId.slice(-1)}${i}`, n.daemon));
    for (const p of pods) await addPod(plugin, p);
    expect(await cloudIpProblems(c, pods)).toEqual([]);
    expect(c.kernel.errors.map((e) => e.message)).toEqual([]);
    // A secondary ENI's own primary address is a pod's (handed out first): the mesh below crosses it too.
    const enis = c.mc.dump().enis;
    for (const n of c.nodes) {
      const primaries = enis.filter((e) => e.instanceId === n.instanceId && e.type === 'Secondary').map((e) => e.primaryIp);
      expect(pods.filter((p) => p.node === n.daemon && primaries.includes(p.ip!)).length).toBeGreaterThan(0);
    }
  });

  it('every pod reaches every other pod (same node and other node) and its node', async () => {
    expect(pods.every((p) => p.ip)).toBe(true);
    const jobs = meshJobs(c, pods);
    expect(jobs.length).toBe(pods.length * pods.length);
    expect(await pingFailures(jobs)).toEqual([]);
  });

  it('DEL removes every pod link, route and rule; the IPs stay in the pool', async () => {
    expect(pods.every((p) => p.ip)).toBe(true);
    await mapLimit(pods, 3, (p) => delPod(plugin, p));
    const report = await cleanupProblems(c, before, pods);
    if (report.eniInfra.length > 0)
      console.info(`[e2e twoNodes] per-ENI state kept after DEL (expected):\n  ${report.eniInfra.join('\n  ')}`);
    expect(report.problems).toEqual([]);
    // A second DEL of the same pods is a no-op that still succeeds (runtimes retry DEL).
    for (const p of pods.slice(0, 2)) await delPod(plugin, p);
    expect((await cleanupProblems(c, before, pods)).problems).toEqual([]);
  });
});
