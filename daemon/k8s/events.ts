// Event folding and the core/v1 Event body. A simplified client-go correlator: an identical event
// (same object, type, reason, message) seen again inside the window is folded into a counter instead of
// being written; the next write after the window carries the folded count. A per-object token bucket
// (client-go's spam filter: burst 25, one token per 5 min) drops floods of distinct events.
import { REPORTING_CONTROLLER, type KubeEvent, type WallClock } from './types.js';

export interface CorrelatorOptions {
  /** Identical events inside this window are folded. Default 10 min (client-go's aggregation window). */
  windowMs?: number;
  /** Per-object budget of distinct events: burst, then one more per `refillMs`. */
  burst?: number;
  refillMs?: number;
  /** Remembered series; expired ones are evicted first, then the oldest. */
  maxKeys?: number;
}

export type CorrelateDecision =
  | { action: 'post'; key: string; count: number; firstTimestamp: number }
  | { action: 'fold'; key: string; count: number }
  | { action: 'drop'; key: string };

interface Series {
  postedAt: number;
  folded: number;
  firstFoldedAt: number;
}

interface Budget {
  tokens: number;
  at: number;
}

export interface CorrelatorStats {
  posted: number;
  folded: number;
  dropped: number;
}

export function eventKey(ev: KubeEvent): string {
  return JSON.stringify([ev.target, ev.target === 'Pod' ? (ev.namespace ?? '') : '', ev.name, ev.type, ev.reason, ev.message]);
}

function objectKey(ev: KubeEvent): string {
  return JSON.stringify([ev.target, ev.target === 'Pod' ? (ev.namespace ?? '') : '', ev.name]);
}

export class EventCorrelator {
  private readonly windowMs: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxKeys: number;
  private readonly series = new Map<string, Series>();
  private readonly budgets = new Map<string, Budget>();
  private readonly counts: CorrelatorStats = { posted: 0, folded: 0, dropped: 0 };

  constructor(
    private readonly clock: WallClock,
    opts: CorrelatorOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.burst = opts.burst ?? 25;
    this.refillMs = opts.refillMs ?? 5 * 60_000;
    this.maxKeys = opts.maxKeys ?? 4096;
  }

  /** Decides what to do with one event and records the decision. */
  observe(ev: KubeEvent): CorrelateDecision {
    const now = this.clock.now();
    const key = eventKey(ev);
    const s = this.series.get(key);
    if (s && now - s.postedAt < this.windowMs) {
      if (s.folded === 0) s.firstFoldedAt = now;
      s.folded++;
      this.counts.folded++;
      return { action: 'fold', key, count: s.folded + 1 };
    }
    if (!this.takeToken(objectKey(ev), now)) {
      this.counts.dropped++;
      return { action: 'drop', key };
    }
    const count = 1 + (s?.folded ?? 0);
    const firstTimestamp = s && s.folded > 0 ? s.firstFoldedAt : now;
    this.series.delete(key); // re-insert: Map order doubles as age order for eviction
    this.series.set(key, { postedAt: now, folded: 0, firstFoldedAt: now });
    this.evict(now);
    this.counts.posted++;
    return { action: 'post', key, count, firstTimestamp };
  }

  /** The write for `key` failed: forget the series so the next identical event is written again. */
  forget(key: string): void {
    this.series.delete(key);
  }

  stats(): CorrelatorStats {
    return { ...this.counts };
  }

  private takeToken(obj: string, now: number): boolean {
    let b = this.budgets.get(obj);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.budgets.set(obj, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.at) / this.refillMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private evict(now: number): void {
    if (this.series.size > this.maxKeys) {
      for (const [k, s] of this.series) {
        if (now - s.postedAt >= this.windowMs) this.series.delete(k);
      }
      for (const k of this.series.keys()) {
        if (this.series.size <= this.maxKeys) break;
        this.series.delete(k);
      }
    }
    if (this.budgets.size > this.maxKeys) {
      // A full bucket carries no information: dropping it changes nothing.
      for (const [k, b] of this.budgets) {
        if (b.tokens + (now - b.at) / this.refillMs >= this.burst) this.budgets.delete(k);
      }
      for (const k of this.budgets.keys()) {
        if (this.budgets.size <= this.maxKeys) break;
        this.budgets.delete(k);
      }
    }
  }
}

/** Plain-object shape of the core/v1 Event we write (timestamps as Date for client-node's serializer). */
export interface EventBody {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: 'v1'; kind: 'Pod' | 'Node'; name: string; namespace?: string; uid?: string };
  type: string;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: Date;
  lastTimestamp: Date;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
}

let nameSeq = 0;

/**
 * Builds the Event object. Name as client-go: `<object>.<hex nanoseconds>` (a sequence number in the
 * sub-millisecond digits keeps names unique within one millisecond). Node events live in `default`
 * with uid = node name, which is where kubelet puts them and where `kubectl describe node` looks.
 */
export function buildEventBody(
  ev: KubeEvent,
  p: { now: number; count: number; firstTimestamp: number; nodeName?: string; uid?: string },
): EventBody {
  const namespace = ev.target === 'Pod' ? (ev.namespace ?? '') : 'default';
  nameSeq = (nameSeq + 1) % 1_000_000;
  const nanos = BigInt(Math.floor(p.now)) * 1_000_000n + BigInt(nameSeq);
  const uid = ev.target === 'Node' ? (p.uid ?? ev.name) : p.uid;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${ev.name}.${nanos.toString(16)}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: ev.target,
      name: ev.name,
      ...(ev.target === 'Pod' ? { namespace } : {}),
      ...(uid ? { uid } : {}),
    },
    type: ev.type,
    reason: ev.reason,
    message: ev.message,
    count: p.count,
    firstTimestamp: new Date(p.firstTimestamp),
    lastTimestamp: new Date(p.now),
    source: { component: REPORTING_CONTROLLER, ...(p.nodeName ? { host: p.nodeName } : {}) },
    reportingComponent: REPORTING_CONTROLLER,
    reportingInstance: p.nodeName ?? '',
  };
}
