// The ENI pool (VPCENI mode, Terway's exclusive ENI): keeps min..max spare secondary ENIs created and
// attached, hands a whole ENI to each pod (its primary IP is the pod IP), takes it back into the warm
// pool after a cool-down or detaches and deletes it above maxPoolSize. Decisions come from planner.ts;
// this file does the cloud calls (one at a time per ENI), the DB writes and the waiting.
//
// Persistence reuses the PoolStore tables (one owner: in VPCENI mode this pool owns every row):
//   enis row  = the ENI (state attaching | inuse | deleting)
//   ips row   = the ENI's primary IP, carrying the slot state (free | assigned | cooling | releasing)
//   pods row  = the pod holding it (mode VPCENI)
import { randomUUID } from 'node:crypto';
import { CloudError, type PoolCloud, type Eni } from '../cloud.js';
import { EniWorkers } from '../eniWorkers.js';
import type { PoolEvent, PoolLogger } from '../eniMultiIpPool.js';
import { vSwitchGateway } from '../../lib/ipv4.js';
import { allocationOf, podRecordFor, type EniRecord, type IpRecord, type PodRecord, type PoolStore, type StoreOp } from '../store.js';
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type OwnerCheck, type PodRef, type PoolStats } from '../types.js';
import { WaitQueue } from '../waitQueue.js';
import {
  EXHAUSTION_CODES,
  backoffFor,
  defaultEniBackoff,
  effectiveBackoff,
  eniCapacity,
  expireCooling,
  pickFreeEni,
  pickVSwitch,
  placeReleased,
  planEniPool,
  type EniBackoffConfig,
  type EniPoolBackoff,
  type EniSlot,
} from './planner.js';
import { planEniReconcile, type EniReconcilePlan } from './reconcile.js';

export const ENI_POOL_CREATOR_TAG_KEY = 'creator';
export const ENI_POOL_CREATOR_TAG_VALUE = 'eni-ipam';
export const ENI_POOL_NODE_TAG_KEY = 'node';

export interface EniPoolConfig {
  /** Keep at least this many spare ENIs attached. */
  minPoolSize: number;
  /** Detach and delete idle ENIs above this. */
  maxPoolSize: number;
  /** ENIs per node, primary included (0 = the instance quota). */
  maxEni: number;
  /** A released ENI waits this long before the next pod gets it. */
  cooldownMs: number;
  /** Default wait for an ENI being attached. */
  allocDeadlineMs: number;
  /** Ticker period (watermarks, cool-down expiry, retry of failed deletes). */
  tickIntervalMs: number;
  vSwitchSelectionPolicy: 'ordered' | 'random';
  backoff: EniBackoffConfig;
  /** Period of GC by pod existence (with an owner check) followed by a cloud reconcile. */
  gcIntervalMs: number;
  /** Allocations younger than this are never GC'd (an ADD may still be in flight). */
  gcGraceMs: number;
  /** An ENI we released / deleted is not adopted again from a listing within this time (stale describes). */
  reconcileCooldownMs: number;
}

export const defaultEniPoolConfig: EniPoolConfig = {
  minPoolSize: 0,
  maxPoolSize: 2,
  maxEni: 0,
  cooldownMs: 30_000,
  allocDeadlineMs: 60_000,
  tickIntervalMs: 1_000,
  vSwitchSelectionPolicy: 'ordered',
  backoff: defaultEniBackoff,
  gcIntervalMs: 5 * 60_000,
  gcGraceMs: 2 * 60_000,
  reconcileCooldownMs: 60_000,
};

export type EniPoolConfigInput = Partial<Omit<EniPoolConfig, 'backoff'>> & { backoff?: Partial<EniBackoffConfig> };

export function resolveEniPoolConfig(input: EniPoolConfigInput = {}): EniPoolConfig {
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const cfg: EniPoolConfig = {
    ...defaultEniPoolConfig,
    ...defined(input),
    backoff: { ...defaultEniPoolConfig.backoff, ...defined(input.backoff ?? {}) },
  };
  if (cfg.minPoolSize < 0 || cfg.maxPoolSize < 0) throw new RangeError('pool sizes must be >= 0');
  if (cfg.maxPoolSize < cfg.minPoolSize) throw new RangeError(`maxPoolSize (${cfg.maxPoolSize}) < minPoolSize (${cfg.minPoolSize})`);
  return cfg;
}

export type EniPoolLogger = Pick<PoolLogger, 'info' | 'warn' | 'error'>;

export type EniPoolEvent = Pick<PoolEvent, 'type' | 'reason' | 'message' | 'eniId' | 'podKey'> & {
  /** The pod the event is about (its record names it), so the daemon can put the event on the Pod too. */
  pod?: { namespace: string; name: string };
};

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
  clock?: { now(): number };
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

/** What the pool knows of an ENI it owns. */
interface EniInfo {
  eniId: string;
  mac: string;
  primaryIp: string;
  vSwitchId: string;
  vSwitchCidr: string;
  gateway: string;
  createdAt: number;
}

interface VSwitchFacts {
  cidr: string;
  gateway: string;
}

const noopLogger: EniPoolLogger = { info() {}, warn() {}, error() {} };

