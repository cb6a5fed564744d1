// The ENI pool (VPCENI mode, Terway's exclusive ENI): keeps min..max spare secondary ENIs created and
// attached, hands a whole ENI to each pod (its primary IP is the pod IP), takes it back into the warm
// pool after a cool-down or detaches and deletes it above maxPoolSize. This file is its face (what the
// daemon calls) and the ticker; the parts, each with one job:
//   planner.ts / restore.ts / reconcile.ts   what to do (pure)
//   books.ts / records.ts                    the ENIs, slots and pods, and how they sit in the PoolStore
//   cloudOps.ts                              create / attach / detach / delete through per-ENI workers; back-offs
//   sync.ts                                  start-up restore, periodic cloud reconcile, GC by pod existence
import type { PoolCloud } from '../cloud.js';
import { systemClock, type Clock } from '../clock.js';
import { creationBlocker, expireBackoffs } from '../backoff.js';
import { exclusiveEniCapacity, type NodeCapacity } from '../capacity.js';
import { newEniTags } from '../ownership.js';
import { allocationOf, podRecordFor, type StoreOp, type PoolStore } from '../store.js';
import { PeriodicTimers } from '../timers.js';
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type OwnerCheck, type PodRef, type PoolStats } from '../types.js';
import { WaitQueue } from '../waitQueue.js';
import { EniBooks } from './books.js';
import { EniCloudOps } from './cloudOps.js';
import { resolveEniPoolConfig, type EniPoolConfig, type EniPoolConfigInput } from './config.js';
import { noopEniPoolLogger, type EniPoolEvent, type EniPoolLogger } from './events.js';
import { expireCooling, pickFreeEni, placeReleased, planEniPool, refusal, releaseRetries, servable, type EniSlot } from './planner.js';
import { ipRecord, eniRecord, ipv6Placement } from './records.js';
import { EniSync } from './sync.js';

export interface EniPoolOptions {
  cloud: PoolCloud;
  store: PoolStore;
  instanceId: string;
  /** Give the ENI quota (ECS EniQuantity, primary included) or the instance type to look it up. */
  eniQuantity?: number;
  instanceType?: string;
  vSwitchIds: string[];
  securityGroupIds: string[];
  /** Extra tags on created ENIs (the creator and node tags are always added). */
  eniTags?: Record<string, string>;
  config?: EniPoolConfigInput;
  clock?: Clock;
  /** false: no ticker; tests call tick() themselves. */
  timers?: boolean;
  random?: () => number;
  logger?: EniPoolLogger;
  onEvent?: (e: EniPoolEvent) => void;
  /** Tells periodic GC which allocations' pods are gone (Kubernetes). Without it GC only reconciles. */
  ownerCheck?: OwnerCheck;
  /**
   * Runs before GC returns a gone pod's ENI to the pool: the daemon moves the ENI link back to the host
   * (under the pod key's lock). If it throws, the ENI stays assigned and a Warning event is raised.
   */
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
}

export class EniPool implements IpAllocator {
  readonly config: EniPoolConfig;
  private readonly clock: Clock;
  private readonly log: EniPoolLogger;
  private readonly books: EniBooks;
  private readonly ops: EniCloudOps;
  private readonly sync: EniSync;
  private readonly waiters = new WaitQueue<PodRef, IpAllocation>();
  private readonly timers = new PeriodicTimers();
  private started = false;
  private stopping = false;
  private reconciling?: Promise<void>;
  private gcRunning?: Promise<string[]>;

