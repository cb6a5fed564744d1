// Pure start-up decisions of the ENI pool: from the pod DB and the cloud's view of this instance, which
// ENIs the pool holds and in which state, what to write back, and which interrupted work to finish.
// How an attached ENI is classified:
//   primary                    → not the pool's (the node's eth0)
//   secondary, not our tags    → foreign: left alone, takes from the node's capacity
//   ours, vSwitch unknown      → left alone this time (no CIDR / gateway to hand out)
//   ours, Detaching            → releasing: its detach is under way; the ticker deletes it after the back-off
//   ours, Attaching (mid-attach after a crash) → attaching: the pool finishes the attach
//   ours, InUse                → assigned to the pod a pod row names, else the slot state its IP row kept
//                                (free / cooling / releasing), else free (adopted)
//   dual stack, idle, no IPv6  → releasing: replaced by a new ENI that has one (a pod holding one keeps it)
// Stored ENIs the cloud no longer has attached here are dropped (a pod row naming one stays, so its DEL
// succeeds); detached ENIs of ours the pool does not hold are deleted.

import type { Eni } from '../cloud.js';
import { classifyEni } from '../ownership.js';
import type { EniRecord, IpRecord, PoolSnapshot, StoreOp } from '../store.js';
import type { EniSlot } from './planner.js';
import type { VSwitchFacts } from '../vSwitchFacts.js';
import { eniRecord, ipRecord, type EniInfo } from './records.js';

export interface EniRestoreInput {
  instanceId: string;
  snapshot: PoolSnapshot;
  /** DescribeNetworkInterfaces({instanceId}). */
  attached: readonly Eni[];
  /** DescribeNetworkInterfaces({status: Available, our tags}). */
  available: readonly Eni[];
  vSwitchFacts(vSwitchId: string): VSwitchFacts | undefined;
  now: number;
  /** ip_stack dual: every pod's ENI carries an IPv6 address. */
  dual?: boolean;
}

export interface EniRestore {
  held: { info: EniInfo; slot: EniSlot }[];
  /** Rows to write back (the DB then matches the cloud). */
  ops: StoreOp[];
  /** Found Attaching: finish the attach. */
  toAttach: string[];
  /** Found Detaching: the detach is under way (its retry waits the back-off). */
  detaching: string[];
  /** Ours, detached, not held: delete. */
  toDelete: string[];
  /** Attached ours with no known vSwitch CIDR: left alone. */
  unknownVSwitch: Eni[];
  /** Attached ours the DB did not know (adopted). */
  adopted: Eni[];
  /** Stored ENIs no longer attached here, with the pod row that names one (kept). */
  dropped: { eniId: string; podKey?: string }[];
  /** Secondary ENIs attached here that are not ours. */
  foreign: number;
  /** Dual stack: idle ENIs without an IPv6 address (from before dual stack), released to be replaced. */
  noIpv6: string[];
}

/** Rows of another daemon_mode (this pool would misread them): the node must be drained before switching to VPCENI. */
export function otherModeRows(snap: PoolSnapshot): { pods: number; multiIpEnis: number } | undefined {
  const pods = snap.pods.filter((p) => p.mode !== 'VPCENI').length;
  const ipCount = new Map<string, number>();
  for (const ip of snap.ips) ipCount.set(ip.eniId, (ipCount.get(ip.eniId) ?? 0) + 1);
  const multiIpEnis = snap.enis.filter((e) => e.primary || (ipCount.get(e.eniId) ?? 0) > 1).length;
  return pods > 0 || multiIpEnis > 0 ? { pods, multiIpEnis } : undefined;
}

/** The slot an ENI attached here gets back at start-up (see the top of this file). */
export function restoredSlot(
  status: Eni['status'],
  holder: { allocatedAt: number } | undefined,
  row: IpRecord | undefined,
  now: number,
): Omit<EniSlot, 'eniId'> {
  if (status === 'Detaching') return { state: 'releasing', since: now };
  if (status !== 'InUse') return { state: 'attaching', since: now };
  if (holder) return { state: 'assigned', since: holder.allocatedAt };
  if (row?.state === 'cooling') return { state: 'cooling', since: row.since, coolUntil: row.until ?? now };
  if (row && (row.state === 'releasing' || row.state === 'free')) return { state: row.state, since: row.since };
  return { state: 'free', since: now };
}

