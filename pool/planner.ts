// Pure pool decisions: given a snapshot of the node's ENIs/IPs, pending requests, quotas, back-offs
// and the time, say which cloud operations to run. No I/O, no clock: `now` is an input.
// Shaped after Terway's pkg/eni/local.go (watermarks, batch 10, exhaustion back-off) and Cilium's
// calculateNeededIPs / calculateExcessIPs (watermark arithmetic as small functions).

import type { PoolConfig, EniSelectionPolicy } from './config.js';
import type { IpState, EniRecordState } from './store.js';
import { backoffMessage, isActive, pickVSwitch, type Backoffs } from './backoff.js';
import { multiIpCapacity, type CapacityLimits } from './capacity.js';
import { CloudErrorCodes } from './cloud.js';

export interface PlannerIp {
  ip: string;
  state: IpState;
  since: number;
  until?: number;
  reservedFor?: string;
  /** Dual stack: the paired IPv6 address; a free IPv4 address without one is a half pair (see isHalf). */
  ipv6?: string;
}

/** Dual stack: a free IPv4 address still waiting for its IPv6 partner (cannot serve a pod yet). */
export function isHalf(ip: PlannerIp, dual: boolean): boolean {
  return dual && ip.state === 'free' && ip.ipv6 === undefined;
}

export interface PlannerEni {
  eniId: string;
  vSwitchId: string;
  /** The instance's own ENI (eth0): never used for pods (a record of it only serves pods placed there before). */
  primary: boolean;
  createdByUs: boolean;
  state: EniRecordState;
  createdAt: number;
  /** The ENI's own primary address: a pod address like its secondary IPs, but only leaves with the ENI. */
  primaryIp?: string;
  ips: PlannerIp[];
  /** IPs already asked for on this ENI (queued or running assigns; for an attaching ENI, what it is expected to bring). */
  incoming: number;
  /** A cloud operation on this ENI is queued or running. */
  busy: boolean;
}

export interface PlannerInput {
  now: number;
  config: PoolConfig;
  /** ENIs per instance incl. the primary; private IPv4 per ENI incl. its primary address; the type, for messages. */
  limits: CapacityLimits;
  /** Secondary ENIs attached here that are not the pool's (another tool's, or failing eni_tag_filter): they hold quota slots. */
  foreignEnis?: number;
  vSwitchIds: string[];
  /** AvailableIpAddressCount per vSwitch, when known ('ordered' picks the most free; empty ones are skipped). */
  vSwitchFree?: Readonly<Record<string, number>>;
  enis: PlannerEni[];
  /** ENIs being created that have no id yet, with the IPs each is expected to bring. */
  creating: number[];
  /** Allocation requests waiting for an IP. */
  pending: number;
  backoffs: Backoffs;
  /** Idle reclaim (Terway calculateToDel): when the pool last changed (an allocation or a release). */
  lastModifiedAt?: number;
  /** Idle reclaim: when the next batch is due; undefined while the pool is not idle yet. */
  nextReclaimAt?: number;
  /** This round's reclaim interval (the jittered draw, see jitteredInterval); default config.idleIpReclaimIntervalMs. */
  reclaimIntervalMs?: number;
  /** Start times of recent CreateNetworkInterface calls (for config.maxEniCreatesPerMinute); older ones are ignored. */
  recentCreates?: readonly number[];
  /** [0,1) source for the 'random' vSwitch policy (tests pass a fixed one). */
  random?: () => number;
}

const isDual = (cfg: Pick<PoolConfig, 'ipStack'>) => cfg.ipStack === 'dual';

export type PlanAction =
  | { kind: 'assign'; eniId: string; count: number }
  /** Dual stack: IPv6 partners for these free IPv4 addresses (an IPv6 assign that failed, or a pod DB from IPv4 only). */
  | { kind: 'pairIpv6'; eniId: string; ips: string[] }
  /** `expectIps` addresses in all (the ENI's primary + `secondaryCount` at creation + assigns after the attach). */
  | { kind: 'createEni'; vSwitchId: string; secondaryCount: number; expectIps: number }
  | { kind: 'unassign'; eniId: string; ips: string[] }
  /** Finish an interrupted release: IPs already committed `releasing` (a failed call, or a crash). */
  | { kind: 'retryUnassign'; eniId: string; ips: string[] }
  /** Finish an interrupted ENI deletion (a detach whose outcome was unknown). */
  | { kind: 'retryDeleteEni'; eniId: string }
  | { kind: 'deleteEni'; eniId: string };

