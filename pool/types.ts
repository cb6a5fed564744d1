// The pool's public face: what the daemon's mode handlers call.
// Implementations live beside this file (eniMultiIpPool.ts, enipool/eniPool.ts; see README.md).

/** Who an allocation belongs to. The key is containerId + ifName + networkName, as in the CNI spec. */
export interface PodRef {
  namespace: string;
  name: string;
  containerId: string;
  ifName: string;
  networkName: string;
  netns?: string;
  /** StatefulSet (or other fixed-IP workload) pod: its IP is reserved for it after release. */
  stateful?: boolean;
}

export function podKeyOf(ref: Pick<PodRef, 'containerId' | 'ifName' | 'networkName'>): string {
  return `${ref.containerId}/${ref.ifName}/${ref.networkName}`;
}

export interface IpAllocation {
  podKey: string;
  namespace: string;
  name: string;
  containerId: string;
  ifName: string;
  networkName: string;
  netns: string;
  ip: string;
  eniId: string;
  eniMac: string;
  /** The ENI's own primary IP (the driver puts it on the ENI link with its table); unset when not known yet. */
  eniPrimaryIp?: string;
  /** True when the IP sits on the instance's primary ENI (no per-ENI table is needed). */
  primaryEni: boolean;
  vSwitchId: string;
  vSwitchCidr: string;
  gateway: string;
  /** Dual stack: the pod's IPv6 address (on the same ENI), its vSwitch's IPv6 block and gateway. */
  ipv6?: string;
  vSwitchIpv6Cidr?: string;
  ipv6Gateway?: string;
  allocatedAt: number; // ms since epoch
}

export type PoolErrorReason =
  | 'Exhausted' // no free IP and none can be obtained now (quota reached / vSwitch full / backing off)
  | 'Timeout' // waited for the next batch past the deadline
  | 'ShuttingDown'
  | 'Internal';

export class PoolError extends Error {
  readonly reason: PoolErrorReason;
  /** The cloud error code behind it, when there is one. */
  readonly cloudCode?: string;
  /** True when trying again later may succeed (CNI code 11). */
  readonly retryable: boolean;
  constructor(reason: PoolErrorReason, message: string, opts: { cloudCode?: string; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PoolError';
    this.reason = reason;
    this.cloudCode = opts.cloudCode;
    this.retryable = opts.retryable ?? reason !== 'Internal';
  }
}

export interface PoolStats {
  enis: number;
  total: number; // IPs the pool owns (secondary IPs on managed ENIs)
  free: number; // ready to hand out
  assigned: number;
  cooling: number;
  reserved: number;
  releasing: number;
  pendingRequests: number;
  minPoolSize: number;
  maxPoolSize: number;
  /** Set while allocation is paused after an exhaustion error. */
  backoffUntil?: number;
  backoffReason?: string;
}

/** Answers whether a pod still exists (Kubernetes client, CNI GC). */
export interface OwnerCheck {
  /** Returns the subset of the given allocations whose owner is gone. */
  goneOwners(allocs: IpAllocation[]): Promise<IpAllocation[]>;
}

export interface IpAllocator {
  /** Idempotent per pod key: a repeated call returns the same allocation. Committed to the DB before it resolves. */
  allocate(pod: PodRef, opts?: { deadlineMs?: number }): Promise<IpAllocation>;
  /** Idempotent: releasing an unknown key resolves to undefined. */
  release(podKey: string): Promise<IpAllocation | undefined>;
  get(podKey: string): IpAllocation | undefined;
  list(): IpAllocation[];
  stats(): PoolStats;
  /** Releases allocations whose keys are not in `valid` (CNI GC: cni.dev/valid-attachments). Returns released keys. */
  gcExcept(valid: Set<string>): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