/** An attached ENI's IPv6 facts: its address as the cloud lists it, the vSwitch's block and gateway as known. */
export function ipv6Info(
  e: Pick<Eni, 'ipv6s'>,
  facts: VSwitchFacts | undefined,
  prev: Pick<EniRecord, 'vSwitchIpv6Cidr' | 'ipv6Gateway'> | undefined,
): Pick<EniInfo, 'ipv6' | 'vSwitchIpv6Cidr' | 'ipv6Gateway'> {
  const ipv6 = e.ipv6s[0];
  if (!ipv6) return {};
  const cidr = facts?.ipv6Cidr ?? prev?.vSwitchIpv6Cidr;
  const gw = facts?.ipv6Gateway ?? prev?.ipv6Gateway;
  return { ipv6, ...(cidr ? { vSwitchIpv6Cidr: cidr } : {}), ...(gw ? { ipv6Gateway: gw } : {}) };
}

export function planEniRestore(input: EniRestoreInput): EniRestore {
  const { snapshot: snap, now } = input;
  const stored = new Map(snap.enis.map((e) => [e.eniId, e] as const));
  const podsByEni = new Map(snap.pods.map((p) => [p.eniId, p] as const));
  const rowOf = new Map<string, IpRecord>();
  for (const ip of snap.ips) if (!rowOf.has(ip.eniId)) rowOf.set(ip.eniId, ip);
  const out: EniRestore = {
    held: [],
    ops: [],
    toAttach: [],
    detaching: [],
    toDelete: [],
    unknownVSwitch: [],
    adopted: [],
    dropped: [],
    foreign: 0,
    noIpv6: [],
  };
  const heldIds = new Set<string>();

  for (const e of input.attached) {
    const cls = classifyEni(e, input.instanceId);
    if (cls === 'foreign') out.foreign++;
    if (cls !== 'ours') continue;
    const facts = input.vSwitchFacts(e.vSwitchId);
    const prev = stored.get(e.eniId);
    const info: EniInfo = {
      eniId: e.eniId,
      mac: e.mac,
      primaryIp: e.primaryIp,
      vSwitchId: e.vSwitchId,
      vSwitchCidr: facts?.cidr ?? prev?.vSwitchCidr ?? '',
      gateway: facts?.gateway ?? prev?.gateway ?? '',
      createdAt: prev?.createdAt ?? now,
      ...ipv6Info(e, facts, prev),
    };
    if (!info.vSwitchCidr) {
      out.unknownVSwitch.push(e);
      continue;
    }
    const holder = podsByEni.get(e.eniId);
    let slot: EniSlot = { eniId: e.eniId, ...restoredSlot(e.status, holder, rowOf.get(e.eniId), now) };
    if (input.dual && !info.ipv6 && (slot.state === 'free' || slot.state === 'cooling')) {
      slot = { eniId: e.eniId, state: 'releasing', since: now };
      out.noIpv6.push(e.eniId);
    }
    out.held.push({ info, slot });
    heldIds.add(e.eniId);
    if (e.status === 'Detaching') {
      out.detaching.push(e.eniId);
      out.ops.push({ op: 'putEni', eni: eniRecord(info, 'deleting') });
    } else if (slot.state === 'attaching') {
      out.toAttach.push(e.eniId);
      out.ops.push({ op: 'putEni', eni: eniRecord(info, 'attaching') });
    } else {
      if (!prev) out.adopted.push(e);
      out.ops.push(
        { op: 'putEni', eni: eniRecord(info, slot.state === 'releasing' ? 'deleting' : 'inuse') },
        { op: 'putIp', ip: ipRecord(info, slot, holder?.podKey) },
      );
    }
  }
  for (const e of snap.enis) {
    if (heldIds.has(e.eniId)) continue;
    const podKey = podsByEni.get(e.eniId)?.podKey;
    out.dropped.push(podKey ? { eniId: e.eniId, podKey } : { eniId: e.eniId });
    out.ops.push({ op: 'deleteEni', eniId: e.eniId });
  }
  for (const e of input.available) if (!heldIds.has(e.eniId) && e.type === 'Secondary') out.toDelete.push(e.eniId);
  return out;
}
