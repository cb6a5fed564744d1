// The ENI multi-IP pool's face: what the daemon calls (allocate / release / get / list / stats / gcExcept,
// start / stop, tick / gc / reconcile). It wires the parts, each with one job:
//   multiIpBooks.ts     the in-memory index of ENIs / IPs / pods, committed to the PoolStore before any answer
//   allocBatch.ts       the group commit: a turn's allocations committed in one transaction, then answered
//   planner.ts          what to do (pure): watermarks, batching, reclaim, release retries
//   transitions.ts      how records change state (pure): release, timers, failed unassign / detach
//   multiIpCloudOps.ts  runs the planner's actions in the cloud through per-ENI workers; back-off bookkeeping
//   multiIpSync.ts      reconcile with the cloud and GC of allocations whose pod is gone
//   timers.ts           the ticker, GC and wake-up timers (they only wake the pool; the Clock decides)

import type { InstanceTypeLimits, PoolCloud } from './cloud.js';
import { systemClock, type Clock } from './clock.js';
import { resolvePoolConfig, type PoolConfig, type PoolConfigInput } from './config.js';
import { multiIpCapacity, withEffectivePoolSizes, type CapacityLimits, type NodeCapacity } from './capacity.js';
import { noopLogger, type PoolEvent, type PoolLogger } from './events.js';
import { AllocBatch } from './allocBatch.js';
import { allocationPause, earliestEnd, expireBackoffs } from './backoff.js';
import { MultiIpBooks } from './multiIpBooks.js';
import { MultiIpCloudOps, type RemovedEni } from './multiIpCloudOps.js';
import { MultiIpSync } from './multiIpSync.js';
import { newEniTags } from './ownership.js';
import { jitteredInterval, NODE_CAPACITY_REACHED, pickFreeIp, plan, planReleaseRetries } from './planner.js';
import type { EniRecord, IpRecord, PoolStore } from './store.js';
import { PeriodicTimers, WakeTimer } from './timers.js';
import { expiredRecords } from './transitions.js';
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type OwnerCheck, type PodRef, type PoolStats } from './types.js';
import { WaitQueue } from './waitQueue.js';

// The names callers have always imported from here.
export { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY } from './ownership.js';
export type { Clock } from './clock.js';
export type { PoolEvent, PoolLogger } from './events.js';
export type { RemovedEni } from './multiIpCloudOps.js';

export interface EniMultiIpPoolOptions {
  cloud: PoolCloud;
  store: PoolStore;
  instanceId: string;
  /** Quotas: give them, or give `instanceType` and they are read with DescribeInstanceTypes. */
  limits?: Pick<InstanceTypeLimits, 'eniQuantity' | 'ipv4PerEni'> &
    Partial<Pick<InstanceTypeLimits, 'ipv6PerEni'>> & { instanceTypeId?: string };
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

export class EniMultiIpPool implements IpAllocator {
  /** The knobs as given, with Terway's derived watermarks (max capped by the capacity, min from min_eni). */
  readonly config: PoolConfig;
  private readonly limits: CapacityLimits;
  private readonly vSwitchIds: string[];
  private readonly clock: Clock;
  private readonly log: PoolLogger;
  private readonly onEvent: (e: PoolEvent) => void;
  private readonly useTimers: boolean;
  private readonly random: () => number;
  private readonly books: MultiIpBooks;
  private readonly ops: MultiIpCloudOps;
  private readonly sync: MultiIpSync;
  private readonly waiters = new WaitQueue<PodRef, IpAllocation>();
  /** Requests of this event-loop turn: they take their IPs and are committed together (group commit). */
  private readonly batch = new AllocBatch<{ pod: PodRef; deadlineMs?: number }, IpAllocation>({
    // Older requests waiting for the cloud go first: a new one takes a free IP only when none waits.
    stage: (key, r) => {
      const pick = this.waiters.length === 0 ? this.pickFor(r.pod) : undefined;
      return pick && this.books.stageAssign(pick, r.pod, key, this.clock.now());
    },
    commit: (ops) => {
      this.books.commit(ops);
      this.modified();
    },
    wait: (key, r) => {
      const deadline = r.deadlineMs ?? this.config.allocDeadlineMs;
      return this.waiters.enqueue(key, r.pod, deadline, () => {
        // Why no IP came: the cloud's answer to the last attempt to grow, when it failed (e.g. expired credentials).
        const code = this.ops.lastGrowFailure;
        return new PoolError('Timeout', `no IP within ${deadline} ms${code ? ` (the last cloud call failed: ${code})` : ''}`, {
          retryable: true,
          ...(code ? { cloudCode: code } : {}),
        });
      });
    },
    flushed: () => this.kick(), // refill toward minPoolSize in the background, or grow for the waiters
  });
  private readonly timers = new PeriodicTimers();
  private readonly wake = new WakeTimer(() => this.kick());
  /** The current (jittered) idle-reclaim interval; drawn again each time the planner arms the timer. */
  private reclaimIntervalMs: number;
  /** Idle reclaim: when the next batch is due (undefined while the pool is not idle). */
  private nextReclaimAt: number | undefined;
  /** Last allocation or release (Terway's lastModified: idle reclaim waits idleIpReclaimAfterMs after it). */
  private lastModifiedAt: number;
  private planScheduled = false;
  private started = false;
  private stopping = false;

