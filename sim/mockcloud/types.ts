// Shapes shared by the mock cloud's world, HTTP layer and programmatic handle.

/** The world file (JSON). Every field is optional in a file; defaults come from defaultWorldSpec(). */
export interface WorldSpec {
  regionId: string;
  zones: string[];
  /** `ipv6Cidr`: the VPC's IPv6 block (a /56, as ECS hands out); absent: the VPC has no IPv6. */
  vpc: { id: string; cidr: string; ipv6Cidr?: string; routeTableId?: string; vRouterId?: string };
  /** `ipv6Cidr`: a /64 out of the VPC's /56 (IPv6 turned on for the vSwitch); absent: IPv4 only. */
  vSwitches: { id: string; zoneId: string; cidr: string; ipv6Cidr?: string }[];
  securityGroups: string[];
  instanceTypes: { id: string; eniQuantity: number; ipv4PerEni: number; ipv6PerEni: number }[];
  /**
   * `ramRole`: the instance RAM role whose STS credentials the metadata serves (default `eni-ipam-node`;
   * null or '' for an instance without a role: the credentials path answers 404).
   */
  instances: {
    id: string;
    instanceType: string;
    zoneId: string;
    vSwitchId: string;
    securityGroupId: string;
    ramRole?: string | null;
  }[];
  accessKeys: { id: string; secret: string }[];
  /** Seed for generated ids and MACs (deterministic per seed). */
  seed?: number;
  /** Max secondary IPs an ENI may hold while not attached (the docs say 49). */
  maxIpsUnattached?: number;
  /** Lifetime of the STS credentials the metadata serves for an instance RAM role (ms, default 15 min). */
  stsTtlMs?: number;
  /**
   * ECS `HttpTokens`: `required` is the hardened-only metadata mode (every read needs a token from
   * `PUT /latest/api/token`); `optional` (default) accepts reads with or without one.
   */
  metadataHttpTokens?: 'optional' | 'required';
}

export type ErrorKind = '5xx' | 'unavailable' | 'timeout' | 'throttle';

export interface ErrorRateSpec {
  /** Action name or '*' for every action. */
  action: string;
  /** Probability 0..1 that a call fails. */
  rate: number;
  kind: ErrorKind;
  /** Apply the action first, then answer with the error (a reply lost after the work was done). */
  afterEffect?: boolean;
}

export interface FaultSpec {
  /** Per-action latency in ms, fixed or a [min, max] range; key '*' applies to every action. */
  latency?: Record<string, number | [number, number]>;
  attachDelayMs?: number;
  detachDelayMs?: number;
  /** Account-wide QPS limit (token bucket, burst = max(1, qps) unless throttleBurst is set); null/absent = off. */
  throttleQps?: number | null;
  throttleBurst?: number;
  errorRates?: ErrorRateSpec[];
  /** A newly attached ENI shows up in the instance metadata only this long after it became InUse. */
  metadataLagMs?: number;
  /** Deleting → gone (default: the detach delay). */
  deleteDelayMs?: number;
  /** DescribeNetworkInterfaces answers with the ENIs as they were this long ago (eventual consistency). */
  staleListingsMs?: number;
  /** A mutation of an ENI within this long of the previous one answers `Operation.Conflict` (0 = off). */
  operationConflictMs?: number;
  /** The metadata keeps serving an instance's current STS credentials, even once expired (no rotation). */
  ramCredentialsFrozen?: boolean;
}

export interface FaultState {
  latency: Record<string, number | [number, number]>;
  attachDelayMs: number;
  detachDelayMs: number;
  throttleQps: number | null;
  throttleBurst: number | null;
  errorRates: ErrorRateSpec[];
  failNext: { action: string; count: number; kind: ErrorKind; afterEffect: boolean }[];
  metadataLagMs: number;
  deleteDelayMs: number;
  staleListingsMs: number;
  operationConflictMs: number;
  ramCredentialsFrozen: boolean;
}

