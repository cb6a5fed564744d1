// The official SDK clients (ECS, VPC), unmodified, and what every call wrapper shares: the region,
// the clients, the per-request runtime options and the plumbing's `call`.
import EcsModule from '@alicloud/ecs20140526';
import VpcModule from '@alicloud/vpc20160428';
import { $OpenApiUtil } from '@alicloud/openapi-core';
// Transitive dependency of the SDK (single copy in node_modules): its RuntimeOptions type is what the SDK takes.
import * as $dara from '@darabonba/typescript';
import { CloudError, type CloudObserver } from './types.js';
import type { SdkCredential } from './credentials.js';
import type { CallContext, CloudLogger } from './caller.js';
import { cjsDefault } from './interop.js';

const EcsClient = cjsDefault(EcsModule);
const VpcClient = cjsDefault(VpcModule);
export type EcsClientT = InstanceType<typeof EcsClient>;
export type VpcClientT = InstanceType<typeof VpcClient>;

/** Bound on followed NextTokens in one listing. */
export const MAX_PAGES = 10_000;

/** A failure found on our side of a call (bad arguments, an odd reply): not retried. */
export function cloudFail(api: string, code: string, message: string): CloudError {
  return new CloudError({ api, code, message, retryable: false });
}

/** What the ECS / VPC call wrappers need. */
export interface SdkContext {
  readonly regionId: string;
  readonly ecs: EcsClientT;
  readonly vpc: VpcClientT;
  /** Per-request options (timeouts; the SDK's own retry off). */
  readonly runtime: $dara.RuntimeOptions;
  /** One logical call through the rate limiter, retries and stats (ApiCaller.call). */
  call<T>(api: string, send: () => Promise<T>, ctx?: CallContext): Promise<T>;
  readonly logger?: CloudLogger;
  readonly observer?: CloudObserver;
}

export interface SdkClientOptions {
  regionId: string;
  /** ECS endpoint: `host[:port]` or a URL whose scheme sets the protocol. Default: the SDK's regional endpoint. */
  endpoint?: string;
  /** VPC endpoint. Default: `endpoint` with a leading `ecs` host label turned into `vpc`; else the SDK's. */
  vpcEndpoint?: string;
  protocol?: 'http' | 'https';
  /** Asked before every request (the credential chain: credentialChain.ts). */
  credential: SdkCredential;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
}

function splitEndpoint(endpoint: string | undefined): { host?: string; protocol?: 'http' | 'https' } {
  if (endpoint === undefined || endpoint === '') return {};
  if (endpoint.includes('://')) {
    const u = new URL(endpoint);
    return { host: u.host, protocol: u.protocol === 'http:' ? 'http' : 'https' };
  }
  return { host: endpoint.replace(/\/+$/, '') };
}

export function createSdkClients(opts: SdkClientOptions): Pick<SdkContext, 'ecs' | 'vpc' | 'runtime'> {
  const ecsEp = splitEndpoint(opts.endpoint);
  const vpcEp =
    opts.vpcEndpoint !== undefined
      ? splitEndpoint(opts.vpcEndpoint)
      : { host: ecsEp.host?.replace(/^ecs(?=[.-])/, 'vpc'), protocol: ecsEp.protocol };
  const config = (ep: { host?: string; protocol?: 'http' | 'https' }): $OpenApiUtil.Config =>
    new $OpenApiUtil.Config({
      regionId: opts.regionId,
      ...(ep.host !== undefined ? { endpoint: ep.host } : {}),
      protocol: opts.protocol ?? ep.protocol ?? 'https',
      credential: opts.credential,
      readTimeout: opts.requestTimeoutMs,
      connectTimeout: opts.connectTimeoutMs,
    });
  return {
    ecs: new EcsClient(config(ecsEp)),
    vpc: new VpcClient(config(vpcEp)),
    // Retries are ours: the SDK only retries when Config.retryOptions is set, and it is not.
    runtime: new $dara.RuntimeOptions({
      autoretry: false,
      maxAttempts: 1,
      readTimeout: opts.requestTimeoutMs,
      connectTimeout: opts.connectTimeoutMs,
    }),
  };
}
