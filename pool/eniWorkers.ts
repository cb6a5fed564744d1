// Per-ENI serialized work: operations on one ENI run one after another, different ENIs in parallel.
// Each ENI also has a sequence number bumped when an operation starts and ends, so a reader that
// looked at the cloud earlier (reconcile) can tell whether an ENI changed under it.

export class EniWorkers {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly depths = new Map<string, number>();
  private readonly seqs = new Map<string, number>();

  constructor(private readonly onError: (err: unknown, eniId: string) => void) {}

  /** Queues `fn` behind the ENI's earlier work; resolves when it has run (errors go to onError). */
  run(eniId: string, fn: () => Promise<void>): Promise<void> {
    this.depths.set(eniId, (this.depths.get(eniId) ?? 0) + 1);
    this.bump(eniId);
    const prev = this.tails.get(eniId) ?? Promise.resolve();
    const tail: Promise<void> = prev
      .then(fn)
      .catch((err: unknown) => this.onError(err, eniId))
      .finally(() => {
        const d = (this.depths.get(eniId) ?? 1) - 1;
        if (d <= 0) {
          this.depths.delete(eniId);
          if (this.tails.get(eniId) === tail) this.tails.delete(eniId);
        } else this.depths.set(eniId, d);
        this.bump(eniId);
      });
    this.tails.set(eniId, tail);
    return tail;
  }

  /** Work queued or running on this ENI. */
  busy(eniId: string): boolean {
    return (this.depths.get(eniId) ?? 0) > 0;
  }

  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.seqs);
  }

  /** Busy now, or some work started or finished since `snap` was taken. */
  changedSince(snap: ReadonlyMap<string, number>, eniId: string): boolean {
    return this.busy(eniId) || (this.seqs.get(eniId) ?? 0) !== (snap.get(eniId) ?? 0);
  }

  private bump(eniId: string): void {
    this.seqs.set(eniId, (this.seqs.get(eniId) ?? 0) + 1);
  }
}
