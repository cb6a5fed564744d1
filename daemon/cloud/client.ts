// The SDK-backed Cloud: the official openapi-core client with the @alicloud/ecs20140526 + @alicloud/vpc20160428
// models (sdk.ts, rpcClient.ts), behind the plumbing (caller.ts: rate limiter, our own retries, per-API stats) and the call
// wrappers (ecsCalls.ts: ENIs, IPs, instance types; vpcCalls.ts: vSwitches, route entries). This file
// assembles them and adds the metadata client and the credential chain (credentialChain.ts: access
// key → credential file → ECS instance RAM role from the metadata).
//
// Construction (the mock cloud in tests, the real cloud in production):
//   const cloud = new AliyunCloud({
//     regionId: mc.regionId,                    // 'cn-hangzhou'
//     endpoint: mc.url,                         // 'http://127.0.0.1:PORT' (scheme sets protocol); VPC API uses it too
//     accessKeyId: mc.accessKeyId, accessKeySecret: mc.accessKeySecret,   // or none: the instance RAM role
//     metadataBaseUrl: mc.metadataUrl('i-mock-node-1'),   // real: 'http://100.100.100.200'
//   });
// Everything else is optional: qps/burst (shared bucket), rateLimitPerMinute (Terway `rate_limit`),
// retry / backoffOverride (Terway `backoff_override`), attachTimeoutMs / attachPollMs, requestTimeoutMs,
// describePageSize, clock / random (tests), logger (pino-compatible).
import type {
  ApiStats,
  CloudObserver,
  Cloud,
  CreateEniRequest,
  DescribeEniFilter,
  Eni,
  EniMetadata,
  InstanceMetadata,
  InstanceTypeLimits,
  RouteEntry,
  VSwitch,
} from './types.js';
import { type Clock, systemClock } from './clock.js';
import type { RateLimiter, RateLimiterStats } from './ratelimit.js';
import { BackoffTable, type BackoffPolicy, DEFAULT_BACKOFF, type TerwayBackoff } from './retry.js';
import { MetadataClient, type MetadataClientOptions, type MetadataStats } from './metadata.js';
import { sdkCredential, type CloudCredentialsProvider, type CredentialSourceName } from './credentials.js';
import { CredentialChain, defaultCredentialChain } from './credentialChain.js';
import type { RefreshingOptions } from './refreshing.js';
import { ApiCaller, type CloudLogger } from './caller.js';
import { createSdkClients } from './sdk.js';
import { EcsCalls } from './ecsCalls.js';
import { VpcCalls } from './vpcCalls.js';

export type { CloudLogger } from './caller.js';

export interface AliyunCloudOptions {
  regionId: string;
  /** ECS endpoint: `host[:port]` or a URL (`http://127.0.0.1:8080`, whose scheme sets the protocol). Default: the SDK's regional endpoint. */
  endpoint?: string;
  /** VPC endpoint. Default: `endpoint` with a leading `ecs` host label turned into `vpc`, i.e. the mock's own URL; else the SDK's. */
  vpcEndpoint?: string;
  /** Default 'https', or the scheme of `endpoint`. */
  protocol?: 'http' | 'https';
  /** Terway's chain, in order: this key pair (empty = unset), the credential file, the instance RAM role. */
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  /** Credential file, plain JSON or ACK's encrypted addon token, re-read on change (default ADDON_TOKEN_PATH). */
  credentialPath?: string;
  /** The RAM role to read from the metadata (default: the one it lists). */
  ramRoleName?: string;
  /** Refresh of expiring (RAM role) credentials: margin, retry back-off, wall clock. */
  credentialRefresh?: Omit<RefreshingOptions, 'logger'>;
  /** A provider of our own instead of the chain (tests). */
  credentials?: CloudCredentialsProvider;
  /** Metadata service base, e.g. `http://100.100.100.200` or `${mockUrl}/metadata/${instanceId}`. */
  metadataBaseUrl: string;
  metadata?: Omit<MetadataClientOptions, 'baseUrl' | 'clock'>;
  /** Shared token bucket over all APIs (calls/s). Default 20; Infinity turns it off. */
  qps?: number;
  /** Shared bucket size. Default 2 × qps. */
  burst?: number;
  /** Terway `rate_limit`: calls per minute per API name, merged over Terway's defaults. */
  rateLimitPerMinute?: Record<string, number>;
  /** Apply Terway's per-API defaults (default true). */
  terwayRateLimitDefaults?: boolean;
  /** A rate limiter shared with others (the controller paces its work queue on it); the four options above are then unused. */
  limiter?: RateLimiter;
  /** Default retry policy for every API. */
  retry?: Partial<BackoffPolicy>;
  /** Policies per backoff key ('' default, 'eni_create', 'eni_ops', 'eni_ip_ops'). */
  retryByKey?: Record<string, Partial<BackoffPolicy>>;
  /** Terway `backoff_override` (k8s wait.Backoff JSON per key). */
  backoffOverride?: Record<string, TerwayBackoff>;
  /** Extra 4xx codes to treat as transient. Default none. */
  retryableCodes?: string[];
  /** Deadline for an ENI to reach InUse / Available after attach / detach (ms). Default 60000. */
  attachTimeoutMs?: number;
  /** First poll delay after attach / detach (ms); grows ×1.5 up to max(2000, attachPollMs). Default 500. */
  attachPollMs?: number;
  /** Per-request read timeout (ms). Default 10000. */
  requestTimeoutMs?: number;
  /** Per-request connect timeout (ms). Default min(5000, requestTimeoutMs). */
  connectTimeoutMs?: number;
  /** DescribeNetworkInterfaces page size (MaxResults). Default 100. */
  describePageSize?: number;
  clock?: Clock;
  random?: () => number;
  logger?: CloudLogger;
  /** Metrics hooks per attempt, rate-limiter wait, metadata request and IP assignment. */
  observer?: CloudObserver;
}

