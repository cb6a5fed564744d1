// The multi-IP pool's cloud reconcile and GC driving: reads the cloud's view of this instance's ENIs,
// classifies them (ownership.ts), applies the pure verdict of reconcile.ts in one synchronous step,
// deletes leaked ENIs of ours, and releases allocations whose pod is gone.

import type { PoolCloud } from './cloud.js';
import type { Clock } from './clock.js';
import type { PoolConfig } from './config.js';
import type { PoolEvent, PoolLogger } from './events.js';
import type { MultiIpBooks } from './multiIpBooks.js';
import type { MultiIpCloudOps } from './multiIpCloudOps.js';
import { classifyEni, ourTags } from './ownership.js';
import { releaseGonePods } from './podGc.js';
import { reconcileWithCloud, type ReconcileFinding } from './reconcile.js';
import type { IpAllocation, OwnerCheck } from './types.js';

/** A failed start-up reconcile is retried from the ticker at most this often. */
export const SYNC_RETRY_MS = 5_000;
/** An ENI left mid-attach by a crash is looked at again this soon (not at the next GC, minutes away). */
export const ATTACH_RECHECK_MS = 5_000;

export interface MultiIpSyncDeps {
  cloud: PoolCloud;
  books: MultiIpBooks;
  ops: MultiIpCloudOps;
  instanceId: string;
  /** vSwitches for new ENIs: their free-IP counts are read again at a reconcile once older than the TTL. */
  vSwitchIds: readonly string[];
  config: PoolConfig;
  clock: Clock;
  log: PoolLogger;
  onEvent: (e: PoolEvent) => void;
  ownerCheck?: OwnerCheck;
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  release(podKey: string): Promise<unknown>;
  serveWaiters(): void;
  kick(): void;
}

export class MultiIpSync {
  /** True once a reconcile has succeeded: until then the cloud's view is unknown and the pool does not plan. */
  synced = false;
  private reconciling: Promise<void> | undefined;
  private lastSyncAttempt = 0;
  /** A reconcile skipped something listed within its cooldown (or an ENI is mid-attach): reconcile again at this time. */
  private recheckAt: number | undefined;

  constructor(private readonly d: MultiIpSyncDeps) {}

  /** Brings the pool in line with the cloud's view of this instance's ENIs (adopt, drop, flag, clean leaked ENIs). One at a time. */
  reconcile(): Promise<void> {
    if (!this.reconciling) {
      this.reconciling = this.d.ops.track(this.reconcileOnce()).finally(() => {
        this.reconciling = undefined;
      });
    }
    return this.reconciling;
  }

  /** The ticker's share: retry a failed start-up sync, and look again once a cooldown or an attach has had its time. */
  async onTick(now: number): Promise<void> {
    if (!this.synced && !this.reconciling && now - this.lastSyncAttempt >= SYNC_RETRY_MS) {
      this.lastSyncAttempt = now;
      await this.reconcile().catch((err) => this.d.log.warn({ err }, 'reconcile retry failed'));
    }
    if (this.recheckAt !== undefined && now >= this.recheckAt && !this.reconciling) {
      this.recheckAt = undefined;
      await this.reconcile().catch((err) => this.d.log.warn({ err }, 'reconcile after the cooldown failed'));
    }
  }

  /** Releases allocations whose owner is gone (older than the grace period), then reconciles with the cloud. */
  async gc(): Promise<string[]> {
    const { books, ownerCheck } = this.d;
    let released: string[] = [];
    if (ownerCheck) {
      const now = this.d.clock.now();
      released = await releaseGonePods({
        ownerCheck,
        candidates: [...books.pods.values()].filter((p) => now - p.allocatedAt >= this.d.config.gcGraceMs).map((p) => books.toAlloc(p)),
        beforeRelease: this.d.beforeRelease,
        holds: (a) => this.holds(a),
        release: (k) => this.d.release(k),
        log: this.d.log,
        onEvent: this.d.onEvent,
      });
    }
    await this.reconcile();
    return released;
  }

