// The node side of centralized IPAM: an IpAllocator that hands out the addresses the controller placed on
// this node (PlacementSource), with no cloud client and no credentials. Everything else is the multi-IP
// pool's: the same books (pod DB first, then memory), group commit, FIFO of waiting requests with their
// deadlines, cool-down and stateful reservation on release, GC by pod existence. What it adds:
//   - placements from the controller are applied to the records (applyPlacement.ts, pure);
//   - its usage (who holds what, what it gave up, how many wait) is reported back after every change
//     (usage.ts, pure); the controller grows the node from the waiting count and the low watermark;
//   - it starts from the pod DB alone: a restart, or an API server that is down, does not stop pods on the
//     warm IPs it already has.
import { systemClock, type Clock } from '../clock.js';
import { resolvePoolConfig, type PoolConfig, type PoolConfigInput } from '../config.js';
import { noopLogger, type PoolEvent, type PoolLogger } from '../events.js';
import { AllocBatch } from '../allocBatch.js';
import { MultiIpBooks } from '../multiIpBooks.js';
import type { RemovedEni } from '../multiIpCloudOps.js';
import { pickFreeIp } from '../planner.js';
import { releaseGonePods } from '../podGc.js';
import type { EniRecord, IpRecord, PoolStore } from '../store.js';
import { PeriodicTimers } from '../timers.js';
import { expiredRecords } from '../transitions.js';
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type OwnerCheck, type PodRef, type PoolStats } from '../types.js';
import { WaitQueue } from '../waitQueue.js';
import { applyPlacement, type PlacementFinding } from './applyPlacement.js';
import type { NodeUsage, Placement, PlacementSource } from './placement.js';
import { nodeUsage } from './usage.js';

export interface DelegatedPoolOptions {
  store: PoolStore;
  source: PlacementSource;
  /** ipCooldownMs, statefulReserveMs, allocDeadlineMs, eniSelectionPolicy, tickIntervalMs, gcIntervalMs, gcGraceMs apply here. */
  config?: PoolConfigInput;
  clock?: Clock;
  logger?: PoolLogger;
  onEvent?: (e: PoolEvent) => void;
  ownerCheck?: OwnerCheck;
  /** Runs before GC releases an allocation whose pod is gone (the daemon unwires the pod). */
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  /** Runs when an ENI leaves the node (the daemon drops its table and rules). */
  onEniRemoved?: (eni: RemovedEni) => Promise<void>;
  /** Start the ticker and GC timers in start() (default true; tests drive tick() / gc()). */
  timers?: boolean;
}

export class DelegatedPool implements IpAllocator {
  readonly config: PoolConfig;
  private readonly books: MultiIpBooks;
  private readonly clock: Clock;
  private readonly log: PoolLogger;
  private readonly onEvent: (e: PoolEvent) => void;
  private readonly waiters = new WaitQueue<PodRef, IpAllocation>();
  /** When each waiting request started (the oldest is reported: the controller serves the longest waiting first). */
  private readonly waitingSince = new Map<string, number>();
  private readonly batch = new AllocBatch<{ pod: PodRef; deadlineMs?: number }, IpAllocation>({
    stage: (key, r) => {
      const pick = this.waiters.length === 0 ? this.pickFor(r.pod) : undefined;
      return pick && this.books.stageAssign(pick, r.pod, key, this.clock.now());
    },
    commit: (ops) => this.books.commit(ops),
    wait: (key, r) => this.wait(key, r.pod, r.deadlineMs),
    flushed: () => this.o.source.usageChanged(),
  });
  private readonly timers = new PeriodicTimers();
  private blocked: Placement['blocked'];
  private started = false;
  private stopping = false;
  /** Placements applied so far (0: serving from the pod DB alone). */
  placements = 0;

