// Retries with jittered exponential backoff. Pure delay arithmetic (backoffDelay) is separate from
// the loop (withRetry) so both can be tested with a fake clock and a fixed random source.
import type { CloudError } from './types.js';

export interface BackoffPolicy {
  /** Total attempts including the first (1 = no retry). */
  attempts: number;
  /** Delay before the first retry (ms). */
  baseMs: number;
  /** Growth per retry. */
  factor: number;
  /** Upper bound of any single delay (ms), jitter included. */
  capMs: number;
  /** Extra random share of the delay: delay × (1 + jitter × random). 0 = none (as k8s wait.Backoff). */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  attempts: 5,
  baseMs: 200,
  factor: 2,
  capMs: 5_000,
  jitter: 0.5,
});

/** Delay before retry number `retry` (1 = the first retry). `random` returns [0, 1). */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number): number {
  const n = Math.max(1, retry);
  const raw = policy.baseMs * Math.pow(policy.factor, n - 1);
  const jittered = raw * (1 + Math.max(0, policy.jitter) * random());
  return Math.max(0, Math.min(policy.capMs, jittered));
}

export interface RetryHooks {
  sleep(ms: number): Promise<void>;
  random(): number;
  /** Called before each retry's sleep. */
  onRetry?(err: CloudError, retry: number, delayMs: number): void;
}

export interface RetryState {
  /** Attempts made so far (1 while the first attempt runs). */
  attempt: number;
  /** The error of the previous attempt, if any. */
  lastError?: CloudError;
}

/**
 * Runs `fn` until it succeeds, throws a non-retryable CloudError, or the attempts run out (the last
 * error is thrown). `toError` turns whatever `fn` threw into a CloudError. A throttled reply that asks
 * for a longer wait (`retryAfterMs`) is honoured up to the policy cap.
 */
export async function withRetry<T>(
  fn: (state: RetryState) => Promise<T>,
  toError: (err: unknown) => CloudError,
  policy: BackoffPolicy,
  hooks: RetryHooks,
  retryAfterMs?: (err: CloudError) => number | undefined,
): Promise<T> {
  const state: RetryState = { attempt: 0 };
  const attempts = Math.max(1, Math.floor(policy.attempts));
  for (;;) {
    state.attempt++;
    try {
      return await fn(state);
    } catch (raw) {
      const err = toError(raw);
      state.lastError = err;
      if (!err.retryable || state.attempt >= attempts) throw err;
      let delay = backoffDelay(policy, state.attempt, hooks.random);
      const hinted = retryAfterMs?.(err);
      if (hinted !== undefined && hinted > delay) delay = Math.min(policy.capMs, hinted);
      hooks.onRetry?.(err, state.attempt, delay);
      await hooks.sleep(delay);
    }
  }
}

/** Terway `backoff_override` keys (pkg/backoff) and the APIs each governs in this client. */
export const BACKOFF_KEYS = {
  default: '',
  eniCreate: 'eni_create',
  eniOps: 'eni_ops',
  eniIpOps: 'eni_ip_ops',
  waitEniStatus: 'wait_eni_status',
} as const;

export const API_BACKOFF_KEY: Readonly<Record<string, string>> = Object.freeze({
  CreateNetworkInterface: BACKOFF_KEYS.eniCreate,
  AttachNetworkInterface: BACKOFF_KEYS.eniOps,
  DetachNetworkInterface: BACKOFF_KEYS.eniOps,
  DeleteNetworkInterface: BACKOFF_KEYS.eniOps,
  AssignPrivateIpAddresses: BACKOFF_KEYS.eniIpOps,
  UnassignPrivateIpAddresses: BACKOFF_KEYS.eniIpOps,
  AssignIpv6Addresses: BACKOFF_KEYS.eniIpOps,
  UnassignIpv6Addresses: BACKOFF_KEYS.eniIpOps,
});

/**
 * One entry of Terway's `backoff_override` (a k8s wait.Backoff in JSON): Duration in nanoseconds
 * (or a Go duration string such as "500ms" / "2s"), Factor, Jitter, Steps, Cap. Keys are matched
 * case-insensitively as Go's encoding/json does.
 */
export type TerwayBackoff = Record<string, unknown>;

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("1.5s", "300ms", "1m30s") or a number of nanoseconds into milliseconds. */
export function parseGoDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v / 1e6;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.trim().matchAll(re)) {
    total += Number(m[1]) * (GO_UNITS[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  return consumed === v.trim().length ? total : undefined;
}

function field(obj: TerwayBackoff, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

/** Converts one Terway backoff entry to a BackoffPolicy, taking unspecified fields from `base`. */
export function fromTerwayBackoff(entry: TerwayBackoff, base: BackoffPolicy = DEFAULT_BACKOFF): BackoffPolicy {
  const durationMs = parseGoDurationMs(field(entry, 'Duration'));
  const capMs = parseGoDurationMs(field(entry, 'Cap'));
  const factor = field(entry, 'Factor');
  const jitter = field(entry, 'Jitter');
  const steps = field(entry, 'Steps');
  return {
    baseMs: durationMs ?? base.baseMs,
    factor: typeof factor === 'number' && factor > 0 ? factor : base.factor,
    jitter: typeof jitter === 'number' && jitter >= 0 ? jitter : base.jitter,
    attempts: typeof steps === 'number' && steps >= 1 ? Math.floor(steps) : base.attempts,
    capMs: capMs !== undefined && capMs > 0 ? capMs : base.capMs,
  };
}

/** Policies per backoff key; APIs without their own key use `default`. */
export class BackoffTable {
  private readonly byKey = new Map<string, BackoffPolicy>();

  constructor(
    readonly defaults: BackoffPolicy = DEFAULT_BACKOFF,
    overrides: Record<string, Partial<BackoffPolicy>> = {},
    terwayOverride: Record<string, TerwayBackoff> = {},
  ) {
    for (const [key, entry] of Object.entries(terwayOverride)) this.byKey.set(key, fromTerwayBackoff(entry, defaults));
    for (const [key, p] of Object.entries(overrides)) this.byKey.set(key, { ...defaults, ...(this.byKey.get(key) ?? {}), ...p });
  }

  forKey(key: string): BackoffPolicy {
    return this.byKey.get(key) ?? this.byKey.get(BACKOFF_KEYS.default) ?? this.defaults;
  }

  forApi(api: string): BackoffPolicy {
    const key = API_BACKOFF_KEY[api];
    return key !== undefined ? this.forKey(key) : this.forKey(BACKOFF_KEYS.default);
  }
}