  constructor(opts: EniMultiIpPoolOptions & { limits: CapacityLimits & { ipv6PerEni?: number } }) {
    const given = resolvePoolConfig(opts.config);
    this.limits = {
      eniQuantity: opts.limits.eniQuantity,
      ipv4PerEni: pairsPerEni(given, opts.limits),
      instanceTypeId: opts.limits.instanceTypeId,
    };
    this.config = withEffectivePoolSizes(given, this.limits);
    this.vSwitchIds = [...opts.vSwitchIds];
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? noopLogger;
    this.onEvent = opts.onEvent ?? (() => {});
    this.useTimers = opts.timers ?? true;
    this.random = opts.random ?? Math.random;
    this.reclaimIntervalMs = this.drawReclaimInterval();
    this.lastModifiedAt = this.clock.now();
    const common = {
      cloud: opts.cloud,
      instanceId: opts.instanceId,
      config: this.config,
      clock: this.clock,
      log: this.log,
      onEvent: this.onEvent,
    };
    const serveWaiters = () => this.serveWaiters();
    const kick = () => this.kick();
    this.books = new MultiIpBooks(opts.store);
    this.ops = new MultiIpCloudOps({
      ...common,
      books: this.books,
      eniTags: newEniTags(opts.instanceId, opts.eniTags, this.config.eniTagFilter),
      securityGroupIds: [...opts.securityGroupIds],
      onEniRemoved: opts.onEniRemoved,
      serveWaiters,
      kick,
    });
    this.sync = new MultiIpSync({
      ...common,
      vSwitchIds: this.vSwitchIds,
      books: this.books,
      ops: this.ops,
      ownerCheck: opts.ownerCheck,
      beforeRelease: opts.beforeRelease,
      release: (podKey) => this.release(podKey),
      serveWaiters,
      kick,
    });
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
    this.books.load();
    try {
      await this.sync.reconcile();
    } catch (err) {
      this.log.warn({ err }, 'start-up reconcile failed; serving from the pod DB until the cloud answers');
      this.onEvent({ type: 'Warning', reason: 'ReconcileFailed', message: `start-up reconcile failed: ${(err as Error).message}` });
    }
    this.started = true;
    this.serveWaiters();
    this.kick();
    if (this.useTimers) {
      this.timers.every(
        this.config.tickIntervalMs,
        () => this.tick(),
        (err) => this.log.error({ err }, 'pool tick failed'),
      );
      this.timers.every(
        this.config.gcIntervalMs,
        () => this.gc(),
        (err) => this.log.error({ err }, 'pool gc failed'),
      );
    }
  }

  /** Stops timers, fails waiting requests with ShuttingDown and waits for running cloud work. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.clear();
    this.wake.clear();
    this.batch.failAll(() => new PoolError('ShuttingDown', 'pool is stopping'));
    this.waiters.failAll(() => new PoolError('ShuttingDown', 'pool is stopping'));
    await this.whenIdle();
    this.started = false;
  }

  /** Resolves when no cloud operation is queued or running (tests, benchmarks, stop()). */
  async whenIdle(): Promise<void> {
    while (!this.ops.idle || this.planScheduled) {
      await this.ops.settle();
      if (this.planScheduled) await new Promise((r) => setImmediate(r));
    }
  }

  // ---------------------------------------------------------------- IpAllocator

