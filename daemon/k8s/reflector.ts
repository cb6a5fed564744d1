// A reflector, as client-go's: LIST, then WATCH from the list's resourceVersion, keeping a cache of the
// objects. BOOKMARKs move the resume point without an object; a watch that ends (server timeout, network)
// resumes from the last version seen; an ERROR 410 (the version is too old: the server compacted its history)
// means events were lost, so it LISTs again and reports what changed in between as upserts and deletes.
import type { KubeObject, ObjectApi, WatchEvent } from './objects.js';

export type ListWatch<T extends KubeObject> = Pick<ObjectApi<T>, 'list' | 'watch'>;

export interface ReflectorHandlers<T> {
  /** An object appeared or changed (`old` is the cached copy, if any). */
  onUpsert?(obj: T, old: T | undefined): void;
  onDelete?(obj: T): void;
  /** A LIST completed: the cache holds exactly the server's objects (the first one marks `synced`). */
  onSynced?(): void;
}

export interface ReflectorOptions<T> {
  namespace?: string;
  fieldSelector?: string;
  handlers: ReflectorHandlers<T>;
  /** First retry delay after a failed LIST or watch; doubles up to 30 s. Default 500 ms. */
  retryMs?: number;
  onError?(err: Error, what: 'list' | 'watch'): void;
}

const MAX_RETRY_MS = 30_000;

function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

export class Reflector<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private rv = '';
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private handle: { stop(): void } | undefined;
  private failures = 0;
  /** True once a LIST has completed. */
  synced = false;
  /** LISTs done (the first, and one after each 410); for tests and metrics. */
  lists = 0;

  constructor(
    private readonly api: ListWatch<T>,
    private readonly opts: ReflectorOptions<T>,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.handle?.stop();
    this.handle = undefined;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** The version the next watch resumes from. */
  get resourceVersion(): string {
    return this.rv;
  }

  private later(fn: () => void): void {
    const delay = Math.min(MAX_RETRY_MS, (this.opts.retryMs ?? 500) * 2 ** Math.min(this.failures, 10));
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) fn();
    }, delay);
    this.timer.unref();
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let res;
    try {
      res = await this.api.list({ namespace: this.opts.namespace, fieldSelector: this.opts.fieldSelector });
    } catch (err) {
      this.opts.onError?.(err as Error, 'list');
      this.later(() => void this.relist());
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    this.lists++;
    const seen = new Set<string>();
    for (const o of res.items) {
      const k = keyOf(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (!old || old.metadata.resourceVersion !== o.metadata.resourceVersion) this.opts.handlers.onUpsert?.(o, old);
    }
    for (const [k, o] of [...this.cache]) {
      if (seen.has(k)) continue;
      this.cache.delete(k);
      this.opts.handlers.onDelete?.(o);
    }
    this.rv = res.resourceVersion;
    this.synced = true;
    this.opts.handlers.onSynced?.();
    this.watch();
  }

  private watch(): void {
    if (this.stopped) return;
    let expired = false;
    this.handle = this.api.watch(
      { resourceVersion: this.rv, namespace: this.opts.namespace, fieldSelector: this.opts.fieldSelector },
      (e) => {
        if (this.onEvent(e)) expired = true;
      },
      (err) => {
        this.handle = undefined;
        if (this.stopped) return;
        if (expired) {
          void this.relist();
          return;
        }
        if (err) {
          this.opts.onError?.(err, 'watch');
          this.later(() => this.watch());
          return;
        }
        this.failures = 0;
        this.watch(); // the server closed it on its timeout: resume where it ended
      },
    );
  }

  /** Applies one event; true when the watch expired (410) and a LIST is needed. */
  private onEvent(e: WatchEvent<T>): boolean {
    switch (e.type) {
      case 'BOOKMARK':
        if (e.resourceVersion) this.rv = e.resourceVersion;
        return false;
      case 'ERROR':
        if (e.code === 410) return true;
        this.opts.onError?.(new Error(`watch error ${e.code} ${e.reason}: ${e.message}`), 'watch');
        return false;
      case 'DELETED': {
        this.failures = 0;
        const k = keyOf(e.object);
        this.rv = e.object.metadata.resourceVersion ?? this.rv;
        this.cache.delete(k);
        this.opts.handlers.onDelete?.(e.object);
        return false;
      }
      default: {
        this.failures = 0;
        const k = keyOf(e.object);
        const old = this.cache.get(k);
        this.rv = e.object.metadata.resourceVersion ?? this.rv;
        this.cache.set(k, e.object);
        this.opts.handlers.onUpsert?.(e.object, old);
        return false;
      }
    }
  }
}