export interface FaultController {
  setLatency(action: string, ms: number | [number, number]): void;
  setAttachDelay(ms: number): void;
  setDetachDelay(ms: number): void;
  /** qps null turns throttling off. */
  setThrottle(qps: number | null, burst?: number): void;
  setErrorRate(action: string, rate: number, kind: ErrorKind, opts?: { afterEffect?: boolean }): void;
  /** Deterministic variant: the next `count` calls of `action` fail with `kind`. */
  failNext(action: string, count: number, kind: ErrorKind, opts?: { afterEffect?: boolean }): void;
  setMetadataLag(ms: number): void;
  setDeleteDelay(ms: number): void;
  /** Listings answer the state of `ms` ago (0 = current). */
  setStaleListings(ms: number): void;
  /** Overlapping mutations of one ENI (within `ms`) answer Operation.Conflict (0 = off). */
  setOperationConflict(ms: number): void;
  /** The metadata stops rotating STS credentials (they expire in the client's hands). */
  freezeRamCredentials(frozen: boolean): void;
  /** Back to no faults (attach/detach delays return to the start-up values). */
  clear(): void;
  state(): FaultState;
  /** Errors injected so far, by kind ("5xx", "timeout after effect", ...); throttling by the token bucket not included. */
  injected(): Record<string, number>;
}

export interface EniAttachedEvent {
  instanceId: string;
  eniId: string;
  mac: string;
  primaryIp: string;
  secondaryIps: string[];
  vSwitchId: string;
  gateway: string;
  cidr: string;
  /** The ENI's IPv6 addresses and its vSwitch's IPv6 block and gateway (absent: IPv4-only vSwitch). */
  ipv6s: string[];
  ipv6Cidr?: string;
  ipv6Gateway?: string;
}
export interface EniDetachedEvent {
  instanceId: string;
  eniId: string;
  mac: string;
  /** The ENI's addresses at detach time (extra to the agreed shape, for a kernel backend's routes). */
  primaryIp: string;
  secondaryIps: string[];
  ipv6s: string[];
}
export interface IpsChangedEvent {
  eniId: string;
  instanceId?: string;
  ips: string[];
}
export interface EniDeletedEvent {
  eniId: string;
}
export interface EniCreatedEvent {
  eniId: string;
  mac: string;
  primaryIp: string;
  secondaryIps: string[];
  vSwitchId: string;
}

export type EniStatus = 'Available' | 'Attaching' | 'InUse' | 'Detaching' | 'Deleting';

export interface EniDump {
  eniId: string;
  mac: string;
  type: 'Primary' | 'Secondary';
  status: EniStatus;
  instanceId?: string;
  vSwitchId: string;
  vpcId: string;
  zoneId: string;
  securityGroupIds: string[];
  primaryIp: string;
  secondaryIps: string[];
  ipv6s: string[];
  tags: Record<string, string>;
  description?: string;
  creationTime: string;
}

export interface RouteEntryDump {
  routeEntryId: string;
  routeTableId: string;
  destinationCidrBlock: string;
  nextHopType: string;
  nextHopId: string;
  type: 'System' | 'Custom';
  status: 'Pending' | 'Available' | 'Deleting';
  description?: string;
}

export interface WorldDump {
  regionId: string;
  zones: string[];
  vpc: { id: string; cidr: string; ipv6Cidr?: string; routeTableId: string; vRouterId: string };
  vSwitches: {
    vSwitchId: string;
    zoneId: string;
    cidr: string;
    gateway: string;
    availableIpAddressCount: number;
    usedIps: string[];
    ipv6Cidr?: string;
    ipv6Gateway?: string;
    usedIpv6s: string[];
  }[];
  securityGroups: string[];
  instanceTypes: WorldSpec['instanceTypes'];
  instances: {
    instanceId: string;
    instanceType: string;
    zoneId: string;
    vSwitchId: string;
    securityGroupIds: string[];
    primaryEniId: string;
    eniIds: string[];
  }[];
  enis: EniDump[];
  routeTables: { routeTableId: string; vpcId: string; entries: RouteEntryDump[] }[];
}

/** A cloud API error as the real service answers it. */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
