// What a mode builder gets from the daemon's shared wiring, and what it gives back. One builder per way of
// getting pod addresses (build/index.ts lists them); daemon.ts does the rest (cloud, Kubernetes, pod DB,
// driver, gRPC, metrics) the same for every mode.
import type { Logger } from 'pino';
import type { IpAllocation, IpAllocator, NodeCapacity, OwnerCheck, PoolStore } from '../../pool/index.js';
import type { Cloud, InstanceMetadata } from '../cloud/types.js';
import type { DaemonConfig } from '../config/types.js';
import type { KubeClient } from '../k8s/index.js';
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
  cloud: Cloud;
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
  /** The allocator and the mode's background parts. Not called when the caller supplies a ready allocator. */
  build(ctx: ModeContext): Promise<ModeParts>;
  /** The service over the allocator (built here or supplied). */
  service(deps: ModeServiceDeps): ModeService;
}
