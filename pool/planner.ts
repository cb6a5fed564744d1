// Pure pool decisions: given a snapshot of the node's ENIs/IPs, pending requests, quotas, back-offs
// and the time, say which cloud operations to run. No I/O, no clock: `now` is an input.
// Shaped after Terway's pkg/eni/local.go (watermarks, batch 10, exhaustion back-off) and Cilium's
// calculateNeededIPs / calculateExcessIPs (watermark arithmetic as small functions).

import type { PoolConfig, EniSelectionPolicy } from './config.js';
import type { IpState, EniRecordState } from './store.js';
import { backoffMessage, isActive, pickVSwitch, type Backoffs } from './backoff.js';

export interface PlannerIp {
  ip: string;
  state: IpState;
  since: number;
  until?: number;
  reservedFor?: string;
}

export interface PlannerEni {
  eniId: string;
  vSwitchId: string;
  primary: boolean;
  createdByUs: boolean;
  state: EniRecordState;
  createdAt: number;
  ips: PlannerIp[];
  /** IPs already asked for on this ENI (queued or running assigns; for an attaching ENI, what it is expected to bring). */
  incoming: number;
  /** A cloud operation on this ENI is queued or running. */
  busy: boolean;
}

export interface PlannerInput {
  now: number;
  config: PoolConfig;
  /** ENIs per instance incl. primary; private IPv4 per ENI incl. its primary address. */
  limits: { eniQuantity: number; ipv4PerEni: number };
  vSwitchIds: string[];
  enis: PlannerEni[];
  /** ENIs being created that have no id yet, with the IPs each is expected to bring. */
  creating: number[];
  /** Allocation requests waiting for an IP. */
  pending: number;
  backoffs: Backoffs;
  /** Last time a reclaim batch was issued. */
  lastReclaimAt: number;
  /** This round's reclaim interval (the jittered draw, see jitteredInterval); default config.idleIpReclaimIntervalMs. */
  reclaimIntervalMs?: number;
  /** Start times of recent CreateNetworkInterface calls (for config.maxEniCreatesPerMinute); older ones are ignored. */
  recentCreates?: readonly number[];
  /** [0,1) source for the 'random' vSwitch policy (tests pass a fixed one). */
  random?: () => number;
}

export type PlanAction =
  | { kind: 'assign'; eniId: string; count: number }
  | { kind: 'createEni'; vSwitchId: string; secondaryCount: number; expectIps: number }
  | { kind: 'unassign'; eniId: string; ips: string[] }
  /** Finish an interrupted release: IPs already committed `releasing` (a failed call, or a crash). */
  | { kind: 'retryUnassign'; eniId: string; ips: string[] }
  /** Finish an interrupted ENI deletion (a detach whose outcome was unknown). */
  | { kind: 'retryDeleteEni'; eniId: string }
  | { kind: 'deleteEni'; eniId: string };

export interface Plan {
  actions: PlanAction[];
  /** Pending requests that no current or planned operation will serve. */
  shortfall: number;
  /** Why the shortfall cannot be served now; `exhausted` means waiting will not help (reject the waiters). */
  blocker?: { code?: string; message: string; exhausted: boolean };
  /** A reclaim batch was issued (the caller records lastReclaimAt = now). */
  reclaimed: boolean;
  /** ENI creations were held back by the create rate limit: plan again at this time. */
  createsDeferredUntil?: number;
}

export const CREATE_RATE_WINDOW_MS = 60_000;

/**
 * Creations allowed now under a sliding 60 s window of at most `maxPerMinute` starts (0 = unlimited), and
 * when the next one frees up if none is left.
 */
export function createBudget(recentCreates: readonly number[], now: number, maxPerMinute: number): { budget: number; nextAt?: number } {
  if (maxPerMinute <= 0) return { budget: Number.POSITIVE_INFINITY };
  const inWindow = recentCreates.filter((t) => now - t < CREATE_RATE_WINDOW_MS).sort((a, b) => a - b);
  const budget = Math.max(0, maxPerMinute - inWindow.length);
  if (budget > 0) return { budget };
  // The oldest start that must leave the window before one more fits.
  return { budget, nextAt: inWindow[inWindow.length - maxPerMinute]! + CREATE_RATE_WINDOW_MS };
}

/** A reclaim interval drawn uniformly from base × (1 ± factor); `random` is a [0,1) source. */
export function jitteredInterval(baseMs: number, factor: number, random: () => number): number {
  if (factor <= 0 || baseMs <= 0) return baseMs;
  return Math.max(0, Math.round(baseMs * (1 + factor * (2 * random() - 1))));
}

/** Secondary IPs one ENI can carry (the ENI's own primary address is not usable for pods). */
export function secondaryPerEni(limits: { ipv4PerEni: number }): number {
  return Math.max(0, limits.ipv4PerEni - 1);
}