export class AliyunCloud implements Cloud {
  readonly regionId: string;
  private readonly caller: ApiCaller;
  private readonly ecsCalls: EcsCalls;
  private readonly vpcCalls: VpcCalls;
  private readonly metadata: MetadataClient;
  private readonly credentials: CloudCredentialsProvider;
  private readonly instanceTypeCache = new Map<string, InstanceTypeLimits>();

  constructor(opts: AliyunCloudOptions) {
    if (!opts.regionId) throw new Error('AliyunCloud: regionId is required');
    this.regionId = opts.regionId;
    const clock = opts.clock ?? systemClock;
    const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.metadata = new MetadataClient({ ...opts.metadata, baseUrl: opts.metadataBaseUrl, clock, observer: opts.observer });
    this.credentials =
      opts.credentials ??
      defaultCredentialChain({
        accessKeyId: opts.accessKeyId,
        accessKeySecret: opts.accessKeySecret,
        securityToken: opts.securityToken,
        credentialPath: opts.credentialPath,
        ramRoleName: opts.ramRoleName,
        metadata: this.metadata,
        logger: opts.logger,
        refresh: opts.credentialRefresh,
      });
    const clients = createSdkClients({
      regionId: opts.regionId,
      endpoint: opts.endpoint,
      vpcEndpoint: opts.vpcEndpoint,
      protocol: opts.protocol,
      credential: sdkCredential(this.credentials),
      requestTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs ?? Math.min(5_000, requestTimeoutMs),
    });
    this.caller = new ApiCaller({
      limiter: opts.limiter ?? {
        qps: opts.qps,
        burst: opts.burst,
        perApiPerMinute: opts.rateLimitPerMinute,
        terwayDefaults: opts.terwayRateLimitDefaults,
      },
      backoff: new BackoffTable({ ...DEFAULT_BACKOFF, ...(opts.retry ?? {}) }, opts.retryByKey ?? {}, opts.backoffOverride ?? {}),
      retryableCodes: opts.retryableCodes,
      clock,
      random: opts.random ?? Math.random,
      logger: opts.logger,
      observer: opts.observer,
      onCredentialsRefused: () => this.credentials.invalidate?.(),
    });
    const sdk = {
      regionId: opts.regionId,
      ...clients,
      call: this.caller.call.bind(this.caller),
      logger: opts.logger,
      observer: opts.observer,
    };
    this.ecsCalls = new EcsCalls(sdk, {
      clock,
      attachTimeoutMs: opts.attachTimeoutMs ?? 60_000,
      attachPollMs: opts.attachPollMs ?? 500,
      pageSize: Math.max(1, Math.floor(opts.describePageSize ?? 100)),
    });
    this.vpcCalls = new VpcCalls(sdk);
  }

