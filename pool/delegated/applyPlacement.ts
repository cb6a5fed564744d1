// Pure: bring the node's own records (its pod DB) in line with the controller's placement, the way
// reconcile.ts does with a cloud listing. The node's records stay the authority on who holds what:
//   - a new valid IP on a usable ENI becomes free; every address of a secondary ENI is a pod address, its own
//     primary included (ADR 0007); the instance's primary ENI (eth0) gets none (an older version's pods there
//     keep theirs until they go);
//   - an IP the controller wants back (reclaiming) is given up only when free here: it turns `releasing`
//     (durably, before the node says `released`) and is never handed out again; held, cooling or reserved
//     ones stay, and the node's usage report tells the controller so. The one exception: an ENI's own primary
//     address, asked back with its whole ENI, that the controller places valid again (the ENI stays) is free
//     again: it is never unassigned, so no call can have taken it;
//   - an IP gone from the placement (or invalid: the cloud lost it) is dropped unless a pod holds it: then it
//     is kept and flagged (missingInCloud) until the pod goes, never taken from a live pod;
//   - an ENI gone from the placement goes with its free IPs (kernel cleanup follows); one whose IP a pod
//     still holds is kept, frozen (`deleting`: nothing new is taken from it).
import { vSwitchGateway } from '../../lib/ipv4.js';
import type { EniRecord, IpRecord, StoreOp } from '../store.js';
import type { PlacedEni, Placement } from './placement.js';

export type PlacementFinding =
  | { kind: 'eniAdded'; eniId: string }
  | { kind: 'eniRemoved'; eniId: string }
  | { kind: 'released'; ip: string }
  /** An ENI's primary address given up for a deletion that did not happen, placed again. */
  | { kind: 'returned'; ip: string }
  | { kind: 'ipMissing'; ip: string; podKey: string }
  /** The controller unassigns an IP this node never gave up: a protocol breach, reported loudly. */
  | { kind: 'deletingHeld'; ip: string; podKey: string };

export interface PlacementInput {
  now: number;
  enis: ReadonlyMap<string, EniRecord>;
  ips: ReadonlyMap<string, IpRecord>;
  placement: Placement;
}

function eniRecord(p: PlacedEni, now: number, old?: EniRecord): EniRecord {
  return {
    eniId: p.eniId,
    mac: p.mac,
    vSwitchId: p.vSwitchId,
    vSwitchCidr: p.vSwitchCidr,
    gateway: vSwitchGateway(p.vSwitchCidr),
    primary: p.primary,
    createdByUs: !p.primary,
    state: p.state,
    createdAt: old?.createdAt ?? now,
    primaryIp: p.primaryIp,
  };
}

const sameEni = (a: EniRecord, b: EniRecord): boolean =>
  a.state === b.state && a.mac === b.mac && a.vSwitchCidr === b.vSwitchCidr && a.primaryIp === b.primaryIp && a.vSwitchId === b.vSwitchId;

export function applyPlacement(input: PlacementInput): { ops: StoreOp[]; findings: PlacementFinding[] } {
  const { now } = input;
  const ops: StoreOp[] = [];
  const findings: PlacementFinding[] = [];
  const placedIps = new Set<string>();
  const placedEnis = new Set<string>();
  const flag = (r: IpRecord): void => {
    if (r.missingInCloud) return;
    ops.push({ op: 'putIp', ip: { ...r, missingInCloud: true } });
    findings.push({ kind: 'ipMissing', ip: r.ip, podKey: r.podKey ?? '' });
  };
  const release = (r: IpRecord, eniId: string): void => {
    ops.push({ op: 'putIp', ip: { ip: r.ip, eniId, state: 'releasing', since: now } });
    findings.push({ kind: 'released', ip: r.ip });
  };

  for (const pe of input.placement.enis) {
    placedEnis.add(pe.eniId);
    const old = input.enis.get(pe.eniId);
    const rec = eniRecord(pe, now, old);
    if (!old || !sameEni(old, rec)) ops.push({ op: 'putEni', eni: rec });
    if (!old) findings.push({ kind: 'eniAdded', eniId: pe.eniId });
    for (const pip of pe.ips) {
      placedIps.add(pip.ip);
      const r = input.ips.get(pip.ip);
      if (!r) {
        if (pe.primary) continue; // eth0's addresses are the node's
        if (pip.status === 'valid') ops.push({ op: 'putIp', ip: { ip: pip.ip, eniId: pe.eniId, state: 'free', since: now } });
        else if (pip.status === 'reclaiming') {
          ops.push({ op: 'putIp', ip: { ip: pip.ip, eniId: pe.eniId, state: 'releasing', since: now } });
          findings.push({ kind: 'released', ip: pip.ip });
        }
        continue;
      }
      const here = r.eniId === pe.eniId ? r : { ...r, eniId: pe.eniId };
      switch (pip.status) {
        case 'valid':
          if (r.state === 'releasing' && pip.ip === pe.primaryIp && !pe.primary && pe.state === 'inuse') {
            ops.push({ op: 'putIp', ip: { ip: r.ip, eniId: pe.eniId, state: 'free', since: now } });
            findings.push({ kind: 'returned', ip: r.ip });
          } else if (here !== r || r.missingInCloud) ops.push({ op: 'putIp', ip: { ...here, missingInCloud: undefined } });
          break;
        case 'reclaiming':
          if (r.state === 'free') release(r, pe.eniId);
          else if (here !== r) ops.push({ op: 'putIp', ip: here });
          break;
        case 'deleting':
          if (r.state === 'free') release(r, pe.eniId);
          else if (r.state === 'assigned') findings.push({ kind: 'deletingHeld', ip: r.ip, podKey: r.podKey ?? '' });
          break;
        case 'invalid':
          if (r.state === 'assigned') flag(here);
          else ops.push({ op: 'deleteIp', ip: r.ip });
          break;
      }
    }
  }

  // What the placement no longer lists.
  const keepEni = new Set<string>();
  for (const r of input.ips.values()) {
    if (placedIps.has(r.ip)) continue;
    if (r.state === 'assigned') {
      flag(r);
      keepEni.add(r.eniId);
    } else ops.push({ op: 'deleteIp', ip: r.ip });
  }
  for (const e of input.enis.values()) {
    if (placedEnis.has(e.eniId)) continue;
    if (keepEni.has(e.eniId)) {
      if (e.state !== 'deleting') ops.push({ op: 'putEni', eni: { ...e, state: 'deleting' } });
      continue;
    }
    ops.push({ op: 'deleteEni', eniId: e.eniId });
    findings.push({ kind: 'eniRemoved', eniId: e.eniId });
  }
  return { ops, findings };
}
