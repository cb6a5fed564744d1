// The daemon's resolved configuration (camelCase), parsed from a Terway-compatible eni_conf.

export type DaemonMode = 'ENIMultiIP' | 'VPCENI' | 'VPCIP';
export type DriverName = 'veth' | 'ipvlan' | 'rawEni' | 'none';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Terway's backoff_override entry (one per API family: eni_create, eni_ops, eni_ip_ops ...). */
export interface BackoffSpec {
  initialDelayMs?: number;
  durationMs?: number;
  factor?: number;
  jitter?: number;
  steps?: number;
  capMs?: number;
}

export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface DaemonConfig {
  version?: string;
  // credentials and region
  accessKey?: string;
  accessSecret?: string;
  credentialPath?: string;
  regionId?: string;
  // network placement
  /** zone id -> vSwitch ids. Empty: use the node's own vSwitch (from metadata). */
  vSwitches: Record<string, string[]>;
  /** ordered (also spelt `most`): the vSwitch with the most free IPs first; random: any. Empty ones are skipped. */
  vSwitchSelectionPolicy: 'random' | 'ordered';
  /** security_group + security_groups, de-duplicated, at most 10. Empty: copy the primary ENI's. */
  securityGroupIds: string[];
  serviceCidrs: string[];
  // pool sizing and reclaim
  maxPoolSize: number;
  minPoolSize: number;
  /**
   * Idle reclaim (Terway): once no pod was added or removed for this long, one batch of idle IPs per jittered
   * interval goes, down to min_pool_size. Unset: off (IPs above max_pool_size are released at once either way).
   */
  idleIpReclaimAfterMs?: number;
  idleIpReclaimIntervalMs: number;
  idleIpReclaimBatchSize: number;
  idleIpReclaimJitterFactor: number;
  /** Secondary ENIs (Terway): > 0 sets min_pool_size to min_eni × IPs per ENI, and the pool keeps that many ENIs. */
  minEni: number;
  /** Secondary ENIs for pods at most; 0: the instance type's limit (EniQuantity − 1). */
  maxEni: number;
  /** Terway `eni_cap_ratio` / `eni_cap_shift`: the ENI quota is ⌊EniQuantity × ratio⌋ + shift (default 1 / 0). */
  eniCapRatio: number;
  eniCapShift: number;
  eniSelectionPolicy: 'most_ips' | 'least_ips';
  eniTags: Record<string, string>;
  eniTagFilter: Record<string, string>;
  // cloud API behaviour
  /** API name -> calls per minute. */
  rateLimit: Record<string, number>;
  backoffOverride: Record<string, BackoffSpec>;
  /** Terway `ip_stack`: `dual` gives ENIMultiIP pods an IPv6 address of the same ENI too. */
  ipStack: 'ipv4' | 'dual';
  /**
   * Terway `ipam_type`: '' = node-local (this daemon calls the cloud); 'crd' = centralized (the controller in
   * controlplane/ owns the cloud; the daemon serves from its node's custom resource and needs no credentials).
   */
  ipamType: '' | 'crd';
  // ours
  daemonMode: DaemonMode;
  /** VPCIP: the node's pod CIDR (Node.spec.podCIDR in Kubernetes; not read from the API server). */
  podCidr?: string;
  eniipVirtualType: 'veth' | 'ipvlan';
  mtu: number;
  cloudEndpoint?: string;
  vpcEndpoint?: string;
  cloudProtocol: 'https' | 'http';
  /** Instance metadata service base URL (the real cloud's 100.100.100.200 by default). */
  metadataEndpoint: string;
  socketPath: string;
  dbPath: string;
  /** Pending-DEL records (proto/pendingDel.ts): `pending_del_dir`, else `pending-del` beside the pod DB; none for ':memory:'. */
  pendingDelDir?: string;
  /** How often the records are drained while serving (they are always drained before serving). */
  pendingDelIntervalMs: number;
  ipCooldownMs: number;
  statefulIpReserveMs: number;
  /** Resolved driver: the `driver` override, else derived from daemon_mode / eniip_virtual_type. */
  driver: DriverName;
  /** Host-side veth name prefix (Terway CNI conf `veth_prefix`). */
  vethPrefix?: string;
  /** Netns holding the node's ENI links (multi-node demos on one machine); default the daemon's own. */
  hostNetnsPath?: string;
  /** Where the host's /proc/sys is mounted (a container without privileges: a hostPath of /proc/sys/net). */
  procSysPath?: string;
  instanceId?: string;
  logLevel: LogLevel;
  metricsListen?: ListenAddress;
  /** How long AllocIP waits for the pool's next batch when the client sets no deadline. */
  allocTimeoutMs: number;
  /** Bound on waiting for in-flight requests at shutdown. */
  shutdownTimeoutMs: number;
  // pool GC by pod existence (needs Kubernetes)
  /** Period of the pool's GC + cloud reconcile (Terway: 5 min). */
  gcIntervalMs: number;
  /** Allocations younger than this are never garbage-collected (Terway: 2 min). */
  gcGraceMs: number;
  // Kubernetes (all optional: without them, and outside a pod, the daemon runs without an API client)
  /** Path of a kubeconfig file. */
  kubeconfig?: string;
  /** API server URL; with `kubeTokenFile` it needs no kubeconfig. */
  kubeApiServer?: string;
  /** File holding the bearer token for `kubeApiServer`. */
  kubeTokenFile?: string;
  /** CA bundle for an https `kubeApiServer` (default: the system roots). */
  kubeCaFile?: string;
  /** This node's name; unset: env NODE_NAME (resolved at start, see config/kube.ts). */
  nodeName?: string;
  /** Terway `custom_stateful_workload_kinds`: owner kinds whose pods keep their IP, like StatefulSet. */
  customStatefulWorkloadKinds: string[];
  /** Terway `kube_client_qps` / `kube_client_burst`. */
  kubeClientQps: number;
  kubeClientBurst: number;
  /** Bound on the pod lookup AllocIP does (stateful or not); past it the pod counts as not stateful. */
  podLookupTimeoutMs: number;
}

export interface ConfigIssue {
  key: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => `config error: eni_conf${i.key ? `.${i.key}` : ''}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