  /**
   * Chooses the credential source now (the chain logs which one) and names it; rejects when there is
   * none (no key, no credential file, no RAM role). Call at start-up to fail early.
   */
  async credentialSource(): Promise<CredentialSourceName | 'custom'> {
    if (this.credentials instanceof CredentialChain) return (await this.credentials.select()).name;
    await this.credentials.getCredentials();
    return 'custom';
  }

  // ---- ENIs and their IPs (ECS) ---------------------------------------------------------------

  createNetworkInterface(req: CreateEniRequest): Promise<Eni> {
    return this.ecsCalls.createNetworkInterface(req);
  }

  deleteNetworkInterface(eniId: string): Promise<void> {
    return this.ecsCalls.deleteNetworkInterface(eniId);
  }

  attachNetworkInterface(eniId: string, instanceId: string, opts?: { wait?: boolean }): Promise<void> {
    return this.ecsCalls.attachNetworkInterface(eniId, instanceId, opts);
  }

  detachNetworkInterface(eniId: string, instanceId: string, opts?: { wait?: boolean }): Promise<void> {
    return this.ecsCalls.detachNetworkInterface(eniId, instanceId, opts);
  }

  existingInstances(instanceIds: string[]): Promise<Set<string>> {
    return this.ecsCalls.existingInstances(instanceIds);
  }

  assignPrivateIpAddresses(eniId: string, count: number, opts: { ips?: string[]; clientToken?: string } = {}): Promise<string[]> {
    return this.ecsCalls.assignPrivateIpAddresses(eniId, count, opts);
  }

  unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void> {
    return this.ecsCalls.unassignPrivateIpAddresses(eniId, ips);
  }

  assignIpv6Addresses(eniId: string, count: number, opts: { ips?: string[]; clientToken?: string } = {}): Promise<string[]> {
    return this.ecsCalls.assignIpv6Addresses(eniId, count, opts);
  }

  unassignIpv6Addresses(eniId: string, ips: string[]): Promise<void> {
    return this.ecsCalls.unassignIpv6Addresses(eniId, ips);
  }

  describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]> {
    return this.ecsCalls.describeNetworkInterfaces(filter);
  }

  async describeInstanceTypeLimits(instanceType: string): Promise<InstanceTypeLimits> {
    // Instance-type limits never change: one call per type per process.
    let limits = this.instanceTypeCache.get(instanceType);
    if (!limits) {
      limits = await this.ecsCalls.describeInstanceTypeLimits(instanceType);
      this.instanceTypeCache.set(instanceType, limits);
    }
    return { ...limits };
  }

  // ---- vSwitches, route entries (VPC) ---------------------------------------------------------

  describeVSwitches(vSwitchIds: string[]): Promise<VSwitch[]> {
    return this.vpcCalls.describeVSwitches(vSwitchIds);
  }

  describeRouteEntries(routeTableId: string): Promise<RouteEntry[]> {
    return this.vpcCalls.describeRouteEntries(routeTableId);
  }

  ensureRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    return this.vpcCalls.ensureRouteEntry(routeTableId, destinationCidrBlock, nextHopInstanceId);
  }

  deleteRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    return this.vpcCalls.deleteRouteEntry(routeTableId, destinationCidrBlock, nextHopInstanceId);
  }

  // ---- metadata, stats -----------------------------------------------------------------------

  getInstanceMetadata(): Promise<InstanceMetadata> {
    return this.metadata.instanceMetadata();
  }

  getEniMetadata(mac: string): Promise<EniMetadata> {
    return this.metadata.eniMetadata(mac);
  }

  /** Per API: calls = HTTP attempts sent (retries included), retries = attempts after the first, errors = failed attempts, throttled = attempts answered with throttling; latency per attempt. */
  stats(): Record<string, ApiStats> {
    return this.caller.stats();
  }

  resetStats(): void {
    this.caller.resetStats();
  }

  rateLimiterStats(): RateLimiterStats {
    return this.caller.rateLimiterStats();
  }

  metadataStats(): MetadataStats {
    return this.metadata.stats();
  }

  /** The backoff policy in force for an API (for introspection). */
  backoffFor(api: string): BackoffPolicy {
    return this.caller.policyFor(api);
  }

  /** Releases keep-alive sockets (metadata agent). */
  close(): void {
    this.metadata.close();
  }
}
