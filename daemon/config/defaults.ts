// The eni_conf defaults, one place per key (daemon/README.md "eni_conf keys" lists them). A key that is a
// pool knob with the same meaning and value takes the pool's own default (pool/config.ts) rather than a
// copy of it; the pool's knobs that have no eni_conf key keep their defaults there only.
import { defaultPoolConfig as pool } from '../../pool/config.js';
import { REAL_METADATA_BASE_URL } from '../cloud/metadata.js';

export const DEFAULTS = {
  // pool sizing and reclaim (pool/config.ts)
  maxPoolSize: pool.maxPoolSize,
  minPoolSize: pool.minPoolSize,
  idleIpReclaimIntervalMs: pool.idleIpReclaimIntervalMs,
  idleIpReclaimBatchSize: pool.idleIpReclaimBatchSize,
  idleIpReclaimJitterFactor: pool.idleIpReclaimJitterFactor,
  minEni: pool.minEni,
  eniCapRatio: pool.eniCapRatio,
  eniCapShift: pool.eniCapShift,
  /** 0: the instance type's limit. */
  maxEni: pool.maxEni,
  eniSelectionPolicy: pool.eniSelectionPolicy,
  ipCooldownMs: pool.ipCooldownMs,
  /** Pool GC + cloud reconcile period and grace (Terway's 5 min / 2 min). */
  gcIntervalMs: pool.gcIntervalMs,
  gcGraceMs: pool.gcGraceMs,
  // eni_conf's own where they differ from the pool's bare defaults: Terway's vswitch_selection_policy
  // default is `random` (the pool's is `ordered`); stateful_ip_reserve 10 min (the pool's 5 min).
  vSwitchSelectionPolicy: 'random',
  statefulIpReserveMs: 10 * 60_000,
  // mode, driver, cloud
  /** Node-local IPAM (Terway's default without the controller). */
  ipamType: '',
  daemonMode: 'ENIMultiIP',
  eniipVirtualType: 'veth',
  ipStack: 'ipv4',
  mtu: 1500,
  cloudProtocol: 'https',
  metadataEndpoint: REAL_METADATA_BASE_URL,
  // the daemon process
  socketPath: '/var/run/eni/eni.socket',
  dbPath: '/var/lib/cni/eni-ipam/pods.db',
  pendingDelIntervalMs: 10_000,
  logLevel: 'info',
  /** AllocIP's wait when the plugin sets no deadline. */
  allocTimeoutMs: 60_000,
  shutdownTimeoutMs: 10_000,
  // Kubernetes
  kubeClientQps: 20,
  kubeClientBurst: 30,
  podLookupTimeoutMs: 2_000,
} as const;
