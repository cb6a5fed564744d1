// What a mode builder gets from the daemon's shared wiring, and what it gives back. One builder per way of
// getting pod addresses (build/index.ts lists them); daemon.ts does the rest (cloud, Kubernetes, pod DB,
// driver, gRPC, metrics) the same for every mode.
import type { Logger } from 'pino';
import type { IpAllocation, IpAllocator, NodeCapacity, OwnerCheck, PoolStore } from '../../pool/index.js';
import type { Cloud, InstanceMetadata } from '../cloud/types.js';
import type { DaemonConfig } from '../config/types.js';
import type { KubeClient, KubeClientOptions } from '../k8s/index.js';
import type { NodeCrApi } from '../modes/crd/nodeCrSource.js';
import type { EniMultiIpDeps } from '../modes/eniMultiIp.js';
import type { EventRecorder, NetworkService } from '../modes/types.js';
import type { KernelHygiene } from '../modes/kernelHygiene.js';

/** A pool warning as the node sees it (both pools' events have these fields). */
export interface NodeWarning {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ModeContext {
  config: DaemonConfig;
  /** The cloud client; absent for a builder that makes no cloud call (`usesCloud: false`). */
  cloud?: Cloud;
  /** The pod DB, opened by the daemon (it closes it). */
  store: PoolStore;
  instanceId: string;
  metadata: InstanceMetadata;
  logger: Logger;
  /** GC by pod existence; set only for builders with `podGc`, with Kubernetes and a node name. */
  ownerCheck?: OwnerCheck;
  /** Pool hooks that keep the kernel in step (bound to the driver and the service after the build). */
  hygiene: KernelHygiene;
  /** Daemon events: the log, plus core/v1 Events with Kubernetes. */
  events: EventRecorder;
  /** Puts a pool Warning on this Node too (only with Kubernetes and a node name). */
  nodeWarning?: (e: NodeWarning) => void;
  kube?: KubeClient;
  nodeName?: string;
  /** How the Kubernetes client was made, for builders that need more of the API (the crd mode's node resource). */
  kubeOptions?: KubeClientOptions;
  /** The node resource client, when the caller supplies one (tests, the scale bench); else built from `kubeOptions`. */
  nodeCrs?: NodeCrApi;
}

/** The cloud client of a builder that uses one (`usesCloud: true`): the daemon always makes it for them. */
export function cloudOf(ctx: Pick<ModeContext, 'cloud' | 'config'>): Cloud {
  if (!ctx.cloud) throw new Error(`daemon_mode ${ctx.config.daemonMode}: no cloud client`);
  return ctx.cloud;
}

/** Mode-specific work started once the service serves; returns its stop, if it has one. */
export type BackgroundPart = () => (() => void) | void;

export interface ModeParts {
  allocator: IpAllocator;
  background?: BackgroundPart[];
  /** Pods this node holds in the mode, as it stands (maxPods.ts); known once the allocator has started. */
  capacity?: () => NodeCapacity;
}

/** The mode's service: a NetworkService; `teardownGone` unwires a gone pod for pool GC (KernelHygiene). */
export type ModeService = NetworkService & { teardownGone?(alloc: IpAllocation): Promise<void> };

export type ModeServiceDeps = Pick<EniMultiIpDeps, 'allocator' | 'driver' | 'mtu' | 'logger'>;

export interface ModeBuilder {
  /** Whether this builder serves the config (the registry takes the first that does). */
  serves(config: DaemonConfig): boolean;
  /** Whether its allocator runs GC by pod existence (the daemon then builds an OwnerCheck with Kubernetes). */
  readonly podGc: boolean;
  /** Whether it calls the cloud (the daemon then makes the client, with the node's credentials). */
  readonly usesCloud: boolean;
  /** The allocator and the mode's background parts. Not called when the caller supplies a ready allocator. */
  build(ctx: ModeContext): Promise<ModeParts>;
  /** The service over the allocator (built here or supplied). */
  service(deps: ModeServiceDeps): ModeService;
}
