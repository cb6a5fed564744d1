// The plumbing under every cloud API call: the client-side rate limiter, our retries (the SDK's are
// off), error classification and per-API stats. Knows nothing of the SDK's request shapes: the call
// wrappers (ecsCalls.ts, vpcCalls.ts) hand it a `send` closure.
import { type ApiStats, type CloudError, type CloudObserver } from './types.js';
import type { Clock } from './clock.js';
import { RateLimiter, type RateLimiterOptions, type RateLimiterStats } from './ratelimit.js';
import { BackoffTable, type BackoffPolicy, type RetryState, withRetry } from './retry.js';
import { isThrottled, toCloudError } from './errors.js';

/** Minimal structured logger (pino's signature). Never receives secrets. */
export interface CloudLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Filled in by `call`: how many attempts the logical call made (an "already done" answer after a retry is success). */
export interface CallContext {
  attempts: number;
}

export interface ApiCallerOptions {
  /** Its own limiter's settings, or a limiter shared with others. */
  limiter: Omit<RateLimiterOptions, 'clock'> | RateLimiter;
  backoff: BackoffTable;
  /** Extra 4xx codes to treat as transient. */
  retryableCodes?: readonly string[];
  clock: Clock;
  random: () => number;
  logger?: CloudLogger;
  /** Metrics hooks per attempt and rate-limiter wait. */
  observer?: CloudObserver;
  /** The cloud refused the credentials (an expired or foreign STS token): the credential source refetches. */
  onCredentialsRefused?: (code: string) => void;
}

/** Answers that mean "these credentials are no good any more", not "this request is wrong". */
const REFUSED_CREDENTIALS = new Set([
  'InvalidSecurityToken.Expired',
  'InvalidSecurityToken.MismatchWithAccessKey',
  'InvalidSecurityToken.Malformed',
]);

function emptyStats(): ApiStats {
  return { calls: 0, errors: 0, throttled: 0, retries: 0, totalLatencyMs: 0, maxLatencyMs: 0 };
}

export class ApiCaller {
  private readonly limiter: RateLimiter;
  private readonly backoff: BackoffTable;
  private readonly extraRetryable: ReadonlySet<string>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger?: CloudLogger;
  private readonly observer?: CloudObserver;
  private readonly onCredentialsRefused?: (code: string) => void;
  private readonly apiStats = new Map<string, ApiStats>();

  constructor(opts: ApiCallerOptions) {
    this.clock = opts.clock;
    this.onCredentialsRefused = opts.onCredentialsRefused;
    this.random = opts.random;
    this.logger = opts.logger;
    this.observer = opts.observer;
    this.backoff = opts.backoff;
    this.extraRetryable = new Set(opts.retryableCodes ?? []);
    this.limiter = opts.limiter instanceof RateLimiter ? opts.limiter : new RateLimiter({ ...opts.limiter, clock: this.clock });
  }

  private statFor(api: string): ApiStats {
    let s = this.apiStats.get(api);
    if (!s) {
      s = emptyStats();
      this.apiStats.set(api, s);
    }
    return s;
  }

  /**
   * One logical API call: every attempt waits for the rate limiter, is counted, and failures are
   * classified; retryable ones are retried under the API's backoff policy with the SAME request
   * object (so a ClientToken set on it is reused).
   */
  call<T>(api: string, send: () => Promise<T>, ctx: CallContext = { attempts: 0 }): Promise<T> {
    const toError = (raw: unknown): CloudError => toCloudError(raw, api, this.extraRetryable);
    return withRetry(
      async (state: RetryState) => {
        ctx.attempts = state.attempt;
        const waitedMs = await this.limiter.acquire(api);
        this.observer?.rateLimitWait?.(api, waitedMs);
        const s = this.statFor(api);
        s.calls++;
        if (state.attempt > 1) s.retries++;
        const started = performance.now();
        let failed = true;
        try {
          const res = await send();
          failed = false;
          return res;
        } catch (raw) {
          const err = toError(raw);
          s.errors++;
          if (isThrottled(err)) s.throttled++;
          if (REFUSED_CREDENTIALS.has(err.code)) this.onCredentialsRefused?.(err.code);
          throw err;
        } finally {
          const ms = performance.now() - started;
          s.totalLatencyMs += ms;
          if (ms > s.maxLatencyMs) s.maxLatencyMs = ms;
          this.observer?.apiCall?.(api, ms, failed);
        }
      },
      toError,
      this.backoff.forApi(api),
      {
        sleep: (ms) => this.clock.sleep(ms),
        random: this.random,
        onRetry: (err, retry, delayMs) =>
          this.logger?.warn(
            { api, code: err.code, requestId: err.requestId, httpStatus: err.httpStatus, retry, delayMs: Math.round(delayMs) },
            'cloud call retried',
          ),
      },
      (err) => {
        const hint = (err.cause as { retryAfter?: unknown } | undefined)?.retryAfter;
        return typeof hint === 'number' && hint > 0 ? hint : undefined;
      },
    );
  }

  /** Per API: calls = HTTP attempts sent (retries included), retries = attempts after the first, errors = failed attempts, throttled = attempts answered with throttling; latency per attempt. */
  stats(): Record<string, ApiStats> {
    const out: Record<string, ApiStats> = {};
    for (const [api, s] of this.apiStats) out[api] = { ...s };
    return out;
  }

  resetStats(): void {
    this.apiStats.clear();
  }

  rateLimiterStats(): RateLimiterStats {
    return this.limiter.stats();
  }

  /** The backoff policy in force for an API. */
  policyFor(api: string): BackoffPolicy {
    return this.backoff.forApi(api);
  }
}
