// Attach and detach complete asynchronously in the cloud. A node daemon polls its one ENI; the controller
// has many in transit at once, so it asks about all of them in one DescribeNetworkInterfaces (100 ids a
// page) every poll period: the cost of waiting no longer grows with the number of nodes.
import type { Eni } from '../pool/cloud.js';
import type { ControllerCloud } from './ports.js';

export type PollOutcome = 'done' | 'failed' | 'gone' | 'timeout';

interface Waiter {
  eniId: string;
  want: 'InUse' | 'Available';
  instanceId?: string;
  deadline: number;
  /** Seen in transit (Attaching / Detaching): a later return to where it started means the cloud gave up. */
  seenTransit: boolean;
  /** Polls that found it still where it started. */
  atOrigin: number;
  resolve(o: PollOutcome): void;
}

export interface EniPollerOptions {
  cloud: Pick<ControllerCloud, 'describeNetworkInterfaces'>;
  pollMs: number;
  timeoutMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  log: { warn(obj: object, msg?: string): void };
}

export class EniPoller {
  private readonly waiters = new Map<string, Waiter>();
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Describe rounds made (tests, metrics). */
  rounds = 0;

  constructor(private readonly o: EniPollerOptions) {}

  /** Resolves when the ENI reaches `want` (on `instanceId` for InUse), went back, vanished, or the time ran out. */
  wait(eniId: string, want: 'InUse' | 'Available', instanceId?: string): Promise<PollOutcome> {
    if (this.stopped) return Promise.resolve('timeout');
    return new Promise((resolve) => {
      this.waiters.get(eniId)?.resolve('timeout'); // one waiter per ENI: the newest wins
      this.waiters.set(eniId, {
        eniId,
        want,
        instanceId,
        deadline: this.o.now() + this.o.timeoutMs,
        seenTransit: false,
        atOrigin: 0,
        resolve,
      });
      this.running ??= this.loop().finally(() => (this.running = undefined));
    });
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.waiters.values()) w.resolve('timeout');
    this.waiters.clear();
  }

  get size(): number {
    return this.waiters.size;
  }

  private async loop(): Promise<void> {
    while (this.waiters.size > 0 && !this.stopped) {
      await this.o.sleep(this.o.pollMs);
      const ids = [...this.waiters.keys()];
      if (ids.length === 0) break;
      let listed: Eni[];
      try {
        this.rounds++;
        listed = await this.o.cloud.describeNetworkInterfaces({ eniIds: ids });
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, enis: ids.length }, 'polling ENI states failed');
        this.expire();
        continue;
      }
      const byId = new Map(listed.map((e) => [e.eniId, e]));
      for (const id of ids) {
        const w = this.waiters.get(id);
        if (!w) continue;
        const outcome = judge(w, byId.get(id));
        if (outcome) {
          this.waiters.delete(id);
          w.resolve(outcome);
        }
      }
      this.expire();
    }
  }

  private expire(): void {
    const now = this.o.now();
    for (const [id, w] of this.waiters)
      if (now >= w.deadline) {
        this.waiters.delete(id);
        w.resolve('timeout');
      }
  }
}

function judge(w: Waiter, e: Eni | undefined): PollOutcome | undefined {
  if (!e) return 'gone';
  if (e.status === w.want && (w.want === 'Available' || e.instanceId === w.instanceId)) return 'done';
  const transit = w.want === 'InUse' ? 'Attaching' : 'Detaching';
  const origin = w.want === 'InUse' ? 'Available' : 'InUse';
  if (e.status === transit) w.seenTransit = true;
  // Back where it started after being in transit, or never seen leaving it: the cloud gave up on the call.
  else if (e.status === origin && (w.seenTransit || ++w.atOrigin >= 3)) return 'failed';
  return undefined;
}
