// Pure reconcile: compare the pool's records with the cloud's view of the ENIs attached to this
// instance and return the store ops that bring the records in line, plus findings to log / report.
// Rules (docs/ARCHITECTURE.md, "State and crash safety"):
//   - an IP the cloud has on an attached ENI that the pool lacks is adopted as free;
//   - an IP the pool has that the cloud lacks is dropped, unless a pod holds it: then it is kept and
//     flagged (missingInCloud) and reported, never silently taken from a live pod;
//   - a `releasing` IP stays `releasing` (the pool finishes the unassign; turning it free would race with
//     an unassign of a killed daemon still on the wire, or one whose reply was lost): dropped once the cloud lacks it;
//   - an IP or ENI the pool removed a moment ago is not adopted again (`recentlyRemoved`: the describe may be
//     stale; AWS's reconcile cooldown guards against the same);
//   - an IP or ENI the pool got a moment ago that the describe lacks is kept as it is (`recentlyAdded`: the
//     describe may predate the assign, create or attach), neither dropped nor flagged;
//   - an attached secondary ENI the pool does not know is adopted if it carries our tags, with every address
//     on it, its own primary address included (pods use secondary ENIs only, each address of them);
//   - the instance's primary ENI (eth0) is the node's: never adopted. A record of it left from before pods
//     moved to secondary ENIs keeps only the IPs pods still hold; the rest are forgotten (left on eth0, not
//     unassigned: they are not the pool's) and the record goes with the last of those pods;
//   - an ENI the pool knows that is no longer attached here is dropped (once no pod holds its IPs).
// ENIs with cloud work in flight (`busy`) are left for the next round: the describe may predate that work.

import type { Eni } from './cloud.js';
import type { EniRecord, IpRecord, StoreOp } from './store.js';
import { reconcileIpv6, type Ipv6Finding } from './reconcileIpv6.js';

export interface ReconcileInput {
  now: number;
  /** Current records. */
  enis: ReadonlyMap<string, EniRecord>;
  ips: ReadonlyMap<string, IpRecord>;
  /** DescribeNetworkInterfaces({instanceId}) result. */
  attached: readonly Eni[];
  vSwitchInfo(vSwitchId: string): { cidr: string; gateway: string } | undefined;
  /** True for ENIs that had cloud work queued, running, or finished since the describe. */
  busy(eniId: string): boolean;
  /** Carries our creator + node tags. */
  isOurs(e: Eni): boolean;
  /** A create is in flight: an `attaching` ENI the cloud does not list yet may be it. */
  createsInFlight: boolean;
  /** IPs / ENIs the pool unassigned / deleted within the reconcile cooldown: never adopted this round. */
  recentlyRemoved?(id: string): boolean;
  /** IPs / ENIs the pool got (assigned, created, attached) within the reconcile cooldown: never dropped this round. */
  recentlyAdded?(id: string): boolean;
  /** Dual stack: also reconcile the IPv6 partners (reconcileIpv6.ts). */
  dual?: boolean;
}

export type ReconcileFinding =
  | { kind: 'adoptEni'; eniId: string }
  | { kind: 'eniFactsUnknown'; eniId: string; vSwitchId: string }
  | { kind: 'adoptIp'; eniId: string; ip: string }
  | { kind: 'dropIp'; eniId: string; ip: string; state: IpRecord['state'] }
  | { kind: 'ipMissing'; eniId: string; ip: string; podKey: string }
  | { kind: 'ipMoved'; from: string; to: string; ip: string }
  | { kind: 'dropEni'; eniId: string }
  /** An IP of the primary ENI no pod holds: no longer the pool's (left on eth0). */
  | { kind: 'leavePrimaryIp'; eniId: string; ip: string }
  /** The primary ENI's record goes: no pod holds an IP of it any more. */
  | { kind: 'retirePrimaryEni'; eniId: string }
  /** Listed by the cloud but removed by the pool within the cooldown: not adopted now, looked at again later. */
  | { kind: 'skippedRecent'; id: string }
  | Ipv6Finding;

