// Pure state transitions of the multi-IP pool's records (the state machine in README.md): which state
// an IP goes to on release, on a timer, before and after an unassign; when an ENI may start leaving and
// what a failed detach or unassign means. No I/O, no clock: `now` and the cloud's answer are inputs.

import { CloudErrorCodes, type Eni } from './cloud.js';
import type { PoolConfig } from './config.js';
import type { EniRecord, IpRecord, PodRecord } from './store.js';
import { expireTimers, type PlannerIp } from './planner.js';

/**
 * The record an IP gets when its pod releases it; undefined means the row goes.
 *   missing in the cloud          → deleted (handing it out again would wire a pod to nothing)
 *   on the primary ENI            → deleted, left to eth0 (a pod placed there before pods moved to secondary
 *                                   ENIs only: no new pod goes there, and the address is not the pool's)
 *   stateful pod, reservation on  → reserved for that pod (namespace/name) until the reservation ends
 *   cool-down on                  → cooling until the cool-down ends
 *   otherwise                     → free at once
 */
export function releasedIp(
  rec: IpRecord,
  pod: Pick<PodRecord, 'namespace' | 'name' | 'stateful'> & Partial<Pick<PodRecord, 'primaryEni'>>,
  cfg: Pick<PoolConfig, 'statefulReserveMs' | 'ipCooldownMs'>,
  now: number,
): IpRecord | undefined {
  // The IPv6 partner (dual stack) moves with its IPv4 address through every state.
  const base = { ip: rec.ip, eniId: rec.eniId, since: now, ...partner(rec) };
  if (rec.missingInCloud || pod.primaryEni) return undefined;
  if (pod.stateful && cfg.statefulReserveMs > 0)
    return { ...base, state: 'reserved', reservedFor: `${pod.namespace}/${pod.name}`, until: now + cfg.statefulReserveMs };
  if (cfg.ipCooldownMs > 0) return { ...base, state: 'cooling', until: now + cfg.ipCooldownMs };
  return { ...base, state: 'free' };
}

/** Records of IPs whose cool-down or reservation ended (see expireTimers). */
export function expiredRecords(ips: Iterable<IpRecord>, now: number, cooldownMs: number): IpRecord[] {
  const byIp = new Map<string, IpRecord>();
  const list: PlannerIp[] = [];
  for (const r of ips) {
    byIp.set(r.ip, r);
    list.push(r);
  }
  return expireTimers(list, now, cooldownMs).map((c): IpRecord => {
    const old = byIp.get(c.ip)!;
    return c.to === 'free'
      ? { ip: c.ip, eniId: old.eniId, state: 'free', since: now, ...partner(old) }
      : { ip: c.ip, eniId: old.eniId, state: 'cooling', since: old.since, until: c.until, ...partner(old) };
  });
}

/**
 * May an address the cloud just assigned to us become a free record? Yes when unknown, or `releasing`
 * (its earlier unassign did happen after all). Never over a record a pod holds (a flagged missing IP
 * the cloud hands out again) nor one cooling or reserved: that would give one IP to two pods.
 */
export function acceptsNewIp(existing: IpRecord | undefined): boolean {
  return existing === undefined || existing.state === 'releasing';
}

/** The `releasing` records to commit before unassigning `ips` from `eniId`: only those still free there. */
export function startRelease(eniId: string, ips: readonly (IpRecord | undefined)[], now: number): IpRecord[] {
  return ips
    .filter((r): r is IpRecord => r !== undefined && r.state === 'free' && r.eniId === eniId)
    .map((r) => ({ ip: r.ip, eniId, state: 'releasing', since: now, ...partner(r) }));
}

/**
 * The records to commit before detaching and deleting an idle ENI: the ENI `deleting`, each IP
 * `releasing`. undefined when it may not go: the primary, one not ours, one not in use, or one with an
 * IP that is not free (a pod holds it, or it is cooling / reserved / already releasing).
 */
export function startEniDeletion(eni: EniRecord, ips: readonly IpRecord[], now: number): { eni: EniRecord; ips: IpRecord[] } | undefined {
  if (eni.primary || !eni.createdByUs || eni.state !== 'inuse') return undefined;
  if (ips.some((r) => r.state !== 'free')) return undefined;
  return {
    eni: { ...eni, state: 'deleting' },
    ips: ips.map((r) => ({ ip: r.ip, eniId: eni.eniId, state: 'releasing', since: now, ...partner(r) })),
  };
}

/** A detach that failed but left the ENI attached: nothing was undone, so the ENI and its IPs are usable again. */
export function backInPool(eni: EniRecord, ips: Iterable<IpRecord>, now: number): { eni: EniRecord; ips: IpRecord[] } {
  return {
    eni: { ...eni, state: 'inuse' },
    ips: [...ips].map((r) => ({ ip: r.ip, eniId: eni.eniId, state: 'free', since: now, ...partner(r) })),
  };
}

/** The IPv6 partner of a record, to carry into its next state (dual stack). */
function partner(r: Pick<IpRecord, 'ipv6'>): Pick<IpRecord, 'ipv6'> {
  return r.ipv6 !== undefined ? { ipv6: r.ipv6 } : {};
}

/**
 * What a failed UnassignPrivateIpAddresses means:
 *   InvalidIp.IpUnassigned → finished: the ENI no longer holds (one of) them — an earlier call, ours or a
 *                            killed daemon's, took effect; the cloud refuses the whole call, so any it still
 *                            has is adopted back by a reconcile once the cooldown is over (Terway counts this
 *                            answer as success too)
 *   InvalidEniId.NotFound  → finished: the ENI is gone, and its addresses with it
 *   anything else          → retry later: the IPs stay `releasing` (the call may have taken effect — a lost
 *                            reply, a timeout — so handing them out again could give a pod an IP the cloud
 *                            no longer has) and the unassign is retried after the ENI's back-off
 */
export function afterFailedUnassign(code: string): 'finished' | 'retryLater' {
  return code === CloudErrorCodes.IpUnassigned || code === CloudErrorCodes.EniNotFound ? 'finished' : 'retryLater';
}

/** Where an ENI is now, from DescribeNetworkInterfaces({eniIds:[id]}); `undefined` answer: the describe failed. */
export type EniWhereabouts = 'attachedHere' | 'notHere' | 'unknown';

export function whereabouts(listed: readonly Eni[] | undefined, instanceId: string): EniWhereabouts {
  if (listed === undefined) return 'unknown';
  const e = listed[0];
  return e !== undefined && e.instanceId === instanceId && e.status === 'InUse' ? 'attachedHere' : 'notHere';
}

/**
 * What a failed DetachNetworkInterface means. A lost reply or a timeout may hide a detach that did
 * happen, so unless the code says the ENI is gone the caller first looks the ENI up (`lookUp`), then asks again:
 *   InvalidEniId.NotFound / not attached here → detached: forget it, delete it (its IPs never go to a pod)
 *   still InUse here                          → backToPool: nothing was undone
 *   cannot tell (the describe failed too)     → retryLater: stays `deleting`, IPs `releasing`, retried after the ENI's back-off
 */
export function afterFailedDetach(code: string, where?: EniWhereabouts): 'lookUp' | 'detached' | 'backToPool' | 'retryLater' {
  if (code === CloudErrorCodes.EniNotFound) return 'detached';
  switch (where) {
    case undefined:
      return 'lookUp';
    case 'attachedHere':
      return 'backToPool';
    case 'notHere':
      return 'detached';
    case 'unknown':
      return 'retryLater';
  }
}
