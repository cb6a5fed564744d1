// The chaos run's invariants, as pure functions of the mock cloud's own dump and the daemon's pool document
// (/v1/pool): each returns the problems it finds (empty = good).
import type { WorldDump } from '../mockcloud/index.js';

/** What the chaos run needs of the daemon's /v1/pool document. */
export interface PoolDoc {
  stats: { assigned: number; total: number; free: number; cooling: number; reserved: number; releasing: number };
  enis: { eniId: string; ips: Record<string, string[]> }[];
}

/** Addresses the cloud shows twice (on two ENIs, or twice on one). */
export function cloudDuplicates(dump: WorldDump): string[] {
  const seen = new Map<string, number>();
  for (const e of dump.enis) for (const ip of [e.primaryIp, ...e.secondaryIps]) seen.set(ip, (seen.get(ip) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([ip]) => `${ip} held ${n(seen.get(ip))} times in the cloud`);
}
const n = (x: number | undefined): number => x ?? 0;

/**
 * The pool against the cloud, for one node: every address the cloud shows on the node's secondary ENIs (each
 * one's primary included: pods use it too) and every secondary IP on eth0 is in the pool (none leaked), every pool IP is on that ENI in the cloud (none invented), every ENI of the pool is attached to
 * the node, and no ENI the daemon created (creator + node tags) sits detached or attached without the pool
 * knowing it (an unowned ENI).
 */
export function poolCloudMismatches(dump: WorldDump, instanceId: string, pool: PoolDoc): string[] {
  const out: string[] = [];
  const cloudEnis = new Map(dump.enis.filter((e) => e.instanceId === instanceId && e.status === 'InUse').map((e) => [e.eniId, e]));
  const poolEnis = new Map(pool.enis.map((e) => [e.eniId, e]));
  for (const [eniId, e] of cloudEnis) {
    const p = poolEnis.get(eniId);
    const poolIps = new Set(p ? Object.values(p.ips).flat() : []);
    const addresses = e.type === 'Secondary' ? [e.primaryIp, ...e.secondaryIps] : e.secondaryIps;
    for (const ip of addresses) if (!poolIps.has(ip)) out.push(`${ip} on ${eniId} in the cloud, not in the pool (leaked)`);
  }
  for (const [eniId, p] of poolEnis) {
    const e = cloudEnis.get(eniId);
    if (!e) {
      out.push(`${eniId} in the pool, not attached to ${instanceId} in the cloud`);
      continue;
    }
    const cloudIps = new Set([e.primaryIp, ...e.secondaryIps]);
    for (const ip of Object.values(p.ips).flat()) if (!cloudIps.has(ip)) out.push(`${ip} in the pool on ${eniId}, not in the cloud`);
  }
  for (const e of dump.enis) {
    const ours = e.tags.creator === 'eni-ipam' && e.tags.node === instanceId;
    if (!ours) continue;
    if (e.status !== 'InUse' || e.instanceId !== instanceId)
      out.push(`${e.eniId} created by the daemon is ${e.status}${e.instanceId ? ` on ${e.instanceId}` : ''} (unowned)`);
    else if (!poolEnis.has(e.eniId)) out.push(`${e.eniId} created by the daemon is attached, the pool does not know it (unowned)`);
  }
  return out;
}
