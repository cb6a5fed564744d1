// The seven API calls the daemon's Kubernetes client makes, as a port with two implementations: a small REST client
// over node:https (restApi.ts: the service account, or kube_api_server + token) and @kubernetes/client-node
// (clientNodeApi.ts: kubeconfig files, with every auth method a kubeconfig can name). Bodies are the API's JSON.
// Failures are thrown raw (an HTTP status + body, a socket error, an abort); client.ts turns them into KubeErrors
// naming the call (errors.ts).
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import type { EventBody } from './events.js';

export type PatchKind = 'merge' | 'strategic';

export interface KubeApi {
  readPod(namespace: string, name: string): Promise<V1Pod>;
  /** One page of pods matching the field selector, and the token of the next (none: this was the last). */
  listPods(fieldSelector: string, limit: number, cont: string | undefined): Promise<{ items: V1Pod[]; continue?: string }>;
  createEvent(namespace: string, body: EventBody): Promise<void>;
  readNode(name: string): Promise<V1Node>;
  patchNodeStatus(name: string, body: object, kind: PatchKind): Promise<void>;
  /** The node object itself (labels, annotations), not its status. */
  patchNode(name: string, body: object, kind: PatchKind): Promise<void>;
  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap>;
}
