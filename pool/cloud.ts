// The pool's port to the cloud: exactly what the ENI pools need, declared here because the pool owns it
// (as host-local's allocator owns its Store). daemon/cloud implements it over the Alibaba SDKs; the
// controller uses the same client; tests use the mock cloud behind that client.

export type EniStatus = 'Available' | 'Attaching' | 'InUse' | 'Detaching' | 'Deleting' | 'Creating';
export type EniType = 'Primary' | 'Secondary';

export interface Eni {
  eniId: string;
  mac: string; // lower-case, colon separated
  type: EniType;
  status: EniStatus;
  instanceId?: string; // set while attached (or attaching / detaching)
  vSwitchId: string;
  zoneId: string;
  vpcId: string;
  securityGroupIds: string[];
  primaryIp: string;
  /** Secondary private IPv4 addresses (the primary address is not repeated here). */
  secondaryIps: string[];
  /** IPv6 addresses (canonical RFC 5952 text); empty for IPv4 only. */
  ipv6s: string[];
  tags: Record<string, string>;
  creationTime?: string;
}

export interface InstanceTypeLimits {
  instanceTypeId: string;
  /** ENIs per instance, the primary ENI included (ECS `EniQuantity`). */
  eniQuantity: number;
  /** Private IPv4 addresses per ENI, the ENI's primary address included (ECS `EniPrivateIpAddressQuantity`). */
  ipv4PerEni: number;
  /** IPv6 addresses per ENI (ECS `EniIpv6AddressQuantity`). */
  ipv6PerEni: number;
}

export interface VSwitch {
  vSwitchId: string;
  vpcId: string;
  zoneId: string;
  cidrBlock: string;
  availableIpAddressCount: number;
  /** Route-table id of the vSwitch's VPC router (for VPCIP route entries). */
  routeTableId?: string;
  /** The vSwitch's IPv6 block (a /64); absent when IPv6 is not turned on for it. */
  ipv6CidrBlock?: string;
}

export interface CreateEniRequest {
  vSwitchId: string;
  securityGroupIds: string[];
  description?: string;
  tags?: Record<string, string>;
  /** Secondary IPs to assign at creation (saves one AssignPrivateIpAddresses call). */
  secondaryIpCount?: number;
  /** IPv6 addresses to assign at creation (CreateNetworkInterface Ipv6AddressCount, at most 10). */
  ipv6Count?: number;
  /** Idempotency token; the client generates one when absent and reuses it across retries. */
  clientToken?: string;
}

export interface DescribeEniFilter {
  instanceId?: string;
  /** Every ENI of the VPC (the controller's cluster-wide listing). */
  vpcId?: string;
  eniIds?: string[];
  status?: EniStatus;
  vSwitchId?: string;
  tags?: Record<string, string>;
}

/** Per-ENI facts from instance metadata (what the node sees of an attached ENI). */
export interface EniMetadata {
  mac: string;
  eniId: string;
  primaryIp: string;
  privateIps: string[];
  vSwitchId: string;
  vSwitchCidr: string;
  gateway: string;
  /** IPv6 facts: absent when the ENI's vSwitch has no IPv6 (the metadata answers 404 for these paths then). */
  ipv6s?: string[];
  vSwitchIpv6Cidr?: string;
  ipv6Gateway?: string;
}

