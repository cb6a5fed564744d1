// Any API object (custom resources, Leases) as plain JSON: the shape of the generic object client both the
// node daemon's crd mode and the controller build their narrow ports on. The semantics are the API
// server's: every write carries metadata.resourceVersion and fails with 409 Conflict when the object moved
// on; a watch starts at a resourceVersion, sends BOOKMARKs, and ends with an ERROR 410 (Expired / Gone)
// when that version is too old, after which the caller lists again (reflector.ts).

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Where a kind of object lives in the API (`/apis/{group}/{version}/[namespaces/{ns}/]{plural}`). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** Nothing changed for this watch up to `resourceVersion`: a later watch may start there. */
  | { type: 'BOOKMARK'; resourceVersion: string }
  /** The watch ended with this Status (410: the version is too old, list again). */
  | { type: 'ERROR'; code: number; reason: string; message: string };

export interface ListResult<T> {
  items: T[];
  /** The list's own resourceVersion: a watch from here misses nothing. */
  resourceVersion: string;
}

export interface WatchOptions {
  resourceVersion: string;
  namespace?: string;
  /** `metadata.name=X` (the API server's field selector for one object). */
  fieldSelector?: string;
}

export interface WatchHandle {
  stop(): void;
}

/** The generic object client. Every method rejects with a KubeError (status + reason) on failure. */
export interface ObjectApi<T extends KubeObject> {
  list(opts?: { namespace?: string; fieldSelector?: string }): Promise<ListResult<T>>;
  /** Events in order; `onClose` once, when the watch ends for any reason (an ERROR event comes first when there is one). */
  watch(opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): WatchHandle;
  /** undefined on 404. */
  get(name: string, namespace?: string): Promise<T | undefined>;
  /** 409 AlreadyExists when the name is taken. With a status subresource the body's status is ignored. */
  create(obj: T): Promise<T>;
  /** Optimistic: 409 Conflict unless metadata.resourceVersion is current. With a status subresource, status is left as it is. */
  replace(obj: T): Promise<T>;
  /** The status subresource: only `status` is taken from the body; 409 Conflict unless metadata.resourceVersion is current. */
  replaceStatus(obj: T): Promise<T>;
  delete(name: string, namespace?: string): Promise<void>;
}

export function apiVersionOf(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `metadata.name=X`, the selector a node uses to watch its own object. */
export function nameSelector(name: string): string {
  return `metadata.name=${name}`;
}

/** The name a `metadata.name=X` selector picks (other selectors: undefined). */
export function selectedName(fieldSelector: string | undefined): string | undefined {
  if (!fieldSelector) return undefined;
  const m = /^metadata\.name==?(.+)$/.exec(fieldSelector.trim());
  return m?.[1];
}

/** JSON with object keys sorted: equal for equal objects whatever order the server kept the keys in. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
