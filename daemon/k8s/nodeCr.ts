// The per-node custom resource of centralized IPAM (`ipam_type: crd`): Terway's
// `nodes.network.alibabacloud.com` (v1beta1, cluster-scoped, one per Kubernetes node, same name), with
// Terway's field names where Terway has the field. The CRD is charts/eni-ipam/crds/; docs/ARCHITECTURE.md
// ("Centralized IPAM") gives the protocol. Who writes what (each writer re-applies only its own fields onto
// the latest object and writes it back with its resourceVersion; a 409 means: read again, re-apply):
//
//   spec.nodeMetadata, spec.eni, spec.pool        node daemon   (its eni_conf and instance metadata)
//   spec.nodeCap                                  controller    (DescribeInstanceTypes: the node holds no credentials)
//   status.networkInterfaces[*] and their ipv4[*]  controller    (ENIs and IPs as the cloud has them; `status` of each)
//     … ipv4[*].podID, ipv4[*].use                node daemon   (who holds the IP, and the release acknowledgement)
//   status.cloudOperations                        controller    (creates / assigns in flight, by ClientToken)
//   status.lastSyncOpenAPITime, allocation         controller
//   status.demand                                 node daemon   (pods waiting for an IP)
import type { KubeObject, ResourceRef } from './objects.js';

export const NODE_CR: ResourceRef = {
  group: 'network.alibabacloud.com',
  version: 'v1beta1',
  plural: 'nodes',
  kind: 'Node',
  namespaced: false,
};

export interface NodeCr extends KubeObject {
  spec: NodeCrSpec;
  status?: NodeCrStatus;
}

export interface NodeCrSpec {
  nodeMetadata: { regionID: string; instanceType: string; instanceID: string; zoneID: string };
  /** Instance type limits (Terway's names): ENIs per instance and IPv4 per ENI, primary ones included. */
  nodeCap?: { adapters: number; ipv4PerAdapter: number; ipv6PerAdapter?: number };
  eni: {
    /** vSwitches for new ENIs, in preference order. */
    vSwitchOptions: string[];
    securityGroupIDs: string[];
    vSwitchSelectPolicy: 'ordered' | 'random';
    /** Extra tags on ENIs made for this node (the creator and node tags are always added). */
    tag?: Record<string, string>;
    tagFilter?: Record<string, string>;
    enableIPv4: boolean;
    // Ours (eni_conf keys Terway keeps on the node): which ENI new IPs go to, and the ENI quota as the node counts it.
    eniSelectionPolicy?: 'most_ips' | 'least_ips';
    /** Secondary ENIs at most (Terway `max_eni`); 0 = the instance type's limit. */
    maxENI?: number;
    /** Secondary ENIs kept even when idle (Terway `min_eni`; min_pool_size follows from it). */
    minENI?: number;
    /** Terway `eni_cap_ratio` (a decimal string, as the reclaim jitter factor) and `eni_cap_shift`. */
    eniCapRatio?: string;
    eniCapShift?: number;
  };
  pool: {
    maxPoolSize: number;
    minPoolSize: number;
    /** Go durations / numbers, as Terway's reclaim policy. */
    reclaim?: { after?: string; interval?: string; batchSize?: number; jitterFactor?: string };
  };
}

/** Controller: Valid → Reclaiming (asks the node) → Deleting (the node agreed; unassign in flight) → gone. Invalid: the cloud no longer has it. */
export type CrIpStatus = 'Valid' | 'Reclaiming' | 'Deleting' | 'Invalid';
/** Node: what the IP is to the node; absent = free. `released` acknowledges Reclaiming: the node will never hand it out again. */
export type CrIpUse = 'assigned' | 'cooling' | 'reserved' | 'released';

export interface CrIp {
  ip: string;
  /** The ENI's own primary address: on a secondary ENI a pod address that leaves only with its ENI; on eth0 the node's. */
  primary: boolean;
  status: CrIpStatus;
  /** `namespace/name` of the pod holding it (use assigned) or reserved for (use reserved). */
  podID?: string;
  use?: CrIpUse;
}

export type CrEniStatus = 'Attaching' | 'InUse' | 'Deleting';

export interface CrNic {
  id: string;
  status: CrEniStatus;
  macAddress: string;
  vSwitchID: string;
  securityGroupIDs: string[];
  primaryIPAddress: string;
  ipv4CIDR: string;
  networkInterfaceType: 'Primary' | 'Secondary';
  /** RFC 3339: when it was created (or adopted). */
  creationTime?: string;
  ipv4: Record<string, CrIp>;
}

/** A CreateNetworkInterface or AssignPrivateIpAddresses in flight, recorded before the call under its ClientToken. */
export interface CrCloudOperation {
  api: 'CreateNetworkInterface' | 'AssignPrivateIpAddresses';
  /** Assign: the ENI. Create: the ENI it made, once made (the record stays until that ENI is InUse). */
  eniID?: string;
  /** Create: the vSwitch. */
  vSwitchID?: string;
  /** Secondary IPs asked for. */
  count: number;
  /** Create: IPs the new ENI is to bring in all (after its attach). */
  expectIps?: number;
  startedAt: string;
}

export interface NodeCrStatus {
  networkInterfaces?: Record<string, CrNic>;
  cloudOperations?: Record<string, CrCloudOperation>;
  /** Set by the controller once it has reconciled this node with the cloud: until then the node keeps its own view. */
  lastSyncOpenAPITime?: string;
  /** Why the controller cannot give this node more IPs now (exhaustion: waiting does not help). */
  allocation?: { blocked: boolean; code?: string; message?: string; until?: string };
  /** Node: pods waiting for an IP, and since when the oldest waits. */
  demand?: { waitingPods: number; waitingSince?: string };
}

/**
 * The addresses of an ENI pods may hold (ADR 0007): every address of a secondary ENI, its own primary one
 * included; of the instance's primary ENI (eth0) none but those an older version gave pods (they keep them
 * until they go), never the node's own address.
 */
export function podAddresses(nic: CrNic): CrIp[] {
  const all = Object.values(nic.ipv4 ?? {});
  return nic.networkInterfaceType === 'Primary' ? all.filter((ip) => !ip.primary) : all;
}

/** A fresh Node CR (no status: the controller fills it). */
export function newNodeCr(name: string, spec: NodeCrSpec): NodeCr {
  return { apiVersion: `${NODE_CR.group}/${NODE_CR.version}`, kind: NODE_CR.kind, metadata: { name }, spec };
}

/** RFC 3339 with milliseconds. */
export function crTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function crTimeMs(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
