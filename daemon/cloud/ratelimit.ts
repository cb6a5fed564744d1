// Client-side flow control for OpenAPI calls: one token bucket shared by every call (account-wide
// QPS) plus optional per-API buckets in Terway's `rate_limit` shape (calls per minute per API name).
import { type Clock, systemClock } from './clock.js';

export interface TokenBucketOptions {
  /** Tokens added per second. `Infinity` (or <= 0) disables the bucket. */
  ratePerSec: number;
  /** Bucket size: how many calls may go at once after a quiet period. */
  burst: number;
  clock?: Clock;
}

/**
 * Reservation-style token bucket (like Go's rate.Limiter.Reserve): a caller takes a token at once and,
 * when the bucket is in debt, sleeps until its token would have been minted. Waiters are therefore
 * served in arrival order without a queue.
 */
export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(opts: TokenBucketOptions) {
    this.ratePerSec = opts.ratePerSec > 0 ? opts.ratePerSec : Infinity;
    this.burst = Math.max(1, Math.floor(opts.burst));
    this.clock = opts.clock ?? systemClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  get unlimited(): boolean {
    return !Number.isFinite(this.ratePerSec);
  }

  /** Takes one token now and returns how long (ms) the caller must wait before using it. */
  reserve(): number {
    if (this.unlimited) return 0;
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSec;
  }

  /** Tokens currently available (negative while callers are waiting). */
  available(): number {
    if (this.unlimited) return Infinity;
    const elapsed = Math.max(0, this.clock.now() - this.last);
    return Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
  }

  /** Waits for a token; resolves with the time waited (ms). */
  async take(): Promise<number> {
    const wait = this.reserve();
    if (wait > 0) await this.clock.sleep(wait);
    return wait;
  }
}

/** Terway's per-API defaults (calls per minute), `pkg/aliyun/client/ratelimit.go`. */
export const TERWAY_DEFAULT_RATE_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  AttachNetworkInterface: 500,
  CreateNetworkInterface: 500,
  DeleteNetworkInterface: 500,
  DescribeNetworkInterfaces: 800,
  DetachNetworkInterface: 400,
  AssignPrivateIpAddresses: 400,
  UnassignPrivateIpAddresses: 400,
  AssignIpv6Addresses: 400,
  UnassignIpv6Addresses: 400,
  DescribeInstanceTypes: 400,
  DescribeVSwitches: 300,
});

export interface RateLimiterOptions {
  /** Shared bucket: calls per second over all APIs. Default 20; `Infinity` disables it. */
  qps?: number;
  /** Shared bucket size. Default 2 × qps (at least 1). */
  burst?: number;
  /**
   * Per-API limits in calls per minute (Terway `rate_limit`), merged over TERWAY_DEFAULT_RATE_LIMITS
   * unless `terwayDefaults` is false. As in Terway, each bucket's burst equals its per-minute figure.
   */
  perApiPerMinute?: Record<string, number>;
  terwayDefaults?: boolean;
  clock?: Clock;
}

export interface RateLimiterStats {
  acquired: number;
  delayed: number;
  totalWaitMs: number;
  maxWaitMs: number;
}

export class RateLimiter {
  private readonly global: TokenBucket;
  private readonly perApi = new Map<string, TokenBucket>();
  private readonly stat: RateLimiterStats = { acquired: 0, delayed: 0, totalWaitMs: 0, maxWaitMs: 0 };

  constructor(opts: RateLimiterOptions = {}) {
    const clock = opts.clock ?? systemClock;
    const qps = opts.qps ?? 20;
    const burst = opts.burst ?? Math.max(1, Math.ceil((Number.isFinite(qps) ? qps : 1) * 2));
    this.global = new TokenBucket({ ratePerSec: qps, burst, clock });
    const perMinute = { ...(opts.terwayDefaults === false ? {} : TERWAY_DEFAULT_RATE_LIMITS), ...(opts.perApiPerMinute ?? {}) };
    for (const [api, perMin] of Object.entries(perMinute)) {
      if (!(perMin > 0)) continue;
      this.perApi.set(api, new TokenBucket({ ratePerSec: perMin / 60, burst: perMin, clock }));
    }
  }

  /** Waits until `api` may be called: its own bucket first, then the shared one. Returns ms waited. */
  async acquire(api: string): Promise<number> {
    let waited = 0;
    const own = this.perApi.get(api);
    if (own) waited += await own.take();
    waited += await this.global.take();
    this.stat.acquired++;
    if (waited > 0) {
      this.stat.delayed++;
      this.stat.totalWaitMs += waited;
      this.stat.maxWaitMs = Math.max(this.stat.maxWaitMs, waited);
    }
    return waited;
  }

  bucket(api?: string): TokenBucket | undefined {
    return api === undefined ? this.global : this.perApi.get(api);
  }

  stats(): RateLimiterStats {
    return { ...this.stat };
  }
}