/** The cloud calls the pools make. Every method may reject with a CloudError. */
export interface PoolCloud {
  createNetworkInterface(req: CreateEniRequest): Promise<Eni>;
  /** Resolves once the ENI is gone (an ENI already gone counts as deleted). */
  deleteNetworkInterface(eniId: string): Promise<void>;
  /** Resolves once the ENI is InUse. */
  attachNetworkInterface(eniId: string, instanceId: string): Promise<void>;
  /** Resolves once the ENI is Available again. */
  detachNetworkInterface(eniId: string, instanceId: string): Promise<void>;
  /** Assigns `count` new secondary IPs (at most 10 per call, the cloud's limit) or the given ones; returns them. */
  assignPrivateIpAddresses(eniId: string, count: number, opts?: { ips?: string[]; clientToken?: string }): Promise<string[]>;
  /** Rejects with `InvalidIp.IpUnassigned` when the ENI does not hold one of them (nothing is unassigned then). */
  unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void>;
  /** AssignIpv6Addresses: `count` new IPv6 addresses (at most 10 per call) or the given ones; returns them in canonical text. */
  assignIpv6Addresses(eniId: string, count: number, opts?: { ips?: string[]; clientToken?: string }): Promise<string[]>;
  /** UnassignIpv6Addresses; `InvalidIp.IpUnassigned` as its IPv4 twin. */
  unassignIpv6Addresses(eniId: string, ips: string[]): Promise<void>;
  /** Every page, merged. */
  describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]>;
  describeInstanceTypeLimits(instanceType: string): Promise<InstanceTypeLimits>;
  describeVSwitches(vSwitchIds: string[]): Promise<VSwitch[]>;
  /** The node's own vSwitch (the default for new ENIs when none is configured). */
  getInstanceMetadata(): Promise<{ vSwitchId: string }>;
  /** Fallback for vSwitch facts when DescribeVSwitches is denied. */
  getEniMetadata(mac: string): Promise<EniMetadata>;
}

/** A failed cloud call. `code` is the cloud's error code (e.g. `InvalidVSwitchId.IpNotEnough`). */
export class CloudError extends Error {
  readonly code: string;
  readonly requestId?: string;
  readonly httpStatus?: number;
  readonly retryable: boolean;
  readonly api: string;

  constructor(opts: {
    api: string;
    code: string;
    message: string;
    requestId?: string;
    httpStatus?: number;
    retryable: boolean;
    cause?: unknown;
  }) {
    super(`${opts.api}: ${opts.code}: ${opts.message}${opts.requestId ? ` (RequestId ${opts.requestId})` : ''}`, { cause: opts.cause });
    this.name = 'CloudError';
    this.api = opts.api;
    this.code = opts.code;
    this.requestId = opts.requestId;
    this.httpStatus = opts.httpStatus;
    this.retryable = opts.retryable;
  }
}

/** Cloud error codes the daemon reacts to (exhaustion back-off, state, throttling). */
export const CloudErrorCodes = {
  Throttling: 'Throttling',
  ThrottlingUser: 'Throttling.User',
  VSwitchIpNotEnough: 'InvalidVSwitchId.IpNotEnough',
  QuotaExceededPrivateIp: 'QuotaExceeded.PrivateIpAddress',
  /** The ENI already holds as many private IPs as its instance type allows. */
  Ipv4CountExceeded: 'InvalidOperation.Ipv4CountExceeded',
  /** The ENI already holds as many IPv6 addresses as its instance type allows (EniIpv6AddressQuantity). */
  Ipv6CountExceeded: 'InvalidOperation.Ipv6CountExceeded',
  /** The instance type has no IPv6 (EniIpv6AddressQuantity 0). */
  Ipv6NotSupport: 'InvalidOperation.Ipv6NotSupport',
  /** IPv6 is not turned on for the ENI's vSwitch. */
  Ipv6NotTurnOn: 'InvalidVSwitch.Ipv6NotTurnOn',
  EniPerInstanceLimitExceeded: 'EniPerInstanceLimitExceeded',
  EniNotFound: 'InvalidEniId.NotFound',
  InstanceNotFound: 'InvalidEcsId.NotFound',
  VSwitchNotFound: 'InvalidVSwitchId.NotFound',
  SecurityGroupNotFound: 'InvalidSecurityGroupId.NotFound',
  EniStateInvalid: 'InvalidOperation.InvalidEniState',
  /** UnassignPrivateIpAddresses of an address the ENI does not hold (ECS 403): already released. */
  IpUnassigned: 'InvalidIp.IpUnassigned',
  /** Another mutation of the same ENI was in progress (retryable). */
  OperationConflict: 'Operation.Conflict',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
  Timeout: 'Timeout',
} as const;
