// The ENI multi-IP pool: in-memory view of the node's ENIs and secondary IPs, kept in step with the
// PoolStore (committed before any answer) and the cloud (per-ENI serialized workers). What to do is
// decided by planner.ts; this file only executes those decisions and keeps the books.

import { CloudError, CloudErrorCodes, type PoolCloud, type Eni, type InstanceTypeLimits } from './cloud.js';
import { resolvePoolConfig, type PoolConfig, type PoolConfigInput } from './config.js';
import {
  expireTimers,
  jitteredInterval,
  pickFreeIp,
  plan,
  planReleaseRetries,
  CREATE_RATE_WINDOW_MS,
  type Backoffs,
  type Plan,
  type PlanAction,
  type PlannerEni,
  type PlannerIp,
} from './planner.js';
import { allocationOf, podRecordFor, type EniRecord, type IpRecord, type PodRecord, type PoolStore, type StoreOp } from './store.js';
import { vSwitchGateway } from '../lib/ipv4.js';
import { reconcileWithCloud, type ReconcileFinding } from './reconcile.js';
import { errorCode, expireBackoffs, recordFailure } from './backoff.js';
import { EniWorkers } from './eniWorkers.js';
import { WaitQueue } from './waitQueue.js';
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type OwnerCheck, type PodRef, type PoolStats } from './types.js';

export interface Clock {
  now(): number;
}

/** pino-compatible subset. */
export interface PoolLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PoolEvent {
  type: 'Normal' | 'Warning';
  /** Terway-style reason, e.g. CreateENISucceed, AllocIPFailed, IpMissingInCloud. */
  reason: string;
  message: string;
  eniId?: string;
  ip?: string;
  podKey?: string;
}

/** The creator tag every ENI this pool creates carries (plus `node: <instanceId>` and `eniTags`). */
export const CREATOR_TAG_KEY = 'creator';
export const CREATOR_TAG_VALUE = 'eni-ipam';
export const NODE_TAG_KEY = 'node';

/** An ENI leaving the node (idle deletion, or detached behind the pool's back): the daemon removes its kernel state (table, rules). */
export interface RemovedEni {
  eniId: string;
  mac: string;
  /** Known when the pool saw the ENI in the cloud since it started. */
  primaryIp?: string;
  vSwitchCidr: string;
}

export interface EniMultiIpPoolOptions {
  cloud: PoolCloud;
  store: PoolStore;
  instanceId: string;
  /** Quotas: give them, or give `instanceType` and they are read with DescribeInstanceTypes. */
  limits?: Pick<InstanceTypeLimits, 'eniQuantity' | 'ipv4PerEni'>;
  instanceType?: string;
  /** vSwitches for new ENIs (same zone as the instance), in preference order ('ordered') or to pick from ('random'). Empty: the primary ENI's vSwitch. */
  vSwitchIds: string[];
  securityGroupIds: string[];
  /** Extra tags on ENIs this pool creates (the creator and node tags are always added). */
  eniTags?: Record<string, string>;
  config?: PoolConfigInput;
  clock?: Clock;
  logger?: PoolLogger;
  onEvent?: (e: PoolEvent) => void;
  ownerCheck?: OwnerCheck;
  /**
   * Runs before GC releases an allocation whose owner is gone (the daemon tears the pod's wiring down).
   * If it throws, the allocation is kept (retried next GC) and a Warning event is raised: the IP must not
   * go to another pod while the old pod's routes still point at it.
   */
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  /**
   * Runs when an idle ENI is about to be detached and deleted (before the detach, while its link still
   * exists), and when reconcile finds an ENI detached behind the pool's back. Failures are logged and
   * raised as a Warning event; they never stop the deletion.
   */
  onEniRemoved?: (eni: RemovedEni) => Promise<void>;
  /** Start the idle ticker and GC timers in start() (default true; tests drive tick()/gc() by hand). */
  timers?: boolean;
  /** [0,1) source for the 'random' vSwitch policy and the reclaim-interval jitter. */
  random?: () => number;
}

interface VSwitchInfo {
  cidr: string;
  gateway: string;
}

