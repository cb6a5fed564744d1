// Node status patch bodies (pure). Extended resources go in with a JSON merge patch on status.capacity
// and status.allocatable; a condition goes in with a strategic merge patch, which merges the
// `conditions` list by `type` (a merge patch would replace the list and wipe kubelet's Ready).
import { KubeError } from './errors.js';
import type { NodeCondition } from './types.js';

export interface ExistingCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: Date | string;
  lastTransitionTime?: Date | string;
}

/** Kubernetes Time: RFC 3339 with whole seconds. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function timeOf(t: Date | string | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = typeof t === 'string' ? Date.parse(t) : t.getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

// Extended resource names must be domain-qualified and outside kubernetes.io (API validation rule).
const EXTENDED_RESOURCE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

export function extendedResourcePatch(
  resource: string,
  quantity: number,
): { status: { capacity: Record<string, string>; allocatable: Record<string, string> } } {
  const m = EXTENDED_RESOURCE.exec(resource);
  if (!m || m[1] === 'kubernetes.io' || m[1]!.endsWith('.kubernetes.io')) {
    throw new KubeError(0, 'Invalid', `extended resource name ${JSON.stringify(resource)} must be <domain>/<name> outside kubernetes.io`);
  }
  if (!Number.isSafeInteger(quantity) || quantity < 0) {
    throw new KubeError(0, 'Invalid', `extended resource ${resource}: quantity must be a non-negative integer, got ${quantity}`);
  }
  const q = String(quantity);
  return { status: { capacity: { [resource]: q }, allocatable: { [resource]: q } } };
}

export interface ConditionPatch {
  status: {
    conditions: Array<{
      type: string;
      status: string;
      reason: string;
      message: string;
      lastHeartbeatTime: string;
      lastTransitionTime: string;
    }>;
  };
}

/**
 * The patch that sets `cond`, or undefined when the node already says the same thing and its
 * heartbeat is younger than `heartbeatRefreshMs` (saves a write per pool tick). lastTransitionTime
 * moves only when the status flips, as kubelet does for its own conditions.
 */
export function conditionPatch(
  current: readonly ExistingCondition[] | undefined,
  cond: NodeCondition,
  now: number,
  heartbeatRefreshMs: number,
): ConditionPatch | undefined {
  const old = (current ?? []).find((c) => c.type === cond.type);
  const sameStatus = old?.status === cond.status;
  if (old && sameStatus && old.reason === cond.reason && old.message === cond.message) {
    const beat = timeOf(old.lastHeartbeatTime);
    if (beat !== undefined && now - beat < heartbeatRefreshMs) return undefined;
  }
  const oldTransition = timeOf(old?.lastTransitionTime);
  const transition = sameStatus && oldTransition !== undefined ? kubeTime(oldTransition) : kubeTime(now);
  return {
    status: {
      conditions: [
        {
          type: cond.type,
          status: cond.status,
          reason: cond.reason,
          message: cond.message,
          lastHeartbeatTime: kubeTime(now),
          lastTransitionTime: transition,
        },
      ],
    },
  };
}
