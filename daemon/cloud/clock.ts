// Time source for the cloud client: the rate limiter, backoff sleeps and poll deadlines all read it,
// so tests can drive them with a fake clock instead of real sleeping.

export interface Clock {
  /** Milliseconds, monotonic enough for rate limiting (the system clock uses performance.now()). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms: number) => (ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms))),
};

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/** A clock that only moves when told to. Sleepers wake in time order as `advance()` passes them. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.timers.push({ at: this.t + ms, seq: this.seq++, resolve });
    });
  }

  /** Number of sleepers not yet woken. */
  pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, waking each sleeper at its own instant and letting the woken code run
   * (and possibly sleep again) before the next one wakes.
   */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      let next: Timer | undefined;
      for (const tm of this.timers) {
        if (tm.at <= target && (!next || tm.at < next.at || (tm.at === next.at && tm.seq < next.seq))) next = tm;
      }
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    this.t = target;
    await settle();
  }
}

/** Lets pending promise continuations (and ready I/O callbacks) run. */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
