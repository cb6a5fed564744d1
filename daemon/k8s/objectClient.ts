// ObjectApi (objects.ts) over @kubernetes/client-node: CustomObjectsApi for the verbs (plain JSON, any API
// group, no discovery) and its Watch for the streams. Loaded lazily like the rest of daemon/k8s.
import { TokenBucket } from '../cloud/ratelimit.js';
import { apiConfiguration, buildKubeConfig, loadClientNode } from './clientNodeApi.js';
import { KubeError, toKubeError } from './errors.js';
import type { KubeObject, ListResult, ObjectApi, ResourceRef, WatchEvent, WatchHandle, WatchOptions } from './objects.js';
import type { KubeClientOptions } from './types.js';

/** A watch is closed by the server after about this long (client-go's reflector asks for 5-10 min); the reflector re-watches. */
const WATCH_TIMEOUT_S = 300;

export interface ObjectClientFactory {
  /** The generic client of one kind of object, sharing this factory's connection settings and flow control. */
  objects<T extends KubeObject>(resource: ResourceRef): ObjectApi<T>;
}

/** A factory of ObjectApi clients for one cluster (kubeconfig / in-cluster / server + token, as createKubeClient). */
export async function createObjectClients(opts: KubeClientOptions): Promise<ObjectClientFactory> {
  const k8s = await loadClientNode();
  const kc = buildKubeConfig(k8s, opts);
  const api = new k8s.CustomObjectsApi(apiConfiguration(k8s, kc, opts.requestTimeoutMs ?? 10_000));
  const limiter = new TokenBucket({ ratePerSec: opts.qps ?? 20, burst: opts.burst ?? 30 });
  const watcher = new k8s.Watch(kc);
  return { objects: (r) => objectApi(api, watcher, limiter, r) };
}

type CustomObjects = InstanceType<Awaited<ReturnType<typeof loadClientNode>>['CustomObjectsApi']>;
type Watcher = InstanceType<Awaited<ReturnType<typeof loadClientNode>>['Watch']>;

function objectApi<T extends KubeObject>(api: CustomObjects, watcher: Watcher, limiter: TokenBucket, r: ResourceRef): ObjectApi<T> {
  const base = { group: r.group, version: r.version, plural: r.plural };
  const ns = (namespace: string | undefined): string => {
    if (r.namespaced && !namespace) throw new KubeError(0, 'Invalid', `${r.plural}: a namespace is required`);
    return namespace ?? '';
  };
  async function call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    await limiter.take();
    try {
      return await fn();
    } catch (err) {
      throw toKubeError(err, what);
    }
  }
  const path = (namespace?: string): string =>
    `/apis/${r.group}/${r.version}/${r.namespaced ? `namespaces/${ns(namespace)}/` : ''}${r.plural}`;

  return {
    async list(opts = {}) {
      const res = (await call(`list ${r.plural}`, () =>
        r.namespaced
          ? api.listNamespacedCustomObject({ ...base, namespace: ns(opts.namespace), fieldSelector: opts.fieldSelector })
          : api.listClusterCustomObject({ ...base, fieldSelector: opts.fieldSelector }),
      )) as { items?: T[]; metadata?: { resourceVersion?: string } };
      return { items: res.items ?? [], resourceVersion: res.metadata?.resourceVersion ?? '' } satisfies ListResult<T>;
    },

    watch(opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void, onClose: (err?: Error) => void): WatchHandle {
      let stopped = false;
      let abort: AbortController | undefined;
      let closed = false;
      const close = (err?: Error): void => {
        if (closed) return;
        closed = true;
        onClose(err);
      };
      const query = {
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_TIMEOUT_S,
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      };
      void limiter
        .take()
        .then(() =>
          watcher.watch(
            path(opts.namespace),
            query,
            (type: string, object: unknown) => {
              if (stopped) return;
              onEvent(toWatchEvent<T>(type, object));
            },
            (err: unknown) => close(err ? toKubeError(err, `watch ${r.plural}`) : undefined),
          ),
        )
        .then((a) => {
          abort = a;
          if (stopped) a.abort();
        })
        .catch((err: unknown) => close(toKubeError(err, `watch ${r.plural}`)));
      return {
        stop() {
          stopped = true;
          abort?.abort();
          close();
        },
      };
    },

    async get(name, namespace) {
      try {
        return (await call(`get ${r.plural}/${name}`, () =>
          r.namespaced
            ? api.getNamespacedCustomObject({ ...base, namespace: ns(namespace), name })
            : api.getClusterCustomObject({ ...base, name }),
        )) as T;
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) return undefined;
        throw err;
      }
    },

    async create(obj) {
      return (await call(`create ${r.plural}/${obj.metadata.name}`, () =>
        r.namespaced
          ? api.createNamespacedCustomObject({ ...base, namespace: ns(obj.metadata.namespace), body: obj })
          : api.createClusterCustomObject({ ...base, body: obj }),
      )) as T;
    },

    async replace(obj) {
      const name = obj.metadata.name;
      return (await call(`replace ${r.plural}/${name}`, () =>
        r.namespaced
          ? api.replaceNamespacedCustomObject({ ...base, namespace: ns(obj.metadata.namespace), name, body: obj })
          : api.replaceClusterCustomObject({ ...base, name, body: obj }),
      )) as T;
    },

    async replaceStatus(obj) {
      const name = obj.metadata.name;
      return (await call(`replace ${r.plural}/${name}/status`, () =>
        r.namespaced
          ? api.replaceNamespacedCustomObjectStatus({ ...base, namespace: ns(obj.metadata.namespace), name, body: obj })
          : api.replaceClusterCustomObjectStatus({ ...base, name, body: obj }),
      )) as T;
    },

    async delete(name, namespace) {
      try {
        await call(`delete ${r.plural}/${name}`, () =>
          r.namespaced
            ? api.deleteNamespacedCustomObject({ ...base, namespace: ns(namespace), name })
            : api.deleteClusterCustomObject({ ...base, name }),
        );
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) return;
        throw err;
      }
    },
  };
}

/** A watch line as the API server sends it → WatchEvent. */
export function toWatchEvent<T>(type: string, object: unknown): WatchEvent<T> {
  const o = (object ?? {}) as { metadata?: { resourceVersion?: string }; code?: number; reason?: string; message?: string };
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, object: object as T };
    case 'BOOKMARK':
      return { type, resourceVersion: o.metadata?.resourceVersion ?? '' };
    default:
      return { type: 'ERROR', code: o.code ?? 500, reason: o.reason ?? 'InternalError', message: o.message ?? `watch event ${type}` };
  }
}
