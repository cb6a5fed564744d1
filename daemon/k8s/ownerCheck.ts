// Pool GC's question "is the pod behind this allocation gone?", answered from the API server.
// The verdict is a pure function; the I/O is one LIST of the node's pods plus a GET to confirm each
// pod missing from it. Any API error answers "nothing is gone": an IP is never released on doubt.
import type { IpAllocation, OwnerCheck } from '../../pool/types.js';
import { toKubeError, type KubeError } from './errors.js';
import { isStatefulPod } from './stateful.js';
import { systemWallClock, type KubeClient, type PodInfo, type WallClock } from './types.js';

export type OwnerVerdict =
  | 'young' // allocated less than graceMs ago: an ADD may still be in flight; keep
  | 'alive'
  | 'missing' // 404
  | 'uidMismatch' // a pod of that name exists but it is another object
  | 'otherNode' // a pod of that name is bound elsewhere: ours is gone (nodeName never changes)
  | 'recreated' // created after the allocation (beyond clock skew): a new pod with the old name
  | 'completed'; // Succeeded/Failed and not stateful: its sandbox is dead, the IP can go back

export const GONE_VERDICTS: ReadonlySet<OwnerVerdict> = new Set(['missing', 'uidMismatch', 'otherNode', 'recreated', 'completed']);

export interface VerdictContext {
  nodeName: string;
  now: number;
  graceMs: number;
  clockSkewMs: number;
  customStatefulKinds?: readonly string[];
  /** The pod uid stored with the allocation, if the daemon records one. */
  expectedUid?: string;
}

export function ownerVerdict(alloc: IpAllocation, pod: PodInfo | undefined, ctx: VerdictContext): OwnerVerdict {
  if (ctx.now - alloc.allocatedAt < ctx.graceMs) return 'young';
  if (!pod) return 'missing';
  if (ctx.expectedUid && pod.uid && pod.uid !== ctx.expectedUid) return 'uidMismatch';
  if (pod.nodeName && pod.nodeName !== ctx.nodeName) return 'otherNode';
  const created = pod.createdAt ? Date.parse(pod.createdAt) : NaN;
  if (!Number.isNaN(created) && created > alloc.allocatedAt + ctx.clockSkewMs) return 'recreated';
  if ((pod.phase === 'Succeeded' || pod.phase === 'Failed') && !isStatefulPod(pod, ctx.customStatefulKinds)) return 'completed';
  return 'alive';
}

export interface OwnerCheckOptions {
  nodeName: string;
  /** Allocations younger than this are never reported gone. */
  graceMs: number;
  clock?: WallClock;
  customStatefulKinds?: readonly string[];
  /**
   * Tolerated skew between the API server's clock and this node's when spotting a re-created pod
   * (creationTimestamp after allocatedAt). Default 2 min; larger only delays cleanup.
   */
  clockSkewMs?: number;
  /** Pod uid recorded with an allocation, when the daemon keeps one. */
  uidOf?: (alloc: IpAllocation) => string | undefined;
  /** Told about API errors (which make the check answer "nothing is gone"). */
  onError?: (err: KubeError) => void;
  /** Told about each allocation reported gone, with the reason. */
  onGone?: (alloc: IpAllocation, verdict: OwnerVerdict) => void;
}

const podId = (namespace: string, name: string): string => `${namespace}/${name}`;

export function createOwnerCheck(kube: KubeClient, opts: OwnerCheckOptions): OwnerCheck {
  const clock = opts.clock ?? systemWallClock;
  const clockSkewMs = opts.clockSkewMs ?? 120_000;
  return {
    async goneOwners(allocs: IpAllocation[]): Promise<IpAllocation[]> {
      const now = clock.now();
      const old = allocs.filter((a) => now - a.allocatedAt >= opts.graceMs);
      if (old.length === 0) return [];
      const pods = new Map<string, PodInfo | undefined>();
      try {
        for (const p of await kube.listNodePods(opts.nodeName)) pods.set(podId(p.namespace, p.name), p);
        // Absent from the node's list: confirm with a GET (a same-name pod elsewhere, or really gone).
        for (const a of old) {
          const id = podId(a.namespace, a.name);
          if (!pods.has(id)) pods.set(id, await kube.getPod(a.namespace, a.name));
        }
      } catch (err) {
        opts.onError?.(toKubeError(err, 'owner check'));
        return [];
      }
      const gone: IpAllocation[] = [];
      for (const a of old) {
        const verdict = ownerVerdict(a, pods.get(podId(a.namespace, a.name)), {
          nodeName: opts.nodeName,
          now,
          graceMs: opts.graceMs,
          clockSkewMs,
          customStatefulKinds: opts.customStatefulKinds,
          expectedUid: opts.uidOf?.(a),
        });
        if (GONE_VERDICTS.has(verdict)) {
          gone.push(a);
          opts.onGone?.(a, verdict);
        }
      }
      return gone;
    },
  };
}