  /** The pool still holds exactly this allocation. */
  private holds(a: IpAllocation): boolean {
    const cur = this.d.books.pods.get(a.podKey);
    return cur !== undefined && cur.allocatedAt === a.allocatedAt;
  }

  private async reconcileOnce(): Promise<void> {
    const { books, ops, cloud, instanceId } = this.d;
    const filter = this.d.config.eniTagFilter;
    const seqBefore = ops.workers.snapshot();
    const createSeqBefore = ops.createsStarted;
    const creatingBefore = ops.creatingNow().length;
    const attached = await cloud.describeNetworkInterfaces({ instanceId });
    const detached = await cloud.describeNetworkInterfaces({ status: 'Available', tags: ourTags(instanceId) });
    // Fetch vSwitch facts first: everything below runs without awaiting, so no allocation interleaves with it.
    for (const e of attached) {
      if (books.vSwitches.has(e.vSwitchId)) continue;
      await ops.vSwitch(e.vSwitchId).catch(async (err) => {
        // DescribeVSwitches may be denied by a narrow RAM policy: the ENI's metadata has the same facts.
        this.d.log.warn({ err, vSwitchId: e.vSwitchId }, 'DescribeVSwitches failed; using ENI metadata');
        const m = await cloud.getEniMetadata(e.mac).catch(() => undefined);
        if (m?.vSwitchCidr && m.gateway) books.vSwitches.set(e.vSwitchId, { cidr: m.vSwitchCidr, gateway: m.gateway });
      });
    }
    // 'ordered' picks the vSwitch with the most free IPs: counts older than Terway's cache TTL are read again.
    await books.vSwitches
      .refresh(cloud, [...this.d.vSwitchIds], this.d.clock.now())
      .catch((err) => this.d.log.warn({ err }, 'DescribeVSwitches failed; vSwitch free-IP counts not refreshed'));
    books.notePrimaryIps(attached);
    const now = this.d.clock.now();
    ops.recentlyRemoved.prune(now);
    ops.recentlyAdded.prune(now);
    const classOf = (e: (typeof attached)[number]) => classifyEni(e, instanceId, filter);
    const { ops: storeOps, findings } = reconcileWithCloud({
      now,
      enis: books.enis,
      ips: books.ips,
      attached: attached.filter((e) => e.instanceId === instanceId || e.instanceId === undefined),
      vSwitchInfo: (id) => books.vSwitches.get(id),
      busy: (eniId) => ops.workers.changedSince(seqBefore, eniId),
      isOurs: (e) => classOf(e) === 'ours',
      createsInFlight: creatingBefore > 0 || ops.creatingNow().length > 0,
      recentlyRemoved: (id) => ops.recentlyRemoved.has(id),
      recentlyAdded: (id) => ops.recentlyAdded.has(id),
      dual: this.d.config.ipStack === 'dual',
    });
    const here = attached.filter((e) => e.instanceId === instanceId);
    books.filteredOut.clear();
    for (const e of here) if (classOf(e) === 'filtered') books.filteredOut.add(e.eniId);
    // Filtered-out ENIs (known or not) and unknown foreign ones hold slots the pool cannot use.
    books.foreignEnis = here.filter((e) => classOf(e) === 'filtered' || (classOf(e) === 'foreign' && !books.enis.has(e.eniId))).length;
    // ENIs reconcile drops (detached behind our back) may still have kernel state: remember them first.
    const dropped = storeOps.flatMap((o) => (o.op === 'deleteEni' && books.enis.has(o.eniId) ? [books.enis.get(o.eniId)!] : []));
    books.write(storeOps);
    this.report(findings);
    this.synced = true;
    // An ENI a killed daemon left mid-attach (the cloud says Attaching) is usable once the attach lands:
    // look again soon rather than at the next GC (minutes).
    const stuck = [...books.enis.values()].some((e) => e.state === 'attaching' && !ops.workers.busy(e.eniId));
    if (stuck && ops.creatingNow().length === 0) this.recheckNoLaterThan(this.d.clock.now() + ATTACH_RECHECK_MS);
    for (const e of dropped) {
      if (!e.primary) void ops.track(ops.eniRemoved(e));
      books.forgetPrimaryIp(e.eniId);
    }

    // Leaked ENIs of ours (crash between create and attach, or between detach and delete): delete them,
    // unless a create was in flight while we looked (its ENI may be in the Available list legitimately).
    const createsQuiet = creatingBefore === 0 && ops.creatingNow().length === 0 && ops.createsStarted === createSeqBefore;
    if (createsQuiet) {
      for (const ce of detached) {
        if (ce.status !== 'Available' || classOf(ce) !== 'ours' || books.enis.has(ce.eniId)) continue;
        try {
          await cloud.deleteNetworkInterface(ce.eniId);
          this.d.onEvent({ type: 'Normal', reason: 'DeleteENISucceed', message: `deleted leaked ENI ${ce.eniId}`, eniId: ce.eniId });
        } catch (err) {
          this.d.log.warn({ err, eniId: ce.eniId }, 'deleting leaked ENI failed');
        }
      }
    }
    this.d.serveWaiters();
    this.d.kick();
  }

