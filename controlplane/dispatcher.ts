// Cluster-wide flow control: one rate limiter per cloud account (daemon/cloud's RateLimiter: the shared
// bucket plus Terway's per-API buckets), and a priority order over the work of every node. A call is
// started only when its tokens are there, so calls never queue up inside the limiter in arrival order: at
// each token the most urgent work goes (nodes with pods waiting, the longest waiting first; then refills to
// the low watermark; then reclaim; then cluster hygiene). Work whose API has no token left is skipped for
// work on another API that has one.
import type { RateLimiter } from '../daemon/cloud/ratelimit.js';

export interface Candidate {
  /** The API its first call spends a token of. */
  api: string;
  /** Starts the work; false when it turned out to have nothing to do. */
  launch(): boolean;
}

export interface DispatcherOptions {
  limiter: Pick<RateLimiter, 'bucket'>;
  /** The work ready now, most urgent first. */
  candidates(): Iterable<Candidate>;
  /** Waits (real time in production). */
  sleep(ms: number): Promise<void>;
  onError(err: unknown): void;
}

export class Dispatcher {
  private running = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  /** Tokens promised to launched work whose call has not taken them yet, per API and in all. */
  private readonly reserved = new Map<string, number>();
  private reservedAll = 0;
  private loop: Promise<void> | undefined;
  /** Work launched so far (tests, metrics). */
  launched = 0;

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run().catch((err: unknown) => this.o.onError(err));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Something changed: look at the work again. */
  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Launched work is about to make its call (it takes its token now); releases the promise made at launch. */
  spend(api: string): void {
    const n = this.reserved.get(api) ?? 0;
    if (n <= 0) return;
    this.reserved.set(api, n - 1);
    this.reservedAll--;
  }

  /** ms until a call of `api` finds a token in the shared bucket and its own (0: now), counting promised ones. */
  tokenWait(api: string): number {
    let wait = 0;
    for (const [b, promised] of [
      [this.o.limiter.bucket(), this.reservedAll],
      [this.o.limiter.bucket(api), this.reserved.get(api) ?? 0],
    ] as const) {
      if (!b || b.unlimited) continue;
      const missing = 1 + promised - b.available();
      if (missing > 0) wait = Math.max(wait, (missing * 1000) / b.ratePerSec);
    }
    return wait;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let soonest = Infinity;
      let launched = false;
      for (const c of this.o.candidates()) {
        const wait = this.tokenWait(c.api);
        if (wait > 0) {
          soonest = Math.min(soonest, wait);
          continue;
        }
        this.reserved.set(c.api, (this.reserved.get(c.api) ?? 0) + 1);
        this.reservedAll++;
        let ok = false;
        try {
          ok = c.launch();
        } catch (err) {
          this.o.onError(err);
        }
        if (ok) {
          launched = true;
          this.launched++;
          break;
        }
        this.spend(c.api);
      }
      if (launched) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (this.woken) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        if (soonest < Infinity) void this.o.sleep(Math.ceil(soonest)).then(() => this.wake());
      });
    }
  }
}
