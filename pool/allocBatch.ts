// Group commit for allocations: requests that arrive in the same event-loop turn (a burst of AllocIP calls
// read from the socket together) are collected and flushed together in the next check phase (setImmediate):
// each takes its IP in memory in arrival order, all of them are committed in ONE pod-DB transaction, and
// only then is any of their promises resolved. Durable before the reply, one commit for the whole group.
// A failed commit takes every IP of the group back and fails the group.

import type { StoreOp } from './store.js';

/** An address taken in memory whose ops still have to be committed. */
export interface StagedAssign<T> {
  ops: StoreOp[];
  result: T;
  /** Gives the address back in memory (the commit failed). */
  undo(): void;
}

/** What the batch needs of its owner (the pool); all synchronous but `wait`. */
export interface AllocBatchPorts<R, T> {
  /** Takes an address for `req` in memory; undefined when it must wait (none free, or older requests wait). */
  stage(key: string, req: R): StagedAssign<T> | undefined;
  /** Commits ops in one transaction, durable when it returns; throws when it failed. */
  commit(ops: StoreOp[]): void;
  /** Queues `req` behind the requests already waiting for an address. */
  wait(key: string, req: R): Promise<T>;
  /** After each flush (e.g. plan a refill). */
  flushed(): void;
}

interface Pending<R, T> {
  req: R;
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

export class AllocBatch<R, T> {
  private pending = new Map<string, Pending<R, T>>();
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly ports: AllocBatchPorts<R, T>) {}

  /** Requests queued for the next flush. */
  get size(): number {
    return this.pending.size;
  }

  /** The promise of the request already queued under `key`, if any. */
  promiseOf(key: string): Promise<T> | undefined {
    return this.pending.get(key)?.promise;
  }

  /** Queues a request for this turn's flush; one per key (a repeat shares the first one's promise). */
  add(key: string, req: R): Promise<T> {
    const existing = this.pending.get(key);
    if (existing) return existing.promise;
    let resolve!: (v: T) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(key, { req, promise, resolve, reject });
    this.scheduled ??= setImmediate(() => this.flush());
    return promise;
  }

  /** Fails the request queued under `key` (released before it was served). */
  fail(key: string, err: Error): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    this.pending.delete(key);
    p.reject(err);
    return true;
  }

  failAll(err: () => Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err());
  }

  private flush(): void {
    this.scheduled = undefined;
    const entries = [...this.pending];
    this.pending.clear();
    let staged: { p: Pending<R, T>; assign: StagedAssign<T> }[] = [];
    for (const [key, p] of entries) {
      let assign: StagedAssign<T> | undefined;
      try {
        assign = this.ports.stage(key, p.req);
      } catch (err) {
        p.reject(asError(err)); // that request only, as a waiter whose serve throws
        continue;
      }
      if (assign) staged.push({ p, assign });
      else this.ports.wait(key, p.req).then(p.resolve, p.reject);
    }
    if (staged.length > 0) {
      try {
        this.ports.commit(staged.flatMap((s) => s.assign.ops));
      } catch (err) {
        for (const s of [...staged].reverse()) s.assign.undo();
        for (const s of staged) s.p.reject(asError(err));
        staged = [];
      }
    }
    for (const s of staged) s.p.resolve(s.assign.result);
    if (entries.length > 0) this.ports.flushed();
  }
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
