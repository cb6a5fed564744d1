// KubeApi over @kubernetes/client-node, for kubeconfig files (any auth method a kubeconfig names: tokens, client
// certificates, exec plugins). The library (~1 s and ~60 MiB to load: its generated API models) is imported lazily,
// on the first call, so a daemon configured otherwise never loads it.
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { KubeApi } from './api.js';
import { KubeError } from './errors.js';
import type { KubeClientOptions } from './types.js';

type ClientNode = typeof import('@kubernetes/client-node');

let loading: Promise<ClientNode> | undefined;

/** Loads client-node once (dynamic import; later calls share the module). */
export function loadClientNode(): Promise<ClientNode> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/**
 * The connection settings as client-node takes them: kube_api_server (+ token, CA), a kubeconfig file, or the pod's
 * service account. The daemon's own calls use it only for a kubeconfig file; the Node-resource and Lease clients
 * (objectClient.ts: CustomObjectsApi and Watch) always do.
 */
export function buildKubeConfig(k8s: ClientNode, opts: KubeClientOptions): KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (opts.server) {
      // client-node refuses http:// unless TLS verification is off; it has no TLS to verify there anyway.
      const plain = opts.server.startsWith('http:');
      kc.loadFromClusterAndUser(
        { name: 'eni-ipam', server: opts.server, skipTLSVerify: plain, ...(opts.caFile ? { caFile: opts.caFile } : {}) },
        { name: 'eni-ipam', ...(opts.token ? { token: opts.token } : {}) },
      );
    } else if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
    } else if (opts.inCluster) {
      if (!process.env.KUBERNETES_SERVICE_HOST) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
      kc.loadFromCluster();
    } else {
      throw new KubeError(0, 'NotConfigured', 'kubernetes client: give server (+token), kubeconfig or inCluster');
    }
  } catch (err) {
    if (err instanceof KubeError) throw err;
    throw new KubeError(0, 'NotConfigured', `kubernetes client config: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new KubeError(0, 'NotConfigured', 'kubernetes client config: no current cluster');
  return kc;
}

/** The generated clients' configuration: the cluster's server, its auth, and a deadline on every request. */
export function apiConfiguration(k8s: ClientNode, kc: KubeConfig, timeoutMs: number): ReturnType<ClientNode['createConfiguration']> {
  return k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(kc.getCurrentCluster()!.server, {}),
    authMethods: { default: kc },
    // Abort each request past the deadline (node-fetch honours the signal).
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return ctx;
        },
        post: async (res) => res,
      },
    ],
  });
}

export async function clientNodeApi(kubeconfig: string, timeoutMs: number): Promise<KubeApi> {
  const k8s = await loadClientNode();
  const kc = buildKubeConfig(k8s, { kubeconfig });
  const config = apiConfiguration(k8s, kc, timeoutMs);
  const core = new k8s.CoreV1Api(config);
  const patchHeader = {
    merge: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    strategic: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  };
  // Errors go up as client-node throws them (ApiException, node-fetch errors): client.ts names the call.
  return {
    readPod: (namespace, name) => core.readNamespacedPod({ namespace, name }),
    listPods: async (fieldSelector, limit, cont) => {
      const page = await core.listPodForAllNamespaces({ fieldSelector, limit, ...(cont ? { _continue: cont } : {}) });
      return { items: page.items, continue: page.metadata?._continue || undefined };
    },
    createEvent: async (namespace, body) => {
      await core.createNamespacedEvent({ namespace, body });
    },
    readNode: (name) => core.readNode({ name }),
    patchNodeStatus: async (name, body, kind) => {
      await core.patchNodeStatus({ name, body }, patchHeader[kind]);
    },
    patchNode: async (name, body, kind) => {
      await core.patchNode({ name, body }, patchHeader[kind]);
    },
    readConfigMap: (namespace, name) => core.readNamespacedConfigMap({ namespace, name }),
  };
}
