// The multi-IP pool's cloud executor: runs the planner's actions (create + attach an ENI, assign,
// unassign, detach + delete) through per-ENI workers, keeps what is on its way (incoming IPs, creates
// without an id yet, the create rate window) and writes the back-offs after failures. Every outcome is
// committed through the books; what a failure means is decided in transitions.ts and backoff.ts.

import type { Eni, PoolCloud } from './cloud.js';
import type { Clock } from './clock.js';
import type { PoolConfig } from './config.js';
import type { PoolEvent, PoolLogger } from './events.js';
import { deferEni, errorCode, noBackoffs, recordFailure, type Backoffs } from './backoff.js';
import { EniWorkers } from './eniWorkers.js';
import type { MultiIpBooks } from './multiIpBooks.js';
import { CREATE_RATE_WINDOW_MS, type PlanAction } from './planner.js';
import { RecentlyAdded, RecentlyRemoved } from './recentlyRemoved.js';
import type { EniRecord, IpRecord, StoreOp } from './store.js';
import {
  acceptsNewIp,
  afterFailedDetach,
  afterFailedUnassign,
  backInPool,
  startEniDeletion,
  startRelease,
  whereabouts,
} from './transitions.js';
import { PoolError } from './types.js';
import type { VSwitchFacts } from './vSwitchFacts.js';

/** CreateNetworkInterface Ipv6AddressCount: 1 to 10 (ECS API reference). */
const MAX_IPV6_PER_CREATE = 10;

/** An ENI leaving the node (idle deletion, or detached behind the pool's back): the daemon removes its kernel state (table, rules). */
export interface RemovedEni {
  eniId: string;
  mac: string;
  /** Known when the pool saw the ENI in the cloud since it started. */
  primaryIp?: string;
  vSwitchCidr: string;
}

export interface MultiIpCloudOpsDeps {
  cloud: PoolCloud;
  books: MultiIpBooks;
  instanceId: string;
  config: PoolConfig;
  /** Tags for the ENIs this pool creates. */
  eniTags: Record<string, string>;
  securityGroupIds: string[];
  clock: Clock;
  log: PoolLogger;
  onEvent: (e: PoolEvent) => void;
  onEniRemoved?: (eni: RemovedEni) => Promise<void>;
  /** IPs became usable: hand them to waiting requests. */
  serveWaiters(): void;
  /** Something changed: plan again (coalesced). */
  kick(): void;
}

