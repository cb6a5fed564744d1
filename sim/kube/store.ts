// The in-memory API server's store: objects with the semantics that matter to controllers, the same ones
// etcd + kube-apiserver give:
//   - one cluster-wide resourceVersion, bumped by every write; an update carrying a stale one is refused
//     with 409 Conflict (custom resources must carry one: an update without it is 422 Invalid);
//   - the status subresource: a main-resource update keeps the stored status, a status update keeps the
//     stored spec and metadata (and bumps no generation); create ignores a status in the body;
//   - watches from a resourceVersion replay what happened after it in order, then stream live events;
//     BOOKMARKs when asked; a version older than the kept history answers ERROR 410 (Expired), as after
//     a compaction, and the client must list again;
//   - metadata.name / metadata.namespace field selectors.
// Used in-process (objectApi(): the bench's 1,000 nodes) and over HTTP (server.ts: @kubernetes/client-node).
import { randomUUID } from 'node:crypto';
import { KubeError } from '../../daemon/k8s/errors.js';
import {
  apiVersionOf,
  type KubeObject,
  type ListResult,
  type ObjectApi,
  type ResourceRef,
  type WatchEvent,
  type WatchHandle,
} from '../../daemon/k8s/objects.js';

export interface StoredResource extends ResourceRef {
  statusSubresource: boolean;
  /** An update may omit metadata.resourceVersion (core kinds, Leases); custom resources may not. */
  unconditionalUpdate: boolean;
}

/** The kinds the rig serves out of the box. */
export const LEASES: StoredResource = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
  statusSubresource: false,
  unconditionalUpdate: true,
};

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'updateStatus' | 'delete';

type Json = Record<string, unknown>;
type Obj = KubeObject & Json;

interface HistoryEntry {
  rv: number;
  res: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  res: string;
  namespace?: string;
  name?: string;
  bookmarks: boolean;
  queue: WatchEvent<Obj>[];
  scheduled: boolean;
  closed: boolean;
  closeNotified: boolean;
  closeErr?: Error;
  onEvent(e: WatchEvent<Obj>): void;
  onClose(err?: Error): void;
}

export interface StoreStats {
  /** Successful writes per verb (create, update, updateStatus, delete). */
  writes: Record<string, number>;
  /** Writes refused with 409 Conflict (stale resourceVersion). */
  conflicts: number;
  /** Watches answered with 410 (too old a version). */
  expired: number;
}

const resKey = (r: Pick<ResourceRef, 'group' | 'plural'>): string => `${r.group}/${r.plural}`;
const objKey = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);

