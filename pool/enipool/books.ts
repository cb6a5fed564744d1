// The ENI pool's books: the ENIs it owns, their slots (pool-side state), the pods holding them and the
// vSwitch facts, kept in step with the PoolStore. Callers commit with write() before they change the
// maps, so nothing is answered from a change that is not durable.

import type { PoolStore, PodRecord, StoreOp } from '../store.js';
import type { IpAllocation } from '../types.js';
import type { EniSlot } from './planner.js';
import { VSwitchFactsCache } from '../vSwitchFacts.js';
import type { EniInfo } from './records.js';

export class EniBooks {
  readonly enis = new Map<string, EniInfo>();
  readonly slots = new Map<string, EniSlot>();
  readonly pods = new Map<string, PodRecord>();
  readonly vSwitches = new VSwitchFactsCache();

  constructor(readonly store: PoolStore) {}

  /** Commits `ops` in one transaction (throws, changing nothing, when the DB fails). */
  write(ops: StoreOp[]): void {
    this.store.apply(ops);
  }

  /** Slots plus a placeholder `attaching` slot per create whose ENI id is not known yet. */
  plannerSlots(creating: number): EniSlot[] {
    const out = [...this.slots.values()];
    for (let i = 0; i < creating; i++) out.push({ eniId: `~creating-${i}`, state: 'attaching', since: 0 });
    return out;
  }

  /** The pool still holds exactly this allocation. */
  holds(a: IpAllocation): boolean {
    const cur = this.pods.get(a.podKey);
    return cur !== undefined && cur.allocatedAt === a.allocatedAt && cur.eniId === a.eniId;
  }

  /** Forgets an ENI the cloud no longer has for us (its pod row, if any, stays). */
  forget(eniId: string): void {
    this.slots.delete(eniId);
    this.enis.delete(eniId);
  }
}
