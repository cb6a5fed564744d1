// Kubernetes face of the daemon. Importing this file does not load @kubernetes/client-node; createKubeClient
// does only for a kubeconfig file (the service account and kube_api_server use the REST transport).
export type { PodInfo, NodeInfo, KubeClient, KubeClientOptions, KubeEvent, EventType, NodeCondition, WallClock } from './types.js';
export { systemWallClock, REPORTING_CONTROLLER } from './types.js';
export { KubeError, toKubeError, type KubeErrorReason } from './errors.js';
export { createKubeClient, kubeClientOver, loadClientNode, type KubeClientWithStats } from './client.js';
export type { KubeApi, PatchKind } from './api.js';
export { isStatefulPod, ANNOTATION_POD_IP_RESERVATION } from './stateful.js';
export {
  createOwnerCheck,
  ownerVerdict,
  GONE_VERDICTS,
  type OwnerCheckOptions,
  type OwnerVerdict,
  type VerdictContext,
} from './ownerCheck.js';
export {
  EventCorrelator,
  buildEventBody,
  eventKey,
  type CorrelatorOptions,
  type CorrelateDecision,
  type CorrelatorStats,
} from './events.js';
export { conditionPatch, extendedResourcePatch, kubeTime } from './nodeStatus.js';
export { kubeEventRecorder, type DaemonEventRecord } from './recorder.js';
export { LABEL_DYNAMIC_CONFIG, LABEL_EXCLUSIVE_ENI, ANNOTATION_MAX_PODS, exclusiveEniMode } from './nodeLabels.js';