  allocate(pod: PodRef, opts: { deadlineMs?: number } = {}): Promise<IpAllocation> {
    const key = podKeyOf(pod);
    const existing = this.books.allocationOf(key);
    if (existing) return Promise.resolve(existing);
    const waiting = this.waiters.pending(key) ?? this.batch.promiseOf(key);
    if (waiting) return waiting;
    if (this.stopping) return Promise.reject(new PoolError('ShuttingDown', 'pool is stopping'));
    if (!this.started) return Promise.reject(new PoolError('Internal', 'pool not started', { retryable: true }));
    // Committed with the other requests of this turn (allocBatch.ts), resolved only after that commit.
    return this.batch.add(key, { pod, deadlineMs: opts.deadlineMs });
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const pod = this.books.release(podKey, this.config, this.clock.now());
    if (!pod) {
      const err = new PoolError('Internal', 'released while waiting for an IP', { retryable: true });
      if (!this.batch.fail(podKey, err)) this.waiters.fail(podKey, err);
      return undefined;
    }
    this.modified();
    this.serveWaiters();
    this.kick();
    return this.books.toAlloc(pod);
  }

  get(podKey: string): IpAllocation | undefined {
    return this.books.allocationOf(podKey);
  }

  list(): IpAllocation[] {
    return this.books.allocations();
  }