const noopLogger: PoolLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class EniMultiIpPool implements IpAllocator {
  readonly config: PoolConfig;
  private readonly cloud: PoolCloud;
  private readonly store: PoolStore;
  private readonly instanceId: string;
  private readonly limits: { eniQuantity: number; ipv4PerEni: number };
  private readonly vSwitchIds: string[];
  private readonly securityGroupIds: string[];
  private readonly eniTags: Record<string, string>;
  private readonly clock: Clock;
  private readonly log: PoolLogger;
  private readonly onEvent: (e: PoolEvent) => void;
  private readonly ownerCheck?: OwnerCheck;
  private readonly beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  private readonly onEniRemoved?: (eni: RemovedEni) => Promise<void>;
  private readonly useTimers: boolean;
  private readonly random: () => number;

  private readonly enis = new Map<string, EniRecord>();
  private readonly ips = new Map<string, IpRecord>();
  private readonly ipsByEni = new Map<string, Set<string>>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly waiters = new WaitQueue<PodRef, IpAllocation>();
  private readonly workers = new EniWorkers((err, eniId) => this.log.error({ err, eniId }, 'ENI operation failed'));
  private readonly incoming = new Map<string, number>();
  private readonly creating = new Map<number, number>();
  private createSeq = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly vSwitchInfo = new Map<string, VSwitchInfo>();
  /** ENI id → its primary IP, from the DB (schema v2) and the cloud (create, reconcile). */
  private readonly eniPrimaryIps = new Map<string, string>();
  /** IPs unassigned / ENIs deleted by the pool → until when reconcile must not adopt them again (stale describes). */
  private readonly recentlyRemoved = new Map<string, number>();
  /** Secondary ENIs attached to this instance that are not ours (another tool's, or trunking): they use quota slots. */
  private foreignEnis = 0;
  /** Attached secondary ENIs that fail eniTagFilter: never adopted, used or deleted (known ones are frozen as they are). */
  private readonly filteredOut = new Set<string>();
  /** Start times of CreateNetworkInterface calls within the rate window (maxEniCreatesPerMinute). */
  private recentCreates: number[] = [];
  /** The current (jittered) reclaim interval; drawn again after each reclaim batch. */
  private reclaimIntervalMs: number;
  /** A reconcile skipped something listed within its cooldown: reconcile again (from the ticker) at this time. */
  private recheckAt: number | undefined;
  private backoffs: Backoffs = { vSwitches: {}, enis: {} };
  private lastReclaimAt = 0;
  private planScheduled = false;
  private started = false;
  private stopping = false;
  private timersHandles: NodeJS.Timeout[] = [];
  private reconciling: Promise<void> | undefined;
  private syncedOnce = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt: number | undefined;
  private lastSyncAttempt = 0;

  constructor(opts: EniMultiIpPoolOptions & { limits: { eniQuantity: number; ipv4PerEni: number } }) {
    this.config = resolvePoolConfig(opts.config);
    this.cloud = opts.cloud;
    this.store = opts.store;
    this.instanceId = opts.instanceId;
    this.limits = { eniQuantity: opts.limits.eniQuantity, ipv4PerEni: opts.limits.ipv4PerEni };
    this.vSwitchIds = [...opts.vSwitchIds];
    this.securityGroupIds = [...opts.securityGroupIds];
    // The filter's tags go on our ENIs too, or the pool would refuse to manage what it created.
    this.eniTags = {
      ...(opts.eniTags ?? {}),
      ...this.config.eniTagFilter,
      [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE,
      [NODE_TAG_KEY]: opts.instanceId,
    };
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.log = opts.logger ?? noopLogger;
    this.onEvent = opts.onEvent ?? (() => {});
    this.ownerCheck = opts.ownerCheck;
    this.beforeRelease = opts.beforeRelease;
    this.onEniRemoved = opts.onEniRemoved;
    this.useTimers = opts.timers ?? true;
    this.random = opts.random ?? Math.random;
    this.reclaimIntervalMs = this.drawReclaimInterval();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Rebuilds the view from the DB, reconciles with the cloud, then starts the ticker and GC timers.
   * If the cloud cannot be reached, it still starts on the DB alone: IPs the DB knows as free are handed
   * out, but the pool does not grow or shrink until a reconcile succeeds (retried from the ticker).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.stopping = false;
    this.loadFromStore();
    try {
      await this.reconcile();
    } catch (err) {
      this.log.warn({ err }, 'start-up reconcile failed; serving from the pod DB until the cloud answers');
      this.onEvent({ type: 'Warning', reason: 'ReconcileFailed', message: `start-up reconcile failed: ${(err as Error).message}` });
    }
    this.started = true;
    this.serveWaiters();
    this.kick();
    if (this.useTimers) {
      const tick = setInterval(
        () => void this.tick().catch((err) => this.log.error({ err }, 'pool tick failed')),
        this.config.tickIntervalMs,
      );
      const gc = setInterval(() => void this.gc().catch((err) => this.log.error({ err }, 'pool gc failed')), this.config.gcIntervalMs);
      tick.unref();
      gc.unref();
      this.timersHandles.push(tick, gc);
    }
  }

  /** Stops timers, fails waiting requests with ShuttingDown and waits for running cloud work. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timersHandles) clearInterval(t);
    this.timersHandles = [];
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.waiters.failAll(() => new PoolError('ShuttingDown', 'pool is stopping'));
    await this.whenIdle();
    this.started = false;
  }

  /** Resolves when no cloud operation is queued or running (tests, benchmarks, stop()). */
  async whenIdle(): Promise<void> {
    while (this.inflight.size > 0 || this.planScheduled) {
      await Promise.allSettled([...this.inflight]);
      if (this.planScheduled) await new Promise((r) => setImmediate(r));
    }
  }

  private loadFromStore(): void {
    const snap = this.store.load();
    this.enis.clear();
    this.ips.clear();
    this.ipsByEni.clear();
    this.pods.clear();
    for (const e of snap.enis) {
      this.enis.set(e.eniId, e);
      if (e.primaryIp) this.eniPrimaryIps.set(e.eniId, e.primaryIp);
      this.ipsByEni.set(e.eniId, new Set());
      if (e.vSwitchCidr) this.vSwitchInfo.set(e.vSwitchId, { cidr: e.vSwitchCidr, gateway: e.gateway });
    }
    for (const ip of snap.ips) this.indexIp(ip);
    // The pods table may also hold other modes' pods (VPCENI / VPCIP handlers share the DB).
    for (const p of snap.pods) if (p.mode === 'ENIMultiIP') this.pods.set(p.podKey, p);
  }

  // ---------------------------------------------------------------- IpAllocator

  allocate(pod: PodRef, opts: { deadlineMs?: number } = {}): Promise<IpAllocation> {
    const key = podKeyOf(pod);
    const existing = this.pods.get(key);
    if (existing) return Promise.resolve(this.toAlloc(existing));
    const waiting = this.waiters.pending(key);
    if (waiting) return waiting;
    if (this.stopping) return Promise.reject(new PoolError('ShuttingDown', 'pool is stopping'));
    if (!this.started) return Promise.reject(new PoolError('Internal', 'pool not started', { retryable: true }));

    if (this.waiters.length === 0) {
      try {
        const a = this.tryAssignNow(pod, key);
        if (a) {
          this.kick(); // refill toward minPoolSize in the background
          return Promise.resolve(a);
        }
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const deadline = opts.deadlineMs ?? this.config.allocDeadlineMs;
    const promise = this.waiters.enqueue(
      key,
      pod,
      deadline,
      () => new PoolError('Timeout', `no IP within ${deadline} ms`, { retryable: true }),
    );
    this.kick();
    return promise;
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const pod = this.pods.get(podKey);
    if (!pod) {
      this.waiters.fail(podKey, new PoolError('Internal', 'released while waiting for an IP', { retryable: true }));
      return undefined;
    }
    const now = this.clock.now();
    const rec = this.ips.get(pod.ip);
    const ops: StoreOp[] = [{ op: 'deletePod', podKey }];
    let next: IpRecord | undefined;
    if (rec && rec.podKey === podKey) {
      if (rec.missingInCloud) {
        ops.push({ op: 'deleteIp', ip: rec.ip });
      } else if (pod.stateful && this.config.statefulReserveMs > 0) {
        next = {
          ip: rec.ip,
          eniId: rec.eniId,
          state: 'reserved',
          since: now,
          reservedFor: `${pod.namespace}/${pod.name}`,
          until: now + this.config.statefulReserveMs,
        };
      } else if (this.config.ipCooldownMs > 0) {
        next = { ip: rec.ip, eniId: rec.eniId, state: 'cooling', since: now, until: now + this.config.ipCooldownMs };
      } else {
        next = { ip: rec.ip, eniId: rec.eniId, state: 'free', since: now };
      }
      if (next) ops.push({ op: 'putIp', ip: next });
    }
    this.commit(ops);
    this.pods.delete(podKey);
    if (rec && rec.podKey === podKey) {
      if (next) this.indexIp(next);
      else this.unindexIp(rec.ip);
    }
    this.serveWaiters();
    this.kick();
    return this.toAlloc(pod);
  }

  get(podKey: string): IpAllocation | undefined {
    const p = this.pods.get(podKey);
    return p && this.toAlloc(p);
  }

  list(): IpAllocation[] {
    return [...this.pods.values()].map((p) => this.toAlloc(p));
  }

  stats(): PoolStats {
    const s: PoolStats = {
      enis: this.enis.size,
      total: this.ips.size,
      free: 0,
      assigned: 0,
      cooling: 0,
      reserved: 0,
      releasing: 0,
      pendingRequests: this.waiters.length,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
    };
    for (const ip of this.ips.values()) {
      if (ip.state === 'free' && (this.enis.get(ip.eniId)?.state !== 'inuse' || this.filteredOut.has(ip.eniId))) continue;
      s[ip.state]++;
    }
    const now = this.clock.now();
    const all = this.backoffs.all;
    if (all && all.until > now) {
      s.backoffUntil = all.until;
      s.backoffReason = all.code;
    } else {
      const vsw = Object.entries(this.backoffs.vSwitches).find(([, b]) => b.until > now);
      if (vsw) {
        s.backoffUntil = vsw[1].until;
        s.backoffReason = `${vsw[1].code} (${vsw[0]})`;
      }
    }
    return s;
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    // The runtime's list is authoritative (CNI GC), so no grace period here.
    const gone = [...this.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  /** Snapshot of every IP record (introspection, tests). */
  ipRecords(): IpRecord[] {
    return [...this.ips.values()].map((r) => ({ ...r }));
  }

  eniRecords(): EniRecord[] {
    return [...this.enis.values()].map((e) => ({ ...e }));
  }

  // ---------------------------------------------------------------- allocation internals

  /** Takes a free (or this stateful pod's reserved) IP and commits it; undefined when none. Caller holds no lock: all synchronous. */
  private tryAssignNow(pod: PodRef, key: string): IpAllocation | undefined {
    const reservedFor = pod.stateful ? `${pod.namespace}/${pod.name}` : undefined;
    const pick = pickFreeIp(this.plannerEnis(), this.config.eniSelectionPolicy, reservedFor);
    if (!pick) return undefined;
    const eni = this.enis.get(pick.eniId)!;
    const vsw = this.vSwitchInfo.get(eni.vSwitchId);
    const now = this.clock.now();
    const rec: IpRecord = { ip: pick.ip, eniId: eni.eniId, state: 'assigned', podKey: key, since: now };
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
      },
      now,
    );
    this.commit([
      { op: 'putIp', ip: rec },
      { op: 'putPod', pod: podRec },
    ]);
    this.indexIp(rec);
    this.pods.set(key, podRec);
    return this.toAlloc(podRec);
  }

  private serveWaiters(): void {
    this.waiters.drain((pod, key) => this.tryAssignNow(pod, key));
  }

  /** Writes ops durably; a failed commit is an Internal error and the in-memory view is left untouched. */
  private commit(ops: StoreOp[]): void {
    try {
      this.store.apply(ops);
    } catch (err) {
      throw new PoolError('Internal', `pod DB commit failed: ${(err as Error).message}`, { retryable: true, cause: err });
    }
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

  // ---------------------------------------------------------------- planning

  private plannerEnis(): PlannerEni[] {
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
        ips,
        incoming: this.incoming.get(e.eniId) ?? 0,
        busy: this.workers.busy(e.eniId),
      });
    }
    return out;
  }

  /** Coalesces plan runs: everything that happens in one turn of the event loop shares one plan. */
  private kick(): void {
    if (this.planScheduled || !this.started || this.stopping) return;
    this.planScheduled = true;
    setImmediate(() => {
      this.planScheduled = false;
      if (!this.stopping) this.runPlan();
    });
  }

  /** Runs the planner once and launches its actions; returns the promise of those actions. */
  private runPlan(): Promise<unknown> {
    if (!this.syncedOnce) return Promise.resolve(); // cloud view unknown: no growth, no reclaim
    const now = this.clock.now();
    this.backoffs = expireBackoffs(this.backoffs, now);
    this.recentCreates = this.recentCreates.filter((t) => now - t < CREATE_RATE_WINDOW_MS);
    const p: Plan = plan({
      now,
      config: this.config,
      // Slots held by ENIs that are not ours cannot be used: creating an ENI for them only fails to attach.
      limits: { ...this.limits, eniQuantity: Math.max(1, this.limits.eniQuantity - this.foreignEnis) },
      vSwitchIds: this.vSwitchIds,
      enis: this.plannerEnis(),
      creating: [...this.creating.values()],
      pending: this.waiters.length,
      backoffs: this.backoffs,
      lastReclaimAt: this.lastReclaimAt,
      reclaimIntervalMs: this.reclaimIntervalMs,
      recentCreates: this.recentCreates,
      random: this.random,
    });
    if (p.reclaimed) {
      this.lastReclaimAt = now;
      this.reclaimIntervalMs = this.drawReclaimInterval();
    }
    if (p.shortfall > 0 && p.blocker?.exhausted) {
      const blocker = p.blocker;
      const n = this.waiters.failNewest(
        p.shortfall,
        () => new PoolError('Exhausted', `no IP available: ${blocker.message}`, { cloudCode: blocker.code, retryable: true }),
      );
      this.onEvent({ type: 'Warning', reason: 'AllocIPFailed', message: `${n} request(s) failed: ${p.blocker.message}` });
    }
    if (p.actions.length === 0 && this.waiters.length > 0) this.wakeAfterBackoff(now);
    if (p.createsDeferredUntil !== undefined) this.wakeAt(p.createsDeferredUntil, now); // rate-limited creates: plan again when one fits
    const retries = planReleaseRetries(this.plannerEnis(), this.backoffs, now, this.config.batchSize);
    return Promise.allSettled([...p.actions, ...retries].map((a) => this.launch(a)));
  }

  /** Requests are waiting on a back-off: plan again when the earliest one ends (the ticker may be off or slow). */
  private wakeAfterBackoff(now: number): void {
    const b = this.backoffs;
    const ends = [b.all, b.create, ...Object.values(b.vSwitches), ...Object.values(b.enis)]
      .filter((x) => x !== undefined)
      .map((x) => x.until);
    if (ends.length === 0) return;
    this.wakeAt(Math.min(...ends), now);
  }

  /** One wake-up timer, for the earliest time asked for (a later request never pushes an earlier one back). */
  private wakeAt(at: number, now: number): void {
    if (this.wakeTimer && this.wakeTimerAt !== undefined && this.wakeTimerAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const ms = Math.max(1, at - now);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeTimerAt = undefined;
      this.kick();
    }, ms);
    this.wakeTimer.unref();
  }

  private launch(a: PlanAction): Promise<void> {
    let p: Promise<void>;
    switch (a.kind) {
      case 'assign':
        this.incoming.set(a.eniId, (this.incoming.get(a.eniId) ?? 0) + a.count);
        p = this.onEni(a.eniId, () => this.doAssign(a.eniId, a.count));
        break;
      case 'createEni':
        this.recentCreates.push(this.clock.now());
        p = this.doCreateEni(a.vSwitchId, a.secondaryCount, a.expectIps);
        break;
      case 'unassign':
        if (!this.markReleasing(a.eniId, a.ips)) return Promise.resolve();
        p = this.onEni(a.eniId, () => this.doUnassign(a.eniId, a.ips));
        break;
      case 'retryUnassign':
        p = this.onEni(a.eniId, () => this.doUnassign(a.eniId, a.ips));
        break;
      case 'retryDeleteEni':
        p = this.onEni(a.eniId, () => this.doDeleteEni(a.eniId));
        break;
      case 'deleteEni':
        if (!this.markEniDeleting(a.eniId)) return Promise.resolve();
        p = this.onEni(a.eniId, () => this.doDeleteEni(a.eniId));
        break;
    }
    return this.track(p);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const t = p.finally(() => this.inflight.delete(t));
    this.inflight.add(t);
    return t;
  }

  /** Serializes cloud work per ENI: operations on one ENI never overlap; different ENIs run in parallel. */
  private onEni(eniId: string, fn: () => Promise<void>): Promise<void> {
    return this.workers.run(eniId, fn);
  }

  private async doAssign(eniId: string, count: number): Promise<void> {
    const eni = this.enis.get(eniId);
    try {
      if (!eni || eni.state !== 'inuse') return;
      const got = await this.cloud.assignPrivateIpAddresses(eniId, count);
      for (const ip of got) this.recentlyRemoved.delete(ip); // ours again, for sure
      const now = this.clock.now();
      const recs: IpRecord[] = got.filter((ip) => this.newlyOurs(ip)).map((ip) => ({ ip, eniId, state: 'free', since: now }));
      if (this.enis.has(eniId)) {
        this.commit(recs.map((ip) => ({ op: 'putIp', ip })));
        for (const r of recs) this.indexIp(r);
      }
      this.log.debug({ eniId, count: got.length }, 'assigned secondary IPs');
    } catch (err) {
      this.onCloudError(err, { eniId, vSwitchId: eni?.vSwitchId, api: 'AssignPrivateIpAddresses' });
    } finally {
      this.decIncoming(eniId, count);
      this.serveWaiters();
      this.kick();
    }
  }

  /**
   * May an address the cloud just assigned to us become a free record? Yes when unknown, or `releasing`
   * (its earlier unassign did happen after all). Never over a record a pod holds (a flagged missing IP
   * the cloud hands out again) nor one cooling or reserved: that would give one IP to two pods.
   */
  private newlyOurs(ip: string): boolean {
    const r = this.ips.get(ip);
    return r === undefined || r.state === 'releasing';
  }

  private decIncoming(eniId: string, count: number): void {
    const left = (this.incoming.get(eniId) ?? 0) - count;
    if (left > 0) this.incoming.set(eniId, left);
    else this.incoming.delete(eniId);
  }

  private async vSwitch(vSwitchId: string): Promise<VSwitchInfo> {
    const known = this.vSwitchInfo.get(vSwitchId);
    if (known) return known;
    const [v] = await this.cloud.describeVSwitches([vSwitchId]);
    if (!v) throw new PoolError('Internal', `vSwitch ${vSwitchId} not found`, { retryable: true });
    const info = { cidr: v.cidrBlock, gateway: vSwitchGateway(v.cidrBlock) };
    this.vSwitchInfo.set(vSwitchId, info);
    return info;
  }

  private async doCreateEni(vSwitchId: string, secondaryCount: number, expectIps: number): Promise<void> {
    const token = ++this.createSeq;
    this.creating.set(token, expectIps);
    let eni: Eni | undefined;
    try {
      const vsw = await this.vSwitch(vSwitchId);
      eni = await this.cloud.createNetworkInterface({
        vSwitchId,
        securityGroupIds: this.securityGroupIds,
        description: `eni-ipam pool ENI for ${this.instanceId}`,
        tags: this.eniTags,
        secondaryIpCount: secondaryCount > 0 ? secondaryCount : undefined,
      });
      const now = this.clock.now();
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
      };
      const ipRecs: IpRecord[] = eni.secondaryIps
        .filter((ip) => this.newlyOurs(ip))
        .map((ip) => ({ ip, eniId: eni!.eniId, state: 'free', since: now }));
      this.commit([{ op: 'putEni', eni: rec }, ...ipRecs.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
      this.enis.set(rec.eniId, rec);
      for (const ip of eni.secondaryIps) this.recentlyRemoved.delete(ip);
      if (eni.primaryIp) this.eniPrimaryIps.set(rec.eniId, eni.primaryIp);
      for (const r of ipRecs) this.indexIp(r);
      // The ENI's expected IPs now count as incoming on it (not on the anonymous create).
      this.creating.delete(token);
      this.incoming.set(rec.eniId, (this.incoming.get(rec.eniId) ?? 0) + expectIps);
      const eniId = rec.eniId;
      this.onEvent({
        type: 'Normal',
        reason: 'CreateENISucceed',
        message: `created ${eniId} in ${vSwitchId} with ${ipRecs.length} IPs`,
        eniId,
      });
      await this.onEni(eniId, async () => {
        try {
          await this.cloud.attachNetworkInterface(eniId, this.instanceId);
          const cur = this.enis.get(eniId);
          if (!cur) return;
          const up = { ...cur, state: 'inuse' as const };
          this.commit([{ op: 'putEni', eni: up }]);
          this.enis.set(eniId, up);
          this.onEvent({ type: 'Normal', reason: 'AttachENISucceed', message: `attached ${eniId}`, eniId });
        } catch (err) {
          this.onEvent({ type: 'Warning', reason: 'AttachENIFailed', message: `attach ${eniId}: ${(err as Error).message}`, eniId });
          this.onCloudError(err, { api: 'AttachNetworkInterface' });
          await this.dropAndDeleteEni(eniId);
        } finally {
          this.decIncoming(eniId, expectIps);
        }
      });
    } catch (err) {
      if (!eni) {
        this.onEvent({ type: 'Warning', reason: 'CreateENIFailed', message: `create ENI in ${vSwitchId}: ${(err as Error).message}` });
        this.onCloudError(err, { vSwitchId, api: 'CreateNetworkInterface' });
      } else this.log.error({ err, eniId: eni.eniId }, 'recording a new ENI failed');
    } finally {
      this.creating.delete(token);
      this.serveWaiters();
      this.kick();
    }
  }

  /** Forgets an ENI and its IPs, then deletes it in the cloud (best effort; reconcile retries leaked ones). */
  private async dropAndDeleteEni(eniId: string): Promise<void> {
    this.commit([{ op: 'deleteEni', eniId }]);
    this.noteRemoved([eniId, ...(this.ipsByEni.get(eniId) ?? [])]);
    for (const ip of [...(this.ipsByEni.get(eniId) ?? [])]) this.unindexIp(ip);
    this.ipsByEni.delete(eniId);
    this.enis.delete(eniId);
    this.eniPrimaryIps.delete(eniId);
    try {
      await this.cloud.deleteNetworkInterface(eniId);
    } catch (err) {
      this.log.warn({ err, eniId }, 'deleting ENI failed; reconcile will retry');
    }
  }

  /** Marks free IPs `releasing` (committed) before the cloud call; false when none qualify any more. */
  private markReleasing(eniId: string, ips: string[]): boolean {
    const now = this.clock.now();
    const recs = ips
      .map((ip) => this.ips.get(ip))
      .filter((r): r is IpRecord => r !== undefined && r.state === 'free' && r.eniId === eniId)
      .map((r): IpRecord => ({ ip: r.ip, eniId, state: 'releasing', since: now }));
    if (recs.length === 0) return false;
    this.commit(recs.map((ip) => ({ op: 'putIp', ip })));
    for (const r of recs) this.indexIp(r);
    return true;
  }

  private async doUnassign(eniId: string, ips: string[]): Promise<void> {
    const mine = ips.filter((ip) => this.ips.get(ip)?.state === 'releasing' && this.ips.get(ip)?.eniId === eniId);
    if (mine.length === 0) return;
    try {
      await this.cloud.unassignPrivateIpAddresses(eniId, mine);
      this.finishRelease(mine);
      this.log.debug({ eniId, count: mine.length }, 'released idle IPs');
    } catch (err) {
      if (err instanceof CloudError && err.code === CloudErrorCodes.IpNotFound) {
        // Already gone (an earlier call, ours or a killed daemon's, did it). Any of them the cloud still
        // has is adopted back as free by the next reconcile, after the cooldown.
        this.finishRelease(mine);
        return;
      }
      // The IPs stay `releasing`: the call may have taken effect (lost reply, timeout), so handing them
      // out again could give a pod an IP the cloud no longer has. Retried after the ENI's back-off.
      const code = errorCode(err);
      this.backoffs = {
        ...this.backoffs,
        enis: { ...this.backoffs.enis, [eniId]: { until: this.clock.now() + this.config.backoff.otherErrorMs, code } },
      };
      this.log.warn({ err, eniId, code }, 'unassign failed; retried after the back-off');
      this.onEvent({
        type: 'Warning',
        reason: 'ReleaseIPFailed',
        message: `unassign ${mine.length} IP(s) from ${eniId}: ${(err as Error).message}`,
        eniId,
      });
    }
  }

  private finishRelease(ips: string[]): void {
    const gone = ips.filter((ip) => this.ips.get(ip)?.state === 'releasing');
    this.commit(gone.map((ip) => ({ op: 'deleteIp', ip })));
    for (const ip of gone) this.unindexIp(ip);
    this.noteRemoved(gone);
  }

  /** Reconcile must not adopt these again within the cooldown (DescribeNetworkInterfaces may lag). */
  private noteRemoved(ids: Iterable<string>): void {
    const until = this.clock.now() + this.config.reconcileCooldownMs;
    for (const id of ids) this.recentlyRemoved.set(id, until);
  }

  private markEniDeleting(eniId: string): boolean {
    const eni = this.enis.get(eniId);
    if (!eni || eni.primary || !eni.createdByUs || eni.state !== 'inuse') return false;
    const ips = [...(this.ipsByEni.get(eniId) ?? [])].map((ip) => this.ips.get(ip)!);
    if (ips.some((r) => r.state !== 'free')) return false;
    const now = this.clock.now();
    const up: EniRecord = { ...eni, state: 'deleting' };
    const recs = ips.map((r): IpRecord => ({ ip: r.ip, eniId, state: 'releasing', since: now }));
    this.commit([{ op: 'putEni', eni: up }, ...recs.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
    this.enis.set(eniId, up);
    for (const r of recs) this.indexIp(r);
    return true;
  }

  private async doDeleteEni(eniId: string): Promise<void> {
    // Kernel cleanup first, while the ENI link still exists (its table id and primary IP are on it).
    // No pod uses the ENI any more (markEniDeleting); if the detach fails, the next pod's setup rebuilds the table.
    const leaving = this.enis.get(eniId);
    if (leaving) await this.eniRemoved(leaving);
    try {
      await this.cloud.detachNetworkInterface(eniId, this.instanceId);
    } catch (err) {
      const attached = err instanceof CloudError && err.code === CloudErrorCodes.EniNotFound ? false : await this.stillAttached(eniId);
      if (attached === undefined) {
        // Cannot tell whether the detach happened: keep it `deleting` (IPs `releasing`) and try again later.
        this.backoffs = {
          ...this.backoffs,
          enis: { ...this.backoffs.enis, [eniId]: { until: this.clock.now() + this.config.backoff.otherErrorMs, code: errorCode(err) } },
        };
        this.log.warn({ err, eniId }, 'detach failed and the ENI state is unknown; retried after the back-off');
        return;
      }
      if (attached) {
        // Still attached here: nothing was undone, so the ENI and its IPs are usable again.
        this.log.warn({ err, eniId }, 'detach failed; ENI goes back to the pool');
        this.onEvent({ type: 'Warning', reason: 'DetachENIFailed', message: `detach ${eniId}: ${(err as Error).message}`, eniId });
        const eni = this.enis.get(eniId);
        if (eni) {
          const now = this.clock.now();
          const back = [...(this.ipsByEni.get(eniId) ?? [])].map((ip): IpRecord => ({ ip, eniId, state: 'free', since: now }));
          const up: EniRecord = { ...eni, state: 'inuse' };
          this.commit([{ op: 'putEni', eni: up }, ...back.map((ip): StoreOp => ({ op: 'putIp', ip }))]);
          this.enis.set(eniId, up);
          for (const r of back) this.indexIp(r);
          this.serveWaiters();
        }
        return;
      }
    }
    this.onEvent({ type: 'Normal', reason: 'DetachENISucceed', message: `detached ${eniId}`, eniId });
    await this.dropAndDeleteEni(eniId);
    this.onEvent({ type: 'Normal', reason: 'DeleteENISucceed', message: `deleted ${eniId}`, eniId });
  }

  /**
   * After a failed detach: is the ENI still InUse on this instance? A lost reply or a timeout may hide a
   * detach that did happen; giving its IPs back to pods then would wire them to an ENI that is gone.
   * undefined when the cloud cannot tell (the caller keeps the old behaviour; reconcile settles it).
   */
  private async stillAttached(eniId: string): Promise<boolean | undefined> {
    try {
      const [e] = await this.cloud.describeNetworkInterfaces({ eniIds: [eniId] });
      return e !== undefined && e.instanceId === this.instanceId && e.status === 'InUse';
    } catch (err) {
      this.log.warn({ err, eniId }, 'describing an ENI after a failed detach failed');
      return undefined;
    }
  }

  // ---------------------------------------------------------------- errors and back-off

  private onCloudError(err: unknown, ctx: { eniId?: string; vSwitchId?: string; api: string }): void {
    const code = errorCode(err);
    this.backoffs = recordFailure(this.backoffs, code, ctx, this.clock.now(), this.config.backoff);
    this.log.warn({ err, code, ...ctx }, 'cloud call failed');
    this.onEvent({ type: 'Warning', reason: 'AllocIPFailed', message: `${ctx.api}: ${(err as Error).message}`, eniId: ctx.eniId });
  }

  // ---------------------------------------------------------------- ticker, GC, reconcile

  /** Idle ticker: expires cool-downs and reservations, then brings the pool between the watermarks. Resolves when the actions it started finish. */
  async tick(): Promise<void> {
    if (!this.started || this.stopping) return;
    const now = this.clock.now();
    if (!this.syncedOnce && !this.reconciling && Date.now() - this.lastSyncAttempt >= 5_000) {
      this.lastSyncAttempt = Date.now();
      await this.reconcile().catch((err) => this.log.warn({ err }, 'reconcile retry failed'));
    }
    if (this.recheckAt !== undefined && now >= this.recheckAt && !this.reconciling) {
      this.recheckAt = undefined;
      await this.reconcile().catch((err) => this.log.warn({ err }, 'reconcile after the cooldown failed'));
    }
    const changes = expireTimers(this.ips.values(), now, this.config.ipCooldownMs);
    if (changes.length > 0) {
      const recs = changes.map((c): IpRecord => {
        const old = this.ips.get(c.ip)!;
        return c.to === 'free'
          ? { ip: c.ip, eniId: old.eniId, state: 'free', since: now }
          : { ip: c.ip, eniId: old.eniId, state: 'cooling', since: old.since, until: c.until };
      });
      this.commit(recs.map((ip) => ({ op: 'putIp', ip })));
      for (const r of recs) this.indexIp(r);
      this.serveWaiters();
    }
    await this.runPlan();
  }

  /** Releases allocations whose owner is gone (older than the grace period), then reconciles with the cloud. */
  async gc(): Promise<string[]> {
    const released: string[] = [];
    if (this.ownerCheck) {
      const now = this.clock.now();
      const old = [...this.pods.values()].filter((p) => now - p.allocatedAt >= this.config.gcGraceMs).map((p) => this.toAlloc(p));
      if (old.length > 0) {
        const gone = await this.ownerCheck.goneOwners(old);
        for (const a of gone) {
          const cur = this.pods.get(a.podKey);
          if (!cur || cur.allocatedAt !== a.allocatedAt) continue;
          if (this.beforeRelease) {
            try {
              await this.beforeRelease(a, 'gc');
            } catch (err) {
              this.log.warn({ err, podKey: a.podKey, ip: a.ip }, 'GC: cleaning up a gone pod failed; its IP is kept until the next GC');
              this.onEvent({
                type: 'Warning',
                reason: 'GCReleaseFailed',
                message: `kept ${a.ip} of gone pod ${a.namespace}/${a.name}: cleanup failed: ${(err as Error).message}`,
                ip: a.ip,
                podKey: a.podKey,
              });
              continue;
            }
            // A DEL may have released it (or a new ADD re-allocated the key) while the hook ran.
            const now2 = this.pods.get(a.podKey);
            if (!now2 || now2.allocatedAt !== a.allocatedAt) continue;
          }
          await this.release(a.podKey);
          released.push(a.podKey);
          this.onEvent({
            type: 'Normal',
            reason: 'GCReleasedIP',
            message: `released ${a.ip} of gone pod ${a.namespace}/${a.name}`,
            ip: a.ip,
            podKey: a.podKey,
          });
        }
      }
    }
    await this.reconcile();
    return released;
  }

  /** Brings the pool in line with the cloud's view of this instance's ENIs (adopt, drop, flag, clean leaked ENIs). */
  reconcile(): Promise<void> {
    if (!this.reconciling) {
      this.reconciling = this.track(this.reconcileOnce()).finally(() => {
        this.reconciling = undefined;
      });
    }
    return this.reconciling;
  }

  /** True once a reconcile has succeeded: until then the cloud's view is unknown and the pool does not plan. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  private async reconcileOnce(): Promise<void> {
    const seqBefore = this.workers.snapshot();
    const createSeqBefore = this.createSeq;
    const creatingBefore = this.creating.size;
    const attached = await this.cloud.describeNetworkInterfaces({ instanceId: this.instanceId });
    const detached = await this.cloud.describeNetworkInterfaces({
      status: 'Available',
      tags: { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: this.instanceId },
    });
    // Fetch vSwitch facts first: everything below runs without awaiting, so no allocation interleaves with it.
    for (const e of attached) {
      if (this.vSwitchInfo.has(e.vSwitchId)) continue;
      await this.vSwitch(e.vSwitchId).catch(async (err) => {
        // DescribeVSwitches may be denied by a narrow RAM policy: the ENI's metadata has the same facts.
        this.log.warn({ err, vSwitchId: e.vSwitchId }, 'DescribeVSwitches failed; using ENI metadata');
        const m = await this.cloud.getEniMetadata(e.mac).catch(() => undefined);
        if (m?.vSwitchCidr && m.gateway) this.vSwitchInfo.set(e.vSwitchId, { cidr: m.vSwitchCidr, gateway: m.gateway });
      });
    }
    for (const e of attached) if (e.primaryIp) this.eniPrimaryIps.set(e.eniId, e.primaryIp);
    const now = this.clock.now();
    for (const [id, until] of this.recentlyRemoved) if (until <= now) this.recentlyRemoved.delete(id);
    const { ops, findings } = reconcileWithCloud({
      now: this.clock.now(),
      enis: this.enis,
      ips: this.ips,
      attached: attached.filter((e) => e.instanceId === this.instanceId || e.instanceId === undefined),
      vSwitchInfo: (id) => this.vSwitchInfo.get(id),
      busy: (eniId) => this.workers.changedSince(seqBefore, eniId),
      isOurs: (e) => this.isOurs(e) && this.matchesFilter(e),
      createsInFlight: creatingBefore > 0 || this.creating.size > 0,
      recentlyRemoved: (id) => this.recentlyRemoved.has(id),
    });
    const here = attached.filter((e) => e.instanceId === this.instanceId);
    this.filteredOut.clear();
    for (const e of here) if (e.type !== 'Primary' && !this.matchesFilter(e)) this.filteredOut.add(e.eniId);
    // Filtered-out ENIs (known or not) hold slots the pool cannot use.
    this.foreignEnis = here.filter(
      (e) => e.type !== 'Primary' && (this.filteredOut.has(e.eniId) || (!this.isOurs(e) && !this.enis.has(e.eniId))),
    ).length;
    // ENIs reconcile drops (detached behind our back) may still have kernel state: remember them first.
    const dropped = ops.flatMap((o) => (o.op === 'deleteEni' && this.enis.has(o.eniId) ? [this.enis.get(o.eniId)!] : []));
    this.commit(ops);
    this.applyInMemory(ops);
    this.report(findings);
    this.syncedOnce = true;
    // An ENI a killed daemon left mid-attach (the cloud says Attaching) is usable once the attach lands:
    // look again soon rather than at the next GC (minutes).
    const stuck = [...this.enis.values()].some((e) => e.state === 'attaching' && !this.workers.busy(e.eniId));
    if (stuck && this.creating.size === 0) {
      const at = this.clock.now() + 5_000;
      this.recheckAt = Math.min(this.recheckAt ?? at, at);
    }
    for (const e of dropped) {
      if (!e.primary) void this.track(this.eniRemoved(e));
      this.eniPrimaryIps.delete(e.eniId);
    }

    // Leaked ENIs of ours (crash between create and attach, or between detach and delete): delete them,
    // unless a create was in flight while we looked (its ENI may be in the Available list legitimately).
    const createsQuiet = creatingBefore === 0 && this.creating.size === 0 && this.createSeq === createSeqBefore;
    if (createsQuiet) {
      for (const ce of detached) {
        if (ce.status !== 'Available' || !this.isOurs(ce) || !this.matchesFilter(ce) || this.enis.has(ce.eniId)) continue;
        try {
          await this.cloud.deleteNetworkInterface(ce.eniId);
          this.onEvent({ type: 'Normal', reason: 'DeleteENISucceed', message: `deleted leaked ENI ${ce.eniId}`, eniId: ce.eniId });
        } catch (err) {
          this.log.warn({ err, eniId: ce.eniId }, 'deleting leaked ENI failed');
        }
      }
    }
    this.serveWaiters();
    this.kick();
  }

  /** Mirrors committed store ops in the in-memory view. */
  private applyInMemory(ops: StoreOp[]): void {
    for (const o of ops) {
      switch (o.op) {
        case 'putEni':
          this.enis.set(o.eni.eniId, o.eni);
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

  private report(findings: ReconcileFinding[]): void {
    for (const f of findings) {
      switch (f.kind) {
        case 'adoptEni':
          this.onEvent({
            type: 'Normal',
            reason: 'AdoptENI',
            message: `adopted ${f.eniId} (${f.primary ? 'primary' : 'created by us'})`,
            eniId: f.eniId,
          });
          break;
        case 'eniFactsUnknown':
          this.log.warn({ eniId: f.eniId, vSwitchId: f.vSwitchId }, 'not adopting ENI yet: vSwitch CIDR/gateway unknown');
          break;
        case 'adoptIp':
          this.log.info({ ip: f.ip, eniId: f.eniId }, 'adopted IP the cloud assigned behind our back');
          break;
        case 'dropIp':
          this.log.info({ ip: f.ip, eniId: f.eniId, state: f.state }, 'dropped IP the cloud no longer has');
          break;
        case 'ipMissing':
          this.log.error({ ip: f.ip, eniId: f.eniId, podKey: f.podKey }, 'assigned IP missing in the cloud');
          this.onEvent({
            type: 'Warning',
            reason: 'IpMissingInCloud',
            message: `IP ${f.ip} of ${f.podKey} is no longer on ${f.eniId} in the cloud`,
            ip: f.ip,
            eniId: f.eniId,
            podKey: f.podKey,
          });
          break;
        case 'ipMoved':
          this.log.warn({ ip: f.ip, from: f.from, to: f.to }, 'IP moved to another ENI behind our back');
          break;
        case 'dropEni':
          this.log.info({ eniId: f.eniId }, 'dropped ENI no longer attached here');
          break;
        case 'skippedRecent': {
          // An IP we just released that the cloud lists (stale answer, or handed back to us by a lost-reply
          // assign): look again once the cooldown is over, so a real one is adopted then.
          const until = this.recentlyRemoved.get(f.id);
          if (until !== undefined) this.recheckAt = Math.min(this.recheckAt ?? until, until);
          this.log.debug({ id: f.id }, 'not adopting what was removed a moment ago');
          break;
        }
      }
    }
  }

  /** Runs the onEniRemoved hook; never throws (a leftover table is not worth keeping an ENI for). */
  private async eniRemoved(e: EniRecord): Promise<void> {
    if (!this.onEniRemoved) return;
    const primaryIp = this.eniPrimaryIps.get(e.eniId);
    try {
      await this.onEniRemoved({ eniId: e.eniId, mac: e.mac, vSwitchCidr: e.vSwitchCidr, ...(primaryIp ? { primaryIp } : {}) });
    } catch (err) {
      this.log.warn({ err, eniId: e.eniId }, 'cleaning up a removed ENI failed');
      this.onEvent({
        type: 'Warning',
        reason: 'EniCleanupFailed',
        message: `cleanup after removing ${e.eniId}: ${(err as Error).message}`,
        eniId: e.eniId,
      });
    }
  }

  private toAlloc(p: PodRecord): IpAllocation {
    return allocationOf(p, this.eniPrimaryIps.get(p.eniId));
  }

  private isOurs(e: Eni): boolean {
    return e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE && e.tags[NODE_TAG_KEY] === this.instanceId;
  }

  /** eniTagFilter: every filter tag present with the same value (an empty filter matches all). */
  private matchesFilter(e: Eni): boolean {
    for (const [k, v] of Object.entries(this.config.eniTagFilter)) if (e.tags[k] !== v) return false;
    return true;
  }

  private drawReclaimInterval(): number {
    return jitteredInterval(this.config.idleIpReclaimIntervalMs, this.config.idleIpReclaimJitterFactor, this.random);
  }
}

/**
 * Builds the pool. It reads the instance's quotas when only `instanceType` is given, and uses the
 * primary ENI's vSwitch (from instance metadata) when `vSwitchIds` is empty. It is not started:
 * call start() to rebuild from the DB, reconcile with the cloud and start the timers.
 *
 *   const store = openPoolStore('/var/lib/eni-ipam/pod.db');
 *   const pool = await createEniMultiIpPool({ cloud, store, instanceId, instanceType, vSwitchIds, securityGroupIds, config });
 *   await pool.start();            // DB → memory, reconcile with DescribeNetworkInterfaces, timers
 *   const a = await pool.allocate(podRef);   // committed to the DB before it resolves
 *   await pool.release(a.podKey);
 *   await pool.stop();
 */
export async function createEniMultiIpPool(opts: EniMultiIpPoolOptions): Promise<EniMultiIpPool> {
  let limits = opts.limits;
  if (!limits) {
    if (!opts.instanceType) throw new PoolError('Internal', 'createEniMultiIpPool needs limits or instanceType', { retryable: false });
    limits = await opts.cloud.describeInstanceTypeLimits(opts.instanceType);
  }
  let vSwitchIds = opts.vSwitchIds;
  if (vSwitchIds.length === 0) vSwitchIds = [(await opts.cloud.getInstanceMetadata()).vSwitchId];
  return new EniMultiIpPool({ ...opts, limits, vSwitchIds });
}
