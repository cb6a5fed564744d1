// Pure decisions of the ENI pool's periodic cloud reconcile (VPCENI mode). Given what the pool
// knows and what DescribeNetworkInterfaces answered, say which ENIs to drop (detached or deleted
// behind our back), which tagged ENIs of ours to adopt, and which detached leftovers to delete.
// No I/O, no clock: sync.ts fetches, then applies the verdict without awaiting in between.
import type { Eni } from '../cloud.js';
import type { EniSlotState } from './planner.js';

export interface KnownEni {
  eniId: string;
  state: EniSlotState;
  /** Work on this ENI started or finished while the cloud was being read: its listing may be stale. */
  changed: boolean;
}

export interface EniReconcileInput {
  instanceId: string;
  known: KnownEni[];
  /** ENI id → pod key of the pod record that holds it (also for ENIs the pool no longer has). */
  holders: ReadonlyMap<string, string>;
  /** DescribeNetworkInterfaces(instanceId). */
  attached: Eni[];
  /** DescribeNetworkInterfaces(status Available, our tags). */
  available: Eni[];
  isOurs: (e: Eni) => boolean;
  /** Released / deleted by us within the reconcile cooldown: a listing of it is taken as stale. */
  recentlyRemoved: (eniId: string) => boolean;
  /** Attached by us within the reconcile cooldown: a listing that does not show it InUse is taken as stale. */
  recentlyAdded?: (eniId: string) => boolean;
  /** vSwitch facts are known for this vSwitch (an ENI is adopted only then). */
  vSwitchKnown: (vSwitchId: string) => boolean;
  /** No create was under way before or during the describe (a new ENI may be listed Available legitimately). */
  createsQuiet: boolean;
}

export interface EniDrop {
  eniId: string;
  /** The pod that held it: its record is kept and flagged, the ENI is never handed out again. */
  podKey?: string;
  /** What the cloud says now (absent: not listed at all, i.e. deleted or attached elsewhere). */
  cloudStatus?: string;
}

export interface EniAdopt {
  eni: Eni;
  /** A pod record already names this ENI (it came back): it is adopted as that pod's, not as free. */
  podKey?: string;
}

export interface EniReconcilePlan {
  drop: EniDrop[];
  adopt: EniAdopt[];
  /** Ours, detached, not known: delete in the cloud. */
  deleteLeftovers: string[];
  /** Secondary ENIs attached here that are not ours (they take from the node's capacity). */
  foreign: number;
  /** Listings skipped because of the cooldown or in-flight work (look again later). */
  skipped: string[];
}

export function planEniReconcile(input: EniReconcileInput): EniReconcilePlan {
  const here = input.attached.filter((e) => e.instanceId === input.instanceId && e.type === 'Secondary');
  const byId = new Map(here.map((e) => [e.eniId, e] as const));
  const drop: EniDrop[] = [];
  const adopt: EniAdopt[] = [];
  const skipped: string[] = [];
  const knownIds = new Set(input.known.map((k) => k.eniId));

  for (const k of input.known) {
    // attaching / releasing ENIs belong to a worker that settles them; changed ones were listed before that work.
    if (k.state === 'attaching' || k.state === 'releasing') continue;
    if (k.changed) {
      skipped.push(k.eniId);
      continue;
    }
    const e = byId.get(k.eniId);
    if (e && e.status === 'InUse') continue;
    if (input.recentlyAdded?.(k.eniId)) {
      // attached a moment ago: the listing may predate it
      skipped.push(k.eniId);
      continue;
    }
    drop.push({
      eniId: k.eniId,
      ...(input.holders.has(k.eniId) ? { podKey: input.holders.get(k.eniId) } : {}),
      ...(e ? { cloudStatus: e.status } : {}),
    });
  }

  for (const e of here) {
    if (knownIds.has(e.eniId) || !input.isOurs(e)) continue;
    if (e.status !== 'InUse') continue; // Attaching / Detaching by someone else: settle first, look next round
    if (input.recentlyRemoved(e.eniId)) {
      skipped.push(e.eniId);
      continue;
    }
    if (!input.vSwitchKnown(e.vSwitchId)) {
      skipped.push(e.eniId);
      continue;
    }
    const podKey = input.holders.get(e.eniId);
    adopt.push(podKey ? { eni: e, podKey } : { eni: e });
  }

  const deleteLeftovers: string[] = [];
  if (input.createsQuiet) {
    for (const e of input.available) {
      if (e.status !== 'Available' || e.type !== 'Secondary' || !input.isOurs(e) || knownIds.has(e.eniId)) continue;
      // A pod record still names it (detached behind our back): keep it for the operator to re-attach.
      if (input.holders.has(e.eniId)) continue;
      if (input.recentlyRemoved(e.eniId)) continue; // we deleted it a moment ago: a stale listing
      deleteLeftovers.push(e.eniId);
    }
  }

  const foreign = here.filter((e) => !input.isOurs(e)).length;
  return { drop, adopt, deleteLeftovers, foreign, skipped };
}
