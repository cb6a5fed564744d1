// The pools' timers. They only wake a pool up; what it then does is decided from its Clock, so tests
// turn them off (`timers: false`) and drive tick() / gc() with a fake clock.

/** Periodic jobs (ticker, GC), unref'd so they never keep the process alive; a failed run is logged, the next one still comes. */
export class PeriodicTimers {
  private handles: NodeJS.Timeout[] = [];

  every(ms: number, run: () => Promise<unknown> | void, onError: (err: unknown) => void): void {
    const h = setInterval(() => {
      try {
        void Promise.resolve(run()).catch(onError);
      } catch (err) {
        onError(err);
      }
    }, ms);
    h.unref();
    this.handles.push(h);
  }

  clear(): void {
    for (const h of this.handles) clearInterval(h);
    this.handles = [];
  }
}

/** One wake-up for the earliest time asked for: a later request never pushes an earlier one back. */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private at: number | undefined;

  constructor(private readonly wake: () => void) {}

  /** Wakes at clock time `at` (now given by the caller's clock); at least 1 ms from now. */
  wakeAt(at: number, now: number): void {
    if (this.timer && this.at !== undefined && this.at <= at) return;
    this.clear();
    this.at = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.at = undefined;
        this.wake();
      },
      Math.max(1, at - now),
    );
    this.timer.unref();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = undefined;
  }
}