/** ENIs this node may have, primary included. */
export function maxEnis(cfg: PoolConfig, limits: { eniQuantity: number }): number {
  return cfg.maxEni > 0 ? Math.min(cfg.maxEni, limits.eniQuantity) : limits.eniQuantity;
}

/** How many IPs to ask for: enough for the waiters plus minPoolSize, rounded up to whole batches but never past maxPoolSize. */
export function calculateNeededIps(
  free: number,
  incoming: number,
  pending: number,
  cfg: Pick<PoolConfig, 'minPoolSize' | 'maxPoolSize' | 'batchSize'>,
): number {
  const need = Math.max(0, pending + cfg.minPoolSize - free - incoming);
  if (need === 0) return 0;
  const upper = Math.max(need, pending + cfg.maxPoolSize - free - incoming);
  return Math.min(upper, Math.ceil(need / cfg.batchSize) * cfg.batchSize);
}

/** Free IPs above maxPoolSize (0 while requests wait or IPs are on their way). */
export function calculateExcessIps(free: number, incoming: number, pending: number, cfg: Pick<PoolConfig, 'maxPoolSize'>): number {
  if (pending > 0 || incoming > 0) return 0;
  return Math.max(0, free - cfg.maxPoolSize);
}

function countState(eni: PlannerEni, state: IpState): number {
  let n = 0;
  for (const ip of eni.ips) if (ip.state === state) n++;
  return n;
}

/** Orders ENIs for taking or adding IPs: most_ips packs onto the fullest, least_ips spreads. Primary first on ties. */
export function orderEnis<T extends { eniId: string; primary: boolean }>(
  enis: T[],
  load: (e: T) => number,
  policy: EniSelectionPolicy,
): T[] {
  const sign = policy === 'most_ips' ? -1 : 1;
  return [...enis].sort((a, b) => sign * (load(a) - load(b)) || Number(b.primary) - Number(a.primary) || a.eniId.localeCompare(b.eniId));
}

export function plan(input: PlannerInput): Plan {
  const { now, config: cfg, limits } = input;
  const perEni = secondaryPerEni(limits);
  const actions: PlanAction[] = [];
  const inuse = input.enis.filter((e) => e.state === 'inuse');

  let free = 0;
  for (const e of inuse) free += countState(e, 'free');
  let incoming = input.creating.reduce((a, b) => a + b, 0);
  for (const e of input.enis) incoming += e.incoming;

  const want = calculateNeededIps(free, incoming, input.pending, cfg);
  // The real demand; `want` may round it up to a whole batch, but only existing ENIs absorb the round-up
  // (a new ENI is never created for IPs nobody needs).
  const need = Math.max(0, input.pending + cfg.minPoolSize - free - incoming);
  let remaining = want;
  const blockers: { code?: string; message: string; exhausted: boolean }[] = [];

  if (remaining > 0 && isActive(input.backoffs.all, now)) {
    const b = input.backoffs.all;
    blockers.push({ code: b.code, message: backoffMessage(b.code), exhausted: true });
  }
  const paused = isActive(input.backoffs.all, now);

  // 1. Fill existing attached ENIs that have room.
  if (remaining > 0 && !paused) {
    const candidates = inuse.filter((e) => {
      const vsw = input.backoffs.vSwitches[e.vSwitchId];
      if (isActive(vsw, now)) {
        if (perEni - e.ips.length - e.incoming > 0) blockers.push({ code: vsw.code, message: backoffMessage(vsw.code), exhausted: true });
        return false;
      }
      if (isActive(input.backoffs.enis[e.eniId], now)) {
        blockers.push({ code: input.backoffs.enis[e.eniId]!.code, message: `ENI ${e.eniId} backing off`, exhausted: false });
        return false;
      }
      return perEni - e.ips.length - e.incoming > 0;
    });
    for (const e of orderEnis(candidates, (x) => x.ips.length + x.incoming, cfg.eniSelectionPolicy)) {
      let room = Math.min(perEni - e.ips.length - e.incoming, remaining);
      remaining -= room;
      while (room > 0) {
        const count = Math.min(room, cfg.batchSize);
        actions.push({ kind: 'assign', eniId: e.eniId, count });
        room -= count;
      }
      if (remaining === 0) break;
    }
  }

  // 2. New ENIs, only when the existing ones are full and the quota and the create rate allow.
  let createsDeferredUntil: number | undefined;
  const onExisting = want - remaining;
  if (remaining > 0 && need <= onExisting) remaining = 0;
  if (remaining > 0 && !paused) {
    const slots = maxEnis(cfg, limits) - input.enis.length - input.creating.length;
    const open = pickVSwitch(input.vSwitchIds, input.backoffs.vSwitches, now) !== undefined;
    if (isActive(input.backoffs.create, now)) {
      blockers.push({ code: input.backoffs.create.code, message: 'ENI creation backing off', exhausted: false });
    } else if (slots <= 0 || perEni === 0) {
      blockers.push({ message: 'node ENI/IP capacity reached', exhausted: true });
    } else if (!open) {
      for (const v of input.vSwitchIds) {
        const b = input.backoffs.vSwitches[v];
        if (b) blockers.push({ code: b.code, message: backoffMessage(b.code), exhausted: true });
      }
      if (input.vSwitchIds.length === 0) blockers.push({ message: 'no vSwitch configured for new ENIs', exhausted: true });
    } else {
      let needLeft = need - onExisting;
      const rate = createBudget(input.recentCreates ?? [], now, cfg.maxEniCreatesPerMinute);
      let created = 0;
      for (let i = 0; i < slots && needLeft > 0; i++) {
        if (created >= rate.budget) {
          // Terway's factory limit: the rest waits for the window (not an error).
          blockers.push({
            code: 'EniCreateRateLimited',
            message: `ENI creation rate limit (${cfg.maxEniCreatesPerMinute}/min) reached`,
            exhausted: false,
          });
          // The ones planned now count as started now.
          createsDeferredUntil =
            createBudget([...(input.recentCreates ?? []), ...Array<number>(created).fill(now)], now, cfg.maxEniCreatesPerMinute).nextAt ??
            now + CREATE_RATE_WINDOW_MS;
          break;
        }
        created++;
        const expectIps = Math.min(perEni, remaining);
        needLeft -= expectIps;
        const random = cfg.vSwitchSelectionPolicy === 'random' ? (input.random ?? Math.random) : undefined;
        const vSwitchId = pickVSwitch(input.vSwitchIds, input.backoffs.vSwitches, now, random)!;
        actions.push({ kind: 'createEni', vSwitchId, secondaryCount: Math.min(expectIps, cfg.maxIpsPerCreate, cfg.batchSize), expectIps });
        remaining -= expectIps;
      }
      if (needLeft > 0 && createsDeferredUntil === undefined) blockers.push({ message: 'node ENI/IP capacity reached', exhausted: true });
    }
  }

  const planned = paused ? 0 : want - remaining;
  const supply = free + incoming + planned;
  const shortfall = Math.max(0, input.pending - supply);
  const blocker = shortfall > 0 ? pickBlocker(blockers) : undefined;

  // 3. Reclaim above maxPoolSize, only when nothing is growing.
  let reclaimed = false;
  if (actions.length === 0) {
    const r = planReclaim(input, free, incoming);
    actions.push(...r.actions);
    reclaimed = r.reclaimed;
  }
  return { actions, shortfall, blocker, reclaimed, ...(createsDeferredUntil !== undefined ? { createsDeferredUntil } : {}) };
}