function codeOf(err: unknown): string {
  if (err instanceof CloudError) return err.code;
  if (err instanceof PoolError) return err.cloudCode ?? 'Internal';
  return 'Internal';
}

export class EniPool implements IpAllocator {
  readonly config: EniPoolConfig;
  private readonly cloud: PoolCloud;
  private readonly store: PoolStore;
  private readonly instanceId: string;
  private readonly tags: Record<string, string>;
  private readonly clock: { now(): number };
  private readonly log: EniPoolLogger;
  private readonly onEvent: (e: EniPoolEvent) => void;
  private readonly workers: EniWorkers;
  private readonly waiters = new WaitQueue<PodRef, IpAllocation>();
  private readonly enis = new Map<string, EniInfo>();
  private readonly slots = new Map<string, EniSlot>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly vSwitchFacts = new Map<string, VSwitchFacts>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Create + attach calls under way (their ENI ids are not known yet). */
  private creating = 0;
  private backoffAll?: EniPoolBackoff;
  private vSwitchPaused: Record<string, EniPoolBackoff> = {};
  private lastFailure?: { code: string; message: string };
  /** ENIs for pods on this node (quota − primary − foreign secondary ENIs, capped by max_eni). */
  private cap = 0;
  private started = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private gcTimer?: NodeJS.Timeout;
  /** ECS EniQuantity (primary included), known after start(). */
  private quota = 0;
  /** Bumped at every create start: a reconcile that saw it change leaves Available ENIs alone. */
  private createSeq = 0;
  /** ENI id → until when a listing of it is taken as stale (we just detached / deleted it). */
  private readonly recentlyRemoved = new Map<string, number>();
  private reconciling?: Promise<void>;
  private gcRunning?: Promise<string[]>;

  constructor(private readonly opts: EniPoolOptions) {
    this.config = resolveEniPoolConfig(opts.config);
    if (opts.vSwitchIds.length === 0) throw new RangeError('EniPool needs at least one vSwitch');
    this.cloud = opts.cloud;
    this.store = opts.store;
    this.instanceId = opts.instanceId;
    this.tags = {
      ...(opts.eniTags ?? {}),
      [ENI_POOL_CREATOR_TAG_KEY]: ENI_POOL_CREATOR_TAG_VALUE,
      [ENI_POOL_NODE_TAG_KEY]: opts.instanceId,
    };
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.log = opts.logger ?? noopLogger;
    this.onEvent = opts.onEvent ?? (() => {});
    this.workers = new EniWorkers((err, eniId) => this.log.error({ err: (err as Error).message, eniId }, 'ENI worker failed'));
  }

  /** ENIs this node can give to pods (the `aliyun/eni` extended resource). Known after start(). */
  capacity(): number {
    return this.cap;
  }

  // ---------- start-up: DB + cloud reconcile ----------

