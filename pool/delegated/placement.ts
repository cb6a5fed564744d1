// The delegated pool's port: the addresses someone else (the cluster's controller, centralized IPAM) placed
// on this node, and the usage the pool reports back. Declared here because the pool owns it; the daemon
// implements it over the node's custom resource (daemon/modes/crd/), the bench and tests over the in-memory
// API server. No cloud call is made on this side of the port.

/**
 * The controller's word on one IP:
 *   valid       usable
 *   reclaiming  the controller wants it back: the node answers `released` (if free) or keeps reporting its use
 *   deleting    being unassigned (after the node's `released`)
 *   invalid     the cloud no longer has it
 */
export type PlacedIpStatus = 'valid' | 'reclaiming' | 'deleting' | 'invalid';

export interface PlacedIp {
  ip: string;
  status: PlacedIpStatus;
}

export interface PlacedEni {
  eniId: string;
  mac: string;
  /** The instance's primary ENI (eth0). */
  primary: boolean;
  vSwitchId: string;
  vSwitchCidr: string;
  /** The ENI's own address. */
  primaryIp: string;
  /** `attaching`: not usable yet; `deleting`: on its way out, nothing new is taken from it. */
  state: 'attaching' | 'inuse' | 'deleting';
  ips: PlacedIp[];
}

export interface Placement {
  enis: PlacedEni[];
  /** The controller cannot grow this node now and waiting will not help (quota, vSwitch exhausted). */
  blocked?: { code?: string; message: string };
}

/** What an IP is to the node; a free IP is not listed. `released`: the node gave it up for good. */
export type IpUse = 'assigned' | 'cooling' | 'reserved' | 'released';

export interface NodeUsage {
  /** Allocation requests waiting for an IP, and when the oldest started (ms). */
  waitingPods: number;
  waitingSince?: number;
  /** Every IP that is not free, with its use and (assigned / reserved) the `namespace/name` of its pod. */
  ips: Map<string, { use: IpUse; podId?: string }>;
}

export interface PlacementSource {
  /**
   * Starts delivering placements (none until the controller has reconciled this node with the cloud; maybe
   * never while the API server is down: the pool then serves what it persisted). `usage` is read whenever
   * the source writes the node's usage back.
   */
  start(onPlacement: (p: Placement) => void, usage: () => NodeUsage): void;
  /** The usage changed: write it back (coalesced; eventually, retried until it is written). */
  usageChanged(): void;
  stop(): Promise<void>;
}