export interface Blocked {
  code?: string;
  message: string;
  /** Waiting will not help (reject the waiters now). */
  exhausted: boolean;
}

export interface Plan {
  actions: PlanAction[];
  /** Pending requests that no current or planned operation (nor an IP cooling down) will serve. */
  shortfall: number;
  /** Why the shortfall cannot be served now; `exhausted` means waiting will not help (reject the waiters). */
  blocker?: Blocked;
  /** Idle reclaim's timer after this plan (undefined: not idle, reset). */
  nextReclaimAt?: number;
  /** The reclaim interval drawn for this round was used (armed or fired): the caller draws the next one. */
  reclaimIntervalUsed: boolean;
  /** ENI creations were held back by the create rate limit: plan again at this time. */
  createsDeferredUntil?: number;
}

/** Code of the blocker when every address the instance type allows is held (no cloud call failed). */
export const NODE_CAPACITY_REACHED = 'NodeCapacityReached';

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

/** A reclaim interval drawn uniformly from base × [1, 1 + factor) (Go's wait.Jitter, as Terway draws it); `random` is a [0,1) source. */
export function jitteredInterval(baseMs: number, factor: number, random: () => number): number {
  if (factor <= 0 || baseMs <= 0) return baseMs;
  return Math.round(baseMs * (1 + factor * random()));
}