export interface ReconcileResult {
  ops: StoreOp[];
  findings: ReconcileFinding[];
}

export function reconcileWithCloud(input: ReconcileInput): ReconcileResult {
  const { now } = input;
  const ops: StoreOp[] = [];
  const findings: ReconcileFinding[] = [];
  const next = new Map<string, IpRecord | null>(); // decided IP records (null = deleted)
  const putIp = (r: IpRecord) => {
    next.set(r.ip, r);
  };
  const dropIp = (r: IpRecord) => {
    next.set(r.ip, null);
    findings.push({ kind: 'dropIp', eniId: r.eniId, ip: r.ip, state: r.state });
  };
  const flag = (r: IpRecord) => {
    if (r.missingInCloud) return;
    putIp({ ...r, missingInCloud: true });
    findings.push({ kind: 'ipMissing', eniId: r.eniId, ip: r.ip, podKey: r.podKey ?? '' });
  };

  const inUse = new Map<string, Eni>();
  const listed = new Set<string>(); // attached here in any status
  for (const e of input.attached) {
    listed.add(e.eniId);
    if (e.status === 'InUse') inUse.set(e.eniId, e);
  }
  // Where the cloud has each IP, over ENIs we manage (or will adopt) this round.
  const cloudEniOf = new Map<string, string>();
  const managed = new Set<string>();

  const recent = input.recentlyRemoved ?? (() => false);
  const fresh = input.recentlyAdded ?? (() => false);
  const retired: string[] = [];
  for (const rec of input.enis.values()) {
    if (!rec.primary) continue;
    // The primary ENI of an older pod DB: pods placed there keep their IPs until they go; nothing else is ours.
    const ce = input.attached.find((e) => e.eniId === rec.eniId);
    let held = false;
    for (const r of input.ips.values()) {
      if (r.eniId !== rec.eniId) continue;
      if (r.state !== 'assigned') {
        next.set(r.ip, null);
        findings.push({ kind: 'leavePrimaryIp', eniId: rec.eniId, ip: r.ip });
        continue;
      }
      held = true;
      if (ce && !ce.secondaryIps.includes(r.ip)) flag(r);
      else if (ce && r.missingInCloud) putIp({ ...r, missingInCloud: undefined });
    }
    if (!held) retired.push(rec.eniId);
  }
  for (const ce of inUse.values()) {
    if (input.busy(ce.eniId)) continue;
    const rec = input.enis.get(ce.eniId);
    if (ce.type === 'Primary' || rec?.primary) continue; // eth0 is the node's (see above)
    if (!rec) {
      if (recent(ce.eniId)) {
        // deleted by us a moment ago: a stale answer (or the cloud reused the id; the next round tells)
        findings.push({ kind: 'skippedRecent', id: ce.eniId });
        continue;
      }
      if (!input.isOurs(ce)) continue; // someone else's ENI
      const vsw = input.vSwitchInfo(ce.vSwitchId);
      if (!vsw) {
        findings.push({ kind: 'eniFactsUnknown', eniId: ce.eniId, vSwitchId: ce.vSwitchId });
        continue;
      }
      ops.push({
        op: 'putEni',
        eni: {
          eniId: ce.eniId,
          mac: ce.mac,
          vSwitchId: ce.vSwitchId,
          vSwitchCidr: vsw.cidr,
          gateway: vsw.gateway,
          primary: false,
          createdByUs: true,
          state: 'inuse',
          createdAt: now,
          ...(ce.primaryIp ? { primaryIp: ce.primaryIp } : {}),
        },
      });
      findings.push({ kind: 'adoptEni', eniId: ce.eniId });
    } else if (rec.state !== 'inuse' || rec.mac !== ce.mac || (ce.primaryIp && rec.primaryIp !== ce.primaryIp)) {
      // attaching → the attach finished; deleting → the detach never happened: usable again.
      // A row from before schema v2 learns its primary IP here.
      ops.push({ op: 'putEni', eni: { ...rec, state: 'inuse', mac: ce.mac, ...(ce.primaryIp ? { primaryIp: ce.primaryIp } : {}) } });
      // Its secondary IPs stay `releasing` (their unassign is finished), but its primary address cannot be
      // unassigned: it is free again with its ENI.
      const own = ce.primaryIp ? input.ips.get(ce.primaryIp) : undefined;
      if (own?.state === 'releasing' && own.eniId === ce.eniId) putIp({ ip: own.ip, eniId: own.eniId, state: 'free', since: now });
    }
    managed.add(ce.eniId);
    // The ENI's own primary address is a pod address too (it only leaves with the ENI).
    for (const ip of ce.primaryIp ? [ce.primaryIp, ...ce.secondaryIps] : ce.secondaryIps) cloudEniOf.set(ip, ce.eniId);
  }

  // Pool IPs on managed ENIs.
  for (const r of input.ips.values()) {
    if (!managed.has(r.eniId)) continue;
    const where = cloudEniOf.get(r.ip);
    if (where === undefined) {
      if (fresh(r.ip)) findings.push({ kind: 'skippedRecent', id: r.ip });
      else if (r.state === 'assigned') flag(r);
      else dropIp(r);
    } else if (where !== r.eniId) {
      if (input.busy(where)) continue;
      putIp({ ...r, eniId: where, missingInCloud: undefined });
      findings.push({ kind: 'ipMoved', from: r.eniId, to: where, ip: r.ip });
    } else if (r.missingInCloud) {
      putIp({ ...r, missingInCloud: undefined });
    }
  }
  // Cloud IPs the pool lacks.
  for (const [ip, eniId] of cloudEniOf) {
    const r = input.ips.get(ip);
    if (r && !managed.has(r.eniId) && r.eniId !== eniId) {
      // Held on an ENI we are not looking at this round (busy) or lost: it follows the cloud.
      if (input.busy(r.eniId)) continue;
      putIp({ ...r, eniId, missingInCloud: undefined });
      findings.push({ kind: 'ipMoved', from: r.eniId, to: eniId, ip });
      continue;
    }
    if (r) continue;
    if (recent(ip)) {
      findings.push({ kind: 'skippedRecent', id: ip });
      continue;
    }
    putIp({ ip, eniId, state: 'free', since: now });
    findings.push({ kind: 'adoptIp', eniId, ip });
  }

  // ENIs we know that the cloud no longer lists here (deleted, detached, or still Available after a crash).
  const gone: string[] = [];
  for (const rec of input.enis.values()) {
    if (rec.primary || listed.has(rec.eniId) || input.busy(rec.eniId)) continue;
    if (rec.state === 'attaching' && input.createsInFlight) continue;
    if (fresh(rec.eniId)) {
      findings.push({ kind: 'skippedRecent', id: rec.eniId });
      continue;
    }
    let held = false;
    for (const r of input.ips.values()) {
      if (r.eniId !== rec.eniId) continue;
      const decided = next.has(r.ip) ? next.get(r.ip) : r;
      if (!decided || decided.eniId !== rec.eniId) continue;
      if (decided.state === 'assigned') {
        held = true;
        flag(decided);
      } else dropIp(decided);
    }
    if (!held) gone.push(rec.eniId);
  }

  if (input.dual) {
    for (const eniId of managed) {
      const ce = inUse.get(eniId)!;
      const records: IpRecord[] = [];
      for (const r of input.ips.values()) if (!next.has(r.ip) && r.eniId === eniId) records.push(r);
      for (const r of next.values()) if (r && r.eniId === eniId) records.push(r);
      const v6 = reconcileIpv6(ce, records, fresh, recent);
      for (const r of v6.put) putIp(r);
      findings.push(...v6.findings);
    }
  }
  for (const [ip, r] of next) {
    if (r) ops.push({ op: 'putIp', ip: r });
    else ops.push({ op: 'deleteIp', ip });
  }
  for (const eniId of gone) {
    ops.push({ op: 'deleteEni', eniId });
    findings.push({ kind: 'dropEni', eniId });
  }
  for (const eniId of retired) {
    ops.push({ op: 'deleteEni', eniId });
    findings.push({ kind: 'retirePrimaryEni', eniId });
  }
  return { ops, findings };
}