function parseSelector(sel: string | undefined): { name?: string; namespace?: string } {
  const out: { name?: string; namespace?: string } = {};
  for (const term of (sel ?? '').split(',').filter(Boolean)) {
    const m = /^metadata\.(name|namespace)==?(.*)$/.exec(term.trim());
    if (!m) throw new KubeError(400, 'BadRequest', `field label not supported: ${term}`);
    out[m[1] as 'name' | 'namespace'] = m[2];
  }
  return out;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class ApiStore {
  private rv = 1;
  private readonly resources = new Map<string, StoredResource>();
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history: HistoryEntry[] = [];
  /** Watches from a version below this are answered with 410. */
  private oldestRv = 1;
  private readonly watchers = new Set<Watcher>();
  private readonly faults: { verb: Verb | '*'; plural?: string; status: number; reason: string; count: number }[] = [];
  private unreachable = false;
  /** Events kept for watches that resume; older ones are compacted away (410). */
  historyLimit = 100_000;
  readonly stats: StoreStats = { writes: {}, conflicts: 0, expired: 0 };

  constructor(resources: StoredResource[] = []) {
    this.register(LEASES);
    for (const r of resources) this.register(r);
  }

  register(r: StoredResource): void {
    this.resources.set(resKey(r), r);
    if (!this.objects.has(resKey(r))) this.objects.set(resKey(r), new Map());
  }

  resource(group: string, plural: string): StoredResource | undefined {
    return this.resources.get(`${group}/${plural}`);
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  // ---- faults ------------------------------------------------------------------------------

  /** The next `count` calls of `verb` (on `plural`, or any) fail with this HTTP status. */
  failNext(verb: Verb | '*', status: number, opts: { count?: number; plural?: string; reason?: string } = {}): void {
    this.faults.push({
      verb,
      plural: opts.plural,
      status,
      reason: opts.reason ?? (status === 409 ? 'Conflict' : status >= 500 ? 'InternalError' : 'BadRequest'),
      count: opts.count ?? 1,
    });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** While down every call fails as a connection would (no HTTP answer), and open watches end. */
  setUnreachable(down: boolean): void {
    this.unreachable = down;
    if (down) for (const w of [...this.watchers]) this.closeWatcher(w, new KubeError(0, 'Unreachable', 'API server unreachable'));
  }

  /** Drops the history: every watch resuming from before now gets 410 and must list again. Open watches end too. */
  compact(): void {
    this.history.length = 0;
    this.oldestRv = this.rv + 1;
    this.closeWatches();
  }

  /** Ends every open watch cleanly (the API server's watch timeout, or a restart). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.closeWatcher(w);
  }

  /** Sends a BOOKMARK at the current version to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) if (w.bookmarks) this.enqueue(w, { type: 'BOOKMARK', resourceVersion: String(this.rv) });
  }

  private check(verb: Verb, r: ResourceRef): void {
    if (this.unreachable) throw new KubeError(0, 'Unreachable', 'API server unreachable');
    const i = this.faults.findIndex((f) => (f.verb === verb || f.verb === '*') && (!f.plural || f.plural === r.plural));
    if (i < 0) return;
    const f = this.faults[i]!;
    if (--f.count <= 0) this.faults.splice(i, 1);
    throw new KubeError(f.status, f.reason, `injected ${f.status} on ${verb} ${r.plural}`);
  }

  private def(r: Pick<ResourceRef, 'group' | 'plural'>): StoredResource {
    const d = this.resources.get(resKey(r));
    if (!d) throw new KubeError(404, 'NotFound', `the server could not find the requested resource (${r.group}/${r.plural})`);
    return d;
  }

  private table(r: Pick<ResourceRef, 'group' | 'plural'>): Map<string, Obj> {
    return this.objects.get(resKey(this.def(r)))!;
  }

  private notFound(r: ResourceRef, name: string): KubeError {
    return new KubeError(404, 'NotFound', `${r.plural}.${r.group} "${name}" not found`);
  }

  // ---- verbs (synchronous; objects in and out are copies) -----------------------------------

  get(r: ResourceRef, name: string, namespace?: string): Obj | undefined {
    this.check('get', r);
    const o = this.table(r).get(objKey(namespace, name));
    return o && structuredClone(o);
  }

  list(r: ResourceRef, opts: { namespace?: string; fieldSelector?: string } = {}): ListResult<Obj> {
    this.check('list', r);
    const sel = parseSelector(opts.fieldSelector);
    const ns = opts.namespace ?? sel.namespace;
    const items = [...this.table(r).values()]
      .filter((o) => (ns === undefined || o.metadata.namespace === ns) && (sel.name === undefined || o.metadata.name === sel.name))
      .map((o) => structuredClone(o));
    return { items, resourceVersion: String(this.rv) };
  }

  create(r: ResourceRef, body: Obj): Obj {
    this.check('create', r);
    const d = this.def(r);
    const name = body.metadata?.name;
    if (!name) throw new KubeError(422, 'Invalid', `${d.kind}: metadata.name: Required value`);
    const namespace = d.namespaced ? body.metadata.namespace : undefined;
    if (d.namespaced && !namespace) throw new KubeError(422, 'Invalid', `${d.kind}: metadata.namespace: Required value`);
    const t = this.table(d);
    const k = objKey(namespace, name);
    if (t.has(k)) throw new KubeError(409, 'AlreadyExists', `${d.plural}.${d.group} "${name}" already exists`);
    const obj = structuredClone(body);
    if (d.statusSubresource) delete obj['status'];
    obj.apiVersion = apiVersionOf(d);
    obj.kind = d.kind;
    obj.metadata = {
      ...obj.metadata,
      name,
      ...(namespace ? { namespace } : {}),
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      generation: 1,
      resourceVersion: this.bump(),
    };
    t.set(k, obj);
    this.record(d, 'ADDED', obj, 'create');
    return structuredClone(obj);
  }

  /** PUT of the object: metadata and spec from the body; with a status subresource, status stays as stored. */
  update(r: ResourceRef, body: Obj): Obj {
    this.check('update', r);
    const d = this.def(r);
    const old = this.precondition(d, body);
    const obj = structuredClone(body);
    if (d.statusSubresource) obj['status'] = structuredClone(old['status']);
    const specChanged = !sameJson(old['spec'], obj['spec']);
    obj.apiVersion = old.apiVersion;
    obj.kind = old.kind;
    obj.metadata = {
      ...obj.metadata,
      name: old.metadata.name,
      ...(old.metadata.namespace ? { namespace: old.metadata.namespace } : {}),
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      generation: (old.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      resourceVersion: this.bump(),
    };
    this.table(d).set(objKey(old.metadata.namespace, old.metadata.name), obj);
    this.record(d, 'MODIFIED', obj, 'update');
    return structuredClone(obj);
  }

  /** PUT of the status subresource: only status is taken from the body. */
  updateStatus(r: ResourceRef, body: Obj): Obj {
    this.check('updateStatus', r);
    const d = this.def(r);
    if (!d.statusSubresource) throw new KubeError(404, 'NotFound', `${d.plural} has no status subresource`);
    const old = this.precondition(d, body);
    const obj: Obj = { ...structuredClone(old), status: structuredClone(body['status']) };
    obj.metadata = { ...obj.metadata, resourceVersion: this.bump() };
    this.table(d).set(objKey(old.metadata.namespace, old.metadata.name), obj);
    this.record(d, 'MODIFIED', obj, 'updateStatus');
    return structuredClone(obj);
  }

  delete(r: ResourceRef, name: string, namespace?: string): void {
    this.check('delete', r);
    const d = this.def(r);
    const k = objKey(d.namespaced ? namespace : undefined, name);
    const old = this.table(d).get(k);
    if (!old) throw this.notFound(d, name);
    this.table(d).delete(k);
    const gone: Obj = { ...old, metadata: { ...old.metadata, resourceVersion: this.bump() } };
    this.record(d, 'DELETED', gone, 'delete');
  }

  /** The stored object an update replaces; 409 when the body's resourceVersion is stale. */
  private precondition(d: StoredResource, body: Obj): Obj {
    const name = body.metadata?.name ?? '';
    const old = this.table(d).get(objKey(d.namespaced ? body.metadata.namespace : undefined, name));
    if (!old) throw this.notFound(d, name);
    const rv = body.metadata.resourceVersion;
    if (!rv && !d.unconditionalUpdate)
      throw new KubeError(
        422,
        'Invalid',
        `${d.kind} "${name}": metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      );
    if (rv && rv !== old.metadata.resourceVersion) {
      this.stats.conflicts++;
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${d.plural}.${d.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return old;
  }

  private bump(): string {
    this.rv++;
    return String(this.rv);
  }

  private record(d: StoredResource, type: HistoryEntry['type'], object: Obj, verb: string): void {
    this.stats.writes[verb] = (this.stats.writes[verb] ?? 0) + 1;
    const entry: HistoryEntry = { rv: this.rv, res: resKey(d), type, object };
    this.history.push(entry);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.oldestRv = dropped[dropped.length - 1]!.rv + 1;
    }
    for (const w of this.watchers) if (this.matches(w, entry)) this.enqueue(w, { type, object: structuredClone(object) });
  }

  // ---- watch ---------------------------------------------------------------------------------

  watch(
    r: ResourceRef,
    opts: { resourceVersion: string; namespace?: string; fieldSelector?: string; bookmarks?: boolean },
    onEvent: (e: WatchEvent<Obj>) => void,
    onClose: (err?: Error) => void,
  ): WatchHandle {
    const d = this.def(r);
    const sel = parseSelector(opts.fieldSelector);
    const w: Watcher = {
      res: resKey(d),
      namespace: opts.namespace ?? sel.namespace,
      name: sel.name,
      bookmarks: opts.bookmarks ?? true,
      queue: [],
      scheduled: false,
      closed: false,
      closeNotified: false,
      onEvent,
      onClose,
    };
    try {
      this.check('watch', r);
    } catch (err) {
      queueMicrotask(() => onClose(err as Error));
      return { stop: () => {} };
    }
    const from = opts.resourceVersion;
    if (from === '' || from === '0') {
      // "Any version": the current objects as ADDED, then what follows.
      for (const o of this.table(d).values())
        if (this.matches(w, { res: w.res, object: o })) this.enqueue(w, { type: 'ADDED', object: structuredClone(o) });
    } else {
      const n = Number(from);
      if (!Number.isFinite(n) || n + 1 < this.oldestRv) {
        this.stats.expired++;
        this.enqueue(w, {
          type: 'ERROR',
          code: 410,
          reason: 'Expired',
          message: `too old resource version: ${from} (${this.oldestRv - 1})`,
        });
        this.closeWatcher(w);
        return { stop: () => this.closeWatcher(w, undefined, true) };
      }
      for (const h of this.history)
        if (h.rv > n && this.matches(w, h)) this.enqueue(w, { type: h.type, object: structuredClone(h.object) });
    }
    this.watchers.add(w);
    return { stop: () => this.closeWatcher(w, undefined, true) };
  }

  /** Open watches (tests). */
  get watchCount(): number {
    return this.watchers.size;
  }

  private matches(w: Watcher, h: { res: string; object: Obj }): boolean {
    return (
      h.res === w.res &&
      (w.namespace === undefined || h.object.metadata.namespace === w.namespace) &&
      (w.name === undefined || h.object.metadata.name === w.name)
    );
  }

  private enqueue(w: Watcher, e: WatchEvent<Obj>): void {
    if (w.closed) return;
    w.queue.push(e);
    this.schedule(w);
  }

  /** Delivery is asynchronous (as over a connection) and in order; the close comes after the queued events. */
  private schedule(w: Watcher): void {
    if (w.scheduled) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      for (const e of w.queue.splice(0)) w.onEvent(e);
      if (w.closed && !w.closeNotified) {
        w.closeNotified = true;
        w.onClose(w.closeErr);
      }
    });
  }

  /** Ends a watch: the server side delivers what is queued first; a client's stop() drops it. */
  private closeWatcher(w: Watcher, err?: Error, drop = false): void {
    if (w.closed) return;
    w.closed = true;
    w.closeErr = err;
    this.watchers.delete(w);
    if (drop) w.queue.length = 0;
    this.schedule(w);
  }

  // ---- the in-process client ---------------------------------------------------------------

  /** An ObjectApi straight onto the store: each call resolves on a later turn, as over a connection. */
  objectApi<T extends KubeObject>(r: ResourceRef): ObjectApi<T> {
    const later = <R>(fn: () => R): Promise<R> =>
      new Promise<R>((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(fn());
          } catch (err) {
            reject(err as Error);
          }
        }),
      );
    const asObj = (o: T): Obj => o as unknown as Obj;
    return {
      list: (opts) => later(() => this.list(r, opts) as unknown as ListResult<T>),
      watch: (opts, onEvent, onClose) =>
        this.watch(r, { ...opts, bookmarks: true }, onEvent as unknown as (e: WatchEvent<Obj>) => void, onClose),
      get: async (name, namespace) => {
        try {
          return (await later(() => this.get(r, name, namespace))) as T | undefined;
        } catch (err) {
          if (err instanceof KubeError && err.status === 404) return undefined;
          throw err;
        }
      },
      create: (obj) => later(() => this.create(r, asObj(obj)) as unknown as T),
      replace: (obj) => later(() => this.update(r, asObj(obj)) as unknown as T),
      replaceStatus: (obj) => later(() => this.updateStatus(r, asObj(obj)) as unknown as T),
      delete: async (name, namespace) => {
        try {
          await later(() => this.delete(r, name, namespace));
        } catch (err) {
          if (err instanceof KubeError && err.status === 404) return;
          throw err;
        }
      },
    };
  }
}