export class MultiIpCloudOps {
  readonly workers: EniWorkers;
  /** IPs unassigned / ENIs deleted by the pool: reconcile must not adopt them again within the cooldown. */
  readonly recentlyRemoved = new RecentlyRemoved();
  /** IPs assigned / ENIs created or attached by the pool: a listing lacking them within the cooldown is stale. */
  readonly recentlyAdded = new RecentlyAdded();
  backoffs: Backoffs = noBackoffs();
  /** The cloud's code when the last assign / create / attach failed; cleared by the next that works. */
  lastGrowFailure?: string;
  /** IPs asked for per ENI (queued or running assigns; for an attaching ENI, what it is expected to bring). */
  private readonly incoming = new Map<string, number>();
  /** Creates under way that have no ENI id yet → the IPs each is expected to bring. */
  private readonly creating = new Map<number, number>();
  private createSeq = 0;
  /** Start times of CreateNetworkInterface calls within the rate window (maxEniCreatesPerMinute). */
  private recentCreates: number[] = [];
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly d: MultiIpCloudOpsDeps) {
    this.workers = new EniWorkers((err, eniId) => this.d.log.error({ err, eniId }, 'ENI operation failed'));
  }

  incomingOn(eniId: string): number {
    return this.incoming.get(eniId) ?? 0;
  }

  /** IPs each create without an ENI id yet is expected to bring. */
  creatingNow(): number[] {
    return [...this.creating.values()];
  }

  /** Creates started so far (a reconcile that saw this change leaves Available ENIs of ours alone). */
  get createsStarted(): number {
    return this.createSeq;
  }

  /** Creates started within the rate window, older ones dropped. */
  recentCreatesAt(now: number): readonly number[] {
    this.recentCreates = this.recentCreates.filter((t) => now - t < CREATE_RATE_WINDOW_MS);
    return this.recentCreates;
  }

  /** Tracks cloud work so whenIdle() / stop() can wait for it. */
  track<T>(p: Promise<T>): Promise<T> {
    const t = p.finally(() => this.inflight.delete(t));
    this.inflight.add(t);
    return t;
  }

  get idle(): boolean {
    return this.inflight.size === 0;
  }

  settle(): Promise<unknown> {
    return Promise.allSettled([...this.inflight]);
  }

  launch(a: PlanAction): Promise<void> {
    const { books, clock } = this.d;
    let p: Promise<void>;
    switch (a.kind) {
      case 'assign':
        this.incoming.set(a.eniId, this.incomingOn(a.eniId) + a.count);
        p = this.workers.run(a.eniId, () => this.assign(a.eniId, a.count));
        break;
      case 'createEni':
        this.recentCreates.push(clock.now());
        p = this.createEni(a.vSwitchId, a.secondaryCount, a.expectIps);
        break;
      case 'unassign': {
        // An ENI's primary address cannot be unassigned: it leaves with its ENI only.
        const primaryIp = books.primaryIpOf(a.eniId);
        const recs = startRelease(
          a.eniId,
          a.ips.filter((ip) => ip !== primaryIp).map((ip) => books.ips.get(ip)),
          clock.now(),
        );
        if (recs.length === 0) return Promise.resolve();
        // Recorded `releasing` before the call: after a crash the restarted pool finishes it, never hands them out.
        books.write(recs.map((ip) => ({ op: 'putIp', ip })));
        const ips = recs.map((r) => r.ip);
        p = this.workers.run(a.eniId, () => this.unassign(a.eniId, ips));
        break;
      }
      case 'pairIpv6':
        this.incoming.set(a.eniId, this.incomingOn(a.eniId) + a.ips.length);
        p = this.workers.run(a.eniId, () => this.pairIpv6(a.eniId, a.ips));
        break;
      case 'retryUnassign':
        p = this.workers.run(a.eniId, () => this.unassign(a.eniId, a.ips));
        break;
      case 'retryDeleteEni':
        p = this.workers.run(a.eniId, () => this.deleteEni(a.eniId));
        break;
      case 'deleteEni': {
        const eni = books.enis.get(a.eniId);
        const ips = books.ipsOf(a.eniId).map((ip) => books.ips.get(ip)!);
        const leaving = eni && startEniDeletion(eni, ips, clock.now());
        if (!leaving) return Promise.resolve();
        // Recorded `deleting` (its IPs `releasing`) before the detach: only moves forward from here.
        books.write([{ op: 'putEni', eni: leaving.eni }, ...leaving.ips.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
        p = this.workers.run(a.eniId, () => this.deleteEni(a.eniId));
        break;
      }
    }
    return this.track(p);
  }

  /** The CIDR and gateway of a vSwitch (DescribeVSwitches once, then remembered). */
  async vSwitch(vSwitchId: string): Promise<VSwitchFacts> {
    const { vSwitches } = this.d.books;
    await vSwitches.load(this.d.cloud, [vSwitchId], this.d.clock.now());
    const facts = vSwitches.get(vSwitchId);
    if (!facts) throw new PoolError('Internal', `vSwitch ${vSwitchId} not found`, { retryable: true });
    return facts;
  }

  /** Runs the onEniRemoved hook; never throws (a leftover table is not worth keeping an ENI for). */
  async eniRemoved(e: EniRecord): Promise<void> {
    if (!this.d.onEniRemoved) return;
    const primaryIp = this.d.books.primaryIpOf(e.eniId);
    try {
      await this.d.onEniRemoved({ eniId: e.eniId, mac: e.mac, vSwitchCidr: e.vSwitchCidr, ...(primaryIp ? { primaryIp } : {}) });
    } catch (err) {
      this.d.log.warn({ err, eniId: e.eniId }, 'cleaning up a removed ENI failed');
      this.d.onEvent({
        type: 'Warning',
        reason: 'EniCleanupFailed',
        message: `cleanup after removing ${e.eniId}: ${(err as Error).message}`,
        eniId: e.eniId,
      });
    }
  }

  private async assign(eniId: string, count: number): Promise<void> {
    const { books } = this.d;
    const eni = books.enis.get(eniId);
    try {
      if (!eni || eni.state !== 'inuse') return;
      const got = await this.d.cloud.assignPrivateIpAddresses(eniId, count);
      this.recentlyRemoved.forget(got); // ours again, for sure
      this.noteAdded(got);
      const now = this.d.clock.now();
      const recs: IpRecord[] = got.filter((ip) => acceptsNewIp(books.ips.get(ip))).map((ip) => ({ ip, eniId, state: 'free', since: now }));
      if (!books.enis.has(eniId)) return;
      if (this.dual && recs.length > 0) {
        // One IPv6 assign for the whole batch, then the pairs are written in one transaction. If it fails, the
        // IPv4 addresses are written alone (half pairs: the planner asks for their partners after the back-off).
        let v6: string[];
        try {
          v6 = await this.d.cloud.assignIpv6Addresses(eniId, recs.length);
        } catch (err) {
          books.write(recs.map((ip) => ({ op: 'putIp', ip })));
          this.onGrowFailure(err, { eniId, vSwitchId: eni.vSwitchId, api: 'AssignIpv6Addresses' });
          return;
        }
        this.noteAdded(v6);
        books.write(pairUp(recs, v6).map((ip) => ({ op: 'putIp', ip })));
      } else books.write(recs.map((ip) => ({ op: 'putIp', ip })));
      this.lastGrowFailure = undefined;
      this.d.log.debug({ eniId, count: got.length }, 'assigned secondary IPs');
    } catch (err) {
      this.onGrowFailure(err, { eniId, vSwitchId: eni?.vSwitchId, api: 'AssignPrivateIpAddresses' });
    } finally {
      this.decIncoming(eniId, count);
      this.d.serveWaiters();
      this.d.kick();
    }
  }

  private get dual(): boolean {
    return this.d.config.ipStack === 'dual';
  }

  /** Dual stack: IPv6 partners for free IPv4 addresses of this ENI that lack one (one AssignIpv6Addresses). */
  private async pairIpv6(eniId: string, ips: string[]): Promise<void> {
    const { books } = this.d;
    const eni = books.enis.get(eniId);
    try {
      const halves = ips.map((ip) => books.ips.get(ip)).filter((r): r is IpRecord => r?.eniId === eniId && r.ipv6 === undefined);
      if (!eni || eni.state !== 'inuse' || halves.length === 0) return;
      const v6 = await this.d.cloud.assignIpv6Addresses(eniId, halves.length);
      this.noteAdded(v6);
      // Re-read: a half may have gone meanwhile (reclaimed: it is `releasing` and its unassign takes the partner too).
      const still = halves.map((r) => books.ips.get(r.ip)).filter((r): r is IpRecord => r?.eniId === eniId && r.ipv6 === undefined);
      const paired = pairUp(still, v6);
      books.write(paired.map((ip) => ({ op: 'putIp', ip })));
      const spare = v6.slice(still.length);
      if (spare.length > 0) await this.d.cloud.unassignIpv6Addresses(eniId, spare).catch(() => undefined); // reconcile pairs leftovers
      this.lastGrowFailure = undefined;
    } catch (err) {
      this.onGrowFailure(err, { eniId, vSwitchId: eni?.vSwitchId, api: 'AssignIpv6Addresses' });
    } finally {
      this.decIncoming(eniId, ips.length);
      this.d.serveWaiters();
      this.d.kick();
    }
  }

  private decIncoming(eniId: string, count: number): void {
    const left = this.incomingOn(eniId) - count;
    if (left > 0) this.incoming.set(eniId, left);
    else this.incoming.delete(eniId);
  }

  private async createEni(vSwitchId: string, secondaryCount: number, expectIps: number): Promise<void> {
    const { books } = this.d;
    const token = ++this.createSeq;
    this.creating.set(token, expectIps);
    let eni: Eni | undefined;
    try {
      const vsw = await this.vSwitch(vSwitchId);
      eni = await this.d.cloud.createNetworkInterface({
        vSwitchId,
        securityGroupIds: this.d.securityGroupIds,
        description: `eni-ipam pool ENI for ${this.d.instanceId}`,
        tags: this.d.eniTags,
        secondaryIpCount: secondaryCount > 0 ? secondaryCount : undefined,
        // Dual stack: a partner for the ENI's primary address and each secondary one, in the same call, within
        // the call's limit of 10 (the rest are half pairs, paired by the next plan).
        ...(this.dual ? { ipv6Count: Math.min(secondaryCount + 1, MAX_IPV6_PER_CREATE) } : {}),
      });
      const now = this.d.clock.now();
      const rec: EniRecord = {
        eniId: eni.eniId,
        mac: eni.mac,
        vSwitchId,
        vSwitchCidr: vsw.cidr,
        gateway: vsw.gateway,
        primary: false,
        createdByUs: true,
        state: 'attaching',
        createdAt: now,
        ...(eni.primaryIp ? { primaryIp: eni.primaryIp } : {}),
        ...(vsw.ipv6Cidr ? { vSwitchIpv6Cidr: vsw.ipv6Cidr } : {}),
        ...(vsw.ipv6Gateway ? { ipv6Gateway: vsw.ipv6Gateway } : {}),
      };
      // The ENI's own primary address is a pod address like its secondary IPs (it only leaves with the ENI).
      const addresses = eni.primaryIp ? [eni.primaryIp, ...eni.secondaryIps] : eni.secondaryIps;
      const v4Recs: IpRecord[] = addresses
        .filter((ip) => acceptsNewIp(books.ips.get(ip)))
        .map((ip) => ({ ip, eniId: rec.eniId, state: 'free', since: now }));
      const ipRecs = this.dual ? pairUp(v4Recs, eni.ipv6s) : v4Recs;
      // Recorded `attaching` before the attach: after a crash, reconcile finds it (adopts or deletes it).
      books.write([{ op: 'putEni', eni: rec }, ...ipRecs.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
      this.recentlyRemoved.forget(addresses);
      this.noteAdded([eni.eniId, ...addresses, ...eni.ipv6s]);
      // The ENI's expected IPs now count as incoming on it (not on the anonymous create).
      this.creating.delete(token);
      this.incoming.set(rec.eniId, this.incomingOn(rec.eniId) + expectIps);
      const eniId = rec.eniId;
      this.d.onEvent({
        type: 'Normal',
        reason: 'CreateENISucceed',
        message: `created ${eniId} in ${vSwitchId} with ${ipRecs.length} IPs`,
        eniId,
      });
      await this.workers.run(eniId, () => this.attach(eniId, expectIps));
    } catch (err) {
      if (!eni) {
        this.d.onEvent({ type: 'Warning', reason: 'CreateENIFailed', message: `create ENI in ${vSwitchId}: ${(err as Error).message}` });
        this.onGrowFailure(err, { vSwitchId, api: 'CreateNetworkInterface' });
      } else this.d.log.error({ err, eniId: eni.eniId }, 'recording a new ENI failed');
    } finally {
      this.creating.delete(token);
      this.d.serveWaiters();
      this.d.kick();
    }
  }

  private async attach(eniId: string, expectIps: number): Promise<void> {
    const { books } = this.d;
    try {
      await this.d.cloud.attachNetworkInterface(eniId, this.d.instanceId);
      const cur = books.enis.get(eniId);
      if (!cur) return;
      books.write([{ op: 'putEni', eni: { ...cur, state: 'inuse', ...(await this.ipv6GatewayFor(cur)) } }]);
      this.noteAdded([eniId]);
      this.lastGrowFailure = undefined;
      this.d.onEvent({ type: 'Normal', reason: 'AttachENISucceed', message: `attached ${eniId}`, eniId });
    } catch (err) {
      this.d.onEvent({ type: 'Warning', reason: 'AttachENIFailed', message: `attach ${eniId}: ${(err as Error).message}`, eniId });
      this.onGrowFailure(err, { api: 'AttachNetworkInterface' });
      await this.forgetAndDelete(eniId);
    } finally {
      this.decIncoming(eniId, expectIps);
    }
  }

  /**
   * Dual stack: the vSwitch's IPv6 gateway, which DescribeVSwitches does not give: read once from the new ENI's
   * metadata (ipv6-gateway) and remembered for the vSwitch. Best effort: the metadata may lag a fresh ENI; the
   * next ENI of the vSwitch tries again.
   */
  private async ipv6GatewayFor(eni: EniRecord): Promise<Pick<EniRecord, 'ipv6Gateway'>> {
    if (!this.dual) return {};
    try {
      const gw = await this.d.books.vSwitches.ipv6Gateway(this.d.cloud, eni.vSwitchId, eni.mac);
      return gw ? { ipv6Gateway: gw } : {};
    } catch (err) {
      this.d.log.warn({ err, eniId: eni.eniId }, 'reading the IPv6 gateway from the ENI metadata failed');
      return {};
    }
  }

  /** Forgets an ENI and its IPs, then deletes it in the cloud (best effort; reconcile retries leaked ones). */
  private async forgetAndDelete(eniId: string): Promise<void> {
    const { books } = this.d;
    const ips = books.ipsOf(eniId);
    books.write([{ op: 'deleteEni', eniId }]);
    this.noteRemoved([eniId, ...ips]);
    books.forgetPrimaryIp(eniId);
    try {
      await this.d.cloud.deleteNetworkInterface(eniId);
    } catch (err) {
      this.d.log.warn({ err, eniId }, 'deleting ENI failed; reconcile will retry');
    }
  }

  private async unassign(eniId: string, ips: string[]): Promise<void> {
    const { books } = this.d;
    const mine = ips.filter((ip) => books.ips.get(ip)?.state === 'releasing' && books.ips.get(ip)?.eniId === eniId);
    if (mine.length === 0) return;
    try {
      // The IPv6 partners first: while they are not confirmed gone the rows stay `releasing` (both retried).
      const partners = mine.map((ip) => books.ips.get(ip)?.ipv6).filter((x): x is string => x !== undefined);
      if (partners.length > 0) {
        try {
          await this.d.cloud.unassignIpv6Addresses(eniId, partners);
        } catch (err) {
          if (afterFailedUnassign(errorCode(err)) !== 'finished') throw err;
        }
        this.noteRemoved(partners);
      }
      await this.d.cloud.unassignPrivateIpAddresses(eniId, mine);
      this.finishRelease(mine);
      this.d.log.debug({ eniId, count: mine.length }, 'released idle IPs');
    } catch (err) {
      const code = errorCode(err);
      if (afterFailedUnassign(code) === 'finished') {
        this.finishRelease(mine);
        return;
      }
      this.backoffs = deferEni(this.backoffs, eniId, code, this.d.clock.now(), this.d.config.backoff);
      this.d.log.warn({ err, eniId, code }, 'unassign failed; retried after the back-off');
      this.d.onEvent({
        type: 'Warning',
        reason: 'ReleaseIPFailed',
        message: `unassign ${mine.length} IP(s) from ${eniId}: ${(err as Error).message}`,
        eniId,
      });
    }
  }

  private finishRelease(ips: string[]): void {
    const gone = ips.filter((ip) => this.d.books.ips.get(ip)?.state === 'releasing');
    this.d.books.write(gone.map((ip) => ({ op: 'deleteIp', ip })));
    this.noteRemoved(gone);
  }

  /** Reconcile must not adopt these again within the cooldown (DescribeNetworkInterfaces may lag). */
  private noteRemoved(ids: Iterable<string>): void {
    const list = [...ids];
    this.recentlyAdded.forget(list);
    this.recentlyRemoved.note(list, this.d.clock.now() + this.d.config.reconcileCooldownMs);
  }

  /** Reconcile must not drop these within the cooldown for a listing that lacks them (it may predate them). */
  private noteAdded(ids: Iterable<string>): void {
    this.recentlyAdded.note(ids, this.d.clock.now() + this.d.config.reconcileCooldownMs);
  }

  private async deleteEni(eniId: string): Promise<void> {
    const { books } = this.d;
    // Kernel cleanup first, while the ENI link still exists (its table id and primary IP are on it).
    // No pod uses the ENI any more (startEniDeletion); if the detach fails, the next pod's setup rebuilds the table.
    const leaving = books.enis.get(eniId);
    if (leaving) await this.eniRemoved(leaving);
    try {
      await this.d.cloud.detachNetworkInterface(eniId, this.d.instanceId);
    } catch (err) {
      const code = errorCode(err);
      let outcome = afterFailedDetach(code);
      if (outcome === 'lookUp') outcome = afterFailedDetach(code, await this.whereNow(eniId));
      if (outcome === 'retryLater') {
        this.backoffs = deferEni(this.backoffs, eniId, code, this.d.clock.now(), this.d.config.backoff);
        this.d.log.warn({ err, eniId }, 'detach failed and the ENI state is unknown; retried after the back-off');
        return;
      }
      if (outcome === 'backToPool') {
        this.d.log.warn({ err, eniId }, 'detach failed; ENI goes back to the pool');
        this.d.onEvent({ type: 'Warning', reason: 'DetachENIFailed', message: `detach ${eniId}: ${(err as Error).message}`, eniId });
        // Its next release (idle reclaim) waits the ENI's back-off: no tight detach loop against a failing API.
        this.backoffs = deferEni(this.backoffs, eniId, code, this.d.clock.now(), this.d.config.backoff);
        const eni = books.enis.get(eniId);
        if (eni) {
          const back = backInPool(
            eni,
            books.ipsOf(eniId).flatMap((ip) => books.ips.get(ip) ?? []),
            this.d.clock.now(),
          );
          books.write([{ op: 'putEni', eni: back.eni }, ...back.ips.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
          this.d.serveWaiters();
        }
        return;
      }
    }
    this.d.onEvent({ type: 'Normal', reason: 'DetachENISucceed', message: `detached ${eniId}`, eniId });
    await this.forgetAndDelete(eniId);
    this.d.onEvent({ type: 'Normal', reason: 'DeleteENISucceed', message: `deleted ${eniId}`, eniId });
  }

  /** After a failed detach: where the ENI is now ('unknown' when the describe fails too). */
  private async whereNow(eniId: string): Promise<ReturnType<typeof whereabouts>> {
    try {
      return whereabouts(await this.d.cloud.describeNetworkInterfaces({ eniIds: [eniId] }), this.d.instanceId);
    } catch (err) {
      this.d.log.warn({ err, eniId }, 'describing an ENI after a failed detach failed');
      return 'unknown';
    }
  }

  private onGrowFailure(err: unknown, ctx: { eniId?: string; vSwitchId?: string; api: string }): void {
    const code = errorCode(err);
    this.lastGrowFailure = code;
    this.backoffs = recordFailure(this.backoffs, code, ctx, this.d.clock.now(), this.d.config.backoff);
    this.d.log.warn({ err, code, ...ctx }, 'cloud call failed');
    this.d.onEvent({ type: 'Warning', reason: 'AllocIPFailed', message: `${ctx.api}: ${(err as Error).message}`, eniId: ctx.eniId });
  }
}

/** Dual stack: pairs free IPv4 records with IPv6 addresses in order; records beyond the IPv6 list stay halves. */
export function pairUp(recs: IpRecord[], ipv6s: readonly string[]): IpRecord[] {
  return recs.map((r, i) => (ipv6s[i] !== undefined ? { ...r, ipv6: ipv6s[i] } : r));
}
