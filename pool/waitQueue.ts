// FIFO queue of allocation requests waiting for an IP, each bounded by its own deadline.
// One waiter per key: a repeated request for a key that is already waiting shares its promise.

interface Waiter<R, T> {
  key: string;
  req: R;
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class WaitQueue<R, T> {
  private readonly list: Waiter<R, T>[] = [];
  private readonly byKey = new Map<string, Waiter<R, T>>();

  get length(): number {
    return this.list.length;
  }

  /** The promise of the request already waiting under `key`, if any. */
  pending(key: string): Promise<T> | undefined {
    return this.byKey.get(key)?.promise;
  }

  /** Queues a request; it fails with `onDeadline()` unless served within `deadlineMs`. */
  enqueue(key: string, req: R, deadlineMs: number, onDeadline: () => Error): Promise<T> {
    const existing = this.byKey.get(key);
    if (existing) return existing.promise;
    let resolve!: (v: T) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w: Waiter<R, T> = { key, req, promise, resolve, reject, timer: setTimeout(() => this.settle(w, onDeadline()), deadlineMs) };
    this.list.push(w);
    this.byKey.set(key, w);
    return promise;
  }

  /** Serves waiters oldest first while `serve` yields a result; a throwing `serve` fails that waiter only. */
  drain(serve: (req: R, key: string) => T | undefined): void {
    while (this.list.length > 0) {
      const w = this.list[0]!;
      let v: T | undefined;
      try {
        v = serve(w.req, w.key);
      } catch (err) {
        this.settle(w, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (v === undefined) return;
      this.settle(w, undefined, v);
    }
  }

  fail(key: string, err: Error): boolean {
    const w = this.byKey.get(key);
    if (!w) return false;
    this.settle(w, err);
    return true;
  }

  /** Fails the `n` most recent waiters (the older ones are served by what is already on its way). */
  failNewest(n: number, err: () => Error): number {
    const victims = n > 0 ? this.list.slice(-n) : [];
    for (const w of victims) this.settle(w, err());
    return victims.length;
  }

  failAll(err: () => Error): void {
    for (const w of [...this.list]) this.settle(w, err());
  }

  private settle(w: Waiter<R, T>, err: Error | undefined, value?: T): void {
    clearTimeout(w.timer);
    const i = this.list.indexOf(w);
    if (i >= 0) this.list.splice(i, 1);
    if (this.byKey.get(w.key) === w) this.byKey.delete(w.key);
    if (err) w.reject(err);
    else w.resolve(value as T);
  }
}
