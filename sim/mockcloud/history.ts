// What DescribeNetworkInterfaces saw a moment ago: the ENIs after each change, kept only as long as a
// listing lag can reach back. The real listing is eventually consistent; with a lag of N ms the mock
// answers with the state as of N ms before the request (the newest snapshot not younger than that).
import type { EniState } from './world.js';

interface Snapshot {
  at: number;
  enis: EniState[];
}

export class ListingHistory {
  private snapshots: Snapshot[] = [];
  private lagMs = 0;

  get lag(): number {
    return this.lagMs;
  }

  /** Starts (or stops, with 0) keeping history; `current` is the baseline a lagged listing falls back to. */
  setLag(ms: number, now: number, current: Iterable<EniState>): void {
    this.lagMs = Math.max(0, ms);
    this.snapshots = [];
    if (this.lagMs > 0) this.record(now, current);
  }

  /** The ENIs right after a change at `now`. */
  record(now: number, enis: Iterable<EniState>): void {
    if (this.lagMs === 0) return;
    this.snapshots.push({ at: now, enis: structuredClone([...enis]) });
    // Keep the newest snapshot at or before (now - lag) and everything after it.
    const horizon = now - this.lagMs;
    let keepFrom = 0;
    for (let i = 0; i < this.snapshots.length; i++) if (this.snapshots[i]!.at <= horizon) keepFrom = i;
    if (keepFrom > 0) this.snapshots = this.snapshots.slice(keepFrom);
  }

  /** The ENIs as a listing at `now` sees them, or undefined when listings are current. */
  asSeenAt(now: number): EniState[] | undefined {
    if (this.lagMs === 0 || this.snapshots.length === 0) return undefined;
    const horizon = now - this.lagMs;
    let pick = this.snapshots[0]!;
    for (const s of this.snapshots) if (s.at <= horizon) pick = s;
    return pick.enis;
  }
}
