// The SDK-backed Cloud: official @alicloud/ecs20140526 + @alicloud/vpc20160428 clients, unmodified,
// wrapped with a client-side rate limiter, our own retries (the SDK's are off), idempotency tokens,
// async attach/detach waits and per-API stats.
//
// Construction (the mock cloud in tests, the real cloud in production):
//   const cloud = new AliyunCloud({
//     regionId: mc.regionId,                    // 'cn-hangzhou'
//     endpoint: mc.url,                         // 'http://127.0.0.1:PORT' (scheme sets protocol); VPC API uses it too
//     accessKeyId: mc.accessKeyId, accessKeySecret: mc.accessKeySecret,
//     metadataBaseUrl: mc.metadataUrl('i-mock-node-1'),   // real: 'http://100.100.100.200'
//   });
// Everything else is optional: qps/burst (shared bucket), rateLimitPerMinute (Terway `rate_limit`),
// retry / backoffOverride (Terway `backoff_override`), attachTimeoutMs / attachPollMs, requestTimeoutMs,
// describePageSize, clock / random (tests), logger (pino-compatible).
import { randomUUID } from 'node:crypto';
import EcsModule, * as $Ecs from '@alicloud/ecs20140526';
import VpcModule, * as $Vpc from '@alicloud/vpc20160428';
import { $OpenApiUtil } from '@alicloud/openapi-core';
// Transitive dependency of the SDK (single copy in node_modules): its RuntimeOptions type is what the SDK takes.
import * as $dara from '@darabonba/typescript';
import {
  type ApiStats,
  type Cloud,
  CloudError,
  type CloudObserver,
  CloudErrorCodes,
  type CreateEniRequest,
  type DescribeEniFilter,
  type Eni,
  type EniMetadata,
  type InstanceMetadata,
  type InstanceTypeLimits,
  type RouteEntry,
  type VSwitch,
} from './types.js';
import { type Clock, systemClock } from './clock.js';
import { RateLimiter, type RateLimiterStats } from './ratelimit.js';
import { BackoffTable, type BackoffPolicy, DEFAULT_BACKOFF, type RetryState, type TerwayBackoff, withRetry } from './retry.js';
import { isThrottled, toCloudError } from './errors.js';
import { MetadataClient, type MetadataClientOptions, type MetadataStats } from './metadata.js';
import { credentialFromFile, type SdkCredential } from './credentials.js';
import { cjsDefault } from './interop.js';
import { toEni, toEniFromCreate, toInstanceTypeLimits, toRouteEntry, toVSwitch } from './convert.js';

const EcsClient = cjsDefault(EcsModule);
const VpcClient = cjsDefault(VpcModule);
type EcsClientT = InstanceType<typeof EcsClient>;
type VpcClientT = InstanceType<typeof VpcClient>;

/** Minimal structured logger (pino's signature). Never receives secrets. */
export interface CloudLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface AliyunCloudOptions {
  regionId: string;
  /** ECS endpoint: `host[:port]` or a URL (`http://127.0.0.1:8080`, whose scheme sets the protocol). Default: the SDK's regional endpoint. */
  endpoint?: string;
  /** VPC endpoint. Default: `endpoint` with a leading `ecs` host label turned into `vpc`, i.e. the mock's own URL; else the SDK's. */
  vpcEndpoint?: string;
  /** Default 'https', or the scheme of `endpoint`. */
  protocol?: 'http' | 'https';
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  /** JSON credential file re-read on change (see credentials.ts). */
  credentialPath?: string;
  /** A ready @alicloud/credentials Credential (wins over the fields above). */
  credential?: SdkCredential;
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
  /** Default retry policy for every API. */
  retry?: Partial<BackoffPolicy>;
  /** Policies per backoff key ('' default, 'eni_create', 'eni_ops', 'eni_ip_ops'). */
  retryByKey?: Record<string, Partial<BackoffPolicy>>;
  /** Terway `backoff_override` (k8s wait.Backoff JSON per key). */
  backoffOverride?: Record<string, TerwayBackoff>;
  /** Extra 4xx codes to treat as transient (e.g. 'OperationConflict'). Default none. */
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
  /** Metrics hooks per attempt, rate-limiter wait and metadata request. */
  observer?: CloudObserver;
}

interface CallContext {
  attempts: number;
}

const ENI_IDS_PER_DESCRIBE = 100;
const IPS_PER_CALL = 10;
const MAX_PAGES = 10_000;

