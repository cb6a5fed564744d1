// The daemon's cloud contract: the pool's port (pool/cloud.ts, owned by the pool) plus what the
// daemon's other parts need (VPCIP route entries, instance metadata, per-API stats).
// Implemented by the SDK-backed client (./client.ts).
import type { EniMetadata, PoolCloud } from '../../pool/cloud.js';

export * from '../../pool/cloud.js';

export interface RouteEntry {
  routeTableId: string;
  destinationCidrBlock: string;
  nextHopType: string; // e.g. 'Instance'
  nextHopId: string;
  status: string; // 'Available' | 'Pending' | ...
}

/** Instance metadata (the ECS metadata service, 100.100.100.200 in the real cloud). */
export interface InstanceMetadata {
  instanceId: string;
  regionId: string;
  zoneId: string;
  instanceType: string;
  vpcId: string;
  vSwitchId: string;
  primaryMac: string;
  /** MACs of all ENIs attached to the instance (primary included). */
  eniMacs: string[];
}

export interface ApiStats {
  calls: number;
  errors: number;
  throttled: number;
  retries: number;
  totalLatencyMs: number;
  maxLatencyMs: number;
}

/**
 * Per-request hooks for metrics (Terway's aliyun_openapi_latency, rate_limiter_latency,
 * aliyun_metadata_latency, terway_eniip_factory_ip_alloc_count). Called synchronously; must not throw.
 */
export interface CloudObserver {
  /** One OpenAPI attempt (each retry is an attempt of its own). */
  apiCall?(api: string, ms: number, failed: boolean): void;
  /** How long one attempt waited for the client-side rate limiter (0 when a token was ready). */
  rateLimitWait?(api: string, ms: number): void;
  /** One metadata HTTP request, by full URL. */
  metadataRequest?(url: string, ms: number, failed: boolean): void;
  /** AssignPrivateIpAddresses on an ENI: the addresses obtained, or the number asked for when it failed. */
  ipsAssigned?(eniId: string, count: number, ok: boolean): void;
}

export interface Cloud extends PoolCloud {
  /** Creates the route entry unless an identical one exists (VPCIP mode). */
  ensureRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void>;
  deleteRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void>;
  describeRouteEntries(routeTableId: string): Promise<RouteEntry[]>;
  getInstanceMetadata(): Promise<InstanceMetadata>;
  getEniMetadata(mac: string): Promise<EniMetadata>;
  /** Per-API counters and latency (for metrics and benchmarks). */
  stats(): Record<string, ApiStats>;
}