  private recheckNoLaterThan(at: number): void {
    this.recheckAt = Math.min(this.recheckAt ?? at, at);
  }

  private report(findings: ReconcileFinding[]): void {
    const { log, onEvent } = this.d;
    for (const f of findings) {
      switch (f.kind) {
        case 'adoptEni':
          onEvent({
            type: 'Normal',
            reason: 'AdoptENI',
            message: `adopted ${f.eniId} (created by us)`,
            eniId: f.eniId,
          });
          break;
        case 'eniFactsUnknown':
          log.warn({ eniId: f.eniId, vSwitchId: f.vSwitchId }, 'not adopting ENI yet: vSwitch CIDR/gateway unknown');
          break;
        case 'adoptIp':
          log.info({ ip: f.ip, eniId: f.eniId }, 'adopted IP the cloud assigned behind our back');
          break;
        case 'adoptIpv6':
          log.info({ ip: f.ip, ipv6: f.ipv6, eniId: f.eniId }, 'paired an IPv6 address the cloud lists with a free IPv4 one');
          break;
        case 'dropIpv6':
          log.info({ ip: f.ip, ipv6: f.ipv6, eniId: f.eniId }, 'dropped an IPv6 partner the cloud no longer has');
          break;
        case 'dropIp':
          log.info({ ip: f.ip, eniId: f.eniId, state: f.state }, 'dropped IP the cloud no longer has');
          break;
        case 'ipMissing':
          log.error({ ip: f.ip, eniId: f.eniId, podKey: f.podKey }, 'assigned IP missing in the cloud');
          onEvent({
            type: 'Warning',
            reason: 'IpMissingInCloud',
            message: `IP ${f.ip} of ${f.podKey} is no longer on ${f.eniId} in the cloud`,
            ip: f.ip,
            eniId: f.eniId,
            podKey: f.podKey,
          });
          break;
        case 'ipMoved':
          log.warn({ ip: f.ip, from: f.from, to: f.to }, 'IP moved to another ENI behind our back');
          break;
        case 'dropEni':
          log.info({ eniId: f.eniId }, 'dropped ENI no longer attached here');
          break;
        case 'leavePrimaryIp':
          log.info({ ip: f.ip, eniId: f.eniId }, 'IP of the primary ENI left to it: pods use secondary ENIs only');
          break;
        case 'retirePrimaryEni':
          log.info({ eniId: f.eniId }, 'primary ENI no longer in the pod DB: no pod holds an IP of it');
          break;
        case 'skippedRecent': {
          // An IP we just released that the cloud lists (stale answer, or handed back to us by a lost-reply
          // assign), or one we just got that it does not list yet: look again once the cooldown is over,
          // so a real change is taken then.
          const until = this.d.ops.recentlyRemoved.endOf(f.id) ?? this.d.ops.recentlyAdded.endOf(f.id);
          if (until !== undefined) this.recheckNoLaterThan(until);
          log.debug({ id: f.id }, 'a listing disagrees with what changed a moment ago; looked at again after the cooldown');
          break;
        }
      }
    }
  }
}