  async start(): Promise<void> {
    if (this.started) return;
    const snap = this.store.load();
    const foreignPods = snap.pods.filter((p) => p.mode !== 'VPCENI');
    const ipsByEni = new Map<string, IpRecord[]>();
    for (const ip of snap.ips) ipsByEni.set(ip.eniId, [...(ipsByEni.get(ip.eniId) ?? []), ip]);
    const multiIp = snap.enis.filter((e) => e.primary || (ipsByEni.get(e.eniId)?.length ?? 0) > 1);
    if (foreignPods.length > 0 || multiIp.length > 0) {
      // Another mode's rows: this pool would misread them. The node must be drained before switching mode.
      throw new PoolError(
        'Internal',
        `pod DB holds state of another daemon_mode (${foreignPods.length} pods, ${multiIp.length} multi-IP ENIs): drain the node and remove the DB before switching to VPCENI`,
        { retryable: false },
      );
    }
    const quota = this.opts.eniQuantity ?? (await this.cloud.describeInstanceTypeLimits(this.requireInstanceType())).eniQuantity;
    const [attached, leftovers] = await Promise.all([
      this.cloud.describeNetworkInterfaces({ instanceId: this.instanceId }),
      this.cloud.describeNetworkInterfaces({
        status: 'Available',
        tags: { [ENI_POOL_CREATOR_TAG_KEY]: ENI_POOL_CREATOR_TAG_VALUE, [ENI_POOL_NODE_TAG_KEY]: this.instanceId },
      }),
    ]);
    const ours = attached.filter((e) => e.type === 'Secondary' && this.isOurs(e));
    const foreign = attached.filter((e) => e.type === 'Secondary' && !this.isOurs(e));
    this.quota = quota;
    this.cap = Math.max(0, eniCapacity(quota, this.config.maxEni) - foreign.length);
    await this.loadVSwitchFacts([...new Set([...ours.map((e) => e.vSwitchId), ...this.opts.vSwitchIds])]);

    const now = this.clock.now();
    const stored = new Map(snap.enis.map((e) => [e.eniId, e] as const));
    const podsByEni = new Map(snap.pods.map((p) => [p.eniId, p] as const));
    const ops: StoreOp[] = [];
    const toAttach: string[] = [];
    const toDelete: Eni[] = [];
    for (const p of snap.pods) this.pods.set(p.podKey, p);

    for (const e of ours) {
      const facts = this.vSwitchFacts.get(e.vSwitchId);
      const info: EniInfo = {
        eniId: e.eniId,
        mac: e.mac,
        primaryIp: e.primaryIp,
        vSwitchId: e.vSwitchId,
        vSwitchCidr: facts?.cidr ?? stored.get(e.eniId)?.vSwitchCidr ?? '',
        gateway: facts?.gateway ?? stored.get(e.eniId)?.gateway ?? '',
        createdAt: stored.get(e.eniId)?.createdAt ?? now,
      };
      if (!info.vSwitchCidr) {
        this.log.warn({ eniId: e.eniId, vSwitchId: e.vSwitchId }, 'vSwitch of an attached ENI unknown: ENI left alone');
        continue;
      }
      this.enis.set(e.eniId, info);
      const holder = podsByEni.get(e.eniId);
      const row = ipsByEni.get(e.eniId)?.[0];
      if (e.status === 'Detaching') {
        this.slots.set(e.eniId, { eniId: e.eniId, state: 'releasing', since: now });
        ops.push({ op: 'putEni', eni: this.eniRecord(info, 'deleting') });
        continue; // the ticker finishes the detach and deletes it
      }
      if (e.status !== 'InUse') {
        // Attaching (a crash between the attach call and its completion): finish it.
        this.slots.set(e.eniId, { eniId: e.eniId, state: 'attaching', since: now });
        ops.push({ op: 'putEni', eni: this.eniRecord(info, 'attaching') });
        toAttach.push(e.eniId);
        continue;
      }
      let slot: EniSlot;
      if (holder) slot = { eniId: e.eniId, state: 'assigned', since: holder.allocatedAt };
      else if (row && (row.state === 'cooling' || row.state === 'releasing' || row.state === 'free')) {
        slot =
          row.state === 'cooling'
            ? { eniId: e.eniId, state: 'cooling', since: row.since, coolUntil: row.until ?? now }
            : { eniId: e.eniId, state: row.state, since: row.since };
      } else slot = { eniId: e.eniId, state: 'free', since: now };
      if (!stored.has(e.eniId)) this.log.info({ eniId: e.eniId, mac: e.mac }, 'adopted an attached ENI tagged as ours');
      this.slots.set(e.eniId, slot);
      ops.push(
        { op: 'putEni', eni: this.eniRecord(info, slot.state === 'releasing' ? 'deleting' : 'inuse') },
        { op: 'putIp', ip: this.ipRecord(info, slot, holder?.podKey) },
      );
    }
    // Stored ENIs the cloud no longer shows attached here: drop them (a pod still holding one keeps
    // its pod row so its DEL succeeds; the ENI itself is gone).
    for (const e of snap.enis) {
      if (this.enis.has(e.eniId)) continue;
      const holder = podsByEni.get(e.eniId);
      this.log.warn({ eniId: e.eniId, podKey: holder?.podKey }, 'stored ENI is no longer attached to this instance: dropped');
      ops.push({ op: 'deleteEni', eniId: e.eniId });
    }
    // Ours but detached (crash between create and attach, or between detach and delete): delete.
    for (const e of leftovers) if (!this.enis.has(e.eniId) && e.type === 'Secondary') toDelete.push(e);
    this.store.apply(ops);
    this.started = true;
    this.log.info(
      {
        capacity: this.cap,
        eniQuantity: quota,
        foreignEnis: foreign.length,
        enis: this.slots.size,
        pods: this.pods.size,
        leftovers: toDelete.length,
      },
      'ENI pool started',
    );
    for (const id of toAttach) this.track(this.workers.run(id, () => this.finishAttach(id)));
    for (const e of toDelete) this.track(this.workers.run(e.eniId, () => this.deleteDetached(e.eniId)));
    if (this.opts.timers !== false) {
      this.timer = setInterval(() => this.tick(), this.config.tickIntervalMs);
      this.timer.unref();
      this.gcTimer = setInterval(
        () => void this.gc().catch((err: Error) => this.log.error({ err: err.message }, 'ENI pool GC failed')),
        this.config.gcIntervalMs,
      );
      this.gcTimer.unref();
    }
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.timer = undefined;
    this.gcTimer = undefined;
    this.waiters.failAll(() => new PoolError('ShuttingDown', 'ENI pool is stopping'));
    // The DB closes after us: let the cloud calls under way record their outcome first.
    await this.idle();
  }

