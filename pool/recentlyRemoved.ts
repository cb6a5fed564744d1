// What a pool removed a moment ago (unassigned IPs, deleted ENIs), with until when a cloud listing of
// it is taken as stale: DescribeNetworkInterfaces is eventually consistent, so reconcile must not adopt
// it again within the cooldown (AWS ipReconcileCooldown).

export class RecentlyRemoved {
  private readonly until = new Map<string, number>();

  note(ids: Iterable<string>, until: number): void {
    for (const id of ids) this.until.set(id, until);
  }

  /** Ours again for sure (the cloud just handed it to us). */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.until.delete(id);
  }

  has(id: string): boolean {
    return this.until.has(id);
  }

  endOf(id: string): number | undefined {
    return this.until.get(id);
  }

  /** Drops entries whose cooldown is over. */
  prune(now: number): void {
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id);
  }
}

/**
 * What a pool got from the cloud a moment ago (IPs assigned, ENIs created and attached), with until
 * when a listing that lacks it is taken as stale: the same eventual consistency, the other way round.
 */
export class RecentlyAdded extends RecentlyRemoved {}