  constructor(private readonly opts: EniPoolOptions) {
    this.config = resolveEniPoolConfig(opts.config);
    if (opts.vSwitchIds.length === 0) throw new RangeError('EniPool needs at least one vSwitch');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? noopEniPoolLogger;
    const onEvent = opts.onEvent ?? (() => {});
    const common = {
      cloud: opts.cloud,
      instanceId: opts.instanceId,
      vSwitchIds: opts.vSwitchIds,
      config: this.config,
      clock: this.clock,
      log: this.log,
      onEvent,
    };
    const tick = () => this.tick();
    this.books = new EniBooks(opts.store);
    this.ops = new EniCloudOps({
      ...common,
      books: this.books,
      securityGroupIds: opts.securityGroupIds,
      tags: newEniTags(opts.instanceId, opts.eniTags),
      random: opts.random,
      drain: () => this.drain(),
      tick,
      failWaiters: (err) => this.waiters.failAll(err),
    });
    this.sync = new EniSync({
      ...common,
      books: this.books,
      ops: this.ops,
      ownerCheck: opts.ownerCheck,
      beforeRelease: opts.beforeRelease,
      release: (podKey) => this.release(podKey),
      tick,
      stopping: () => this.stopping,
    });
  }

  /** ENIs this node can give to pods (the `aliyun/eni` extended resource). Known after start(). */
  capacity(): number {
    return this.sync.capacity;
  }

  /** The same as the arithmetic behind it (pool/capacity.ts), for the node's max-pods. Known after start(). */
  nodeCapacity(): NodeCapacity {
    const limits = { eniQuantity: this.sync.quota, ipv4PerEni: 1, instanceTypeId: this.opts.instanceType };
    return exclusiveEniCapacity(limits, this.config, this.sync.foreign);
  }

  // ---------- lifecycle ----------

  async start(): Promise<void> {
    if (this.started) return;
    await this.sync.restore(
      async () => this.opts.eniQuantity ?? (await this.opts.cloud.describeInstanceTypeLimits(this.requireInstanceType())).eniQuantity,
    );
    this.started = true;
    if (this.opts.timers !== false) {
      this.timers.every(
        this.config.tickIntervalMs,
        () => this.tick(),
        (err) => this.log.error({ err: (err as Error).message }, 'ENI pool tick failed'),
      );
      this.timers.every(
        this.config.gcIntervalMs,
        () => this.gc(),
        (err) => this.log.error({ err: (err as Error).message }, 'ENI pool GC failed'),
      );
    }
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.clear();
    this.waiters.failAll(() => new PoolError('ShuttingDown', 'ENI pool is stopping'));
    // The DB closes after us: let the cloud calls under way record their outcome first.
    await this.idle();
  }

  /** Resolves once no create / attach / delete is under way (tests, shutdown). */
  idle(): Promise<void> {
    return this.ops.idle();
  }

  // ---------- IpAllocator ----------

  async allocate(pod: PodRef, opts: { deadlineMs?: number } = {}): Promise<IpAllocation> {
    const key = podKeyOf(pod);
    const existing = this.books.pods.get(key);
    if (existing) return allocationOf(existing);
    if (this.stopping) throw new PoolError('ShuttingDown', 'ENI pool is stopping');
    if (!this.started) throw new PoolError('Internal', 'ENI pool not started', { retryable: true });
    const pending = this.waiters.pending(key);
    if (pending) return pending;
    const free = pickFreeEni([...this.books.slots.values()]);
    if (free) return this.assignLocked(free, pod);
    const blocked = this.unservable(1);
    if (blocked) throw blocked;
    const deadlineMs = opts.deadlineMs ?? this.config.allocDeadlineMs;
    const p = this.waiters.enqueue(key, pod, deadlineMs, () => new PoolError('Timeout', `no ENI attached within ${deadlineMs}ms`));
    this.tick();
    return p;
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const { books } = this;
    const rec = books.pods.get(podKey);
    if (!rec) return undefined;
    const now = this.clock.now();
    const info = books.enis.get(rec.eniId);
    const slot = books.slots.get(rec.eniId);
    if (!info || !slot || slot.state !== 'assigned') {
      // Its ENI vanished from the cloud while the pod held it (or is on its way out): only the pod row is left.
      books.write([{ op: 'deletePod', podKey }]);
      books.pods.delete(podKey);
      return allocationOf(rec);
    }
    const others = [...books.slots.values()].filter((s) => s.eniId !== slot.eniId);
    const place = placeReleased(others, this.config.maxPoolSize, this.config.cooldownMs, now, this.waiters.length);
    const next: EniSlot =
      place.state === 'cooling'
        ? { eniId: slot.eniId, state: 'cooling', since: now, coolUntil: place.coolUntil }
        : { eniId: slot.eniId, state: place.state, since: now };
    const ops: StoreOp[] = [
      { op: 'deletePod', podKey },
      { op: 'putIp', ip: ipRecord(info, next) },
    ];
    if (next.state === 'releasing') ops.push({ op: 'putEni', eni: eniRecord(info, 'deleting') });
    books.write(ops); // committed before the slot changes hands
    books.pods.delete(podKey);
    books.slots.set(slot.eniId, next);
    if (next.state === 'releasing') this.ops.startRelease(slot.eniId);
    else this.drain();
    return allocationOf(rec);
  }