  /** Resolves once no create / attach / delete is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  // ---------- IpAllocator ----------

  async allocate(pod: PodRef, opts: { deadlineMs?: number } = {}): Promise<IpAllocation> {
    const key = podKeyOf(pod);
    const existing = this.pods.get(key);
    if (existing) return allocationOf(existing);
    if (this.stopping) throw new PoolError('ShuttingDown', 'ENI pool is stopping');
    if (!this.started) throw new PoolError('Internal', 'ENI pool not started', { retryable: true });
    const pending = this.waiters.pending(key);
    if (pending) return pending;
    const free = pickFreeEni([...this.slots.values()]);
    if (free) return this.assignLocked(free, pod);
    const blocked = this.unservable(1);
    if (blocked) throw blocked;
    const deadlineMs = opts.deadlineMs ?? this.config.allocDeadlineMs;
    const p = this.waiters.enqueue(key, pod, deadlineMs, () => new PoolError('Timeout', `no ENI attached within ${deadlineMs}ms`));
    this.tick();
    return p;
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const rec = this.pods.get(podKey);
    if (!rec) return undefined;
    const now = this.clock.now();
    const info = this.enis.get(rec.eniId);
    const slot = this.slots.get(rec.eniId);
    this.pods.delete(podKey);
    if (!info || !slot || slot.state !== 'assigned') {
      // Its ENI vanished from the cloud while the pod held it (or is on its way out): only the pod row is left.
      this.store.apply([{ op: 'deletePod', podKey }]);
      return allocationOf(rec);
    }
    const others = [...this.slots.values()].filter((s) => s.eniId !== slot.eniId);
    const place = placeReleased(others, this.config.maxPoolSize, this.config.cooldownMs, now, this.waiters.length);
    const next: EniSlot =
      place.state === 'cooling'
        ? { eniId: slot.eniId, state: 'cooling', since: now, coolUntil: place.coolUntil }
        : { eniId: slot.eniId, state: place.state, since: now };
    const ops: StoreOp[] = [
      { op: 'deletePod', podKey },
      { op: 'putIp', ip: this.ipRecord(info, next) },
    ];
    if (next.state === 'releasing') ops.push({ op: 'putEni', eni: this.eniRecord(info, 'deleting') });
    this.store.apply(ops); // committed before the slot changes hands
    this.slots.set(slot.eniId, next);
    if (next.state === 'releasing') this.startRelease(slot.eniId);
    else this.drain();
    return allocationOf(rec);
  }

  get(podKey: string): IpAllocation | undefined {
    const rec = this.pods.get(podKey);
    return rec ? allocationOf(rec) : undefined;
  }

  list(): IpAllocation[] {
    return [...this.pods.values()].map((p) => allocationOf(p));
  }

  stats(): PoolStats {
    const slots = [...this.slots.values()];
    const n = (s: EniSlot['state']) => slots.filter((x) => x.state === s).length;
    const b = effectiveBackoff(this.backoffAll, this.vSwitchPaused, this.opts.vSwitchIds, this.clock.now());
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
    const gone = [...this.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  /** Allocations whose ENI the pool no longer has (detached or deleted behind our back): flagged, kept until DEL / GC. */
  lostAllocations(): IpAllocation[] {
    return [...this.pods.values()].filter((p) => !this.enis.has(p.eniId)).map((p) => allocationOf(p));
  }

