// The centralized-IPAM rig, in one process: a mock-cloud world sized for N nodes, the controller over the
// in-memory API server, and N node sides (the real delegated pool and the real Node-resource source, pod DB
// in memory, no netns). The scale bench and the controller's suites use it.
import { AliyunCloud } from '../../daemon/cloud/client.js';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import type { InstanceMetadata } from '../../daemon/cloud/types.js';
import { nodeCrSpec } from '../../daemon/build/crd.js';
import { parseDaemonConfig } from '../../daemon/config/parse.js';
import { NODE_CR, type NodeCr } from '../../daemon/k8s/nodeCr.js';
import { NodeCrSource, type NodeCrApi } from '../../daemon/modes/crd/nodeCrSource.js';
import { Controller, type ControllerLogger, type ControllerOptions } from '../../controlplane/controller.js';
import { DelegatedPool } from '../../pool/delegated/index.js';
import { MemoryPoolStore, type PoolStore } from '../../pool/store.js';
import type { MockCloudHandle, WorldSpec } from '../mockcloud/index.js';
import { ApiStore } from '../kube/store.js';
import { NODE_CRS } from '../kube/resources.js';

export const SCALE_INSTANCE_TYPE = 'ecs.g7.4xlarge';
export const SCALE_ZONE = 'cn-hangzhou-h';
export const SCALE_VPC = 'vpc-scale-1';
export const SCALE_SG = 'sg-scale-1';
/** Addresses per vSwitch (/20: 4096 less the reserved ones); the mock hands addresses out lowest first, so many small vSwitches keep that cheap. */
const VSWITCH_PREFIX = 20;

export interface ScaleWorld {
  spec: Partial<WorldSpec>;
  instanceIds: string[];
  nodeNames: string[];
  /** The vSwitch node i's pod ENIs go to (its own instance's). */
  vSwitchOf(i: number): string;
}

/** N instances of one type in one zone, and enough /20 vSwitches for `addresses` (pods, ENI and node primaries). */
export function scaleWorld(nodes: number, addresses: number): ScaleWorld {
  const usable = 2 ** (32 - VSWITCH_PREFIX) - 4;
  const count = Math.max(1, Math.ceil((addresses * 1.25) / usable));
  if (count > 4096) throw new Error(`a world of ${addresses} addresses does not fit the VPC`);
  const vSwitches = Array.from({ length: count }, (_, k) => ({
    id: `vsw-scale-${k}`,
    zoneId: SCALE_ZONE,
    cidr: `10.${k >> 4}.${(k & 15) << 4}.0/${VSWITCH_PREFIX}`,
  }));
  const pad = String(nodes).length;
  const instanceIds = Array.from({ length: nodes }, (_, i) => `i-scale-${String(i + 1).padStart(pad, '0')}`);
  const vSwitchOf = (i: number): string => vSwitches[i % count]!.id;
  return {
    spec: {
      zones: [SCALE_ZONE],
      vpc: { id: SCALE_VPC, cidr: '10.0.0.0/8' },
      vSwitches,
      securityGroups: [SCALE_SG],
      instanceTypes: [{ id: SCALE_INSTANCE_TYPE, eniQuantity: 8, ipv4PerEni: 20, ipv6PerEni: 20 }],
      instances: instanceIds.map((id, i) => ({
        id,
        instanceType: SCALE_INSTANCE_TYPE,
        zoneId: SCALE_ZONE,
        vSwitchId: vSwitchOf(i),
        securityGroupId: SCALE_SG,
      })),
    },
    instanceIds,
    nodeNames: instanceIds.map((_, i) => `node-${String(i + 1).padStart(pad, '0')}`),
    vSwitchOf,
  };
}

export type CloudAddress = Pick<MockCloudHandle, 'regionId' | 'url' | 'accessKeyId' | 'accessKeySecret'>;

/** The SDK-backed client a controller (or a node-local daemon) uses against the mock. */
export function cloudClient(
  mc: CloudAddress,
  opts: {
    limiter?: RateLimiter;
    qps?: number;
    burst?: number;
    attachPollMs?: number;
    retry?: ConstructorParameters<typeof AliyunCloud>[0]['retry'];
  } = {},
): AliyunCloud {
  return new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: `${mc.url}/metadata/none`,
    ...(opts.limiter ? { limiter: opts.limiter } : { qps: opts.qps ?? 1000, burst: opts.burst ?? 1000, terwayRateLimitDefaults: false }),
    attachPollMs: opts.attachPollMs ?? 50,
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export interface RigNode {
  name: string;
  instanceId: string;
  pool: DelegatedPool;
  source: NodeCrSource;
  store: PoolStore;
}

/** One node side: its Node resource source and its delegated pool (started). `eniConf` overrides eni_conf keys. */
export async function startNodeSide(o: {
  api: NodeCrApi;
  name: string;
  instanceId: string;
  vSwitchId: string;
  eniConf?: Record<string, unknown>;
  store?: PoolStore;
  allocDeadlineMs?: number;
  timers?: boolean;
}): Promise<RigNode> {
  const { config } = parseDaemonConfig({
    ipam_type: 'crd',
    security_groups: [SCALE_SG],
    vswitches: { [SCALE_ZONE]: [o.vSwitchId] },
    ...(o.eniConf ?? {}),
  });
  const md: InstanceMetadata = {
    instanceId: o.instanceId,
    regionId: 'cn-hangzhou',
    zoneId: SCALE_ZONE,
    instanceType: SCALE_INSTANCE_TYPE,
    vpcId: SCALE_VPC,
    vSwitchId: o.vSwitchId,
    primaryMac: '',
    eniMacs: [],
  };
  const store = o.store ?? new MemoryPoolStore();
  const source = new NodeCrSource({ api: o.api, nodeName: o.name, spec: nodeCrSpec(config, md, o.instanceId), log: quiet, retryMs: 200 });
  const pool = new DelegatedPool({
    store,
    source,
    config: {
      ipCooldownMs: config.ipCooldownMs,
      allocDeadlineMs: o.allocDeadlineMs ?? config.allocTimeoutMs,
      eniSelectionPolicy: config.eniSelectionPolicy,
    },
    timers: o.timers ?? false,
  });
  await pool.start();
  return { name: o.name, instanceId: o.instanceId, pool, source, store };
}

/** An API store serving Node resources (and Leases). */
export function apiStore(): { store: ApiStore; nodes: NodeCrApi & { delete(name: string): Promise<void> } } {
  const store = new ApiStore([NODE_CRS]);
  return { store, nodes: store.objectApi<NodeCr>(NODE_CR) };
}

/** A controller over the given API and cloud, always leading unless `isLeader` says otherwise. */
export function newController(
  o: Partial<ControllerOptions> & Pick<ControllerOptions, 'nodes' | 'cloud' | 'limiter'> & { log?: ControllerLogger },
): Controller {
  return new Controller({ vpcId: SCALE_VPC, isLeader: () => true, log: quiet, ...o });
}
