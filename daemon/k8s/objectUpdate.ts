// Optimistic read-modify-write of one object: apply the writer's own fields onto the latest copy and write
// it back with that copy's resourceVersion. A 409 Conflict means someone else wrote in between: read again
// and re-apply (their fields are kept, ours are applied again), so no write of either side is ever lost.
import { KubeError } from './errors.js';
import type { KubeObject, ObjectApi } from './objects.js';

export interface UpdateOptions<T extends KubeObject> {
  name: string;
  namespace?: string;
  /** `status`: the status subresource (replaceStatus); `main`: the object (replace). */
  target: 'status' | 'main';
  /** A copy believed current (e.g. from a watch cache); read from the server when absent or when it conflicts. */
  current?: T;
  /** Returns the object to write (it may modify its argument, a private copy), or undefined when nothing needs writing. */
  mutate(cur: T): T | undefined;
  /** Conflicts tolerated before giving up (the caller retries later). Default 16. */
  maxConflicts?: number;
}

/** Resolves with the object as written (or the current one when nothing needed writing). Rejects with KubeError. */
export async function updateObject<T extends KubeObject>(
  api: Pick<ObjectApi<T>, 'get' | 'replace' | 'replaceStatus'>,
  o: UpdateOptions<T>,
): Promise<T> {
  let cur = o.current;
  for (let conflicts = 0; ;) {
    if (!cur) {
      cur = await api.get(o.name, o.namespace);
      if (!cur) throw new KubeError(404, 'NotFound', `${o.name} not found`);
    }
    const next = o.mutate(structuredClone(cur));
    if (!next) return cur;
    next.metadata = { ...next.metadata, resourceVersion: cur.metadata.resourceVersion };
    try {
      return o.target === 'status' ? await api.replaceStatus(next) : await api.replace(next);
    } catch (err) {
      if (!(err instanceof KubeError) || err.status !== 409 || ++conflicts > (o.maxConflicts ?? 16)) throw err;
      cur = undefined;
    }
  }
}