/** Secondary IPs an ENI can still take: its addresses minus its own primary, minus those it has or has coming. */
export function roomOn(e: PlannerEni, ipv4PerEni: number): number {
  let secondaries = 0;
  for (const ip of e.ips) if (ip.ip !== e.primaryIp) secondaries++;
  return Math.max(0, ipv4PerEni - 1 - secondaries - e.incoming);
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

/**
 * Idle reclaim, Terway's calculateToDel (pkg/eni/manager.go): off unless idleIpReclaimAfterMs (and a batch size) is
 * set. While the pool changed within idleIpReclaimAfterMs the timer is reset; the first quiet plan arms it one
 * (jittered) interval ahead; when it fires, one batch of the free IPs between minPoolSize and maxPoolSize goes and
 * the timer is armed again. Returns the extra IPs to release on top of the excess above maxPoolSize.
 */
export function idleReclaim(
  free: number,
  cfg: Pick<PoolConfig, 'idleIpReclaimAfterMs' | 'idleIpReclaimBatchSize' | 'minPoolSize' | 'maxPoolSize'>,
  t: { now: number; lastModifiedAt: number; nextAt?: number; intervalMs: number },
): { extra: number; nextAt?: number; used: boolean } {
  if (cfg.idleIpReclaimAfterMs <= 0 || cfg.idleIpReclaimBatchSize <= 0) return { extra: 0, used: false };
  if (t.now - t.lastModifiedAt < cfg.idleIpReclaimAfterMs) return { extra: 0, used: false };
  if (t.nextAt === undefined) return { extra: 0, nextAt: t.now + t.intervalMs, used: true };
  if (t.now < t.nextAt) return { extra: 0, nextAt: t.nextAt, used: false };
  const aboveMax = Math.max(0, free - cfg.maxPoolSize);
  const extra = Math.min(cfg.idleIpReclaimBatchSize, Math.max(0, free - aboveMax - cfg.minPoolSize));
  return { extra, nextAt: t.now + t.intervalMs, used: true };
}

function countState(eni: PlannerEni, state: IpState): number {
  let n = 0;
  for (const ip of eni.ips) if (ip.state === state) n++;
  return n;
}

/** Orders ENIs for taking or adding IPs: most_ips packs onto the fullest, least_ips spreads. */
export function orderEnis<T extends { eniId: string }>(enis: T[], load: (e: T) => number, policy: EniSelectionPolicy): T[] {
  const sign = policy === 'most_ips' ? -1 : 1;
  return [...enis].sort((a, b) => sign * (load(a) - load(b)) || a.eniId.localeCompare(b.eniId));
}

export function plan(input: PlannerInput): Plan {
  const { now, config: cfg, limits } = input;
  const perEni = limits.ipv4PerEni;
  const actions: PlanAction[] = [];
  // Pods use secondary ENIs only: eth0 is the node's (Terway ENIMultiIP).
  const enis = input.enis.filter((e) => !e.primary);
  const inuse = enis.filter((e) => e.state === 'inuse');

  const dual = isDual(cfg);
  let free = 0;
  let cooling = 0;
  let halves = 0;
  for (const e of inuse) {
    const h = e.ips.filter((i) => isHalf(i, dual)).length;
    halves += h;
    free += countState(e, 'free') - h;
    cooling += countState(e, 'cooling');
  }
  // Half pairs are on their way: their IPv6 partners are asked for below.
  let incoming = input.creating.reduce((a, b) => a + b, 0) + halves;
  for (const e of enis) incoming += e.incoming;
  if (dual) actions.push(...planPairing(inuse, input.backoffs, now, cfg.batchSize));

  const want = calculateNeededIps(free, incoming, input.pending, cfg);
  // The real demand; `want` may round it up to a whole batch, but only existing ENIs absorb the round-up
  // (a new ENI is never created for IPs nobody needs).
  const need = Math.max(0, input.pending + cfg.minPoolSize - free - incoming);
  let remaining = want;
  const blockers: Blocked[] = [];

  if (remaining > 0 && isActive(input.backoffs.all, now)) {
    const b = input.backoffs.all;
    blockers.push({ code: b.code, message: backoffMessage(b.code), exhausted: true });
  }
  const paused = isActive(input.backoffs.all, now);

  // 1. Fill existing attached ENIs that have room.
  if (remaining > 0 && !paused) {
    const candidates = inuse.filter((e) => {
      const room = roomOn(e, perEni);
      const vsw = input.backoffs.vSwitches[e.vSwitchId];
      if (isActive(vsw, now)) {
        if (room > 0) blockers.push({ code: vsw.code, message: backoffMessage(vsw.code), exhausted: true });
        return false;
      }
      if (isActive(input.backoffs.enis[e.eniId], now)) {
        blockers.push({ code: input.backoffs.enis[e.eniId]!.code, message: `ENI ${e.eniId} backing off`, exhausted: false });
        return false;
      }
      return room > 0;
    });
    for (const e of orderEnis(candidates, (x) => x.ips.length + x.incoming, cfg.eniSelectionPolicy)) {
      let room = Math.min(roomOn(e, perEni), remaining);
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
    const capacity = multiIpCapacity(limits, cfg, input.foreignEnis ?? 0);
    const slots = capacity.secondaryEnis - enis.length - input.creating.length;
    // An ENI still attaching has room the fill above cannot use yet: its pods wait for the attach, not fail.
    const attaching = enis.find((e) => e.state === 'attaching' && roomOn(e, perEni) > 0);
    const full: Blocked = attaching
      ? { message: `waiting for ENI ${attaching.eniId} to attach (the node has no room for another ENI)`, exhausted: false }
      : { code: NODE_CAPACITY_REACHED, message: `node capacity reached: ${capacity.explain}`, exhausted: true };
    const random = cfg.vSwitchSelectionPolicy === 'random' ? (input.random ?? Math.random) : undefined;
    const pick = () => pickVSwitch(input.vSwitchIds, input.backoffs.vSwitches, now, { random, free: input.vSwitchFree });
    if (isActive(input.backoffs.create, now)) {
      blockers.push({ code: input.backoffs.create.code, message: 'ENI creation backing off', exhausted: false });
    } else if (slots <= 0 || perEni === 0) {
      blockers.push(full);
    } else if (pick() === undefined) {
      for (const v of input.vSwitchIds) {
        const b = input.backoffs.vSwitches[v];
        if (isActive(b, now)) blockers.push({ code: b.code, message: backoffMessage(b.code), exhausted: true });
        else if (input.vSwitchFree?.[v] === 0)
          blockers.push({ code: CloudErrorCodes.VSwitchIpNotEnough, message: `vSwitch ${v} has no free IP`, exhausted: true });
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
        // The new ENI's own primary address is a pod address: it brings expectIps with expectIps − 1 secondaries.
        const expectIps = Math.min(perEni, remaining);
        needLeft -= expectIps;
        // Dual stack: CreateNetworkInterface takes at most 10 IPv6 addresses, one per IPv4 (its primary's included):
        // 9 secondaries keep the pairs whole, so the rest comes in one assign per family.
        const secondaryCount = Math.min(expectIps - 1, cfg.maxIpsPerCreate, cfg.batchSize, dual ? 9 : Number.POSITIVE_INFINITY);
        actions.push({ kind: 'createEni', vSwitchId: pick()!, secondaryCount, expectIps });
        remaining -= expectIps;
      }
      if (needLeft > 0 && createsDeferredUntil === undefined) blockers.push(full);
    }
  }

  // IPs cooling down come back within ip_cooldown: their waiters wait for them rather than fail.
  const planned = paused ? 0 : want - remaining;
  const supply = free + incoming + planned + cooling;
  const shortfall = Math.max(0, input.pending - supply);
  const blocker = shortfall > 0 ? pickBlocker(blockers) : undefined;

  // 3. Release above maxPoolSize and idle reclaim toward minPoolSize, only when nothing is growing.
  let reclaim: { nextAt?: number; used: boolean } = { nextAt: input.nextReclaimAt, used: false };
  if (actions.length === 0 && halves === 0) {
    const r = planReclaim(input, enis, free, incoming);
    actions.push(...r.actions);
    reclaim = r;
  }
  return {
    actions,
    shortfall,
    blocker,
    nextReclaimAt: reclaim.nextAt,
    reclaimIntervalUsed: reclaim.used,
    ...(createsDeferredUntil !== undefined ? { createsDeferredUntil } : {}),
  };
}

/** Dual stack: one IPv6 assign per ENI for its half pairs (a batch at most), unless the ENI is busy or backing off. */
function planPairing(inuse: PlannerEni[], backoffs: Backoffs, now: number, batch: number): PlanAction[] {
  const out: PlanAction[] = [];
  for (const e of inuse) {
    if (e.busy || isActive(backoffs.enis[e.eniId], now)) continue;
    const ips = e.ips.filter((i) => isHalf(i, true)).map((i) => i.ip);
    if (ips.length > 0) out.push({ kind: 'pairIpv6', eniId: e.eniId, ips: ips.slice(0, batch) });
  }
  return out;
}

function pickBlocker(list: Blocked[]): Blocked {
  // Waiting helps when any path is only transiently blocked; otherwise it is exhaustion.
  const transient = list.find((b) => !b.exhausted);
  if (transient) return transient;
  return list.find((b) => b.code) ?? list[0] ?? { message: 'no IP available', exhausted: true };
}

function planReclaim(
  input: PlannerInput,
  enis: PlannerEni[],
  free: number,
  incoming: number,
): { actions: PlanAction[]; nextAt?: number; used: boolean } {
  const { now, config: cfg } = input;
  const actions: PlanAction[] = [];
  // A young ENI is kept (AWS minENILifeTime): a burst that just created it is likely to come back. One whose
  // last release-side call failed waits its back-off.
  const settled = (e: PlannerEni) => e.state === 'inuse' && !e.busy && e.incoming === 0 && !isActive(input.backoffs.enis[e.eniId], now);
  const deletable = (e: PlannerEni) => settled(e) && e.createdByUs && now - e.createdAt >= cfg.minEniLifetimeMs;

  const growing = input.pending > 0 || incoming > 0 || calculateNeededIps(free, incoming, input.pending, cfg) > 0;
  if (growing) return { actions, nextAt: undefined, used: false };

  // ENIs we created that hold no IP at all (not even their primary, in our books) cost a slot and nothing else.
  let enisLeft = enis.length + input.creating.length;
  for (const e of enis) {
    if (enisLeft <= cfg.minEni) break;
    if (deletable(e) && e.ips.length === 0) {
      actions.push({ kind: 'deleteEni', eniId: e.eniId });
      enisLeft--;
    }
  }

  const idle = idleReclaim(free, cfg, {
    now,
    lastModifiedAt: input.lastModifiedAt ?? 0,
    nextAt: input.nextReclaimAt,
    intervalMs: input.reclaimIntervalMs ?? cfg.idleIpReclaimIntervalMs,
  });
  let amount = calculateExcessIps(free, incoming, input.pending, cfg) + idle.extra;
  if (amount === 0) return { actions, nextAt: idle.nextAt, used: idle.used };

  // Whole idle ENIs first (one detach + delete frees all their IPs, the primary's too), largest that fits.
  const whole = enis
    .filter((e) => deletable(e) && e.ips.length > 0 && e.ips.every((i) => i.state === 'free'))
    .sort((a, b) => b.ips.length - a.ips.length || a.eniId.localeCompare(b.eniId));
  for (const e of whole) {
    if (enisLeft <= cfg.minEni) break;
    if (e.ips.length > amount) continue;
    actions.push({ kind: 'deleteEni', eniId: e.eniId });
    amount -= e.ips.length;
    enisLeft--;
  }

  // Then secondary IPs, emptying the least used ENIs first (ours first); an ENI's own primary only goes with it.
  const goingAway = new Set(actions.flatMap((a) => (a.kind === 'deleteEni' ? [a.eniId] : [])));
  const held = (e: PlannerEni) => e.ips.length - countState(e, 'free');
  const order = enis
    .filter((e) => settled(e) && !goingAway.has(e.eniId))
    .sort(
      (a, b) =>
        Number(b.createdByUs) - Number(a.createdByUs) || held(a) - held(b) || a.ips.length - b.ips.length || a.eniId.localeCompare(b.eniId),
    );
  for (const e of order) {
    if (amount === 0) break;
    const ips = e.ips
      .filter((i) => i.state === 'free' && i.ip !== e.primaryIp)
      .sort((a, b) => a.since - b.since || a.ip.localeCompare(b.ip))
      .slice(0, amount)
      .map((i) => i.ip);
    if (ips.length === 0) continue;
    actions.push({ kind: 'unassign', eniId: e.eniId, ips });
    amount -= ips.length;
  }
  return { actions, nextAt: idle.nextAt, used: idle.used };
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
      .filter((i) => i.state === 'releasing' && i.ip !== e.primaryIp) // a primary address only leaves with its ENI
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
 * Picks the free IP for a new allocation, on a secondary ENI (never the instance's primary ENI). A stateful
 * pod gets its reserved IP back first.
 * most_ips: take from the ENI with the most IPs in use (keeps other ENIs draining so they can be deleted);
 * least_ips: the least used. Within an ENI its own primary address goes first (it cannot be unassigned, so
 * it is the one to keep busy: the secondary IPs stay free to reclaim), then the longest-idle IP.
 */
export function pickFreeIp(
  enis: PlannerEni[],
  policy: EniSelectionPolicy,
  reservedFor?: string,
  dual = false,
): { eniId: string; ip: string } | undefined {
  // Dual stack: only whole pairs serve a pod.
  const usable = (i: PlannerIp) => i.state === 'free' && !isHalf(i, dual);
  if (reservedFor !== undefined) {
    for (const e of enis) {
      if (e.state !== 'inuse' || e.primary) continue;
      const r = e.ips.find((i) => i.state === 'reserved' && i.reservedFor === reservedFor);
      if (r) return { eniId: e.eniId, ip: r.ip };
    }
  }
  const withFree = enis.filter((e) => e.state === 'inuse' && !e.primary && e.ips.some(usable));
  const inUse = (e: PlannerEni) => e.ips.length - countState(e, 'free');
  const eni = orderEnis(withFree, inUse, policy)[0];
  if (!eni) return undefined;
  if (eni.primaryIp && eni.ips.some((i) => i.ip === eni.primaryIp && usable(i))) return { eniId: eni.eniId, ip: eni.primaryIp };
  let best: PlannerIp | undefined;
  for (const i of eni.ips) if (usable(i) && (!best || i.since < best.since || (i.since === best.since && i.ip < best.ip))) best = i;
  return best && { eniId: eni.eniId, ip: best.ip };
}
