// eni_conf keys of the Kubernetes client (all optional; config/kube.ts decides whether and how to
// connect): API server and credentials, this node's name, stateful kinds, client flow control.
import { DEFAULTS } from './defaults.js';
import { show, type Reader } from './reader.js';
import type { DaemonConfig } from './types.js';

export type KubeKeys = Pick<
  DaemonConfig,
  | 'kubeconfig'
  | 'kubeApiServer'
  | 'kubeTokenFile'
  | 'kubeCaFile'
  | 'nodeName'
  | 'customStatefulWorkloadKinds'
  | 'kubeClientQps'
  | 'kubeClientBurst'
  | 'podLookupTimeoutMs'
>;

export function readKubeKeys(r: Reader): KubeKeys {
  const kubeconfig = r.str('kubeconfig');
  const kubeApiServer = r.httpUrl('kube_api_server');
  const kubeTokenFile = r.str('kube_token_file');
  const kubeCaFile = r.str('kube_ca_file');
  if (kubeApiServer === undefined) {
    if (r.has('kube_token_file')) r.fail('kube_token_file', 'needs kube_api_server (a kubeconfig carries its own credentials)');
    if (r.has('kube_ca_file')) r.fail('kube_ca_file', 'needs kube_api_server (a kubeconfig carries its own CA)');
  }
  const nodeName = r.str('node_name');
  // Node names are DNS subdomains (RFC 1123), at most 253 characters.
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(nodeName)) {
    r.fail('node_name', `must be a lower-case DNS subdomain (got ${show('node_name', nodeName)})`);
  }
  const kinds = r.stringList('custom_stateful_workload_kinds', 'owner kinds like ["CloneSet"]');
  const kubeClientQps = r.num('kube_client_qps', DEFAULTS.kubeClientQps);
  const kubeClientBurst = r.int('kube_client_burst', Math.max(DEFAULTS.kubeClientBurst, Math.ceil(kubeClientQps)));
  return {
    kubeconfig,
    kubeApiServer,
    kubeTokenFile,
    kubeCaFile,
    nodeName,
    customStatefulWorkloadKinds: kinds ? [...new Set(kinds.map((k) => k.trim()))] : [],
    kubeClientQps,
    kubeClientBurst,
    podLookupTimeoutMs: r.duration('pod_lookup_timeout') ?? DEFAULTS.podLookupTimeoutMs,
  };
}
