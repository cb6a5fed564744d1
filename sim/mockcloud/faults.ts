// Fault injection and call accounting: latency, account-wide throttling (token bucket),
// per-action error rates / fail-next, attach/detach/delete delays, metadata lag, stale listings,
// conflicting mutations of one ENI, frozen RAM credentials, call counters.
import type { ErrorKind, FaultController, FaultSpec, FaultState } from './types.js';

export interface InjectedError {
  kind: ErrorKind;
  afterEffect: boolean;
}

export class Faults implements FaultController {
  private s: FaultState;
  private tokens = 0;
  private lastRefill = 0;
  private readonly calls = new Map<string, number>();
  /** When each ENI was last mutated (Operation.Conflict window). */
  private readonly lastMutation = new Map<string, number>();

  constructor(
    initial: FaultSpec,
    private readonly defaults: { attachDelayMs: number; detachDelayMs?: number; deleteDelayMs?: number },
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
    /** Told whenever the stale-listing lag changes (the world keeps the history it needs). */
    private readonly onStaleListings: (ms: number) => void = () => {},
  ) {
    this.s = this.fresh();
    this.applySpec(initial);
  }

  private fresh(): FaultState {
    return {
      latency: {},
      attachDelayMs: this.defaults.attachDelayMs,
      detachDelayMs: this.defaults.detachDelayMs ?? this.defaults.attachDelayMs,
      throttleQps: null,
      throttleBurst: null,
      errorRates: [],
      failNext: [],
      metadataLagMs: 0,
      deleteDelayMs: this.defaults.deleteDelayMs ?? this.defaults.detachDelayMs ?? this.defaults.attachDelayMs,
      staleListingsMs: 0,
      operationConflictMs: 0,
      ramCredentialsFrozen: false,
    };
  }

  applySpec(spec: FaultSpec): void {
    for (const [a, v] of Object.entries(spec.latency ?? {})) this.setLatency(a, v);
    if (spec.attachDelayMs !== undefined) this.setAttachDelay(spec.attachDelayMs);
    if (spec.detachDelayMs !== undefined) this.setDetachDelay(spec.detachDelayMs);
    if (spec.throttleQps !== undefined) this.setThrottle(spec.throttleQps, spec.throttleBurst);
    for (const e of spec.errorRates ?? []) this.setErrorRate(e.action, e.rate, e.kind, { afterEffect: e.afterEffect });
    if (spec.metadataLagMs !== undefined) this.setMetadataLag(spec.metadataLagMs);
    if (spec.deleteDelayMs !== undefined) this.setDeleteDelay(spec.deleteDelayMs);
    if (spec.staleListingsMs !== undefined) this.setStaleListings(spec.staleListingsMs);
    if (spec.operationConflictMs !== undefined) this.setOperationConflict(spec.operationConflictMs);
    if (spec.ramCredentialsFrozen !== undefined) this.freezeRamCredentials(spec.ramCredentialsFrozen);
  }

  // ---- FaultController ---------------------------------------------------------------------

  setLatency(action: string, ms: number | [number, number]): void {
    if (Array.isArray(ms) ? ms[0] < 0 || ms[1] < ms[0] : ms < 0) throw new Error(`bad latency ${JSON.stringify(ms)}`);
    if (ms === 0) delete this.s.latency[action];
    else this.s.latency[action] = Array.isArray(ms) ? [ms[0], ms[1]] : ms;
  }

  setAttachDelay(ms: number): void {
    this.s.attachDelayMs = Math.max(0, ms);
    if (this.defaults.detachDelayMs === undefined) this.s.detachDelayMs = this.s.attachDelayMs;
  }

  setDetachDelay(ms: number): void {
    this.s.detachDelayMs = Math.max(0, ms);
  }

  setThrottle(qps: number | null, burst?: number): void {
    if (qps !== null && !(qps > 0)) throw new Error(`bad qps ${qps}`);
    this.s.throttleQps = qps;
    this.s.throttleBurst = qps === null ? null : (burst ?? Math.max(1, qps));
    this.tokens = this.s.throttleBurst ?? 0;
    this.lastRefill = this.now();
  }