function pickBlocker(list: { code?: string; message: string; exhausted: boolean }[]): Plan['blocker'] {
  // Waiting helps when any path is only transiently blocked; otherwise it is exhaustion.
  const transient = list.find((b) => !b.exhausted);
  if (transient) return transient;
  return list.find((b) => b.code) ?? list[0] ?? { message: 'no IP available', exhausted: true };
}

function planReclaim(input: PlannerInput, free: number, incoming: number): { actions: PlanAction[]; reclaimed: boolean } {
  const { now, config: cfg } = input;
  const actions: PlanAction[] = [];
  const enisTotal = input.enis.length + input.creating.length;
  const minEni = Math.max(1, cfg.minEni);
  const idle = (ip: PlannerIp) => ip.state === 'free' && now - ip.since >= cfg.idleIpReclaimAfterMs;
  // A young ENI is kept (AWS minENILifeTime): a burst that just created it is likely to come back.
  const deletable = (e: PlannerEni) =>
    e.state === 'inuse' && !e.primary && e.createdByUs && !e.busy && e.incoming === 0 && now - e.createdAt >= cfg.minEniLifetimeMs;

  const excess = calculateExcessIps(free, incoming, input.pending, cfg);
  const growing = input.pending > 0 || incoming > 0 || calculateNeededIps(free, incoming, input.pending, cfg) > 0;

  // ENIs we created that hold no IP at all cost a slot and nothing else: delete once old enough.
  let enis = enisTotal;
  if (!growing) {
    for (const e of input.enis) {
      if (enis <= minEni) break;
      if (deletable(e) && e.ips.length === 0 && now - e.createdAt >= cfg.idleIpReclaimAfterMs) {
        actions.push({ kind: 'deleteEni', eniId: e.eniId });
        enis--;
      }
    }
  }

  if (excess === 0 || now - input.lastReclaimAt < (input.reclaimIntervalMs ?? cfg.idleIpReclaimIntervalMs))
    return { actions, reclaimed: false };

  // Prefer a whole idle ENI (one detach+delete frees all its IPs) that fits inside the excess.
  const wholeEni = input.enis
    .filter((e) => deletable(e) && e.ips.length > 0 && e.ips.length <= excess && e.ips.every(idle) && enis > minEni)
    .sort((a, b) => b.ips.length - a.ips.length || a.eniId.localeCompare(b.eniId))[0];
  if (wholeEni) {
    actions.push({ kind: 'deleteEni', eniId: wholeEni.eniId });
    return { actions, reclaimed: true };
  }

  // Otherwise unassign a batch, emptying the least used ENIs first (ours before the primary's).
  let budget = Math.min(excess, cfg.idleIpReclaimBatchSize);
  const held = (e: PlannerEni) => e.ips.length - countState(e, 'free');
  const order = input.enis
    .filter((e) => e.state === 'inuse' && !e.busy && e.incoming === 0)
    .sort(
      (a, b) =>
        Number(a.primary) - Number(b.primary) ||
        Number(b.createdByUs) - Number(a.createdByUs) ||
        held(a) - held(b) ||
        a.ips.length - b.ips.length ||
        a.eniId.localeCompare(b.eniId),
    );
  for (const e of order) {
    if (budget === 0) break;
    const ips = e.ips
      .filter(idle)
      .sort((a, b) => a.since - b.since || a.ip.localeCompare(b.ip))
      .slice(0, budget)
      .map((i) => i.ip);
    if (ips.length === 0) continue;
    actions.push({ kind: 'unassign', eniId: e.eniId, ips });
    budget -= ips.length;
  }
  return { actions, reclaimed: actions.some((a) => a.kind === 'unassign') };
}

