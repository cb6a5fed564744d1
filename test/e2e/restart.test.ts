// End to end, crash between ADD and DEL: both daemons are SIGKILLed after the pods were added, restarted on the
// same pod DB, and DEL still removes every link, route and rule and returns the IPs to the pool. Run in IPv4 and in
// dual stack (ip_stack dual: the IPv6 pairs survive the restart too, and DEL removes the IPv6 rules).
import { describe, expect, it } from 'vitest';
import { cleanupProblems, cloudIpProblems, e2eSupport, eventually, meshJobs, pingFailures } from '../../sim/cluster/checks.js';
import { execIn } from '../../sim/vpcsim/ip.js';
import type { Cluster } from '../../sim/cluster/cluster.js';
import { uniquePrefix } from '../../sim/vpcsim/index.js';
import { addPod, createPod, delPod, destroyPod, podRefOf, runCni, runGc, type Pod } from '../../sim/cluster/pods.js';
import type { NetnsSnapshot } from '../../sim/cluster/snapshot.js';
import { spawnSync } from 'node:child_process';
import { useE2eCluster } from './lib/suite.js';

const PODS_PER_NODE = 2;
const support = await e2eSupport();
if (!support.ok) console.warn(`[e2e restart] SKIPPED: missing ${support.missing.join(', ')}`);

