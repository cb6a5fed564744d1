// Time source for the cloud client: the rate limiter, backoff sleeps and poll deadlines all read it,
// so tests can drive them with a fake clock (test/support/clock.ts) instead of real sleeping.

export interface Clock {
  /** Milliseconds, monotonic enough for rate limiting (the system clock uses performance.now()). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms: number) => (ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms))),
};