  /**
   * GC by pod existence, then a cloud reconcile. Allocations older than gcGraceMs whose pod the owner
   * check reports gone are unwired first (beforeRelease) and only then released; a failed unwire keeps
   * the ENI assigned and raises a Warning. One round at a time. Resolves to the released pod keys.
   */
  gc(): Promise<string[]> {
    if (!this.gcRunning) {
      const p = this.gcOnce().finally(() => {
        this.gcRunning = undefined;
      });
      this.gcRunning = p;
      // stop() waits for it: a release after a teardown must reach the DB before it closes.
      this.track(
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
    const released: string[] = [];
    const check = this.opts.ownerCheck;
    if (check) {
      const now = this.clock.now();
      const old = [...this.pods.values()].filter((p) => now - p.allocatedAt >= this.config.gcGraceMs).map((p) => allocationOf(p));
      const gone = old.length > 0 ? await check.goneOwners(old) : [];
      for (const a of gone) {
        if (this.stopping) break;
        if (!this.holds(a)) continue; // a DEL got there first
        if (this.opts.beforeRelease) {
          try {
            await this.opts.beforeRelease(a, 'gc');
          } catch (err) {
            this.log.warn(
              { err: (err as Error).message, podKey: a.podKey, eniId: a.eniId },
              'GC: unwiring a gone pod failed; its ENI stays assigned until the next GC',
            );
            this.onEvent({
              type: 'Warning',
              reason: 'GCReleaseFailed',
              message: `kept ENI ${a.eniId} of gone pod ${a.namespace}/${a.name}: teardown failed: ${(err as Error).message}`,
              eniId: a.eniId,
              podKey: a.podKey,
              pod: { namespace: a.namespace, name: a.name },
            });
            continue;
          }
          if (!this.holds(a)) continue; // released or re-allocated while the hook ran
        }
        await this.release(a.podKey);
        released.push(a.podKey);
        this.log.info({ podKey: a.podKey, eniId: a.eniId, pod: `${a.namespace}/${a.name}` }, 'GC: released the ENI of a gone pod');
        this.onEvent({
          type: 'Normal',
          reason: 'GCReleasedENI',
          message: `released ENI ${a.eniId} (${a.ip}) of gone pod ${a.namespace}/${a.name}`,
          eniId: a.eniId,
          podKey: a.podKey,
        });
      }
    }
    try {
      await this.reconcile();
    } catch (err) {
      this.log.warn({ err: (err as Error).message, code: codeOf(err) }, 'cloud reconcile failed; retried at the next GC');
      this.onEvent({ type: 'Warning', reason: 'ReconcileFailed', message: `ENI reconcile failed: ${(err as Error).message}` });
    }
    return released;
  }

  /** The pool still holds exactly this allocation. */
  private holds(a: IpAllocation): boolean {
    const cur = this.pods.get(a.podKey);
    return cur !== undefined && cur.allocatedAt === a.allocatedAt && cur.eniId === a.eniId;
  }

  /**
   * Brings the pool in line with the cloud while running: ENIs detached / deleted behind our back are
   * dropped (a pod holding one keeps its record, flagged, with a Warning), tagged ENIs of ours attached
   * here but unknown are adopted, detached ones of ours deleted. Rejects when the cloud cannot be read.
   */
  reconcile(): Promise<void> {
    if (!this.started) return Promise.resolve();
    if (!this.reconciling) {
      const p = this.reconcileOnce().finally(() => {
        this.reconciling = undefined;
      });
      this.reconciling = p;
      this.track(p.catch(() => {}));
    }
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const seqBefore = this.workers.snapshot();
    const createSeqBefore = this.createSeq;
    const creatingBefore = this.creating;
    const [attached, available] = await Promise.all([
      this.cloud.describeNetworkInterfaces({ instanceId: this.instanceId }),
      this.cloud.describeNetworkInterfaces({
        status: 'Available',
        tags: { [ENI_POOL_CREATOR_TAG_KEY]: ENI_POOL_CREATOR_TAG_VALUE, [ENI_POOL_NODE_TAG_KEY]: this.instanceId },
      }),
    ]);
    const unknownOurs = attached.filter((e) => e.instanceId === this.instanceId && this.isOurs(e) && !this.enis.has(e.eniId));
    await this.loadVSwitchFacts([...new Set(unknownOurs.map((e) => e.vSwitchId))]).catch((err: Error) =>
      this.log.warn({ err: err.message }, 'DescribeVSwitches failed: unknown ENIs are not adopted this round'),
    );
    if (this.stopping) return;
    // From here on nothing awaits: no allocation or worker interleaves with applying the verdict.
    const now = this.clock.now();
    for (const [id, until] of this.recentlyRemoved) if (until <= now) this.recentlyRemoved.delete(id);
    const plan = planEniReconcile({
      instanceId: this.instanceId,
      known: [...this.slots.values()].map((s) => ({
        eniId: s.eniId,
        state: s.state,
        changed: this.workers.changedSince(seqBefore, s.eniId),
      })),
      holders: new Map([...this.pods.values()].map((p) => [p.eniId, p.podKey] as const)),
      attached,
      available,
      isOurs: (e) => this.isOurs(e),
      recentlyRemoved: (id) => this.recentlyRemoved.has(id),
      vSwitchKnown: (id) => this.vSwitchFacts.has(id),
      createsQuiet: creatingBefore === 0 && this.creating === 0 && this.createSeq === createSeqBefore,
    });
    this.applyReconcile(plan, now);
  }

  private applyReconcile(plan: EniReconcilePlan, now: number): void {
    const ops: StoreOp[] = [];
    const adopted: { info: EniInfo; slot: EniSlot; podKey?: string }[] = [];
    for (const d of plan.drop) ops.push({ op: 'deleteEni', eniId: d.eniId }); // the pod row, if any, stays
    for (const a of plan.adopt) {
      const facts = this.vSwitchFacts.get(a.eni.vSwitchId)!;
      const info: EniInfo = {
        eniId: a.eni.eniId,
        mac: a.eni.mac,
        primaryIp: a.eni.primaryIp,
        vSwitchId: a.eni.vSwitchId,
        vSwitchCidr: facts.cidr,
        gateway: facts.gateway,
        createdAt: now,
      };
      const holder = a.podKey ? this.pods.get(a.podKey) : undefined;
      const slot: EniSlot = holder
        ? { eniId: info.eniId, state: 'assigned', since: holder.allocatedAt }
        : { eniId: info.eniId, state: 'free', since: now };
      adopted.push({ info, slot, podKey: holder?.podKey });
      ops.push({ op: 'putEni', eni: this.eniRecord(info, 'inuse') }, { op: 'putIp', ip: this.ipRecord(info, slot, holder?.podKey) });
    }
    if (ops.length > 0) this.store.apply(ops); // committed before memory changes
    for (const d of plan.drop) {
      this.slots.delete(d.eniId);
      this.enis.delete(d.eniId);
      const where = d.cloudStatus ? `is ${d.cloudStatus}` : 'is no longer attached to this instance';
      const holder = d.podKey ? this.pods.get(d.podKey) : undefined;
      if (holder) {
        this.log.error(
          { eniId: d.eniId, podKey: holder.podKey, cloudStatus: d.cloudStatus },
          'ENI of a live pod detached / deleted behind our back: pod record kept and flagged',
        );
        this.onEvent({
          type: 'Warning',
          reason: 'EniMissing',
          message: `ENI ${d.eniId} of pod ${holder.namespace}/${holder.name} ${where}: the pod has lost its network; the ENI will not be handed out`,
          eniId: d.eniId,
          podKey: holder.podKey,
          pod: { namespace: holder.namespace, name: holder.name },
        });
      } else {
        this.log.warn({ eniId: d.eniId, cloudStatus: d.cloudStatus }, 'idle ENI detached / deleted behind our back: dropped from the pool');
        this.onEvent({
          type: 'Warning',
          reason: 'EniDropped',
          message: `idle ENI ${d.eniId} ${where}: dropped from the pool`,
          eniId: d.eniId,
        });
      }
    }
    for (const { info, slot, podKey } of adopted) {
      this.enis.set(info.eniId, info);
      this.slots.set(info.eniId, slot);
      this.log.info(
        { eniId: info.eniId, mac: info.mac, podKey },
        podKey ? 'ENI of a flagged pod is attached again: restored to it' : 'adopted an attached ENI tagged as ours',
      );
      this.onEvent({
        type: 'Normal',
        reason: 'AdoptENI',
        message: podKey ? `ENI ${info.eniId} is back and stays with ${podKey}` : `adopted ENI ${info.eniId}`,
        eniId: info.eniId,
      });
    }
    const cap = Math.max(0, eniCapacity(this.quota, this.config.maxEni) - plan.foreign);
    if (cap !== this.cap) {
      this.log.info(
        { from: this.cap, to: cap, foreignEnis: plan.foreign },
        'ENI capacity changed (secondary ENIs not ours attached / detached)',
      );
      this.cap = cap;
    }
    for (const id of plan.deleteLeftovers) {
      if (this.workers.busy(id)) continue;
      this.track(this.workers.run(id, () => this.deleteDetached(id)));
    }
    if (plan.drop.length + plan.adopt.length + plan.deleteLeftovers.length > 0) {
      this.log.info(
        { dropped: plan.drop.length, adopted: plan.adopt.length, leftovers: plan.deleteLeftovers.length, skipped: plan.skipped.length },
        'ENI reconcile',
      );
    }
    this.tick();
  }

  private markRemoved(eniId: string): void {
    this.recentlyRemoved.set(eniId, this.clock.now() + this.config.reconcileCooldownMs);
  }

  /** One round of the ticker: cool-down expiry, watermarks, retries. Safe to call any time. */
  tick(): void {
    if (!this.started || this.stopping) return;
    const now = this.clock.now();
    const { slots, expired } = expireCooling([...this.slots.values()], now);
    if (expired.length > 0) {
      const ops: StoreOp[] = [];
      for (const s of slots) {
        if (!expired.includes(s.eniId)) continue;
        this.slots.set(s.eniId, s);
        ops.push({ op: 'putIp', ip: this.ipRecord(this.enis.get(s.eniId)!, s) });
      }
      this.store.apply(ops);
    }
    this.drain();
    const backoff = effectiveBackoff(this.backoffAll, this.vSwitchPaused, this.opts.vSwitchIds, now);
    const plan = planEniPool({
      slots: this.plannerSlots(),
      waiting: this.waiters.length,
      minPoolSize: this.config.minPoolSize,
      maxPoolSize: this.config.maxPoolSize,
      capacity: this.cap,
      backoff,
      now,
    });
    for (let i = 0; i < plan.create; i++) this.startCreate();
    if (plan.release.length > 0) {
      const ops: StoreOp[] = [];
      for (const id of plan.release) {
        const info = this.enis.get(id)!;
        const s: EniSlot = { eniId: id, state: 'releasing', since: now };
        this.slots.set(id, s);
        ops.push({ op: 'putIp', ip: this.ipRecord(info, s) }, { op: 'putEni', eni: this.eniRecord(info, 'deleting') });
      }
      this.store.apply(ops);
      for (const id of plan.release) this.startRelease(id);
    }
    // Failed deletes are retried after the short back-off.
    for (const s of this.slots.values()) {
      if (s.state === 'releasing' && !this.workers.busy(s.eniId) && s.since + this.config.backoff.otherErrorMs <= now)
        this.startRelease(s.eniId);
    }
    // Waiters no ENI can reach (capacity reached, creation paused): fail now rather than at their deadline.
    const blocked = this.unservable(0);
    if (blocked) {
      const servable = this.plannerSlots().filter((s) => s.state === 'free' || s.state === 'attaching' || s.state === 'cooling').length;
      this.waiters.failNewest(this.waiters.length - servable, () => this.unservable(0) ?? blocked);
    }
  }

  // ---------- internals ----------

  /**
   * A PoolError when `extra` more requests (beyond those waiting) could not be served by a free,
   * attaching or cooling ENI nor by a new one; undefined when they can.
   */
  private unservable(extra: number): PoolError | undefined {
    const slots = this.plannerSlots();
    const servable = slots.filter((s) => s.state === 'free' || s.state === 'attaching' || s.state === 'cooling').length;
    const need = this.waiters.length + extra;
    if (need <= servable) return undefined;
    const owned = slots.filter((s) => s.state !== 'releasing').length;
    const now = this.clock.now();
    const b = effectiveBackoff(this.backoffAll, this.vSwitchPaused, this.opts.vSwitchIds, now);
    if (b && EXHAUSTION_CODES.has(b.code)) {
      return new PoolError('Exhausted', `ENI creation paused for ${Math.ceil((b.until - now) / 1000)}s after ${b.code}`, {
        cloudCode: b.code,
        retryable: true,
      });
    }
    if (owned + (need - servable) > this.cap) {
      return new PoolError(
        'Exhausted',
        `all ${this.cap} ENIs this node can hold for pods are in use (${owned} owned, ${this.pods.size} assigned)`,
        {
          cloudCode: this.lastFailure?.code === 'EniPerInstanceLimitExceeded' ? this.lastFailure.code : undefined,
          retryable: true,
        },
      );
    }
    return undefined;
  }

  /** Slots plus placeholders for creates whose ENI id is not known yet. */
  private plannerSlots(): EniSlot[] {
    const out = [...this.slots.values()];
    for (let i = 0; i < this.creating; i++) out.push({ eniId: `~creating-${i}`, state: 'attaching', since: 0 });
    return out;
  }

  /** Synchronous from pick to commit: no other allocation can take the same ENI. */
  private assignLocked(eniId: string, pod: PodRef): IpAllocation {
    const info = this.enis.get(eniId)!;
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
      },
      now,
    );
    const slot: EniSlot = { eniId, state: 'assigned', since: now };
    this.store.apply([
      { op: 'putIp', ip: this.ipRecord(info, slot, key) },
      { op: 'putPod', pod: rec },
    ]);
    this.slots.set(eniId, slot);
    this.pods.set(key, rec);
    // The warm pool shrank: top it up.
    queueMicrotask(() => this.tick());
    return allocationOf(rec);
  }

