// What the controller needs of the world, declared here because the controller owns these ports:
//   Kubernetes: its Node resources (list / watch / read / write status with a resourceVersion) and a Lease
//     (leader election). Implemented by @kubernetes/client-node (daemon/k8s/objectClient.ts) in production,
//     by the in-memory API server in tests and the scale bench (sim/kube/).
//   The cloud: the pool's port (pool/cloud.ts) plus what only a cluster-wide owner does: an attach / detach
//     it does not wait for (it polls many ENIs in one call), a VPC-wide listing, and whether instances still
//     exist. Implemented by daemon/cloud (AliyunCloud) over the Alibaba SDKs.
import type { NodeCr } from '../daemon/k8s/nodeCr.js';
import type { KubeObject, ObjectApi } from '../daemon/k8s/objects.js';
import type { ApiStats } from '../daemon/cloud/types.js';
import type { PoolCloud } from '../pool/cloud.js';

export type NodeCrStore = Pick<ObjectApi<NodeCr>, 'list' | 'watch' | 'get' | 'replace' | 'replaceStatus' | 'delete'>;

/** coordination.k8s.io/v1 Lease (times are RFC 3339 MicroTime). */
export interface Lease extends KubeObject {
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export type LeaseStore = Pick<ObjectApi<Lease>, 'get' | 'create' | 'replace'>;

export interface ControllerCloud extends Pick<
  PoolCloud,
  | 'createNetworkInterface'
  | 'deleteNetworkInterface'
  | 'assignPrivateIpAddresses'
  | 'unassignPrivateIpAddresses'
  | 'describeNetworkInterfaces'
  | 'describeInstanceTypeLimits'
  | 'describeVSwitches'
> {
  /** wait: false resolves once the cloud accepted the call; the controller polls the status of many ENIs at once. */
  attachNetworkInterface(eniId: string, instanceId: string, opts?: { wait?: boolean }): Promise<void>;
  detachNetworkInterface(eniId: string, instanceId: string, opts?: { wait?: boolean }): Promise<void>;
  /** The subset of these instances that exist. */
  existingInstances(instanceIds: string[]): Promise<Set<string>>;
  /** Per-API counters (metrics, the bench). */
  stats(): Record<string, ApiStats>;
}