  stats(): PoolStats {
    const pause = allocationPause(this.ops.backoffs, this.clock.now());
    return {
      ...this.books.countIps(),
      pendingRequests: this.waiters.length + this.batch.size,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
      ...(pause ? { backoffUntil: pause.until, backoffReason: pause.reason } : {}),
    };
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    // The runtime's list is authoritative (CNI GC), so no grace period here.
    const gone = [...this.books.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  /** Pods this node holds in ENIMultiIP, as Terway counts them (secondary ENIs × IPs per ENI, ENIs not ours left out). */
  capacity(): NodeCapacity {
    return multiIpCapacity(this.limits, this.config, this.books.foreignEnis);
  }

  /** Snapshot of every IP record (introspection, tests). */
  ipRecords(): IpRecord[] {
    return this.books.ipCopies();
  }

  eniRecords(): EniRecord[] {
    return this.books.eniCopies();
  }

  // ---------------------------------------------------------------- ticker, GC, reconcile

  /** Idle ticker: expires cool-downs and reservations, then brings the pool between the watermarks. Resolves when the actions it started finish. */
  async tick(): Promise<void> {
    if (!this.started || this.stopping) return;
    const now = this.clock.now();
    await this.sync.onTick(now);
    const expired = expiredRecords(this.books.ips.values(), now, this.config.ipCooldownMs);
    if (expired.length > 0) {
      this.books.write(expired.map((ip) => ({ op: 'putIp', ip })));
      this.serveWaiters();
    }
    await this.runPlan();
  }

  /** Releases allocations whose owner is gone (older than the grace period), then reconciles with the cloud. */
  gc(): Promise<string[]> {
    return this.sync.gc();
  }

  /** Brings the pool in line with the cloud's view of this instance's ENIs (adopt, drop, flag, clean leaked ENIs). */
  reconcile(): Promise<void> {
    return this.sync.reconcile();
  }

  /** True once a reconcile has succeeded: until then the cloud's view is unknown and the pool does not plan. */
  get synced(): boolean {
    return this.sync.synced;
  }

  // ---------------------------------------------------------------- allocation and planning

  /** Takes a free (or this stateful pod's reserved) IP and commits it; undefined when none. Synchronous from pick to commit. */
  private tryAssignNow(pod: PodRef, key: string): IpAllocation | undefined {
    const pick = this.pickFor(pod);
    if (!pick) return undefined;
    const alloc = this.books.assign(pick, pod, key, this.clock.now());
    this.modified();
    return alloc;
  }

  /** A free IP for `pod` (or this stateful pod's reserved one), per the ENI selection policy. */
  private pickFor(pod: PodRef): { eniId: string; ip: string } | undefined {
    const reservedFor = pod.stateful ? `${pod.namespace}/${pod.name}` : undefined;
    return pickFreeIp(this.plannerEnis(), this.config.eniSelectionPolicy, reservedFor, this.config.ipStack === 'dual');
  }

  private serveWaiters(): void {
    this.waiters.drain((pod, key) => this.tryAssignNow(pod, key));
  }

  private plannerEnis() {
    return this.books.plannerEnis(
      (id) => this.ops.incomingOn(id),
      (id) => this.ops.workers.busy(id),
    );
  }

  /** Coalesces plan runs: everything that happens in one turn of the event loop shares one plan. */
  private kick(): void {
    if (this.planScheduled || !this.started || this.stopping) return;
    this.planScheduled = true;
    setImmediate(() => {
      this.planScheduled = false;
      if (!this.stopping) void this.runPlan();
    });
  }

  /** Runs the planner once and launches its actions; returns the promise of those actions. */
  private runPlan(): Promise<unknown> {
    if (!this.sync.synced) return Promise.resolve(); // cloud view unknown: no growth, no reclaim
    const now = this.clock.now();
    this.ops.backoffs = expireBackoffs(this.ops.backoffs, now);
    const p = plan({
      now,
      config: this.config,
      limits: this.limits,
      // Slots held by ENIs that are not ours cannot be used: creating an ENI for them only fails to attach.
      foreignEnis: this.books.foreignEnis,
      vSwitchIds: this.vSwitchIds,
      vSwitchFree: this.books.vSwitches.freeIps(),
      enis: this.plannerEnis(),
      creating: this.ops.creatingNow(),
      // Requests of this turn's group commit count as demand, as they would once flushed (free IPs serve them first).
      pending: this.waiters.length + this.batch.size,
      backoffs: this.ops.backoffs,
      lastModifiedAt: this.lastModifiedAt,
      nextReclaimAt: this.nextReclaimAt,
      reclaimIntervalMs: this.reclaimIntervalMs,
      recentCreates: this.ops.recentCreatesAt(now),
      random: this.random,
    });
    this.nextReclaimAt = p.nextReclaimAt;
    if (p.reclaimIntervalUsed) this.reclaimIntervalMs = this.drawReclaimInterval();
    if (p.shortfall > 0 && p.blocker?.exhausted) {
      const blocker = p.blocker;
      // The group commit's requests are the newest; they fail once flushed, when the next plan runs.
      const n = this.waiters.failNewest(
        p.shortfall - this.batch.size,
        () =>
          new PoolError('Exhausted', `no IP available: ${blocker.message}`, {
            cloudCode: blocker.code === NODE_CAPACITY_REACHED ? undefined : blocker.code,
            retryable: true,
          }),
      );
      if (n > 0) this.onEvent({ type: 'Warning', reason: 'AllocIPFailed', message: `${n} request(s) failed: ${blocker.message}` });
    }
    // Requests wait on a back-off: plan again when the earliest one ends (the ticker may be off or slow).
    const backoffEnd = p.actions.length === 0 && this.waiters.length > 0 ? earliestEnd(this.ops.backoffs) : undefined;
    if (backoffEnd !== undefined) this.wake.wakeAt(backoffEnd, now);
    if (p.createsDeferredUntil !== undefined) this.wake.wakeAt(p.createsDeferredUntil, now); // rate-limited creates: plan again when one fits
    const retries = planReleaseRetries(this.plannerEnis(), this.ops.backoffs, now, this.config.batchSize);
    return Promise.allSettled([...p.actions, ...retries].map((a) => this.ops.launch(a)));
  }

  /** An allocation or a release: idle reclaim starts over (Terway's lastModified). */
  private modified(): void {
    this.lastModifiedAt = this.clock.now();
    this.nextReclaimAt = undefined;
  }

  private drawReclaimInterval(): number {
    return jitteredInterval(this.config.idleIpReclaimIntervalMs, this.config.idleIpReclaimJitterFactor, this.random);
  }
}

/**
 * Pod addresses per ENI: its IPv4 quota, or in dual stack the pairs it holds, min(IPv4, IPv6 quota): an ENI
 * full for one family cannot take a dual-stack pod. A type without IPv6 cannot run dual stack at all.
 */
export function pairsPerEni(
  cfg: Pick<PoolConfig, 'ipStack'>,
  limits: { ipv4PerEni: number; ipv6PerEni?: number; instanceTypeId?: string },
): number {
  if (cfg.ipStack !== 'dual') return limits.ipv4PerEni;
  const v6 = limits.ipv6PerEni ?? 0;
  if (v6 <= 0)
    throw new PoolError('Internal', `ip_stack dual: instance type ${limits.instanceTypeId ?? '?'} has no IPv6 (EniIpv6AddressQuantity 0)`, {
      retryable: false,
    });
  return Math.min(limits.ipv4PerEni, v6);
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
