// Node condition SufficientIP (Terway): False / InsufficientIP when an allocation fails for lack of
// IPs, back to True / SufficientIP once allocations succeed and no exhaustion was seen for `holdMs`
// (Terway holds it 10 minutes). Writes are best effort and skipped when nothing changed.
import type { NodeCondition } from '../k8s/types.js';

export const SUFFICIENT_IP_CONDITION = 'SufficientIP';

export interface IpConditionOptions {
  write(cond: NodeCondition): Promise<void>;
  /** Default 10 min. */
  holdMs?: number;
  /** While False, a new exhaustion re-writes the message at most this often. Default 1 min. */
  refreshMs?: number;
  now?: () => number;
  onError?: (err: Error) => void;
}

export class IpConditionReporter {
  private readonly holdMs: number;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private reported?: 'True' | 'False';
  private lastWriteAt = -Infinity;
  private lastExhaustedAt?: number;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: IpConditionOptions) {
    this.holdMs = opts.holdMs ?? 10 * 60_000;
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** An allocation failed: the node has no IP to give. */
  exhausted(message: string): Promise<void> {
    const now = this.now();
    this.lastExhaustedAt = now;
    if (this.reported === 'False' && now - this.lastWriteAt < this.refreshMs) return this.writing;
    return this.set({ type: SUFFICIENT_IP_CONDITION, status: 'False', reason: 'InsufficientIP', message });
  }

  /** An allocation succeeded (or the pool has free IPs). */
  sufficient(): Promise<void> {
    if (this.reported === 'True') return this.writing;
    if (this.lastExhaustedAt !== undefined && this.now() - this.lastExhaustedAt < this.holdMs) return this.writing;
    return this.set({ type: SUFFICIENT_IP_CONDITION, status: 'True', reason: 'SufficientIP', message: 'pod IPs are available' });
  }

  /** Resolves when the last write settled (tests, shutdown). */
  settled(): Promise<void> {
    return this.writing;
  }

  private set(cond: NodeCondition): Promise<void> {
    this.reported = cond.status;
    this.lastWriteAt = this.now();
    const run = async (): Promise<void> => {
      try {
        await this.opts.write(cond);
      } catch (err) {
        // Unknown now: the next call writes again.
        if (this.reported === cond.status) this.reported = undefined;
        this.opts.onError?.(err as Error);
      }
    };
    this.writing = this.writing.then(run);
    return this.writing;
  }
}
