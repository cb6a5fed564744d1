// Pure decisions of the ENI pool (VPCENI mode: one whole ENI per pod). No I/O, no clock: every
// function takes the state and `now` and returns what to do. The pool's other modules do the cloud and
// DB work. The back-off rules are the shared ones (pool/backoff.ts).

import { CloudErrorCodes, type Eni } from '../cloud.js';
import { EXHAUSTION_CODES, isActive, type Backoffs, type Blocker } from '../backoff.js';

/** Pool-side lifecycle of one secondary ENI. */
export type EniSlotState =
  | 'attaching' // being created / attached, not usable yet
  | 'free' // attached, warm, ready for a pod
  | 'assigned' // moved to (or about to move to) a pod
  | 'cooling' // released by a pod, waits before reuse
  | 'releasing'; // being detached and deleted

export interface EniSlot {
  eniId: string;
  state: EniSlotState;
  /** When the ENI entered its current state (idle-since for `free`). */
  since: number;
  /** End of `cooling`. */
  coolUntil?: number;
}

export interface EniPlannerInput {
  slots: EniSlot[];
  /** Allocation requests waiting for an ENI. */
  waiting: number;
  minPoolSize: number;
  maxPoolSize: number;
  /** ENIs this node may hand to pods (pool/capacity.ts secondaryEniQuota). */
  capacity: number;
  /** ENI creation paused (quota / vSwitch exhaustion / other failure) until then. */
  backoff?: Blocker;
  now: number;
}

export interface EniPlan {
  /** ENIs to create and attach now. */
  create: number;
  /** Idle ENIs to detach and delete (above maxPoolSize). */
  release: string[];
  /** Why fewer were created than needed, when that is so. */
  blocker?: { reason: 'capacity' | 'backoff'; code?: string; until?: number };
}

/** Slots whose cool-down is over become free (same objects for unchanged slots). */
export function expireCooling(slots: EniSlot[], now: number): { slots: EniSlot[]; expired: string[] } {
  const expired: string[] = [];
  const out = slots.map((s) => {
    if (s.state !== 'cooling' || (s.coolUntil ?? 0) > now) return s;
    expired.push(s.eniId);
    return { eniId: s.eniId, state: 'free' as const, since: now };
  });
  return { slots: out, expired };
}

function count(slots: readonly EniSlot[], ...states: EniSlotState[]): number {
  return slots.filter((s) => states.includes(s.state)).length;
}

/** The watermark arithmetic: how many to create, which idle ENIs to give back. */
export function planEniPool(input: EniPlannerInput): EniPlan {
  const { slots, now } = input;
  const owned = slots.filter((s) => s.state !== 'releasing').length;
  const soon = count(slots, 'free', 'attaching', 'cooling');
  const idle = count(slots, 'free', 'cooling');
  // Waiters are served by free and attaching ENIs (cooling ones are not usable yet).
  const servable = count(slots, 'free', 'attaching');
  const wanted = Math.max(input.minPoolSize - soon, input.waiting - servable, 0);
  const room = Math.max(0, input.capacity - owned);
  const backingOff = input.backoff !== undefined && input.backoff.until > now;
  let create = Math.min(wanted, room);
  let blocker: EniPlan['blocker'];
  if (backingOff && create > 0) {
    blocker = { reason: 'backoff', code: input.backoff!.code, until: input.backoff!.until };
    create = 0;
  } else if (create < wanted) {
    blocker = { reason: 'capacity' };
  }
  const release: string[] = [];
  const excess = idle - input.maxPoolSize;
  if (excess > 0 && input.waiting === 0) {
    // Longest idle first; cooling ENIs go before free ones (nobody can use them yet).
    const candidates = slots
      .filter((s) => s.state === 'free' || s.state === 'cooling')
      .sort((a, b) => (a.state === b.state ? a.since - b.since || a.eniId.localeCompare(b.eniId) : a.state === 'cooling' ? -1 : 1));
    for (const s of candidates.slice(0, excess)) release.push(s.eniId);
  }
  return blocker ? { create, release, blocker } : { create, release };
}

