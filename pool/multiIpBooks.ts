// The multi-IP pool's books: the in-memory index of the node's ENIs, secondary IPs and pods, kept in
// step with the PoolStore. Every change goes through write(): committed first (one transaction), then
// mirrored in memory, so a failed commit leaves the view as it was and nothing is answered from a
// change that is not durable. Synchronous on purpose: no allocation interleaves with a write.
// The one exception is the group commit of allocations (allocBatch.ts): stageAssign() mirrors an
// allocation first so the next one of the group picks another IP, and the group is committed (commit())
// or undone in the same synchronous run, before anyone can see it.

import type { StagedAssign } from './allocBatch.js';
import type { Eni } from './cloud.js';
import { allocationOf, podRecordFor, type EniRecord, type IpRecord, type PodRecord, type PoolStore, type StoreOp } from './store.js';
import type { PlannerEni, PlannerIp } from './planner.js';
import type { PoolConfig } from './config.js';
import { releasedIp } from './transitions.js';
import { VSwitchFactsCache } from './vSwitchFacts.js';
import { PoolError, type IpAllocation, type PodRef, type PoolStats } from './types.js';

export class MultiIpBooks {
  readonly enis = new Map<string, EniRecord>();
  readonly ips = new Map<string, IpRecord>();
  readonly pods = new Map<string, PodRecord>();
  /** vSwitch CIDRs and gateways (from the DB, DescribeVSwitches or ENI metadata). */
  readonly vSwitches = new VSwitchFactsCache();
  /** Attached secondary ENIs that fail eniTagFilter: never adopted, used or deleted (known ones are frozen as they are). */
  readonly filteredOut = new Set<string>();
  /** Secondary ENIs attached to this instance that are not ours (or filtered out): they use quota slots. */
  foreignEnis = 0;
  private readonly ipsByEni = new Map<string, Set<string>>();
  /** ENI id → its primary IP, from the DB (schema v2) and the cloud (create, reconcile); kept until its kernel state is cleaned. */
  private readonly eniPrimaryIps = new Map<string, string>();

  constructor(private readonly store: PoolStore) {}

  /** Rebuilds the view from the DB. */
  load(): void {
    const snap = this.store.load();
    this.enis.clear();
    this.ips.clear();
    this.ipsByEni.clear();
    this.pods.clear();
    for (const e of snap.enis) {
      this.enis.set(e.eniId, e);
      if (e.primaryIp) this.eniPrimaryIps.set(e.eniId, e.primaryIp);
      this.ipsByEni.set(e.eniId, new Set());
      if (e.vSwitchCidr)
        this.vSwitches.set(e.vSwitchId, {
          cidr: e.vSwitchCidr,
          gateway: e.gateway,
          ...(e.vSwitchIpv6Cidr ? { ipv6Cidr: e.vSwitchIpv6Cidr } : {}),
          ...(e.ipv6Gateway ? { ipv6Gateway: e.ipv6Gateway } : {}),
        });
    }
    for (const ip of snap.ips) this.indexIp(ip);
    // The pods table may also hold other modes' pods (VPCENI / VPCIP handlers share the DB).
    for (const p of snap.pods) if (p.mode === 'ENIMultiIP') this.pods.set(p.podKey, p);
  }

  /** Commits `ops` durably, then mirrors them in memory. A failed commit is an Internal error and changes nothing. */
  write(ops: StoreOp[]): void {
    this.commit(ops);
    this.mirror(ops);
  }

  /** Commits `ops` durably without touching memory (stageAssign mirrored them already); throws Internal on failure. */
  commit(ops: StoreOp[]): void {
    try {
      this.store.apply(ops);
    } catch (err) {
      throw new PoolError('Internal', `pod DB commit failed: ${(err as Error).message}`, { retryable: true, cause: err });
    }
  }