const ping6 = (netns: string, ip: string): boolean =>
  [0, 1, 2].some(() => spawnSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-c', '1', '-W', '1', '-q', ip]).status === 0);
/** Per-pod IPv6 rules (512 to, 1536 from) left on a node. */
const podIpv6Rules = (netns: string): string[] =>
  spawnSync('ip', ['-n', netns, '-6', 'rule', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => /^(512|1536):/.test(l));

for (const stack of ['ipv4', 'dual'] as const) {
  const TAG = stack === 'dual' ? 'e2rd' : 'e2rs';
  const PREFIX = uniquePrefix(TAG); // unique per run: suites of other checkouts may run at the same time
  const dual = stack === 'dual';

  describe.skipIf(!support.ok)(`e2e (${stack}): daemon SIGKILLed between ADD and DEL, restarted on the same DB`, () => {
    let c: Cluster;
    let plugin: string;
    let before: Map<string, NetnsSnapshot>;
    const pods: Pod[] = [];
    const ipsBefore = new Map<Pod, string>();
    const ipv6Before = new Map<Pod, string | undefined>();

    useE2eCluster(
      { prefix: PREFIX, reapTag: TAG, minPoolSize: PODS_PER_NODE + 1, maxPoolSize: 10, ...(dual ? { extra: { ip_stack: 'dual' } } : {}) },
      () => pods,
      (r) => ({ c, plugin, before } = r),
    );

    it('pods are added and connected', async () => {
      for (const n of c.nodes)
        for (let i = 0; i < PODS_PER_NODE; i++) pods.push(await createPod(PREFIX, `${n.instanceId.slice(-1)}${i}`, n.daemon));
      for (const p of pods) {
        await addPod(plugin, p);
        ipsBefore.set(p, p.ip!);
        ipv6Before.set(p, p.ipv6);
      }
      expect(pods.every((p) => (p.ipv6 !== undefined) === dual)).toBe(true);
      expect(await cloudIpProblems(c, pods)).toEqual([]);
      expect(await pingFailures(meshJobs(c, pods))).toEqual([]);
    });

    it('after SIGKILL and a restart on the same DB the daemon still knows every pod', async () => {
      expect(pods.every((p) => p.ip)).toBe(true);
      const oldPids = c.nodes.map((n) => n.daemon.pid);
      await Promise.all(c.nodes.map((n) => n.daemon.kill('SIGKILL')));
      // The data plane does not need the daemon: pods keep talking while it is down.
      expect(await pingFailures(meshJobs(c, pods).slice(0, 4))).toEqual([]);
      await Promise.all(c.nodes.map((n) => n.daemon.start()));
      expect(c.nodes.map((n) => n.daemon.pid)).not.toEqual(oldPids);
      for (const p of pods) {
        const info = await p.node.getIpInfo(podRefOf(p));
        expect(info.found, `${p.name} known after restart`).toBe(true);
        expect(info.ips[0]?.address).toBe(`${ipsBefore.get(p)}/32`);
        if (dual) expect(info.ips[1]?.address).toBe(`${ipv6Before.get(p)}/128`);
      }
      if (dual)
        for (const a of pods) for (const b of pods) if (a !== b) expect(ping6(a.netns, b.ipv6!), `${a.ipv6} -> ${b.ipv6}`).toBe(true);
      expect(await cloudIpProblems(c, pods)).toEqual([]);
      // Start-up reconcile must not have broken live pods.
      expect(await pingFailures(meshJobs(c, pods))).toEqual([]);
    });

    it('DEL after the restart cleans up and returns the IPs to the pool', async () => {
      for (const p of pods) await delPod(plugin, p);
      const report = await cleanupProblems(c, before, pods);
      expect(report.problems).toEqual([]);
      for (const n of c.nodes) expect(podIpv6Rules(n.netns), n.instanceId).toEqual([]);
      expect(c.kernel.errors.map((e) => e.message)).toEqual([]);
    });

    it('DEL while the daemon is down succeeds (recorded); the restarted daemon releases that pod and removes its wiring before it serves', async () => {
      const n1 = c.nodes[0]!;
      const gone = await createPod(PREFIX, 'gx', n1.daemon);
      const kept = await createPod(PREFIX, 'gy', n1.daemon);
      pods.push(gone, kept);
      await addPod(plugin, gone);
      await addPod(plugin, kept);
      await n1.daemon.kill('SIGKILL');
      // The netns stays (the runtime has not removed the sandbox yet): no kernel check can tell; the record does.
      const del = await runCni(plugin, gone, 'DEL');
      expect(del.code, `DEL with the daemon down: ${del.stdout} ${del.stderr}`).toBe(0);
      expect(del.stderr).toMatch(/release recorded/);
      await n1.daemon.start();
      expect((await n1.daemon.getIpInfo(podRefOf(gone))).found, 'the recorded DEL was applied at start').toBe(false);
      const links = await execIn(gone.netns, ['ip', '-o', 'link', 'show']);
      expect(
        links.stdout.split('\n').filter((l) => l.trim() && !/: lo:/.test(l)),
        'pod netns unwired',
      ).toEqual([]);
      // CNI GC afterwards finds nothing more to release.
      const gc = await runGc(plugin, n1.daemon.socketPath, [kept]);
      expect(gc.code, `GC: ${gc.stdout} ${gc.stderr}`).toBe(0);
      expect((await n1.daemon.getIpInfo(podRefOf(gone))).found).toBe(false);
      expect((await n1.daemon.getIpInfo(podRefOf(kept))).found).toBe(true);
      expect(await pingFailures([{ from: kept, to: n1.primaryIp, label: 'node' }])).toEqual([]);
      await delPod(plugin, kept);
      expect((await cleanupProblems(c, before, pods)).problems).toEqual([]);
    });

    it('a pod deleted while the daemon is down (DEL unseen, netns gone) is released at restart, without GC', async () => {
      const n1 = c.nodes[0]!;
      const gone = await createPod(PREFIX, 'ox', n1.daemon);
      const kept = await createPod(PREFIX, 'oy', n1.daemon);
      pods.push(gone, kept);
      await addPod(plugin, gone);
      await addPod(plugin, kept);
      expect(gone.hostVeth).toBeTruthy();
      await n1.daemon.kill('SIGKILL');
      expect((await runCni(plugin, gone, 'DEL')).code).toBe(0);
      await destroyPod(gone); // the runtime removes the sandbox; its veth pair dies with the netns
      const vethGone = await eventually(async () => (await execIn(n1.netns, ['ip', 'link', 'show', gone.hostVeth!])).code !== 0, 10_000);
      expect(vethGone, 'host veth of the deleted netns').toBe(true);
      await n1.daemon.start();
      expect((await n1.daemon.getIpInfo(podRefOf(gone))).found, 'released at start-up').toBe(false);
      expect((await n1.daemon.getIpInfo(podRefOf(kept))).found, 'a live pod is kept').toBe(true);
      expect(await pingFailures([{ from: kept, to: n1.primaryIp, label: 'node' }])).toEqual([]);
      await delPod(plugin, kept);
      expect((await cleanupProblems(c, before, pods)).problems).toEqual([]);
    });
  });
}
