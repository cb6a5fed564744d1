// End to end in dual stack (ip_stack dual): mock cloud + simulated VPC kernel + one real daemon per node + the
// real plugin. Every pod gets an IPv4 and an IPv6 address of the same secondary ENI (as the cloud shows them);
// a full mesh of ping -6 and ping across both nodes; DEL leaves the nodes' IPv6 rules, routes and neighbours as
// they were.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { e2eSupport, mapLimit, meshJobs, pingFailures } from '../../sim/cluster/checks.js';
import type { Cluster } from '../../sim/cluster/cluster.js';
import { uniquePrefix } from '../../sim/vpcsim/index.js';
import { addPod, createPod, delPod, type Pod } from '../../sim/cluster/pods.js';
import { useE2eCluster } from './lib/suite.js';

const TAG = 'e2ds';
const PREFIX = uniquePrefix(TAG);
const PODS_PER_NODE = 2;
const support = await e2eSupport();
if (!support.ok) console.warn(`[e2e dualStack] SKIPPED: missing ${support.missing.join(', ')}`);

function ping6(netns: string, ip: string): boolean {
  for (let i = 0; i < 3; i++)
    if (spawnSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-c', '1', '-W', '1', '-q', ip]).status === 0) return true;
  return false;
}

/** The node's own IPv6 state: rules, main-table routes (kernel and link-local ones left out) and permanent neighbours. */
function ipv6State(netns: string): { rules: string; routes: string; neigh: string } {
  const run = (args: string[]) => spawnSync('ip', ['-n', netns, '-6', ...args], { encoding: 'utf8' }).stdout;
  return {
    rules: run(['rule', 'show']),
    routes: run(['route', 'show', 'table', 'main'])
      .split('\n')
      .filter((l) => l && !l.startsWith('fe80') && !l.includes(' proto kernel '))
      .join('\n'),
    neigh: run(['neigh', 'show', 'nud', 'permanent']),
  };
}

describe.skipIf(!support.ok)(`e2e: dual stack, two nodes, ${PODS_PER_NODE} pods each, real plugin + daemons`, () => {
  let c: Cluster;
  let plugin: string;
  const pods: Pod[] = [];
  const before = new Map<string, ReturnType<typeof ipv6State>>();

  useE2eCluster(
    { prefix: PREFIX, reapTag: TAG, minPoolSize: PODS_PER_NODE + 1, maxPoolSize: 10, extra: { ip_stack: 'dual' } },
    () => pods,
    (r) => {
      ({ c, plugin } = r);
      for (const n of c.nodes) before.set(n.instanceId, ipv6State(n.netns));
    },
  );

  it('ADD gives every pod an IPv4 and an IPv6 address of the same secondary ENI, as the cloud shows them', async () => {
    for (const n of c.nodes)
      for (let i = 0; i < PODS_PER_NODE; i++) pods.push(await createPod(PREFIX, `${n.instanceId.slice(-1)}${i}`, n.daemon));
    for (const p of pods) await addPod(plugin, p);
    const enis = c.mc.dump().enis;
    for (const p of pods) {
      expect(p.ipv6, p.name).toBeDefined();
      const eni = enis.find((e) => [e.primaryIp, ...e.secondaryIps].includes(p.ip!))!;
      expect(eni.type).toBe('Secondary');
      expect(eni.ipv6s).toContain(p.ipv6);
    }
    expect(new Set(pods.map((p) => p.ipv6)).size).toBe(pods.length);
    expect(c.kernel.errors.map((e) => e.message)).toEqual([]);
  });

  it('every pod reaches every other pod over IPv6 and IPv4, on its node and across', async () => {
    const failures: string[] = [];
    for (const a of pods) for (const b of pods) if (a !== b && !ping6(a.netns, b.ipv6!)) failures.push(`${a.ipv6} -> ${b.ipv6}`);
    expect(failures).toEqual([]);
    expect(await pingFailures(meshJobs(c, pods))).toEqual([]);
  });

  it('DEL leaves the IPv6 rules, routes and neighbours as before', async () => {
    await mapLimit(pods, 2, (p) => delPod(plugin, p));
    for (const n of c.nodes) expect(ipv6State(n.netns), n.instanceId).toEqual(before.get(n.instanceId));
  });
});
