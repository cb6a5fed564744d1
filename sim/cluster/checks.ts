// What the end-to-end suites assert, as functions returning the problems they find (empty = good), so one
// expect() shows every problem at once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ipJson } from '../vpcsim/ip.js';
import { ping, probeKernelSupport } from '../vpcsim/netns.js';
import { cloudPodAddresses, type Cluster } from './cluster.js';
import { ROOT } from './daemonProc.js';
import { podRefOf, type Pod } from './pods.js';
import { classifyAdded, diffSnapshots, snapshotNetns, type NetnsSnapshot } from './snapshot.js';

export interface Support {
  ok: boolean;
  missing: string[];
}

/** Root, iproute2, ping, netns + veth, and the pieces under test (daemon, plugin sources, tsx). */
export async function e2eSupport(): Promise<Support> {
  const k = await probeKernelSupport();
  const missing = [...k.missing];
  for (const f of ['daemon/main.ts', 'daemon/daemon.ts', 'cni/main.ts', 'drivers/veth.ts', 'node_modules/tsx/package.json']) {
    if (!existsSync(join(ROOT, f))) missing.push(`${f} (not in the tree)`);
  }
  return { ok: missing.length === 0, missing };
}

/** Polls `cond` every 100 ms until it holds (true) or `timeoutMs` passes (false). */
export async function eventually(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs async jobs with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface PingJob {
  from: Pod;
  to: string;
  label: string;
}

/** `ping -c1 -W1` for every job (a second try for a miss, so one lost first packet is not a failure). Returns the misses. */
export async function pingFailures(jobs: readonly PingJob[], limit = 8): Promise<string[]> {
  const res = await mapLimit(jobs, limit, async (j) => (await ping(j.from.netns, j.to)) || (await ping(j.from.netns, j.to)));
  return jobs.filter((_, i) => !res[i]).map((j) => `${j.from.name}(${j.from.ip}) -> ${j.label}(${j.to})`);
}

/** Every pod to every other pod (same node and other node) and to its own node's address. */
export function meshJobs(c: Cluster, pods: readonly Pod[]): PingJob[] {
  const jobs: PingJob[] = [];
  for (const a of pods) {
    for (const b of pods) if (a !== b) jobs.push({ from: a, to: b.ip!, label: b.name });
    const node = c.nodes.find((n) => n.daemon === a.node)!;
    jobs.push({ from: a, to: node.primaryIp, label: `node ${node.instanceId}` });
  }
  return jobs;
}

/**
 * Pod IPs are addresses the cloud shows on a secondary ENI of the pod's node (never eth0), the ENI the daemon names for the pod
 * (GetIPInfo), and no IP is held by two pods.
 */
export async function cloudIpProblems(c: Cluster, pods: readonly Pod[]): Promise<string[]> {
  const problems: string[] = [];
  const dump = c.mc.dump();
  const seen = new Map<string, string>();
  for (const p of pods) {
    if (!p.ip) {
      problems.push(`${p.name}: no IP`);
      continue;
    }
    const other = seen.get(p.ip);
    if (other) problems.push(`${p.ip} held by both ${other} and ${p.name}`);
    seen.set(p.ip, p.name);
    const onNode = cloudPodAddresses(dump, p.node.instanceId);
    const eni = onNode.get(p.ip);
    if (!eni) {
      problems.push(`${p.name}: ${p.ip} is not an address of any secondary ENI of ${p.node.instanceId} in the cloud`);
      continue;
    }
    const info = await p.node.getIpInfo(podRefOf(p));
    if (!info.found) problems.push(`${p.name}: daemon GetIPInfo does not know the pod`);
    else if (info.eniId !== eni) problems.push(`${p.name}: daemon says ENI ${info.eniId}, cloud has ${p.ip} on ${eni}`);
    else if (info.ips[0]?.address !== `${p.ip}/32`)
      problems.push(`${p.name}: daemon says ${info.ips[0]?.address}, plugin printed ${p.ip}/32`);
  }
  return problems;
}

export async function snapshotNodes(c: Cluster): Promise<Map<string, NetnsSnapshot>> {
  const m = new Map<string, NetnsSnapshot>();
  for (const n of c.nodes) m.set(n.instanceId, await snapshotNetns(n.netns));
  return m;
}

export interface CleanReport {
  problems: string[];
  /** Per-ENI policy-routing state that stays while the ENI is attached (not a pod leftover). */
  eniInfra: string[];
}

/**
 * After every DEL: node netns state equals the snapshot before the pods (bar per-ENI tables), each pod netns has
 * nothing but `lo`, and the pool holds every pod IP again (daemon: nothing assigned; cloud: still on the node).
 */
export async function cleanupProblems(c: Cluster, before: Map<string, NetnsSnapshot>, pods: readonly Pod[]): Promise<CleanReport> {
  const problems: string[] = [];
  const eniInfra: string[] = [];
  const dump = c.mc.dump();
  for (const n of c.nodes) {
    const mine = pods.filter((p) => p.node === n.daemon);
    const after = await snapshotNetns(n.netns);
    const cls = classifyAdded(
      diffSnapshots(before.get(n.instanceId)!, after),
      mine.map((p) => p.ip!).filter(Boolean),
      mine.map((p) => p.hostVeth!).filter(Boolean),
      dump.enis.filter((e) => e.instanceId === n.instanceId && e.status === 'InUse').map((e) => e.mac),
    );
    problems.push(...cls.leftovers.map((l) => `${n.instanceId} leftover: ${l}`));
    eniInfra.push(...cls.eniInfra.map((l) => `${n.instanceId}: ${l}`));

    const s = await n.daemon.status();
    if (s.freeIps !== s.totalIps) problems.push(`${n.instanceId}: pool has ${s.freeIps} free of ${s.totalIps} after every DEL`);
    // Invariant: every address the cloud shows on this node's secondary ENIs is in the pool (none leaked, none
    // invented). Polled briefly: a refill the last ADDs triggered may still be between the cloud and the books.
    const booksMatch = await eventually(
      async () => (await n.daemon.status()).totalIps === cloudPodAddresses(c.mc.dump(), n.instanceId).size,
    );
    if (!booksMatch) {
      const cloudCount = cloudPodAddresses(c.mc.dump(), n.instanceId).size;
      problems.push(
        `${n.instanceId}: pool owns ${(await n.daemon.status()).totalIps} IPs, the cloud shows ${cloudCount} addresses on its secondary ENIs`,
      );
    }
    const onNode = cloudPodAddresses(dump, n.instanceId);
    for (const p of mine) {
      if (p.ip && !onNode.has(p.ip)) problems.push(`${p.name}: ${p.ip} no longer on ${n.instanceId} in the cloud (released, not pooled)`);
      const info = await n.daemon.getIpInfo(podRefOf(p));
      if (info.found) problems.push(`${p.name}: daemon still has an allocation after DEL`);
    }
    if (s.totalIps < mine.length) problems.push(`${n.instanceId}: pool total ${s.totalIps} < ${mine.length} pods it served`);
  }
  for (const p of pods) {
    const links = await ipJson<{ ifname: string }[]>(p.netns, ['link', 'show']).catch(() => undefined);
    if (links === undefined) continue; // netns already gone
    const extra = links.map((l) => l.ifname).filter((n) => n !== 'lo');
    if (extra.length > 0) problems.push(`${p.name}: pod netns still has ${extra.join(', ')} after DEL`);
  }
  return { problems, eniInfra };
}
