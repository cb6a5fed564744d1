// The daemon's narrow view of Kubernetes. Nothing here mentions @kubernetes/client-node, so the pool and
// the daemon never see its types (and never pay its load cost unless Kubernetes is configured).

/** The few pod fields the daemon decides on. */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string;
  /** Kind of the controller owner reference (StatefulSet, ReplicaSet, Job, ...). */
  ownerKind?: string;
  annotations: Record<string, string>;
  phase?: string;
  /** RFC 3339; set once the pod is terminating. */
  deletionTimestamp?: string;
  /** RFC 3339 creation timestamp. */
  createdAt?: string;
  hostNetwork: boolean;
}

export type EventType = 'Normal' | 'Warning';

export interface KubeEvent {
  target: 'Pod' | 'Node';
  /** The pod's namespace; ignored for Node events (they are written to `default`, as kubelet does). */
  namespace?: string;
  name: string;
  /**
   * The involved object's uid. `kubectl describe pod` selects events by uid, so for Pod events the
   * client looks the uid up when it is not given. Node events use the node name, as kubelet does.
   */
  uid?: string;
  type: EventType;
  reason: string;
  message: string;
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface KubeClient {
  /** undefined when the pod does not exist (404). */
  getPod(namespace: string, name: string): Promise<PodInfo | undefined>;
  /** All pods bound to the node (fieldSelector spec.nodeName=). */
  listNodePods(nodeName: string): Promise<PodInfo[]>;
  /** core/v1 Event from reporting controller `eni-ipam`; identical events within the window are folded. */
  recordEvent(ev: KubeEvent): Promise<void>;
  /** Sets capacity and allocatable of an extended resource on the node (e.g. `aliyun/eni` in VPCENI). */
  setNodeExtendedResource(nodeName: string, resource: string, quantity: number): Promise<void>;
  /** Upserts one node condition (e.g. SufficientIP), keeping lastTransitionTime while the status holds. */
  setNodeCondition(nodeName: string, cond: NodeCondition): Promise<void>;
  /** The node's labels and annotations; undefined when it does not exist (404). */
  getNode(nodeName: string): Promise<NodeInfo | undefined>;
  /** Sets annotations on the node (a merge patch of metadata.annotations; null removes one). */
  annotateNode(nodeName: string, annotations: Record<string, string | null>): Promise<void>;
  /** A ConfigMap's data; undefined when it does not exist (404). */
  getConfigMapData(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface KubeClientOptions {
  /** Path of a kubeconfig file. */
  kubeconfig?: string;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST/PORT + /var/run/secrets/kubernetes.io/serviceaccount). */
  inCluster?: boolean;
  /** API server URL; with `token` this needs no file. `http://` is accepted (tests, local proxies). */
  server?: string;
  token?: string;
  /** CA bundle for an https `server` (default: the system roots). */
  caFile?: string;
  /** Per request; default 10 s. */
  requestTimeoutMs?: number;
  /** Client-side flow control (Terway `kube_client_qps` / `kube_client_burst`). Defaults 20 / 30. */
  qps?: number;
  burst?: number;
  /** This node's name, written into Event source.host / reportingInstance. */
  nodeName?: string;
  /** Event folding window (ms). Default 10 min, as client-go's correlator. */
  eventDedupeWindowMs?: number;
  /** Wall clock for event timestamps and the folding window (ms since epoch). */
  clock?: WallClock;
}

/** Wall-clock time source (ms since epoch): pod timestamps come from the API server in wall time. */
export interface WallClock {
  now(): number;
}

export const systemWallClock: WallClock = { now: () => Date.now() };

/** The reporting controller / source component on every Event this daemon writes. */
export const REPORTING_CONTROLLER = 'eni-ipam';