/**
 * `releasing` IPs only ever leave by being unassigned (roll forward, never back to free: the earlier call
 * may have happened). Retries them on attached ENIs that are idle and not backing off, `batch` per call;
 * likewise a `deleting` ENI with no work under way is deleted again.
 */
export function planReleaseRetries(enis: PlannerEni[], backoffs: Backoffs, now: number, batch: number): PlanAction[] {
  const out: PlanAction[] = [];
  for (const e of enis) {
    if (e.busy || isActive(backoffs.enis[e.eniId], now)) continue;
    if (e.state === 'deleting') {
      out.push({ kind: 'retryDeleteEni', eniId: e.eniId });
      continue;
    }
    if (e.state !== 'inuse') continue;
    const ips = e.ips
      .filter((i) => i.state === 'releasing')
      .map((i) => i.ip)
      .sort();
    for (let i = 0; i < ips.length; i += batch) out.push({ kind: 'retryUnassign', eniId: e.eniId, ips: ips.slice(i, i + batch) });
  }
  return out;
}

/** State changes due to timers: cooled IPs become free, expired reservations cool for what is left of their cool-down. */
export function expireTimers(
  ips: Iterable<PlannerIp>,
  now: number,
  cooldownMs: number,
): { ip: string; to: 'free' | 'cooling'; until?: number }[] {
  const out: { ip: string; to: 'free' | 'cooling'; until?: number }[] = [];
  for (const ip of ips) {
    if (ip.until === undefined || ip.until > now) continue;
    if (ip.state === 'cooling') out.push({ ip: ip.ip, to: 'free' });
    else if (ip.state === 'reserved') {
      // `since` is when the pod released it; the cool-down counts from then.
      const coolEnd = ip.since + cooldownMs;
      out.push(coolEnd > now ? { ip: ip.ip, to: 'cooling', until: coolEnd } : { ip: ip.ip, to: 'free' });
    }
  }
  return out;
}

/**
 * Picks the free IP for a new allocation. A stateful pod gets its reserved IP back first.
 * most_ips: take from the ENI with the most IPs in use (keeps other ENIs draining so they can be deleted);
 * least_ips: the least used. Within an ENI the longest-idle IP goes first.
 */
export function pickFreeIp(
  enis: PlannerEni[],
  policy: EniSelectionPolicy,
  reservedFor?: string,
): { eniId: string; ip: string } | undefined {
  if (reservedFor !== undefined) {
    for (const e of enis) {
      if (e.state !== 'inuse') continue;
      const r = e.ips.find((i) => i.state === 'reserved' && i.reservedFor === reservedFor);
      if (r) return { eniId: e.eniId, ip: r.ip };
    }
  }
  const withFree = enis.filter((e) => e.state === 'inuse' && e.ips.some((i) => i.state === 'free'));
  const inUse = (e: PlannerEni) => e.ips.length - countState(e, 'free');
  const eni = orderEnis(withFree, inUse, policy)[0];
  if (!eni) return undefined;
  let best: PlannerIp | undefined;
  for (const i of eni.ips)
    if (i.state === 'free' && (!best || i.since < best.since || (i.since === best.since && i.ip < best.ip))) best = i;
  return best && { eniId: eni.eniId, ip: best.ip };
}
