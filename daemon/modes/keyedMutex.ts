// Serializes work per key (a pod key): calls for one key run one after another in arrival order;
// calls for different keys run in parallel. Entries vanish when their queue drains.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs fn once every earlier call for `key` has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    try {
      await prev;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a running or queued call. */
  get size(): number {
    return this.tails.size;
  }
}
