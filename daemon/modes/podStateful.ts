// AllocIP's question "does this pod keep its IP across re-creation?", answered from the API server
// within a short bound: a slow or unreachable API server must not slow pod start, so past the
// bound (or on any error) the pod counts as not stateful. Answers are cached for a while; a lookup
// that outlives its bound still fills the cache for the next ADD of that pod.
import { isStatefulPod } from '../k8s/stateful.js';
import type { PodInfo } from '../k8s/types.js';

export interface PodStatefulness {
  isStateful(namespace: string, name: string): Promise<boolean>;
}

export interface PodStatefulnessOptions {
  getPod(namespace: string, name: string): Promise<PodInfo | undefined>;
  customStatefulKinds?: readonly string[];
  /** Bound on one lookup as AllocIP sees it. */
  timeoutMs: number;
  /** How long an answer is reused. Default 5 min. */
  cacheTtlMs?: number;
  /** Default 4096; the oldest answers go first. */
  maxEntries?: number;
  now?: () => number;
  /** Told when a lookup failed or ran past the bound (the pod was treated as not stateful). */
  onFallback?: (namespace: string, name: string, why: string) => void;
}

interface Cached {
  stateful: boolean;
  at: number;
}

const TIMED_OUT = Symbol('timedOut');

export function createPodStatefulness(opts: PodStatefulnessOptions): PodStatefulness {
  const ttl = opts.cacheTtlMs ?? 5 * 60_000;
  const max = opts.maxEntries ?? 4096;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<boolean | undefined>>();

  function remember(id: string, stateful: boolean): void {
    cache.delete(id); // re-insert: Map order is age order
    cache.set(id, { stateful, at: now() });
    for (const k of cache.keys()) {
      if (cache.size <= max) break;
      cache.delete(k);
    }
  }

  // One API call per pod at a time; resolves undefined when the pod is not found.
  function lookup(namespace: string, name: string, id: string): Promise<boolean | undefined> {
    let p = inflight.get(id);
    if (!p) {
      p = opts
        .getPod(namespace, name)
        .then((pod) => {
          if (!pod) return undefined; // not cached: the API server may not have caught up yet
          const stateful = isStatefulPod(pod, opts.customStatefulKinds);
          remember(id, stateful);
          return stateful;
        })
        .finally(() => inflight.delete(id));
      inflight.set(id, p);
    }
    return p;
  }

  return {
    async isStateful(namespace: string, name: string): Promise<boolean> {
      if (!namespace || !name) return false;
      const id = `${namespace}/${name}`;
      const hit = cache.get(id);
      if (hit && now() - hit.at < ttl) return hit.stateful;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), opts.timeoutMs);
      });
      const p = lookup(namespace, name, id);
      p.catch(() => undefined); // a late failure after the bound is not an unhandled rejection
      try {
        const r = await Promise.race([p, bound]);
        if (r === TIMED_OUT) {
          opts.onFallback?.(namespace, name, `pod lookup took longer than ${opts.timeoutMs} ms`);
          return false;
        }
        if (r === undefined) {
          opts.onFallback?.(namespace, name, 'pod not found in the API server');
          return false;
        }
        return r;
      } catch (err) {
        opts.onFallback?.(namespace, name, `pod lookup failed: ${(err as Error).message}`);
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