function splitEndpoint(endpoint: string | undefined): { host?: string; protocol?: 'http' | 'https' } {
  if (endpoint === undefined || endpoint === '') return {};
  if (endpoint.includes('://')) {
    const u = new URL(endpoint);
    return { host: u.host, protocol: u.protocol === 'http:' ? 'http' : 'https' };
  }
  return { host: endpoint.replace(/\/+$/, '') };
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function emptyStats(): ApiStats {
  return { calls: 0, errors: 0, throttled: 0, retries: 0, totalLatencyMs: 0, maxLatencyMs: 0 };
}

export class AliyunCloud implements Cloud {
  readonly regionId: string;
  private readonly ecs: EcsClientT;
  private readonly vpc: VpcClientT;
  private readonly runtime: $dara.RuntimeOptions;
  private readonly limiter: RateLimiter;
  private readonly backoff: BackoffTable;
  private readonly extraRetryable: ReadonlySet<string>;
  private readonly metadata: MetadataClient;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger?: CloudLogger;
  private readonly observer?: CloudObserver;
  private readonly attachTimeoutMs: number;
  private readonly attachPollMs: number;
  private readonly pageSize: number;
  private readonly apiStats = new Map<string, ApiStats>();
  private readonly instanceTypeCache = new Map<string, InstanceTypeLimits>();

  constructor(opts: AliyunCloudOptions) {
    if (!opts.regionId) throw new Error('AliyunCloud: regionId is required');
    this.regionId = opts.regionId;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger;
    this.observer = opts.observer;
    this.attachTimeoutMs = opts.attachTimeoutMs ?? 60_000;
    this.attachPollMs = opts.attachPollMs ?? 500;
    this.pageSize = Math.max(1, Math.floor(opts.describePageSize ?? 100));
    this.extraRetryable = new Set(opts.retryableCodes ?? []);

    const ecsEp = splitEndpoint(opts.endpoint);
    const vpcEp =
      opts.vpcEndpoint !== undefined
        ? splitEndpoint(opts.vpcEndpoint)
        : { host: ecsEp.host?.replace(/^ecs(?=[.-])/, 'vpc'), protocol: ecsEp.protocol };
    const credential = opts.credential ?? (opts.credentialPath !== undefined ? credentialFromFile(opts.credentialPath) : undefined);
    const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? Math.min(5_000, requestTimeoutMs);
    const config = (ep: { host?: string; protocol?: 'http' | 'https' }): $OpenApiUtil.Config =>
      new $OpenApiUtil.Config({
        regionId: opts.regionId,
        ...(ep.host !== undefined ? { endpoint: ep.host } : {}),
        protocol: opts.protocol ?? ep.protocol ?? 'https',
        ...(credential !== undefined
          ? { credential }
          : {
              accessKeyId: opts.accessKeyId,
              accessKeySecret: opts.accessKeySecret,
              ...(opts.securityToken ? { securityToken: opts.securityToken } : {}),
            }),
        readTimeout: requestTimeoutMs,
        connectTimeout: connectTimeoutMs,
      });
    this.ecs = new EcsClient(config(ecsEp));
    this.vpc = new VpcClient(config(vpcEp));
    // Retries are ours: the SDK only retries when Config.retryOptions is set, and it is not.
    this.runtime = new $dara.RuntimeOptions({
      autoretry: false,
      maxAttempts: 1,
      readTimeout: requestTimeoutMs,
      connectTimeout: connectTimeoutMs,
    });

    this.limiter = new RateLimiter({
      qps: opts.qps,
      burst: opts.burst,
      perApiPerMinute: opts.rateLimitPerMinute,
      terwayDefaults: opts.terwayRateLimitDefaults,
      clock: this.clock,
    });
    this.backoff = new BackoffTable({ ...DEFAULT_BACKOFF, ...(opts.retry ?? {}) }, opts.retryByKey ?? {}, opts.backoffOverride ?? {});
    this.metadata = new MetadataClient({ ...opts.metadata, baseUrl: opts.metadataBaseUrl, clock: this.clock, observer: opts.observer });
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private statFor(api: string): ApiStats {
    let s = this.apiStats.get(api);
    if (!s) {
      s = emptyStats();
      this.apiStats.set(api, s);
    }
    return s;
  }

  /**
   * One logical API call: every attempt waits for the rate limiter, is counted, and failures are
   * classified; retryable ones are retried under the API's backoff policy with the SAME request
   * object (so a ClientToken set on it is reused).
   */
  private async call<T>(api: string, send: (rt: $dara.RuntimeOptions) => Promise<T>, ctx: CallContext = { attempts: 0 }): Promise<T> {
    const policy = this.backoff.forApi(api);
    return withRetry(
      async (state: RetryState) => {
        ctx.attempts = state.attempt;
        const waitedMs = await this.limiter.acquire(api);
        this.observer?.rateLimitWait?.(api, waitedMs);
        const s = this.statFor(api);
        s.calls++;
        if (state.attempt > 1) s.retries++;
        const started = performance.now();
        let failed = true;
        try {
          const res = await send(this.runtime);
          failed = false;
          return res;
        } catch (raw) {
          const err = toCloudError(raw, api, this.extraRetryable);
          s.errors++;
          if (isThrottled(err)) s.throttled++;
          throw err;
        } finally {
          const ms = performance.now() - started;
          s.totalLatencyMs += ms;
          if (ms > s.maxLatencyMs) s.maxLatencyMs = ms;
          this.observer?.apiCall?.(api, ms, failed);
        }
      },
      (raw) => toCloudError(raw, api, this.extraRetryable),
      policy,
      {
        sleep: (ms) => this.clock.sleep(ms),
        random: this.random,
        onRetry: (err, retry, delayMs) =>
          this.logger?.warn(
            { api, code: err.code, requestId: err.requestId, httpStatus: err.httpStatus, retry, delayMs: Math.round(delayMs) },
            'cloud call retried',
          ),
      },
      (err) => {
        const hint = (err.cause as { retryAfter?: unknown } | undefined)?.retryAfter;
        return typeof hint === 'number' && hint > 0 ? hint : undefined;
      },
    );
  }

  private fail(api: string, code: string, message: string, retryable = false): CloudError {
    return new CloudError({ api, code, message, retryable });
  }

  // ---- ENIs ----------------------------------------------------------------------------------

  async createNetworkInterface(req: CreateEniRequest): Promise<Eni> {
    const api = 'CreateNetworkInterface';
    if (req.securityGroupIds.length === 0) throw this.fail(api, 'MissingParameter', 'at least one security group is required');
    const clientToken = req.clientToken ?? randomUUID();
    const request = new $Ecs.CreateNetworkInterfaceRequest({
      regionId: this.regionId,
      vSwitchId: req.vSwitchId,
      securityGroupIds: req.securityGroupIds,
      clientToken,
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.secondaryIpCount ? { secondaryPrivateIpAddressCount: req.secondaryIpCount } : {}),
      ...(req.tags && Object.keys(req.tags).length > 0
        ? { tag: Object.entries(req.tags).map(([key, value]) => new $Ecs.CreateNetworkInterfaceRequestTag({ key, value })) }
        : {}),
    });
    const res = await this.call(api, (rt) => this.ecs.createNetworkInterfaceWithOptions(request, rt));
    if (!res.body?.networkInterfaceId) throw this.fail(api, 'InvalidResponse', 'reply without NetworkInterfaceId');
    const eni = toEniFromCreate(res.body, req);
    this.logger?.info({ api, eniId: eni.eniId, vSwitchId: eni.vSwitchId, ips: eni.secondaryIps.length + 1 }, 'eni created');
    return eni;
  }

  async deleteNetworkInterface(eniId: string): Promise<void> {
    const api = 'DeleteNetworkInterface';
    const request = new $Ecs.DeleteNetworkInterfaceRequest({ regionId: this.regionId, networkInterfaceId: eniId });
    const ctx: CallContext = { attempts: 0 };
    try {
      await this.call(api, (rt) => this.ecs.deleteNetworkInterfaceWithOptions(request, rt), ctx);
    } catch (err) {
      // A retry after a lost reply finds the ENI already gone: that is the success we asked for.
      if (err instanceof CloudError && err.code === CloudErrorCodes.EniNotFound && ctx.attempts > 1) return;
      throw err;
    }
  }

  async attachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    const api = 'AttachNetworkInterface';
    const request = new $Ecs.AttachNetworkInterfaceRequest({ regionId: this.regionId, networkInterfaceId: eniId, instanceId });
    try {
      await this.call(api, (rt) => this.ecs.attachNetworkInterfaceWithOptions(request, rt));
    } catch (err) {
      // Already attaching / attached to this instance (a retried call whose first reply was lost, or a
      // re-run after a crash): wait for it instead of failing.
      if (!(err instanceof CloudError) || err.code !== CloudErrorCodes.EniStateInvalid) throw err;
      const eni = await this.describeOne(eniId);
      if (!eni || eni.instanceId !== instanceId || (eni.status !== 'Attaching' && eni.status !== 'InUse')) throw err;
    }
    await this.waitEniStatus(api, eniId, 'InUse', instanceId);
  }

  async detachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    const api = 'DetachNetworkInterface';
    const request = new $Ecs.DetachNetworkInterfaceRequest({ regionId: this.regionId, networkInterfaceId: eniId, instanceId });
    try {
      await this.call(api, (rt) => this.ecs.detachNetworkInterfaceWithOptions(request, rt));
    } catch (err) {
      if (!(err instanceof CloudError) || err.code !== CloudErrorCodes.EniStateInvalid) throw err;
      const eni = await this.describeOne(eniId);
      if (!eni) throw err;
      if (eni.status === 'Available') return;
      if (eni.status !== 'Detaching') throw err;
    }
    await this.waitEniStatus(api, eniId, 'Available');
  }

  private async describeOne(eniId: string): Promise<Eni | undefined> {
    const list = await this.describeNetworkInterfaces({ eniIds: [eniId] });
    return list.find((e) => e.eniId === eniId);
  }

  /** Polls the ENI with growing delays until it reaches `want` or the deadline passes (CloudError Timeout). */
  private async waitEniStatus(api: string, eniId: string, want: 'InUse' | 'Available', instanceId?: string): Promise<void> {
    const deadline = this.clock.now() + this.attachTimeoutMs;
    const maxDelay = Math.max(2_000, this.attachPollMs);
    let delay = this.attachPollMs;
    let last = 'unknown';
    for (;;) {
      const left = deadline - this.clock.now();
      if (left <= 0) {
        throw new CloudError({
          api,
          code: CloudErrorCodes.Timeout,
          message: `${eniId} did not become ${want} within ${this.attachTimeoutMs}ms (last status ${last})`,
          retryable: false,
        });
      }
      await this.clock.sleep(Math.min(delay, left));
      delay = Math.min(maxDelay, delay * 1.5);
      const eni = await this.describeOne(eniId);
      if (!eni)
        throw new CloudError({
          api,
          code: CloudErrorCodes.EniNotFound,
          message: `${eniId} vanished while waiting for ${want}`,
          retryable: false,
        });
      if (eni.status === want && (want === 'Available' || eni.instanceId === instanceId)) return;
      // Seen in transit and then back where it started: the cloud gave up on the operation.
      const transit = want === 'InUse' ? 'Attaching' : 'Detaching';
      const origin = want === 'InUse' ? 'Available' : 'InUse';
      if (last === transit && eni.status === origin) {
        throw new CloudError({
          api,
          code: want === 'InUse' ? 'AttachFailed' : 'DetachFailed',
          message: `${eniId} went ${transit} → ${origin}`,
          retryable: false,
        });
      }
      last = eni.status;
    }
  }

  async assignPrivateIpAddresses(eniId: string, count: number, opts: { ips?: string[]; clientToken?: string } = {}): Promise<string[]> {
    const api = 'AssignPrivateIpAddresses';
    const n = opts.ips !== undefined ? opts.ips.length : count;
    if (!Number.isInteger(n) || n < 1 || n > IPS_PER_CALL) {
      throw this.fail(api, 'InvalidParam.PrivateIpAddressCount', `between 1 and ${IPS_PER_CALL} addresses per call, asked for ${n}`);
    }
    const request = new $Ecs.AssignPrivateIpAddressesRequest({
      regionId: this.regionId,
      networkInterfaceId: eniId,
      clientToken: opts.clientToken ?? randomUUID(),
      ...(opts.ips !== undefined ? { privateIpAddress: opts.ips } : { secondaryPrivateIpAddressCount: n }),
    });
    const res = await this.call(api, (rt) => this.ecs.assignPrivateIpAddressesWithOptions(request, rt)).catch((err: unknown) => {
      this.observer?.ipsAssigned?.(eniId, n, false);
      throw err;
    });
    const ips = res.body?.assignedPrivateIpAddressesSet?.privateIpSet?.privateIpAddress ?? [];
    this.observer?.ipsAssigned?.(eniId, ips.length, ips.length === n);
    if (ips.length !== n) {
      // The cloud applied something other than what we asked: surface it rather than guess.
      throw new CloudError({
        api,
        code: 'InvalidResponse',
        message: `asked for ${n} addresses, got ${ips.length}`,
        requestId: res.body?.requestId,
        retryable: false,
      });
    }
    return ips;
  }

  async unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void> {
    const api = 'UnassignPrivateIpAddresses';
    for (const part of chunk(ips, IPS_PER_CALL)) {
      const request = new $Ecs.UnassignPrivateIpAddressesRequest({
        regionId: this.regionId,
        networkInterfaceId: eniId,
        privateIpAddress: part,
      });
      const ctx: CallContext = { attempts: 0 };
      try {
        await this.call(api, (rt) => this.ecs.unassignPrivateIpAddressesWithOptions(request, rt), ctx);
      } catch (err) {
        // After a lost reply the retry finds the addresses already gone.
        const gone = err instanceof CloudError && (err.code === 'InvalidIp.IpUnassigned' || err.code === CloudErrorCodes.IpNotFound);
        if (gone && ctx.attempts > 1) continue;
        throw err;
      }
    }
  }

  async describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]> {
    if (filter.eniIds !== undefined) {
      if (filter.eniIds.length === 0) return [];
      const parts = chunk([...new Set(filter.eniIds)], ENI_IDS_PER_DESCRIBE);
      const out: Eni[] = [];
      for (const ids of parts) out.push(...(await this.describeEniPages(filter, ids)));
      return out;
    }
    return this.describeEniPages(filter, undefined);
  }

  /** Follows NextToken until the cloud stops returning one; merges pages, dropping duplicates. */
  private async describeEniPages(filter: DescribeEniFilter, eniIds: string[] | undefined): Promise<Eni[]> {
    const api = 'DescribeNetworkInterfaces';
    const byId = new Map<string, Eni>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const request = new $Ecs.DescribeNetworkInterfacesRequest({
        regionId: this.regionId,
        maxResults: this.pageSize,
        ...(nextToken !== undefined ? { nextToken } : {}),
        ...(eniIds !== undefined ? { networkInterfaceId: eniIds } : {}),
        ...(filter.instanceId !== undefined ? { instanceId: filter.instanceId } : {}),
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.vSwitchId !== undefined ? { vSwitchId: filter.vSwitchId } : {}),
        ...(filter.tags && Object.keys(filter.tags).length > 0
          ? { tag: Object.entries(filter.tags).map(([key, value]) => new $Ecs.DescribeNetworkInterfacesRequestTag({ key, value })) }
          : {}),
      });
      const res = await this.call(api, (rt) => this.ecs.describeNetworkInterfacesWithOptions(request, rt));
      for (const set of res.body?.networkInterfaceSets?.networkInterfaceSet ?? []) {
        const eni = toEni(set);
        if (eni) byId.set(eni.eniId, eni);
      }
      nextToken = res.body?.nextToken || undefined;
      if (nextToken === undefined) return [...byId.values()];
    }
    throw this.fail(api, 'TooManyPages', `more than ${MAX_PAGES} pages`);
  }

  // ---- instance types, vSwitches -------------------------------------------------------------

  async describeInstanceTypeLimits(instanceType: string): Promise<InstanceTypeLimits> {
    const cached = this.instanceTypeCache.get(instanceType);
    if (cached) return { ...cached };
    const api = 'DescribeInstanceTypes';
    const request = new $Ecs.DescribeInstanceTypesRequest({ instanceTypes: [instanceType] });
    const res = await this.call(api, (rt) => this.ecs.describeInstanceTypesWithOptions(request, rt));
    const found = (res.body?.instanceTypes?.instanceType ?? []).find((t) => t.instanceTypeId === instanceType);
    if (!found)
      throw new CloudError({
        api,
        code: 'InvalidInstanceType.ValueNotSupported',
        message: `unknown instance type ${instanceType}`,
        requestId: res.body?.requestId,
        retryable: false,
      });
    const limits = toInstanceTypeLimits(found);
    // Instance-type limits never change: one call per type per process.
    this.instanceTypeCache.set(instanceType, limits);
    return { ...limits };
  }

  /** vSwitches that do not exist are left out of the result (compare ids to detect them). */
  async describeVSwitches(vSwitchIds: string[]): Promise<VSwitch[]> {
    const api = 'DescribeVSwitches';
    const ids = [...new Set(vSwitchIds)];
    const results = await Promise.all(
      ids.map(async (id) => {
        const request = new $Vpc.DescribeVSwitchesRequest({ regionId: this.regionId, vSwitchId: id, pageSize: 50 });
        const res = await this.call(api, (rt) => this.vpc.describeVSwitchesWithOptions(request, rt));
        return (res.body?.vSwitches?.vSwitch ?? []).filter((v) => v.vSwitchId === id).map(toVSwitch);
      }),
    );
    return results.flat();
  }

  // ---- route entries (VPCIP mode) ------------------------------------------------------------

  private async listRouteEntries(routeTableId: string, destinationCidrBlock?: string): Promise<RouteEntry[]> {
    const api = 'DescribeRouteEntryList';
    const out: RouteEntry[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const request = new $Vpc.DescribeRouteEntryListRequest({
        regionId: this.regionId,
        routeTableId,
        maxResult: 100,
        ...(destinationCidrBlock !== undefined ? { destinationCidrBlock } : {}),
        ...(nextToken !== undefined ? { nextToken } : {}),
      });
      const res = await this.call(api, (rt) => this.vpc.describeRouteEntryListWithOptions(request, rt));
      for (const e of res.body?.routeEntrys?.routeEntry ?? []) out.push(...toRouteEntry(e, routeTableId));
      nextToken = res.body?.nextToken || undefined;
      if (nextToken === undefined) return out;
    }
    throw this.fail(api, 'TooManyPages', `more than ${MAX_PAGES} pages`);
  }

  async describeRouteEntries(routeTableId: string): Promise<RouteEntry[]> {
    return this.listRouteEntries(routeTableId);
  }

  async ensureRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    const api = 'CreateRouteEntry';
    const matching = async (): Promise<RouteEntry[]> =>
      (await this.listRouteEntries(routeTableId, destinationCidrBlock)).filter((e) => e.destinationCidrBlock === destinationCidrBlock);
    const ours = (e: RouteEntry): boolean => e.nextHopType === 'Instance' && e.nextHopId === nextHopInstanceId;
    const existing = await matching();
    if (existing.some(ours)) return;
    if (existing.length > 0) {
      const other = existing[0]!;
      throw this.fail(
        api,
        'InvalidCIDRBlock.Duplicate',
        `${destinationCidrBlock} in ${routeTableId} already routes to ${other.nextHopType} ${other.nextHopId}`,
      );
    }
    const request = new $Vpc.CreateRouteEntryRequest({
      regionId: this.regionId,
      routeTableId,
      destinationCidrBlock,
      nextHopType: 'Instance',
      nextHopId: nextHopInstanceId,
      clientToken: randomUUID(),
    });
    const ctx: CallContext = { attempts: 0 };
    try {
      await this.call(api, (rt) => this.vpc.createRouteEntryWithOptions(request, rt), ctx);
    } catch (err) {
      // A retry after a lost reply collides with the entry the first attempt created.
      if (err instanceof CloudError && err.code === 'InvalidCIDRBlock.Duplicate' && ctx.attempts > 1 && (await matching()).some(ours))
        return;
      throw err;
    }
  }

  /** Deletes the entry; an entry that is not there counts as deleted. */
  async deleteRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    const api = 'DeleteRouteEntry';
    const request = new $Vpc.DeleteRouteEntryRequest({
      regionId: this.regionId,
      routeTableId,
      destinationCidrBlock,
      nextHopId: nextHopInstanceId,
    });
    try {
      await this.call(api, (rt) => this.vpc.deleteRouteEntryWithOptions(request, rt));
    } catch (err) {
      if (err instanceof CloudError && err.code === 'InvalidRouteEntry.NotFound') return;
      throw err;
    }
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
    const out: Record<string, ApiStats> = {};
    for (const [api, s] of this.apiStats) out[api] = { ...s };
    return out;
  }

  resetStats(): void {
    this.apiStats.clear();
  }

  rateLimiterStats(): RateLimiterStats {
    return this.limiter.stats();
  }

  metadataStats(): MetadataStats {
    return this.metadata.stats();
  }

  /** The backoff policy in force for an API (for introspection). */
  backoffFor(api: string): BackoffPolicy {
    return this.backoff.forApi(api);
  }

  /** Releases keep-alive sockets (metadata agent). */
  close(): void {
    this.metadata.close();
  }
}
