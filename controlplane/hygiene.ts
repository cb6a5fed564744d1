// Cluster-wide hygiene, pure: which ENIs of ours are leaked and go. An ENI carrying our creator tag that
// sits detached (Available) is deleted when the instance its node tag names no longer exists (released
// instances leave their secondary ENIs behind: aws-vpc-cni #69), or when it has stayed detached for the
// grace period (a create whose attach never came). Otherwise never one a node still knows, nor while that
// node has a create under way (its record may be about to claim it).
import type { Eni } from '../pool/cloud.js';
import { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from '../pool/ownership.js';

export interface HygieneNode {
  /** The ENI is in the node's resource. */
  knows(eniId: string): boolean;
  /** A create is recorded or running for the node. */
  creating: boolean;
}

export interface HygieneInput {
  now: number;
  /** Every ENI of the VPC (a full listing). */
  listing: readonly Eni[];
  nodesByInstance: ReadonlyMap<string, HygieneNode>;
  /** Instances that exist, among those the candidates name (undefined: not asked; only the grace rule applies). */
  existing?: ReadonlySet<string>;
  /** When each ENI was first seen detached (kept by the caller across rounds). */
  firstSeen: Map<string, number>;
  graceMs: number;
}

export interface LeakedEni {
  eniId: string;
  instanceId: string;
  reason: 'instance gone' | 'detached past the grace period';
}

/** Our detached ENIs, and the instances their node tags name (ask which exist, then call leakedEnis). */
export function detachedOurs(listing: readonly Eni[]): { enis: Eni[]; instanceIds: string[] } {
  const enis = listing.filter((e) => e.status === 'Available' && e.type !== 'Primary' && e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE);
  return { enis, instanceIds: [...new Set(enis.map((e) => e.tags[NODE_TAG_KEY] ?? '').filter(Boolean))] };
}

export function leakedEnis(input: HygieneInput): LeakedEni[] {
  const out: LeakedEni[] = [];
  const { enis } = detachedOurs(input.listing);
  const seen = new Set<string>();
  for (const e of enis) {
    seen.add(e.eniId);
    if (!input.firstSeen.has(e.eniId)) input.firstSeen.set(e.eniId, input.now);
    const instanceId = e.tags[NODE_TAG_KEY] ?? '';
    // Detached and its instance released: no pod can use it, whatever a stale resource still says.
    if (input.existing && instanceId && !input.existing.has(instanceId)) {
      out.push({ eniId: e.eniId, instanceId, reason: 'instance gone' });
      continue;
    }
    const node = input.nodesByInstance.get(instanceId);
    if (node && (node.knows(e.eniId) || node.creating)) continue;
    if (input.now - input.firstSeen.get(e.eniId)! >= input.graceMs)
      out.push({ eniId: e.eniId, instanceId, reason: 'detached past the grace period' });
  }
  for (const id of [...input.firstSeen.keys()]) if (!seen.has(id)) input.firstSeen.delete(id);
  return out;
}
