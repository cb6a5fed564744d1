// The docs/ARCHITECTURE.md invariant check for pool tests against the mock cloud, on the mock's own state dump.
import type { WorldDump } from '../../sim/mockcloud/index.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from '../../pool/eniMultiIpPool.js';
import type { PoolSnapshot } from '../../pool/store.js';
import { MOCK_NODE } from '../support/mockCloud.js';

export const NODE = MOCK_NODE;

/**
 * Checks docs/ARCHITECTURE.md's invariants for one node: no IP held by two pods; every address the cloud has on the
 * node's secondary ENIs (each one's primary and its secondary IPs) is held or free in the pool (and the pool has no
 * IP the cloud lacks, except flagged ones); no pod on the primary ENI (eth0 is the node's); no ENI the pool created
 * is left unattached. Returns the list of violations (empty = fine).
 */
export function checkInvariants(dump: WorldDump, snap: PoolSnapshot, instanceId = NODE): string[] {
  const problems: string[] = [];
  const holders = new Map<string, string>();
  for (const p of snap.pods) {
    const other = holders.get(p.ip);
    if (other) problems.push(`IP ${p.ip} held by ${other} and ${p.podKey}`);
    holders.set(p.ip, p.podKey);
  }
  const cloudIps = new Map<string, string>();
  for (const e of dump.enis) {
    if (e.instanceId !== instanceId || e.status !== 'InUse') continue;
    if (e.type === 'Primary') {
      for (const p of snap.pods)
        if (p.ip === e.primaryIp || e.secondaryIps.includes(p.ip)) problems.push(`pod ${p.podKey} on the primary ENI`);
      continue;
    }
    for (const ip of [e.primaryIp, ...e.secondaryIps]) cloudIps.set(ip, e.eniId);
  }
  const poolIps = new Map(snap.ips.map((r) => [r.ip, r]));
  for (const [ip, eniId] of cloudIps) {
    const r = poolIps.get(ip);
    if (!r) problems.push(`cloud IP ${ip} on ${eniId} is lost (not in the pool)`);
    else if (r.state === 'releasing') problems.push(`cloud IP ${ip} still 'releasing' after reconcile`);
  }
  for (const r of snap.ips) {
    if (!cloudIps.has(r.ip) && !r.missingInCloud) problems.push(`pool IP ${r.ip} (${r.state}) is not on the node in the cloud`);
    if (r.state === 'assigned' && !snap.pods.some((p) => p.podKey === r.podKey && p.ip === r.ip))
      problems.push(`IP ${r.ip} assigned to missing pod ${r.podKey}`);
  }
  for (const p of snap.pods) {
    const r = poolIps.get(p.ip);
    if (!r || r.state !== 'assigned' || r.podKey !== p.podKey)
      problems.push(`pod ${p.podKey} holds ${p.ip} but the IP row says ${r ? `${r.state}/${r.podKey}` : 'nothing'}`);
  }
  for (const e of dump.enis) {
    if (e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE && e.tags[NODE_TAG_KEY] === instanceId && e.status !== 'InUse') {
      problems.push(`ENI ${e.eniId} created by the pool is ${e.status}`);
    }
  }
  return problems;
}
