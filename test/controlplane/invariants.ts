// The invariants of centralized IPAM, checked on the mock cloud's own state, the Node resources and the node
// sides' pod DBs: no IP held twice, no IP lost (every address the cloud has on a node's secondary ENIs of
// ours, each one's own primary included, is in its resource once), no IP in a resource the cloud does not
// have, no pod on the instance's primary ENI (ADR 0007), no ENI of ours left detached.
import { podAddresses, type NodeCr } from '../../daemon/k8s/nodeCr.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from '../../pool/ownership.js';
import type { WorldDump } from '../../sim/mockcloud/index.js';
import type { RigNode } from '../../sim/central/rig.js';

export const MUTATING = [
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
];

export function mutatingCalls(counters: Record<string, number>): number {
  return MUTATING.reduce((n, a) => n + (counters[a] ?? 0), 0);
}

export function checkCentral(dump: WorldDump, crs: NodeCr[], sides: Pick<RigNode, 'name' | 'instanceId' | 'store'>[]): string[] {
  const problems: string[] = [];
  const holder = new Map<string, string>();
  const inCr = new Map<string, string>();
  for (const cr of crs)
    for (const nic of Object.values(cr.status?.networkInterfaces ?? {}))
      for (const ip of podAddresses(nic)) {
        const other = inCr.get(ip.ip);
        if (other) problems.push(`IP ${ip.ip} in the resources of ${other} and ${cr.metadata.name}`);
        inCr.set(ip.ip, cr.metadata.name);
      }
  for (const side of sides) {
    const snap = side.store.load();
    const cr = crs.find((c) => c.metadata.name === side.name);
    if (!cr) {
      problems.push(`no resource for ${side.name}`);
      continue;
    }
    for (const p of snap.pods) {
      const other = holder.get(p.ip);
      if (other) problems.push(`IP ${p.ip} held by ${other} and ${p.podKey}`);
      holder.set(p.ip, p.podKey);
    }
    const crIps = new Map<string, string>();
    for (const nic of Object.values(cr.status?.networkInterfaces ?? {})) for (const ip of podAddresses(nic)) crIps.set(ip.ip, ip.status);
    const cloudIps = new Set<string>();
    const onEth0 = new Set<string>();
    for (const e of dump.enis) {
      if (e.instanceId !== side.instanceId || e.status !== 'InUse') continue;
      if (e.type === 'Primary') {
        for (const ip of [e.primaryIp, ...e.secondaryIps]) onEth0.add(ip);
        continue;
      }
      if (e.tags[CREATOR_TAG_KEY] !== CREATOR_TAG_VALUE) continue;
      for (const ip of [e.primaryIp, ...e.secondaryIps]) {
        cloudIps.add(ip);
        if (!crIps.has(ip)) problems.push(`${side.name}: cloud IP ${ip} on ${e.eniId} is not in the resource (lost)`);
      }
    }
    for (const [ip, status] of crIps)
      if (!cloudIps.has(ip) && status !== 'Invalid')
        problems.push(`${side.name}: resource IP ${ip} (${status}) is not on the node in the cloud`);
    const local = new Map(snap.ips.map((r) => [r.ip, r]));
    for (const p of snap.pods) {
      if (onEth0.has(p.ip)) problems.push(`${side.name}: pod ${p.podKey} holds ${p.ip} of the primary ENI`);
      else if (!cloudIps.has(p.ip)) problems.push(`${side.name}: pod ${p.podKey} holds ${p.ip}, not on the node in the cloud`);
      if (local.get(p.ip)?.podKey !== p.podKey) problems.push(`${side.name}: pod ${p.podKey} holds ${p.ip} but the IP row disagrees`);
    }
    for (const e of dump.enis)
      if (e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE && e.tags[NODE_TAG_KEY] === side.instanceId && e.status !== 'InUse')
        problems.push(`${side.name}: ENI ${e.eniId} of ours is ${e.status}`);
  }
  return problems;
}