/** The free ENI to hand out: the one idle longest (its links have settled), ties by id. */
export function pickFreeEni(slots: EniSlot[]): string | undefined {
  let best: EniSlot | undefined;
  for (const s of slots) {
    if (s.state !== 'free') continue;
    if (!best || s.since < best.since || (s.since === best.since && s.eniId < best.eniId)) best = s;
  }
  return best?.eniId;
}

/**
 * Where a released ENI goes: back to the warm pool (cooling, or free when there is no cool-down)
 * or detached and deleted when the idle ENIs already reach maxPoolSize and no request is waiting.
 */
export function placeReleased(
  slots: EniSlot[],
  maxPoolSize: number,
  cooldownMs: number,
  now: number,
  waiting = 0,
): { state: 'cooling' | 'free' | 'releasing'; coolUntil?: number } {
  const idle = count(slots, 'free', 'cooling');
  // A request is waiting for an ENI: never delete one it could have (detach + delete + create + attach).
  if (idle >= maxPoolSize && waiting === 0) return { state: 'releasing' };
  return cooldownMs > 0 ? { state: 'cooling', coolUntil: now + cooldownMs } : { state: 'free' };
}

/** Slots that can serve a waiting request: free now, or soon (attaching, cooling). */
export function servable(slots: readonly EniSlot[]): number {
  return count(slots, 'free', 'attaching', 'cooling');
}

export interface RefusalInput {
  /** Slots, with a placeholder `attaching` slot per create whose ENI id is not known yet. */
  slots: EniSlot[];
  /** Requests to serve (those waiting plus any new one). */
  need: number;
  capacity: number;
  /** Pods holding an ENI (for the message). */
  assigned: number;
  /** What blocks creation now (creationBlocker), if anything. */
  blocker?: Blocker;
  /** The cloud code of the last failed create / attach, if the last one failed. */
  lastFailureCode?: string;
  now: number;
}

/**
 * Why `need` requests cannot all be served by a free, attaching or cooling ENI nor by a new one
 * (undefined when they can): creation is paused after an exhaustion code, or the node's ENI capacity is
 * used up. Waiting will not help soon in either case, so the request fails at once (Exhausted).
 */
export function refusal(input: RefusalInput): { message: string; cloudCode?: string } | undefined {
  const ready = servable(input.slots);
  if (input.need <= ready) return undefined;
  const owned = input.slots.filter((s) => s.state !== 'releasing').length;
  const b = input.blocker;
  if (b && EXHAUSTION_CODES.has(b.code)) {
    return { message: `ENI creation paused for ${Math.ceil((b.until - input.now) / 1000)}s after ${b.code}`, cloudCode: b.code };
  }
  if (owned + (input.need - ready) > input.capacity) {
    return {
      message: `all ${input.capacity} ENIs this node can hold for pods are in use (${owned} owned, ${input.assigned} assigned)`,
      ...(input.lastFailureCode === CloudErrorCodes.EniPerInstanceLimitExceeded ? { cloudCode: input.lastFailureCode } : {}),
    };
  }
  return undefined;
}

/**
 * The cloud calls that take an ENI out, given how DescribeNetworkInterfaces lists it now: detach only
 * while it is attached here (and not already Available), delete only while the cloud still has it.
 * Nothing to do: it is gone already. A failed call leaves the slot `releasing`; it is retried after the
 * ENI's back-off (deferEni), never given up while the pool owns the ENI.
 */
export function releaseSteps(listed: Eni | undefined, instanceId: string): { detach: boolean; delete: boolean } {
  return {
    detach: listed !== undefined && listed.instanceId === instanceId && listed.status !== 'Available',
    delete: listed !== undefined,
  };
}

/** `releasing` ENIs to take out again now: no work on them under way and their back-off over. */
export function releaseRetries(slots: Iterable<EniSlot>, backoffs: Backoffs, busy: (eniId: string) => boolean, now: number): string[] {
  const out: string[] = [];
  for (const s of slots) if (s.state === 'releasing' && !busy(s.eniId) && !isActive(backoffs.enis[s.eniId], now)) out.push(s.eniId);
  return out;
}
