// V1Pod → PodInfo, from client-node's objects (timestamps as Date) or the API's JSON (timestamps as strings).
// Type-only import: erased at run time, so this file does not load client-node.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodInfo } from './types.js';

/** One form for both: ISO 8601 with milliseconds (what Date#toISOString gives). */
function iso(d: Date | string | undefined): string | undefined {
  if (d === undefined || d === null) return undefined;
  const ms = typeof d === 'string' ? Date.parse(d) : d.getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export function toPodInfo(pod: V1Pod): PodInfo {
  const meta = pod.metadata ?? {};
  const owners = meta.ownerReferences ?? [];
  // The controller reference decides the workload kind; fall back to the first owner.
  const owner = owners.find((o) => o.controller) ?? owners[0];
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    nodeName: pod.spec?.nodeName || undefined,
    ownerKind: owner?.kind || undefined,
    annotations: { ...(meta.annotations ?? {}) },
    phase: pod.status?.phase || undefined,
    deletionTimestamp: iso(meta.deletionTimestamp),
    createdAt: iso(meta.creationTimestamp),
    hostNetwork: pod.spec?.hostNetwork === true,
  };
}
