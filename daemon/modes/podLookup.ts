// Which allocation a DEL names. The pod key is (container id, interface, network name), and the network name
// comes from the conflist, which an operator may edit between a pod's ADD and its DEL: the exact key first,
// else the one allocation of that container id and interface under another network name. A runtime attaches
// one network per (container, interface), so two such allocations cannot both be live; if there are several
// all the same (a leftover), none is picked: GC by pod existence and CNI GC settle them. CHECK and GetIPInfo
// stay exact (a CHECK under the new name fails and the runtime re-adds; nothing is released by it).
import { podKeyOf, type IpAllocation, type IpAllocator, type PodRef } from '../../pool/types.js';

export type PodLookup =
  | { kind: 'exact'; alloc: IpAllocation }
  /** Found under another network name (the conflist's name changed since ADD). */
  | { kind: 'renamed'; alloc: IpAllocation }
  | { kind: 'none' }
  /** Several allocations of this container id and interface, none under this network name. */
  | { kind: 'ambiguous'; allocs: IpAllocation[] };

export function lookupAllocation(allocator: Pick<IpAllocator, 'get' | 'list'>, pod: PodRef): PodLookup {
  const exact = allocator.get(podKeyOf(pod));
  if (exact) return { kind: 'exact', alloc: exact };
  const same = allocator.list().filter((a) => a.containerId === pod.containerId && a.ifName === pod.ifName);
  if (same.length === 1) return { kind: 'renamed', alloc: same[0]! };
  return same.length === 0 ? { kind: 'none' } : { kind: 'ambiguous', allocs: same };
}

/** `pod` under the network name of the allocation it names (unchanged when there is none, or several). */
export function refOfAllocation(pod: PodRef, found: PodLookup): PodRef {
  return found.kind === 'renamed' ? { ...pod, networkName: found.alloc.networkName } : pod;
}

/** The last `max` keys added (insertion order; a re-added key moves to the end). */
export class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}
