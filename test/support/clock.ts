// The one fake clock of the test suite. It serves every clock port of the product: the pool's and the
// ENI pool's `{ now() }`, the Kubernetes event correlator's and owner check's, and the cloud client's
// Clock (daemon/cloud/clock.ts: now + sleep, for the rate limiter, backoff sleeps and attach polls).
import type { Clock } from '../../daemon/cloud/clock.js';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/** A plausible epoch-milliseconds start, so code that stamps records with now() gets real-looking times. */
export const FAKE_EPOCH_MS = 1_700_000_000_000;

/**
 * A clock that only moves when told to. Two ways to move it:
 * - `advance(ms)` (or `t += ms`): time jumps at once; sleepers now due are woken, in time order, and run
 *   afterwards, all seeing the new time. For code that only reads now().
 * - `await advanceAsync(ms)`: time walks from sleeper to sleeper, letting each woken one run (and sleep
 *   again) before the next wakes, as real time would. For code that sleeps (backoff, token buckets).
 */
export class FakeClock implements Clock {
  /** The current time in ms; tests may set it directly. */
  t: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start = FAKE_EPOCH_MS) {
    this.t = start;
  }

  /** A bound function: callers may pass `clock.now` around on its own. */
  readonly now = (): number => this.t;

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.sleepers.push({ at: this.t + ms, seq: this.seq++, resolve });
    });
  }

  /** Number of sleepers not yet woken. */
  pending(): number {
    return this.sleepers.length;
  }

  advance(ms: number): void {
    this.t += ms;
    for (let s = this.nextDue(this.t); s; s = this.nextDue(this.t)) this.wake(s);
  }

  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      const s = this.nextDue(target);
      if (!s) break;
      this.t = Math.max(this.t, s.at);
      this.wake(s);
    }
    this.t = target;
    await settle();
  }

  private nextDue(until: number): Sleeper | undefined {
    let next: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (s.at <= until && (!next || s.at < next.at || (s.at === next.at && s.seq < next.seq))) next = s;
    }
    return next;
  }

  private wake(s: Sleeper): void {
    this.sleepers.splice(this.sleepers.indexOf(s), 1);
    s.resolve();
  }
}

/** Lets pending promise continuations (and ready I/O callbacks) run. */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
