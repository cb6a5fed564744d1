// Whether and how the daemon talks to Kubernetes: config keys + the pod's environment -> client
// options. Pure (the environment is passed in); reading the token file is the caller's I/O.
import type { KubeClientOptions } from '../k8s/types.js';
import type { DaemonConfig } from './types.js';

export type KubeSource = 'kube_api_server' | 'kubeconfig' | 'in-cluster';

export type KubeSettings =
  | { enabled: false; why: string }
  | {
      enabled: true;
      source: KubeSource;
      /** Without `token`: the caller reads `tokenFile` into it. */
      clientOptions: Omit<KubeClientOptions, 'token' | 'clock'>;
      tokenFile?: string;
      /** Unset when neither node_name nor env NODE_NAME gives one: no GC by pod existence, no node events. */
      nodeName?: string;
    };

/** node_name, else env NODE_NAME (the chart sets it from spec.nodeName). */
export function nodeNameOf(config: Pick<DaemonConfig, 'nodeName'>, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return config.nodeName ?? (env['NODE_NAME']?.trim() || undefined);
}

/** Precedence as the client's: kube_api_server, then kubeconfig, then the pod's service account. */
export function resolveKubeSettings(config: DaemonConfig, env: Readonly<Record<string, string | undefined>>): KubeSettings {
  const common = {
    qps: config.kubeClientQps,
    burst: config.kubeClientBurst,
  };
  const nodeName = nodeNameOf(config, env);
  if (config.kubeApiServer) {
    return {
      enabled: true,
      source: 'kube_api_server',
      clientOptions: { server: config.kubeApiServer, ...(config.kubeCaFile ? { caFile: config.kubeCaFile } : {}), ...common, nodeName },
      tokenFile: config.kubeTokenFile,
      nodeName,
    };
  }
  if (config.kubeconfig) {
    return { enabled: true, source: 'kubeconfig', clientOptions: { kubeconfig: config.kubeconfig, ...common, nodeName }, nodeName };
  }
  if (env['KUBERNETES_SERVICE_HOST']) {
    return { enabled: true, source: 'in-cluster', clientOptions: { inCluster: true, ...common, nodeName }, nodeName };
  }
  return { enabled: false, why: 'no kubeconfig, no kube_api_server and not in a pod (KUBERNETES_SERVICE_HOST unset)' };
}
