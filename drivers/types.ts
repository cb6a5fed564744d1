// What the daemon asks of a data-plane driver. Each driver wires one pod interface.

export interface PodNetworkSpec {
  containerId: string;
  /** Path of the pod's netns, e.g. /var/run/netns/cni-1234 or /proc/PID/ns/net. */
  netnsPath: string;
  /** Interface name inside the pod (CNI_IFNAME). */
  ifName: string;
  /** Pod IPv4 address (no prefix). */
  ip: string;
  /** The ENI that carries the pod's IP: its MAC finds the host link, its id names the per-ENI table. */
  eniId: string;
  eniMac: string;
  /** The ENI's primary IP (a pod address itself): a copy an older version left on the host link is removed. Optional: unknown after a restart until the cloud answers. */
  eniPrimaryIp?: string;
  /** IP sits on the primary ENI: egress uses the main table, no from-rule. */
  primaryEni: boolean;
  /** vSwitch CIDR and gateway of that ENI. */
  vSwitchCidr: string;
  gateway: string;
  /** Dual stack: the pod's IPv6 address (no prefix) and the ENI's vSwitch IPv6 gateway (its table's IPv6 default route). */
  ipv6?: string;
  ipv6Gateway?: string;
  mtu: number;
}

export interface PodNetworkResult {
  /** Host-side interface (veth) name, when the driver creates one. */
  hostIfName?: string;
  hostIfMac?: string;
  /** Pod-side interface MAC. */
  podIfMac: string;
  /** Gateway the pod uses (link-local for veth, vSwitch gateway for ipvlan / raw ENI). */
  podGateway: string;
  /** Dual stack: the IPv6 gateway the pod uses (fe80::1 for veth). */
  podGatewayV6?: string;
}

export interface TeardownSpec {
  containerId: string;
  netnsPath?: string;
  ifName: string;
  ip?: string;
  /** Dual stack: the pod's IPv6 address (read from the host /128 route when absent). */
  ipv6?: string;
  eniMac?: string;
  primaryEni?: boolean;
}

export interface Driver {
  readonly name: 'veth' | 'ipvlan' | 'rawEni' | 'none';
  setup(spec: PodNetworkSpec): Promise<PodNetworkResult>;
  /** Removes exactly what setup created; idempotent (missing netns / links are fine). */
  teardown(spec: TeardownSpec): Promise<void>;
  /** Throws DriverError when the interface, address or routes are missing. */
  check(spec: PodNetworkSpec): Promise<void>;
  /**
   * Start-up repair: removes host-side wiring (links, routes, rules) this driver made for pods that are
   * not in `live`, and never touches what a live pod uses. Returns what it removed. Optional: ipvlan
   * leaves only `/32` routes on its shared host slave (not reconciled yet), rawEni leaves nothing (an
   * ENI link in a dead netns comes back to the init netns by itself), none touches no kernel state.
   */
  reconcile?(live: LivePod[]): Promise<{ removed: string[] }>;
  /** Removes the kernel state of an ENI that was detached (its table, rules, primary IP). Optional: only drivers with per-ENI tables. */
  removeEniTable?(eni: { mac: string; primaryIp?: string; vSwitchCidr?: string }): Promise<void>;
  /**
   * Pods among `live` that are gone: their host wiring vanished together with their netns, as when the
   * runtime deleted the pod (and ran a DEL the daemon never saw) while the daemon was down. Optional:
   * drivers that cannot tell return nothing.
   */
  orphaned?(live: Array<LivePod & { netnsPath: string }>): Promise<LivePod[]>;
}

/** A pod interface the daemon still holds an allocation for (Driver.reconcile). */
export interface LivePod {
  containerId: string;
  ifName: string;
  ip: string;
  ipv6?: string;
}

export class DriverError extends Error {
  /** errno name from the kernel when known (EEXIST, ENODEV, ESRCH, ENOTSUP...). */
  readonly errno?: string;
  readonly op: string;
  readonly netns?: string;
  constructor(op: string, message: string, opts: { errno?: string; netns?: string; cause?: unknown } = {}) {
    super(`${op}${opts.netns ? ` in ${opts.netns}` : ''}: ${message}`, { cause: opts.cause });
    this.name = 'DriverError';
    this.op = op;
    this.errno = opts.errno;
    this.netns = opts.netns;
  }
}