  private mirror(ops: StoreOp[]): void {
    for (const o of ops) {
      switch (o.op) {
        case 'putEni':
          this.enis.set(o.eni.eniId, o.eni);
          if (o.eni.primaryIp) this.eniPrimaryIps.set(o.eni.eniId, o.eni.primaryIp);
          if (!this.ipsByEni.has(o.eni.eniId)) this.ipsByEni.set(o.eni.eniId, new Set());
          break;
        case 'deleteEni':
          for (const ip of [...(this.ipsByEni.get(o.eniId) ?? [])]) if (this.ips.get(ip)?.eniId === o.eniId) this.unindexIp(ip);
          this.ipsByEni.delete(o.eniId);
          this.enis.delete(o.eniId);
          break;
        case 'putIp':
          this.indexIp(o.ip);
          break;
        case 'deleteIp':
          this.unindexIp(o.ip);
          break;
        case 'putPod':
          this.pods.set(o.pod.podKey, o.pod);
          break;
        case 'deletePod':
          this.pods.delete(o.podKey);
          break;
      }
    }
  }

  /** IP addresses recorded on this ENI. */
  ipsOf(eniId: string): string[] {
    return [...(this.ipsByEni.get(eniId) ?? [])];
  }

  /** Learns ENIs' primary IPs from a describe (rows written before schema v2 lack them). */
  notePrimaryIps(attached: readonly Eni[]): void {
    for (const e of attached) if (e.primaryIp) this.eniPrimaryIps.set(e.eniId, e.primaryIp);
  }

  primaryIpOf(eniId: string): string | undefined {
    return this.eniPrimaryIps.get(eniId);
  }

  /** Forgets an ENI's primary IP once its kernel state is cleaned (it left the node). */
  forgetPrimaryIp(eniId: string): void {
    this.eniPrimaryIps.delete(eniId);
  }

  /** Commits `pick` as this pod's IP (the IP `assigned`, the pod row) and returns the allocation. */
  assign(pick: { eniId: string; ip: string }, pod: PodRef, key: string, now: number): IpAllocation {
    const { ops, podRec } = this.assignOps(pick, pod, key, now);
    this.write(ops);
    return this.toAlloc(podRec);
  }

  /**
   * A pod's release: its row goes and its IP moves to the state releasedIp() picks (reserved, cooling, free, or
   * gone with a missing or primary-ENI address), in one write. Undefined when the pod holds nothing here.
   */
  release(podKey: string, cfg: Pick<PoolConfig, 'statefulReserveMs' | 'ipCooldownMs'>, now: number): PodRecord | undefined {
    const pod = this.pods.get(podKey);
    if (!pod) return undefined;
    const rec = this.ips.get(pod.ip);
    const ops: StoreOp[] = [{ op: 'deletePod', podKey }];
    if (rec && rec.podKey === podKey) {
      const next = releasedIp(rec, pod, cfg, now);
      ops.push(next ? { op: 'putIp', ip: next } : { op: 'deleteIp', ip: rec.ip });
    }
    this.write(ops);
    return pod;
  }

  /**
   * Group commit, in memory only: takes `pick` as this pod's IP and returns the ops that make it durable and
   * how to take it back. The caller commits the ops (commit()) in the same synchronous run, before anyone sees
   * the allocation, and calls undo() if that commit fails.
   */
  stageAssign(pick: { eniId: string; ip: string }, pod: PodRef, key: string, now: number): StagedAssign<IpAllocation> {
    const { ops, podRec } = this.assignOps(pick, pod, key, now);
    const before = this.ips.get(pick.ip);
    this.mirror(ops);
    return {
      ops,
      result: this.toAlloc(podRec),
      undo: () => {
        this.pods.delete(key);
        if (before) this.indexIp(before);
        else this.unindexIp(pick.ip);
      },
    };
  }

  private assignOps(pick: { eniId: string; ip: string }, pod: PodRef, key: string, now: number): { ops: StoreOp[]; podRec: PodRecord } {
    const eni = this.enis.get(pick.eniId)!;
    const vsw = this.vSwitches.get(eni.vSwitchId);
    // Dual stack: the pair's IPv6 address goes with it (IPv4-only records have none).
    const ipv6 = this.ips.get(pick.ip)?.ipv6;
    const ipv6Cidr = vsw?.ipv6Cidr ?? eni.vSwitchIpv6Cidr;
    const ipv6Gateway = vsw?.ipv6Gateway ?? eni.ipv6Gateway;
    const podRec = podRecordFor(
      key,
      pod,
      'ENIMultiIP',
      {
        ip: pick.ip,
        eniId: eni.eniId,
        eniMac: eni.mac,
        primaryEni: eni.primary,
        vSwitchId: eni.vSwitchId,
        vSwitchCidr: vsw?.cidr ?? eni.vSwitchCidr,
        gateway: vsw?.gateway ?? eni.gateway,
        ...(ipv6 ? { ipv6, ...(ipv6Cidr ? { vSwitchIpv6Cidr: ipv6Cidr } : {}), ...(ipv6Gateway ? { ipv6Gateway } : {}) } : {}),
      },
      now,
    );
    return {
      ops: [
        { op: 'putIp', ip: { ip: pick.ip, eniId: eni.eniId, state: 'assigned', podKey: key, since: now, ...(ipv6 ? { ipv6 } : {}) } },
        { op: 'putPod', pod: podRec },
      ],
      podRec,
    };
  }

