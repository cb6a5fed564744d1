// GC by pod existence, shared by the multi-IP pools (node-local and delegated): allocations older than the
// grace period whose pod the OwnerCheck reports gone are unwired first (beforeRelease; a failure keeps the
// allocation until the next round and raises a Warning: the IP must not go to another pod while the old
// pod's routes still point at it), then released.
import type { PoolEvent, PoolLogger } from './events.js';
import type { IpAllocation, OwnerCheck } from './types.js';

export interface PodGcDeps {
  ownerCheck: OwnerCheck;
  /** Allocations old enough to be collected (allocatedAt + grace <= now). */
  candidates: IpAllocation[];
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  /** The pool still holds exactly this allocation (a DEL or a new ADD may have come in between). */
  holds(a: IpAllocation): boolean;
  release(podKey: string): Promise<unknown>;
  log: PoolLogger;
  onEvent: (e: PoolEvent) => void;
}

/** Releases the allocations of gone pods; returns their keys. */
export async function releaseGonePods(d: PodGcDeps): Promise<string[]> {
  const released: string[] = [];
  const gone = d.candidates.length > 0 ? await d.ownerCheck.goneOwners(d.candidates) : [];
  for (const a of gone) {
    if (!d.holds(a)) continue;
    if (d.beforeRelease) {
      try {
        await d.beforeRelease(a, 'gc');
      } catch (err) {
        d.log.warn({ err, podKey: a.podKey, ip: a.ip }, 'GC: cleaning up a gone pod failed; its IP is kept until the next GC');
        d.onEvent({
          type: 'Warning',
          reason: 'GCReleaseFailed',
          message: `kept ${a.ip} of gone pod ${a.namespace}/${a.name}: cleanup failed: ${(err as Error).message}`,
          ip: a.ip,
          podKey: a.podKey,
        });
        continue;
      }
      if (!d.holds(a)) continue;
    }
    await d.release(a.podKey);
    released.push(a.podKey);
    d.onEvent({
      type: 'Normal',
      reason: 'GCReleasedIP',
      message: `released ${a.ip} of gone pod ${a.namespace}/${a.name}`,
      ip: a.ip,
      podKey: a.podKey,
    });
  }
  return released;
}
