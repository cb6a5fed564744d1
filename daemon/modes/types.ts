// What the gRPC server asks of a daemon mode. Plain data in and out; the server maps it to eni.proto.
import type { PodRef } from '../../pool/types.js';
import type { DaemonEventRecord } from '../k8s/recorder.js';

/** eni.proto FailureReason names (FAILURE_NONE excluded: that is success). */
export type FailureReason =
  'POOL_EXHAUSTED' | 'ALLOC_TIMEOUT' | 'INVALID_REQUEST' | 'DRIVER_FAILED' | 'NOT_FOUND' | 'SHUTTING_DOWN' | 'INTERNAL' | 'CHECK_FAILED';

/** eni.proto IPType names. */
export type IpType = 'VPC_IP' | 'VPC_ENI' | 'ENI_MULTI_IP';

/** A failure the server turns into `success=false` + `failure_reason` (not a gRPC error status). */
export class ServiceError extends Error {
  readonly reason: FailureReason;
  readonly cloudCode?: string;
  constructor(reason: FailureReason, message: string, opts: { cloudCode?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ServiceError';
    this.reason = reason;
    this.cloudCode = opts.cloudCode;
  }
}

export interface IpConfigOut {
  address: string; // CIDR
  gateway: string;
  family: 4 | 6;
}

export interface RouteOut {
  dst: string;
  gw: string;
}

export interface AllocResult {
  ipType: IpType;
  ips: IpConfigOut[];
  routes: RouteOut[];
  interface: { name: string; mac: string; hostIfName: string; hostIfMac: string };
  eniId: string;
  eniMac: string;
  vSwitchId: string;
}

export interface ReleaseResult {
  /** Empty when there was nothing to release. */
  releasedIp: string;
}

export interface InfoResult {
  found: boolean;
  ipType: IpType;
  ips: IpConfigOut[];
  eniId: string;
  eniMac: string;
  netns: string;
}

export interface StatusResult {
  ready: boolean;
  message: string;
  ipType: IpType;
  freeIps: number;
  totalIps: number;
}

export interface GcAttachment {
  containerId: string;
  ifName: string;
}

export interface AllocOptions {
  deadlineMs: number;
  mtu?: number;
}

export interface NetworkService {
  readonly ipType: IpType;
  /**
   * Idempotent per pod key. `deadlineMs`: how long it may wait for the pool's next batch; `mtu`: the pod
   * interface's MTU when the network config sets one (else the daemon's).
   */
  allocIp(pod: PodRef, opts: AllocOptions): Promise<AllocResult>;
  /** Succeeds when there is nothing to release. */
  releaseIp(pod: PodRef, reason: string): Promise<ReleaseResult>;
  getIpInfo(pod: PodRef): Promise<InfoResult>;
  /** Throws ServiceError NOT_FOUND / CHECK_FAILED. */
  checkIp(pod: PodRef): Promise<void>;
  /** Releases every allocation of `networkName` not in `valid`; returns the released pod keys. */
  gc(networkName: string, valid: GcAttachment[]): Promise<string[]>;
  status(): StatusResult;
  start(): Promise<void>;
  /** Stops the pool (no new allocations); in-flight calls should have drained before. */
  stop(): Promise<void>;
}

/** One event as the daemon records it (the same shape the Kubernetes recorder writes). */
export type EventRecord = DaemonEventRecord;

/** Where plugin-reported and daemon events go (the log; with Kubernetes, also core/v1 Events). */
export interface EventRecorder {
  record(ev: EventRecord): Promise<void>;
}