  /** The pod's committed allocation, if it has one. */
  allocationOf(podKey: string): IpAllocation | undefined {
    const p = this.pods.get(podKey);
    return p && this.toAlloc(p);
  }

  /** Every committed allocation. */
  allocations(): IpAllocation[] {
    return [...this.pods.values()].map((p) => this.toAlloc(p));
  }

  /** Copies of the IP and ENI rows (introspection and tests: never the live records). */
  ipCopies(): IpRecord[] {
    return [...this.ips.values()].map((r) => ({ ...r }));
  }

  eniCopies(): EniRecord[] {
    return [...this.enis.values()].map((e) => ({ ...e }));
  }

  toAlloc(p: PodRecord): IpAllocation {
    return allocationOf(p, this.eniPrimaryIps.get(p.eniId));
  }

  /** The planner's view: managed ENIs (filtered-out ones are frozen) with their IPs, plus what is on its way to each. */
  plannerEnis(incoming: (eniId: string) => number, busy: (eniId: string) => boolean): PlannerEni[] {
    const out: PlannerEni[] = [];
    for (const e of this.enis.values()) {
      if (this.filteredOut.has(e.eniId)) continue; // frozen: not ours to use or delete any more
      // IpRecord is a PlannerIp; the planner never mutates, so the records are passed as they are (no copies on the hot path).
      const ips: PlannerIp[] = [];
      for (const ip of this.ipsByEni.get(e.eniId) ?? []) ips.push(this.ips.get(ip)!);
      out.push({
        eniId: e.eniId,
        vSwitchId: e.vSwitchId,
        primary: e.primary,
        createdByUs: e.createdByUs,
        state: e.state,
        createdAt: e.createdAt,
        ...(this.eniPrimaryIps.has(e.eniId) ? { primaryIp: this.eniPrimaryIps.get(e.eniId) } : {}),
        ips,
        incoming: incoming(e.eniId),
        busy: busy(e.eniId),
      });
    }
    return out;
  }

  /**
   * IP counts by state (a free IP counts only on a secondary ENI in use that the pool manages). `enis` counts
   * secondary ENIs: a record of the primary ENI only lingers for pods placed there before (not ours to grow).
   */
  countIps(): Pick<PoolStats, 'enis' | 'total' | 'free' | 'assigned' | 'cooling' | 'reserved' | 'releasing'> {
    let enis = 0;
    for (const e of this.enis.values()) if (!e.primary) enis++;
    const s = { enis, total: this.ips.size, free: 0, assigned: 0, cooling: 0, reserved: 0, releasing: 0 };
    for (const ip of this.ips.values()) {
      const eni = this.enis.get(ip.eniId);
      if (ip.state === 'free' && (eni?.state !== 'inuse' || eni.primary || this.filteredOut.has(ip.eniId))) continue;
      s[ip.state]++;
    }
    return s;
  }

  private indexIp(rec: IpRecord): void {
    const old = this.ips.get(rec.ip);
    if (old && old.eniId !== rec.eniId) this.ipsByEni.get(old.eniId)?.delete(rec.ip);
    this.ips.set(rec.ip, rec);
    let set = this.ipsByEni.get(rec.eniId);
    if (!set) this.ipsByEni.set(rec.eniId, (set = new Set()));
    set.add(rec.ip);
  }

  private unindexIp(ip: string): void {
    const old = this.ips.get(ip);
    if (!old) return;
    this.ips.delete(ip);
    this.ipsByEni.get(old.eniId)?.delete(ip);
  }
}
