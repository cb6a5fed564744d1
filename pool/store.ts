// The narrow persistence contract the pool writes through. The SQLite implementation lives in
// daemon/store/ (the pool never imports daemon/); MemoryPoolStore below is for pure tests.
// Calls are synchronous on purpose: a synchronous commit means "committed before allocate() resolves"
// holds without extra bookkeeping. A commit still costs 0.05-0.5 ms, so the pool groups the allocations
// of one event-loop turn into one apply() (allocBatch.ts) instead of one each.

import type { IpAllocation, PodRef } from './types.js';

export type IpState = 'free' | 'assigned' | 'cooling' | 'reserved' | 'releasing';

/** Pool-side ENI lifecycle (not the cloud's status). */
export type EniRecordState = 'attaching' | 'inuse' | 'deleting';

export interface EniRecord {
  eniId: string;
  mac: string;
  vSwitchId: string;
  vSwitchCidr: string;
  gateway: string;
  primary: boolean;
  /** Created by this pool (carries the creator tag): may be detached and deleted when idle. */
  createdByUs: boolean;
  state: EniRecordState;
  createdAt: number;
  /** The ENI's own primary address (from create / reconcile); unknown for rows written before schema v2. */
  primaryIp?: string;
  /** The vSwitch's IPv6 block and gateway (dual stack; schema v3). */
  vSwitchIpv6Cidr?: string;
  ipv6Gateway?: string;
}

export interface IpRecord {
  ip: string;
  eniId: string;
  state: IpState;
  /** Holder while `assigned`. */
  podKey?: string;
  /** When the IP entered its current state (idle-since for `free`). */
  since: number;
  /** `namespace/name` of the stateful pod while `reserved`. */
  reservedFor?: string;
  /** End of `cooling` or of `reserved`. */
  until?: number;
  /** Set by reconcile when the cloud no longer lists an assigned IP (kept until its pod goes). */
  missingInCloud?: boolean;
  /**
   * Dual stack: the IPv6 address paired with this IPv4 one on the same ENI (schema v3). The pair moves
   * through every state together; a free IPv4 address without one cannot serve a dual-stack pod.
   */
  ipv6?: string;
}

export type PodMode = 'ENIMultiIP' | 'VPCENI' | 'VPCIP';

export interface PodRecord extends IpAllocation {
  mode: PodMode;
  stateful: boolean;
}

/** Where an allocation's address lives: the part of a pod row each allocator fills in its own way. */
export type AddressPlacement = Pick<IpAllocation, 'ip' | 'eniId' | 'eniMac' | 'primaryEni' | 'vSwitchId' | 'vSwitchCidr' | 'gateway'> &
  Partial<Pick<IpAllocation, 'ipv6' | 'vSwitchIpv6Cidr' | 'ipv6Gateway'>>;

/** The pod row of a new allocation, shared by every mode's allocator. */
export function podRecordFor(podKey: string, pod: PodRef, mode: PodMode, at: AddressPlacement, allocatedAt: number): PodRecord {
  return {
    podKey,
    namespace: pod.namespace,
    name: pod.name,
    containerId: pod.containerId,
    ifName: pod.ifName,
    networkName: pod.networkName,
    netns: pod.netns ?? '',
    ...at,
    allocatedAt,
    mode,
    stateful: pod.stateful ?? false,
  };
}

/** The allocation a pod row describes (the row's bookkeeping fields left out). */
export function allocationOf(p: PodRecord, eniPrimaryIp?: string): IpAllocation {
  return {
    ...(eniPrimaryIp ? { eniPrimaryIp } : {}),
    podKey: p.podKey,
    namespace: p.namespace,
    name: p.name,
    containerId: p.containerId,
    ifName: p.ifName,
    networkName: p.networkName,
    netns: p.netns,
    ip: p.ip,
    eniId: p.eniId,
    eniMac: p.eniMac,
    primaryEni: p.primaryEni,
    vSwitchId: p.vSwitchId,
    vSwitchCidr: p.vSwitchCidr,
    gateway: p.gateway,
    ...(p.ipv6 ? { ipv6: p.ipv6 } : {}),
    ...(p.vSwitchIpv6Cidr ? { vSwitchIpv6Cidr: p.vSwitchIpv6Cidr } : {}),
    ...(p.ipv6Gateway ? { ipv6Gateway: p.ipv6Gateway } : {}),
    allocatedAt: p.allocatedAt,
  };
}

export type StoreOp =
  | { op: 'putEni'; eni: EniRecord }
  | { op: 'deleteEni'; eniId: string } // also deletes the ENI's IP rows
  | { op: 'putIp'; ip: IpRecord }
  | { op: 'deleteIp'; ip: string }
  | { op: 'putPod'; pod: PodRecord }
  | { op: 'deletePod'; podKey: string };

export interface PoolSnapshot {
  enis: EniRecord[];
  ips: IpRecord[];
  pods: PodRecord[];
}

export interface PoolStore {
  /** Everything, for the start-up rebuild. */
  load(): PoolSnapshot;
  /** Applies all ops in one transaction (all or nothing); durable when it returns. */
  apply(ops: StoreOp[]): void;
  close(): void;
}

/** In-memory PoolStore for tests that need no disk. Copies records so callers cannot alias them. */
export class MemoryPoolStore implements PoolStore {
  private enis = new Map<string, EniRecord>();
  private ips = new Map<string, IpRecord>();
  private pods = new Map<string, PodRecord>();
  /** Number of apply() calls (tests check "committed before resolve"). */
  commits = 0;

  load(): PoolSnapshot {
    return {
      enis: [...this.enis.values()].map((e) => ({ ...e })),
      ips: [...this.ips.values()].map((i) => ({ ...i })),
      pods: [...this.pods.values()].map((p) => ({ ...p })),
    };
  }

  apply(ops: StoreOp[]): void {
    for (const o of ops) {
      switch (o.op) {
        case 'putEni':
          this.enis.set(o.eni.eniId, { ...o.eni });
          break;
        case 'deleteEni':
          this.enis.delete(o.eniId);
          for (const [ip, r] of this.ips) if (r.eniId === o.eniId) this.ips.delete(ip);
          break;
        case 'putIp':
          this.ips.set(o.ip.ip, { ...o.ip });
          break;
        case 'deleteIp':
          this.ips.delete(o.ip);
          break;
        case 'putPod':
          this.pods.set(o.pod.podKey, { ...o.pod });
          break;
        case 'deletePod':
          this.pods.delete(o.podKey);
          break;
      }
    }
    this.commits++;
  }

  close(): void {}
}