  setErrorRate(action: string, rate: number, kind: ErrorKind, opts: { afterEffect?: boolean } = {}): void {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`bad error rate ${rate}`);
    this.s.errorRates = this.s.errorRates.filter((e) => !(e.action === action && e.kind === kind));
    if (rate > 0) this.s.errorRates.push({ action, rate, kind, afterEffect: opts.afterEffect ?? false });
  }

  failNext(action: string, count: number, kind: ErrorKind, opts: { afterEffect?: boolean } = {}): void {
    if (count > 0) this.s.failNext.push({ action, count, kind, afterEffect: opts.afterEffect ?? false });
  }

  setMetadataLag(ms: number): void {
    this.s.metadataLagMs = Math.max(0, ms);
  }

  setDeleteDelay(ms: number): void {
    this.s.deleteDelayMs = Math.max(0, ms);
  }

  setStaleListings(ms: number): void {
    this.s.staleListingsMs = Math.max(0, ms);
    this.onStaleListings(this.s.staleListingsMs);
  }

  setOperationConflict(ms: number): void {
    this.s.operationConflictMs = Math.max(0, ms);
    this.lastMutation.clear();
  }

  freezeRamCredentials(frozen: boolean): void {
    this.s.ramCredentialsFrozen = frozen;
  }

  clear(): void {
    const stale = this.s.staleListingsMs;
    this.s = this.fresh();
    this.tokens = 0;
    this.lastMutation.clear();
    if (stale !== 0) this.onStaleListings(0);
  }

  state(): FaultState {
    return JSON.parse(JSON.stringify(this.s)) as FaultState;
  }

  // ---- used by the server ------------------------------------------------------------------

  get attachDelayMs(): number {
    return this.s.attachDelayMs;
  }
  get detachDelayMs(): number {
    return this.s.detachDelayMs;
  }
  get metadataLagMs(): number {
    return this.s.metadataLagMs;
  }
  get deleteDelayMs(): number {
    return this.s.deleteDelayMs;
  }
  get ramCredentialsFrozen(): boolean {
    return this.s.ramCredentialsFrozen;
  }

  /**
   * A mutation of `eniId` starts now: true when it overlaps the previous one (within the conflict
   * window), which then answers Operation.Conflict and does not count as a mutation itself.
   */
  conflicts(eniId: string): boolean {
    const window = this.s.operationConflictMs;
    if (window <= 0) return false;
    const t = this.now();
    const last = this.lastMutation.get(eniId);
    if (last !== undefined && t - last < window) return true;
    this.lastMutation.set(eniId, t);
    return false;
  }

  count(action: string): void {
    this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
  }

  counters(): Record<string, number> {
    return Object.fromEntries([...this.calls.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  resetCounters(): void {
    this.calls.clear();
  }

  latencyFor(action: string): number {
    const l = this.s.latency[action] ?? this.s.latency['*'];
    if (l === undefined) return 0;
    if (typeof l === 'number') return l;
    return l[0] + this.random() * (l[1] - l[0]);
  }

  /** Takes one token from the account bucket; false = throttled. */
  admit(): boolean {
    const qps = this.s.throttleQps;
    if (qps === null) return true;
    const burst = this.s.throttleBurst ?? Math.max(1, qps);
    const t = this.now();
    this.tokens = Math.min(burst, this.tokens + ((t - this.lastRefill) / 1000) * qps);
    this.lastRefill = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Decides whether this call of `action` fails by injection. */
  pickError(action: string): InjectedError | undefined {
    const i = this.s.failNext.findIndex((f) => f.action === action || f.action === '*');
    if (i >= 0) {
      const f = this.s.failNext[i];
      f!.count -= 1;
      if (f!.count <= 0) this.s.failNext.splice(i, 1);
      return { kind: f!.kind, afterEffect: f!.afterEffect };
    }
    for (const e of this.s.errorRates) {
      if ((e.action === action || e.action === '*') && this.random() < e.rate) return { kind: e.kind, afterEffect: e.afterEffect ?? false };
    }
    return undefined;
  }
}
