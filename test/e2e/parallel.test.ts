// End to end, a burst: 30 ADDs at once on one node (more than one secondary ENI holds, so the pool grows onto
// another while pods wait; eth0 is the node's). All succeed with distinct cloud IPs; all reach their node; a sample from every
// ENI reaches pods on the other node and back; a parallel DEL of all leaves the node clean.
import { describe, expect, it } from 'vitest';
import { cleanupProblems, cloudIpProblems, e2eSupport, pingFailures, type PingJob } from '../../sim/cluster/checks.js';
import type { Cluster } from '../../sim/cluster/cluster.js';
import { uniquePrefix } from '../../sim/vpcsim/index.js';
import { addPod, createPod, delPod, podRefOf, type Pod } from '../../sim/cluster/pods.js';
import type { NetnsSnapshot } from '../../sim/cluster/snapshot.js';
import { useE2eCluster } from './lib/suite.js';

const TAG = 'e2pa';
const PREFIX = uniquePrefix(TAG); // unique per run: suites of other checkouts may run at the same time
const BURST = 30;
const support = await e2eSupport();
if (!support.ok) console.warn(`[e2e parallel] SKIPPED: missing ${support.missing.join(', ')}`);

describe.skipIf(!support.ok)(`e2e: ${BURST} parallel ADDs on one node`, () => {
  let c: Cluster;
  let plugin: string;
  let before: Map<string, NetnsSnapshot>;
  const burst: Pod[] = [];
  const remote: Pod[] = [];
  const eniOf = new Map<Pod, string>();

  useE2eCluster(
    { prefix: PREFIX, reapTag: TAG, minPoolSize: 10, maxPoolSize: 40 },
    () => [...burst, ...remote],
    (r) => ({ c, plugin, before } = r),
  );

  it(`${BURST} ADDs at once all succeed with distinct addresses of secondary ENIs`, async () => {
    const [n1, n2] = c.nodes;
    for (let i = 0; i < BURST; i++) burst.push(await createPod(PREFIX, `b${i}`, n1!.daemon));
    for (let i = 0; i < 2; i++) remote.push(await createPod(PREFIX, `r${i}`, n2!.daemon));
    const results = await Promise.allSettled(burst.map((p) => addPod(plugin, p)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(failed).toEqual([]);
    for (const p of remote) await addPod(plugin, p);
    expect(await cloudIpProblems(c, [...burst, ...remote])).toEqual([]);
    for (const p of burst) eniOf.set(p, (await p.node.getIpInfo(podRefOf(p))).eniId);
    expect(c.kernel.errors.map((e) => e.message)).toEqual([]);
  }, 90_000);

  it('every burst pod reaches its node; a sample from every ENI reaches the other node and back', async () => {
    expect(burst.every((p) => p.ip) && remote.every((p) => p.ip)).toBe(true);
    const n1 = c.nodes[0]!;
    const jobs: PingJob[] = burst.map((p) => ({ from: p, to: n1.primaryIp, label: `node ${n1.instanceId}` }));
    // Up to 3 pods per ENI: the primary ENI (main table) and the secondary ones (per-ENI table) take different paths.
    const byEni = new Map<string, Pod[]>();
    for (const p of burst) byEni.set(eniOf.get(p)!, [...(byEni.get(eniOf.get(p)!) ?? []), p]);
    const sample = [...byEni.values()].flatMap((ps) => ps.slice(0, 3));
    for (const p of sample) {
      for (const r of remote) {
        jobs.push({ from: p, to: r.ip!, label: r.name });
        jobs.push({ from: r, to: p.ip!, label: p.name });
      }
    }
    // Same node, across ENIs.
    for (let i = 0; i + 1 < sample.length; i++) jobs.push({ from: sample[i]!, to: sample[i + 1]!.ip!, label: sample[i + 1]!.name });
    const failures = await pingFailures(jobs);
    expect(failures).toEqual([]);
    console.info(`[e2e parallel] ${BURST} pods on ${byEni.size} ENI(s) of ${n1.instanceId}; ${jobs.length} pings ok`);
  });

  it('a parallel DEL of everything leaves both nodes clean and the IPs pooled', async () => {
    const results = await Promise.allSettled([...burst, ...remote].map((p) => delPod(plugin, p)));
    expect(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []))).toEqual([]);
    const report = await cleanupProblems(c, before, [...burst, ...remote]);
    if (report.eniInfra.length > 0)
      console.info(`[e2e parallel] per-ENI state kept after DEL (expected):\n  ${report.eniInfra.join('\n  ')}`);
    expect(report.problems).toEqual([]);
  });
});