  get(podKey: string): IpAllocation | undefined {
    const rec = this.books.pods.get(podKey);
    return rec ? allocationOf(rec) : undefined;
  }

  list(): IpAllocation[] {
    return [...this.books.pods.values()].map((p) => allocationOf(p));
  }

  stats(): PoolStats {
    const slots = [...this.books.slots.values()];
    const n = (s: EniSlot['state']) => slots.filter((x) => x.state === s).length;
    const b = creationBlocker(this.ops.backoffs, this.opts.vSwitchIds, this.clock.now());
    return {
      enis: slots.length,
      total: slots.filter((s) => s.state !== 'attaching').length,
      free: n('free'),
      assigned: n('assigned'),
      cooling: n('cooling'),
      reserved: 0,
      releasing: n('releasing'),
      pendingRequests: this.waiters.length,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
      ...(b ? { backoffUntil: b.until, backoffReason: b.code } : {}),
    };
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    const gone = [...this.books.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  /** Allocations whose ENI the pool no longer has (detached or deleted behind our back): flagged, kept until DEL / GC. */
  lostAllocations(): IpAllocation[] {
    return [...this.books.pods.values()].filter((p) => !this.books.enis.has(p.eniId)).map((p) => allocationOf(p));
  }

  // ---------- GC, reconcile, ticker ----------

  /**
   * GC by pod existence, then a cloud reconcile (see EniSync.collectGone). One round at a time.
   * Resolves to the released pod keys.
   */
  gc(): Promise<string[]> {
    if (!this.gcRunning) {
      const p = this.gcOnce().finally(() => {
        this.gcRunning = undefined;
      });
      this.gcRunning = p;
      // stop() waits for it: a release after a teardown must reach the DB before it closes.
      this.ops.track(
        p.then(
          () => undefined,
          () => undefined,
        ),
      );
    }
    return this.gcRunning;
  }

  private async gcOnce(): Promise<string[]> {
    if (!this.started || this.stopping) return [];
    const released = await this.sync.collectGone();
    await this.reconcile().catch((err: unknown) => this.sync.reportFailure(err));
    return released;
  }

  /**
   * Brings the pool in line with the cloud while running: ENIs detached / deleted behind our back are
   * dropped (a pod holding one keeps its record, flagged, with a Warning), tagged ENIs of ours attached
   * here but unknown are adopted, detached ones of ours deleted. Rejects when the cloud cannot be read.
   */
  reconcile(): Promise<void> {
    if (!this.started) return Promise.resolve();
    if (!this.reconciling) {
      const p = this.sync.reconcileOnce().finally(() => {
        this.reconciling = undefined;
      });
      this.reconciling = p;
      this.ops.track(p.catch(() => {}));
    }
    return this.reconciling;
  }

  /** One round of the ticker: cool-down expiry, watermarks, retries. Safe to call any time. */
  tick(): void {
    if (!this.started || this.stopping) return;
    const { books, ops } = this;
    const now = this.clock.now();
    ops.backoffs = expireBackoffs(ops.backoffs, now);
    const { slots, expired } = expireCooling([...books.slots.values()], now);
    if (expired.length > 0) {
      const cooled = slots.filter((s) => expired.includes(s.eniId));
      books.write(cooled.map((s) => ({ op: 'putIp', ip: ipRecord(books.enis.get(s.eniId)!, s) })));
      for (const s of cooled) books.slots.set(s.eniId, s);
    }
    this.drain();
    const plan = planEniPool({
      slots: books.plannerSlots(ops.creating),
      waiting: this.waiters.length,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
      capacity: this.sync.capacity,
      backoff: creationBlocker(ops.backoffs, this.opts.vSwitchIds, now),
      now,
    });
    for (let i = 0; i < plan.create; i++) ops.startCreate();
    if (plan.release.length > 0) {
      const leaving = plan.release.map((id): EniSlot => ({ eniId: id, state: 'releasing', since: now }));
      books.write(
        leaving.flatMap((s): StoreOp[] => {
          const info = books.enis.get(s.eniId)!;
          return [
            { op: 'putIp', ip: ipRecord(info, s) },
            { op: 'putEni', eni: eniRecord(info, 'deleting') },
          ];
        }),
      );
      for (const s of leaving) books.slots.set(s.eniId, s);
      for (const s of leaving) ops.startRelease(s.eniId);
    }
    // Failed deletes are retried after the ENI's back-off.
    for (const id of releaseRetries(books.slots.values(), ops.backoffs, (x) => ops.workers.busy(x), now)) ops.startRelease(id);
    // Waiters no ENI can reach (capacity reached, creation paused): fail now rather than at their deadline.
    const blocked = this.unservable(0);
    if (blocked)
      this.waiters.failNewest(this.waiters.length - servable(books.plannerSlots(ops.creating)), () => this.unservable(0) ?? blocked);
  }

  // ---------- internals ----------

  /** A PoolError when `extra` more requests (beyond those waiting) could not be served; undefined when they can. */
  private unservable(extra: number): PoolError | undefined {
    const now = this.clock.now();
    const r = refusal({
      slots: this.books.plannerSlots(this.ops.creating),
      need: this.waiters.length + extra,
      capacity: this.sync.capacity,
      assigned: this.books.pods.size,
      blocker: creationBlocker(this.ops.backoffs, this.opts.vSwitchIds, now),
      lastFailureCode: this.ops.lastFailure?.code,
      now,
    });
    return r && new PoolError('Exhausted', r.message, { cloudCode: r.cloudCode, retryable: true });
  }

  /** Synchronous from pick to commit: no other allocation can take the same ENI. */
  private assignLocked(eniId: string, pod: PodRef): IpAllocation {
    const info = this.books.enis.get(eniId)!;
    const now = this.clock.now();
    const key = podKeyOf(pod);
    const rec = podRecordFor(
      key,
      pod,
      'VPCENI',
      {
        ip: info.primaryIp,
        eniId,
        eniMac: info.mac,
        primaryEni: false,
        vSwitchId: info.vSwitchId,
        vSwitchCidr: info.vSwitchCidr,
        gateway: info.gateway,
        ...ipv6Placement(info),
      },
      now,
    );
    const slot: EniSlot = { eniId, state: 'assigned', since: now };
    this.books.write([
      { op: 'putIp', ip: ipRecord(info, slot, key) },
      { op: 'putPod', pod: rec },
    ]);
    this.books.slots.set(eniId, slot);
    this.books.pods.set(key, rec);
    // The warm pool shrank: top it up.
    queueMicrotask(() => this.tick());
    return allocationOf(rec);
  }

  private drain(): void {
    this.waiters.drain((pod) => {
      const id = pickFreeEni([...this.books.slots.values()]);
      return id ? this.assignLocked(id, pod) : undefined;
    });
  }

  private requireInstanceType(): string {
    if (!this.opts.instanceType) throw new PoolError('Internal', 'EniPool needs eniQuantity or instanceType', { retryable: false });
    return this.opts.instanceType;
  }
}

export function createEniPool(opts: EniPoolOptions): EniPool {
  return new EniPool(opts);
}