  constructor(private readonly o: DelegatedPoolOptions) {
    this.config = resolvePoolConfig(o.config);
    this.books = new MultiIpBooks(o.store);
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? noopLogger;
    this.onEvent = o.onEvent ?? (() => {});
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.stopping = false;
    this.books.load();
    this.started = true;
    this.o.source.start(
      (p) => this.onPlacement(p),
      () => this.usage(),
    );
    this.o.source.usageChanged(); // what the DB says, once the API server answers
    if (this.o.timers ?? true) {
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

  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.clear();
    this.batch.failAll(() => new PoolError('ShuttingDown', 'pool is stopping'));
    this.waiters.failAll(() => new PoolError('ShuttingDown', 'pool is stopping'));
    await this.o.source.stop();
    this.started = false;
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
    return this.batch.add(key, { pod, deadlineMs: opts.deadlineMs });
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const pod = this.books.release(podKey, this.config, this.clock.now());
    if (!pod) {
      const err = new PoolError('Internal', 'released while waiting for an IP', { retryable: true });
      if (!this.batch.fail(podKey, err)) this.waiters.fail(podKey, err);
      return undefined;
    }
    this.serveWaiters();
    this.o.source.usageChanged();
    return this.books.toAlloc(pod);
  }

  get(podKey: string): IpAllocation | undefined {
    return this.books.allocationOf(podKey);
  }

  list(): IpAllocation[] {
    return this.books.allocations();
  }

  stats(): PoolStats {
    return {
      ...this.books.countIps(),
      pendingRequests: this.waiters.length + this.batch.size,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
      ...(this.blocked ? { backoffReason: this.blocked.code ?? this.blocked.message } : {}),
    };
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    const gone = [...this.books.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  ipRecords(): IpRecord[] {
    return this.books.ipCopies();
  }

  eniRecords(): EniRecord[] {
    return this.books.eniCopies();
  }

  /** The usage the node reports (who holds what, what it gave up, how many wait). */
  usage(): NodeUsage {
    let since: number | undefined;
    for (const t of this.waitingSince.values()) if (since === undefined || t < since) since = t;
    return nodeUsage(this.books.ips.values(), this.books.pods, { count: this.waiters.length + this.batch.size, since });
  }

  // ---------------------------------------------------------------- ticker, GC

  /** Ends cool-downs and reservations (their IPs become free again). */
  async tick(): Promise<void> {
    if (!this.started || this.stopping) return;
    const expired = expiredRecords(this.books.ips.values(), this.clock.now(), this.config.ipCooldownMs);
    if (expired.length === 0) return;
    this.books.write(expired.map((ip) => ({ op: 'putIp', ip })));
    this.serveWaiters();
    this.o.source.usageChanged();
  }

  /** Releases allocations whose pod is gone (older than the grace period). */
  async gc(): Promise<string[]> {
    const { ownerCheck } = this.o;
    if (!ownerCheck || !this.started) return [];
    const now = this.clock.now();
    return releaseGonePods({
      ownerCheck,
      candidates: [...this.books.pods.values()]
        .filter((p) => now - p.allocatedAt >= this.config.gcGraceMs)
        .map((p) => this.books.toAlloc(p)),
      beforeRelease: this.o.beforeRelease,
      holds: (a) => this.books.pods.get(a.podKey)?.allocatedAt === a.allocatedAt,
      release: (k) => this.release(k),
      log: this.log,
      onEvent: this.onEvent,
    });
  }

  // ---------------------------------------------------------------- placements and allocation

  private onPlacement(p: Placement): void {
    if (!this.started) return;
    const { ops, findings } = applyPlacement({ now: this.clock.now(), enis: this.books.enis, ips: this.books.ips, placement: p });
    const removed = findings.filter((f) => f.kind === 'eniRemoved').map((f) => this.books.enis.get(f.eniId)!);
    if (ops.length > 0) this.books.write(ops); // durable before the controller hears of it (a `released` IP is never handed out again)
    this.placements++;
    for (const f of findings) this.report(f);
    this.blocked = p.blocked;
    this.serveWaiters();
    if (this.blocked && this.waiters.length > 0) {
      const b = this.blocked;
      const n = this.waiters.failNewest(
        this.waiters.length,
        () => new PoolError('Exhausted', `no IP available: ${b.message}`, { cloudCode: b.code, retryable: true }),
      );
      this.onEvent({ type: 'Warning', reason: 'AllocIPFailed', message: `${n} request(s) failed: ${b.message}` });
    }
    if (ops.length > 0) this.o.source.usageChanged();
    for (const e of removed) void this.eniRemoved(e);
  }

  private report(f: PlacementFinding): void {
    switch (f.kind) {
      case 'ipMissing':
        this.onEvent({
          type: 'Warning',
          reason: 'IpMissingInCloud',
          message: `${f.ip} of ${f.podKey} is no longer placed on this node`,
          ip: f.ip,
          podKey: f.podKey,
        });
        break;
      case 'deletingHeld':
        this.log.error({ ip: f.ip, podKey: f.podKey }, 'the controller is unassigning an IP a pod holds here');
        this.onEvent({
          type: 'Warning',
          reason: 'IpDeletedWhileHeld',
          message: `${f.ip} of ${f.podKey} is being unassigned by the controller`,
          ip: f.ip,
          podKey: f.podKey,
        });
        break;
      case 'eniAdded':
      case 'eniRemoved':
        this.log.info({ eniId: f.eniId }, f.kind === 'eniAdded' ? 'ENI placed on this node' : 'ENI left this node');
        break;
      case 'released':
        this.log.debug({ ip: f.ip }, 'IP given back to the controller');
        break;
      case 'returned':
        this.log.debug({ ip: f.ip }, "ENI's primary address placed again: its ENI stays");
        break;
    }
  }

  private async eniRemoved(e: EniRecord): Promise<void> {
    if (!this.o.onEniRemoved) return;
    try {
      await this.o.onEniRemoved({
        eniId: e.eniId,
        mac: e.mac,
        vSwitchCidr: e.vSwitchCidr,
        ...(e.primaryIp ? { primaryIp: e.primaryIp } : {}),
      });
    } catch (err) {
      this.log.warn({ err, eniId: e.eniId }, 'cleaning up a removed ENI failed');
    }
  }

  private wait(key: string, pod: PodRef, deadlineMs?: number): Promise<IpAllocation> {
    if (this.blocked && !this.pickFor(pod)) {
      const b = this.blocked;
      return Promise.reject(new PoolError('Exhausted', `no IP available: ${b.message}`, { cloudCode: b.code, retryable: true }));
    }
    const deadline = deadlineMs ?? this.config.allocDeadlineMs;
    this.waitingSince.set(key, this.clock.now());
    const p = this.waiters.enqueue(key, pod, deadline, () => new PoolError('Timeout', `no IP within ${deadline} ms`, { retryable: true }));
    const done = (): void => {
      this.waitingSince.delete(key);
    };
    p.then(done, done);
    return p;
  }

  private pickFor(pod: PodRef): { eniId: string; ip: string } | undefined {
    const reservedFor = pod.stateful ? `${pod.namespace}/${pod.name}` : undefined;
    return pickFreeIp(
      this.books.plannerEnis(
        () => 0,
        () => false,
      ),
      this.config.eniSelectionPolicy,
      reservedFor,
    );
  }

  private serveWaiters(): void {
    const before = this.waiters.length;
    this.waiters.drain((pod, key) => {
      const pick = this.pickFor(pod);
      return pick && this.books.assign(pick, pod, key, this.clock.now());
    });
    if (this.waiters.length !== before) this.o.source.usageChanged();
  }
}
