// Pure decisions of the ENI pool (VPCENI mode: one whole ENI per pod). No I/O, no clock: every
// function takes the state and `now` and returns what to do. eniPool.ts does the cloud and DB work.

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

export interface EniPoolBackoff {
  until: number;
  code: string;
}

export interface EniPlannerInput {
  slots: EniSlot[];
  /** Allocation requests waiting for an ENI. */
  waiting: number;
  minPoolSize: number;
  maxPoolSize: number;
  /** ENIs this node may hand to pods (see eniCapacity). */
  capacity: number;
  /** ENI creation paused (quota / vSwitch exhaustion / other failure) until then. */
  backoff?: EniPoolBackoff;
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

/**
 * ENIs a node can give to pods: the instance quota minus the primary ENI, capped by `max_eni`
 * (which, as for the multi-IP pool, counts the primary ENI too; 0 = no cap).
 */
export function eniCapacity(eniQuantity: number, maxEni: number): number {
  const total = maxEni > 0 ? Math.min(eniQuantity, maxEni) : eniQuantity;
  return Math.max(0, total - 1);
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

function count(slots: EniSlot[], ...states: EniSlotState[]): number {
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

/** Cloud codes that pause ENI creation, with their Terway pause lengths. */
export interface EniBackoffConfig {
  /** EniPerInstanceLimitExceeded (Terway: 1 minute). */
  eniPerInstanceLimitMs: number;
  /** InvalidVSwitchId.IpNotEnough / QuotaExceeded.PrivateIpAddress (Terway: 10 minutes). */
  vSwitchIpNotEnoughMs: number;
  /** Any other failed create / attach. */
  otherErrorMs: number;
}

export const defaultEniBackoff: EniBackoffConfig = {
  eniPerInstanceLimitMs: 60_000,
  vSwitchIpNotEnoughMs: 10 * 60_000,
  otherErrorMs: 5_000,
};

/** Exhaustion codes: requests waiting for an ENI fail at once instead of waiting out the pause. */
export const EXHAUSTION_CODES: ReadonlySet<string> = new Set([
  'EniPerInstanceLimitExceeded',
  'InvalidVSwitchId.IpNotEnough',
  'QuotaExceeded.PrivateIpAddress',
]);

/** The pause after a failed create/attach with this cloud code. */
export function backoffFor(code: string, now: number, cfg: EniBackoffConfig): EniPoolBackoff {
  switch (code) {
    case 'EniPerInstanceLimitExceeded':
      return { until: now + cfg.eniPerInstanceLimitMs, code };
    case 'InvalidVSwitchId.IpNotEnough':
    case 'QuotaExceeded.PrivateIpAddress':
      return { until: now + cfg.vSwitchIpNotEnoughMs, code };
    default:
      return { until: now + cfg.otherErrorMs, code };
  }
}

/**
 * The vSwitch for the next ENI: the first (ordered) or a random one (random) among those not paused
 * after `InvalidVSwitchId.IpNotEnough`; undefined when all are paused.
 */
export function pickVSwitch(ids: string[], paused: Record<string, EniPoolBackoff>, now: number, random?: () => number): string | undefined {
  const open = ids.filter((id) => !(paused[id] && paused[id]!.until > now));
  if (open.length === 0) return undefined;
  return random ? open[Math.floor(random() * open.length)] : open[0];
}

/** The pause that blocks creation: the pool-wide one, or the earliest end when every vSwitch is paused. */
export function effectiveBackoff(
  all: EniPoolBackoff | undefined,
  paused: Record<string, EniPoolBackoff>,
  ids: string[],
  now: number,
): EniPoolBackoff | undefined {
  if (all && all.until > now) return all;
  const p = ids.map((id) => paused[id]).filter((b): b is EniPoolBackoff => b !== undefined && b.until > now);
  if (ids.length === 0 || p.length < ids.length) return undefined;
  return p.reduce((a, b) => (b.until < a.until ? b : a));
}