  private drain(): void {
    this.waiters.drain((pod) => {
      const id = pickFreeEni([...this.slots.values()]);
      return id ? this.assignLocked(id, pod) : undefined;
    });
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private startCreate(): void {
    this.creating++;
    this.createSeq++;
    let placeholder = true;
    // The placeholder counts as an attaching ENI until the real one has a slot.
    const dropPlaceholder = (): void => {
      if (placeholder) this.creating--;
      placeholder = false;
    };
    const p = this.createOne(dropPlaceholder).finally(dropPlaceholder);
    this.track(p.then(() => this.tick()));
  }

  /** CreateNetworkInterface + AttachNetworkInterface; the ENI joins the warm pool as free. */
  private async createOne(dropPlaceholder: () => void): Promise<void> {
    const now = this.clock.now();
    const vSwitchId = pickVSwitch(
      this.opts.vSwitchIds,
      this.vSwitchPaused,
      now,
      this.config.vSwitchSelectionPolicy === 'random' ? (this.opts.random ?? Math.random) : undefined,
    );
    if (!vSwitchId) return;
    let eni: Eni | undefined;
    try {
      eni = await this.cloud.createNetworkInterface({
        vSwitchId,
        securityGroupIds: this.opts.securityGroupIds,
        description: `eni-ipam VPCENI ${this.instanceId}`,
        tags: this.tags,
        clientToken: randomUUID(),
      });
      const facts = this.vSwitchFacts.get(vSwitchId) ?? (await this.loadVSwitchFacts([vSwitchId]), this.vSwitchFacts.get(vSwitchId));
      if (!facts) throw new PoolError('Internal', `vSwitch ${vSwitchId}: CIDR unknown`);
      const info: EniInfo = {
        eniId: eni.eniId,
        mac: eni.mac,
        primaryIp: eni.primaryIp,
        vSwitchId,
        vSwitchCidr: facts.cidr,
        gateway: facts.gateway,
        createdAt: this.clock.now(),
      };
      // Recorded before the attach: a crash leaves a row that start-up reconciles.
      this.enis.set(info.eniId, info);
      this.slots.set(info.eniId, { eniId: info.eniId, state: 'attaching', since: this.clock.now() });
      dropPlaceholder();
      this.store.apply([{ op: 'putEni', eni: this.eniRecord(info, 'attaching') }]);
      const id = info.eniId;
      let failed: unknown;
      await this.workers.run(id, async () => {
        try {
          await this.attachAndFree(id);
        } catch (e) {
          failed = e;
        }
      });
      if (failed) throw failed;
    } catch (err) {
      this.onCreateFailure(err, vSwitchId, eni);
      // Created but never recorded (its vSwitch facts could not be read): nothing else knows it, delete it now.
      if (eni && !this.enis.has(eni.eniId)) {
        const id = eni.eniId;
        this.track(this.workers.run(id, () => this.deleteDetached(id)));
      }
    }
  }

  private async attachAndFree(eniId: string): Promise<void> {
    await this.cloud.attachNetworkInterface(eniId, this.instanceId);
    const info = this.enis.get(eniId)!;
    const slot: EniSlot = { eniId, state: 'free', since: this.clock.now() };
    this.store.apply([
      { op: 'putEni', eni: this.eniRecord(info, 'inuse') },
      { op: 'putIp', ip: this.ipRecord(info, slot) },
    ]);
    this.slots.set(eniId, slot);
    this.lastFailure = undefined;
    this.log.info({ eniId, mac: info.mac, ip: info.primaryIp, vSwitchId: info.vSwitchId }, 'ENI attached: warm');
    this.drain();
  }

  /** Start-up: an ENI found Attaching to this instance. */
  private async finishAttach(eniId: string): Promise<void> {
    try {
      await this.attachAndFree(eniId);
    } catch (err) {
      this.onCreateFailure(err, this.enis.get(eniId)?.vSwitchId, undefined);
      this.releaseSlotNow(eniId);
    }
  }

  private onCreateFailure(err: unknown, vSwitchId: string | undefined, eni: Eni | undefined): void {
    const code = codeOf(err);
    const now = this.clock.now();
    const b = backoffFor(code, now, this.config.backoff);
    if (code === 'InvalidVSwitchId.IpNotEnough' && vSwitchId) this.vSwitchPaused = { ...this.vSwitchPaused, [vSwitchId]: b };
    else this.backoffAll = b;
    this.lastFailure = { code, message: (err as Error).message };
    this.log.warn(
      { err: (err as Error).message, code, vSwitchId, eniId: eni?.eniId, pausedUntil: b.until },
      'creating / attaching an ENI failed',
    );
    this.onEvent({ type: 'Warning', reason: 'AllocEniFailed', message: `create/attach ENI failed: ${(err as Error).message}` });
    if (eni) this.releaseSlotNow(eni.eniId);
    // Fail the waiters only when nothing can be created now (another vSwitch may still have room).
    const blocking = effectiveBackoff(this.backoffAll, this.vSwitchPaused, this.opts.vSwitchIds, now);
    if (EXHAUSTION_CODES.has(code) && blocking) {
      this.waiters.failAll(
        () => new PoolError('Exhausted', `no ENI can be attached now: ${code}`, { cloudCode: code, retryable: true, cause: err }),
      );
    }
  }

  /** A created ENI that did not make it into the pool: record the intent, then detach + delete it. */
  private releaseSlotNow(eniId: string): void {
    const info = this.enis.get(eniId);
    if (!info) return;
    const s: EniSlot = { eniId, state: 'releasing', since: this.clock.now() };
    this.slots.set(eniId, s);
    this.store.apply([{ op: 'putEni', eni: this.eniRecord(info, 'deleting') }]);
    this.startRelease(eniId);
  }

  private startRelease(eniId: string): void {
    if (this.workers.busy(eniId)) return;
    this.track(this.workers.run(eniId, () => this.detachAndDelete(eniId)));
  }

  /** Detach (when attached) then delete; on failure the slot stays `releasing` and the ticker retries. */
  private async detachAndDelete(eniId: string): Promise<void> {
    try {
      const [eni] = await this.cloud.describeNetworkInterfaces({ eniIds: [eniId] });
      if (eni && eni.instanceId === this.instanceId && eni.status !== 'Available')
        await this.cloud.detachNetworkInterface(eniId, this.instanceId);
      if (eni) await this.cloud.deleteNetworkInterface(eniId);
      this.store.apply([{ op: 'deleteEni', eniId }]);
      this.slots.delete(eniId);
      this.enis.delete(eniId);
      this.markRemoved(eniId);
      this.log.info({ eniId }, 'ENI detached and deleted');
    } catch (err) {
      const s = this.slots.get(eniId);
      if (s) this.slots.set(eniId, { ...s, since: this.clock.now() });
      this.log.warn({ eniId, err: (err as Error).message, code: codeOf(err) }, 'detaching / deleting an ENI failed: retried later');
    }
  }

  /** Start-up leftovers: ours, not attached. */
  private async deleteDetached(eniId: string): Promise<void> {
    try {
      await this.cloud.deleteNetworkInterface(eniId);
      this.markRemoved(eniId);
      this.log.info({ eniId }, 'deleted a detached ENI of ours that the pool does not hold');
    } catch (err) {
      this.log.warn({ eniId, err: (err as Error).message }, 'deleting a leftover ENI failed (next start retries)');
    }
  }

  private async loadVSwitchFacts(ids: string[]): Promise<void> {
    const missing = ids.filter((id) => !this.vSwitchFacts.has(id));
    if (missing.length === 0) return;
    const vsws = await this.cloud.describeVSwitches(missing);
    for (const v of vsws) this.vSwitchFacts.set(v.vSwitchId, { cidr: v.cidrBlock, gateway: vSwitchGateway(v.cidrBlock) });
  }

  private requireInstanceType(): string {
    if (!this.opts.instanceType) throw new PoolError('Internal', 'EniPool needs eniQuantity or instanceType', { retryable: false });
    return this.opts.instanceType;
  }

  private isOurs(e: Eni): boolean {
    return e.tags[ENI_POOL_CREATOR_TAG_KEY] === ENI_POOL_CREATOR_TAG_VALUE && e.tags[ENI_POOL_NODE_TAG_KEY] === this.instanceId;
  }

  private eniRecord(info: EniInfo, state: EniRecord['state']): EniRecord {
    return {
      eniId: info.eniId,
      mac: info.mac,
      vSwitchId: info.vSwitchId,
      vSwitchCidr: info.vSwitchCidr,
      gateway: info.gateway,
      primary: false,
      createdByUs: true,
      state,
      createdAt: info.createdAt,
    };
  }

  private ipRecord(info: EniInfo, slot: EniSlot, podKey?: string): IpRecord {
    // An attaching ENI has no usable IP yet; never written as such (only inuse ENIs get an ips row).
    const state = slot.state === 'attaching' ? 'releasing' : slot.state;
    return {
      ip: info.primaryIp,
      eniId: info.eniId,
      state,
      ...(state === 'assigned' ? { podKey } : {}),
      since: slot.since,
      ...(slot.coolUntil !== undefined ? { until: slot.coolUntil } : {}),
    };
  }
}

export function createEniPool(opts: EniPoolOptions): EniPool {
  return new EniPool(opts);
}
