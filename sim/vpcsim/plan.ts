// Pure decisions of the simulated VPC data plane: link names, device indexes, and the `ip` batch lines
// that wire an ENI. No I/O here, so it is unit-tested without root.
//
// Wiring (one veth pair per attached ENI):
//   node netns:   eth<N>  (MAC = the ENI's MAC; N = device index, primary = eth0)
//   router netns: n<node>e<N>  holds <gateway>/32, proxy_arp on (so it answers ARP for the gateway and for every
//                 IP routed elsewhere, as a VPC vSwitch does), routes `<ip>/32 dev n<node>e<N>` for each private
//                 IP of the ENI plus a permanent neighbour `<ip> lladdr <ENI MAC>` (the VPC knows which ENI holds an
//                 IP; nodes never have to answer ARP for pod IPs).

import { splitIpv4Cidr } from '../../lib/ipv4.js';

export interface EniWiring {
  instanceId: string;
  eniId: string;
  mac: string;
  deviceIndex: number;
  /** The node's netns. */
  nodeNetns: string;
  /** Name of the node-side link (eth<N>). */
  nodeIfName: string;
  /** Name of the router-side link. */
  routerIfName: string;
  gateway: string;
  /** vSwitch CIDR, e.g. 10.0.0.0/23. */
  cidr: string;
  primaryIp: string;
  /** Dual stack: the vSwitch's IPv6 gateway (the router end holds it, as the IPv4 one). */
  ipv6Gateway?: string;
}

/** /32 for an IPv4 address, /128 for an IPv6 one. */
function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

export function nodeIfName(deviceIndex: number): string {
  return `eth${deviceIndex}`;
}

/** Router-side link name; at most 15 characters for node indexes below 10^6 and device indexes below 10^6. */
export function routerIfName(nodeIndex: number, deviceIndex: number): string {
  return `n${nodeIndex}e${deviceIndex}`;
}

/** The lowest device index >= 1 not in use (0 is the primary ENI's). */
export function nextDeviceIndex(used: Iterable<number>): number {
  const taken = new Set(used);
  let i = 1;
  while (taken.has(i)) i++;
  return i;
}

/** Router-netns lines that create the veth pair for an ENI and give the router end the gateway address. */
export function routerAttachLines(w: EniWiring): string[] {
  return [
    `link add ${w.routerIfName} type veth peer name ${w.nodeIfName} address ${w.mac} netns ${w.nodeNetns}`,
    `addr add ${w.gateway}/32 dev ${w.routerIfName}`,
    // No DAD: the gateway answers neighbour solicitations as soon as the link is up.
    ...(w.ipv6Gateway ? [`addr add ${w.ipv6Gateway}/128 dev ${w.routerIfName} nodad noprefixroute`] : []),
    // The kernel would wait up to proxy_delay (0.8 s) before answering a broadcast ARP by proxy.
    `ntable change name arp_cache dev ${w.routerIfName} proxy_delay 0`,
    `link set ${w.routerIfName} up`,
  ];
}

/**
 * Node-netns lines for the PRIMARY ENI only: it comes up with its primary IP, the vSwitch prefix, and the default
 * route through the gateway (what cloud-init does on a real instance). Secondary ENIs stay down and unaddressed,
 * like a freshly hot-plugged NIC: the daemon's driver owns them.
 */
export function nodePrimaryLines(w: EniWiring): string[] {
  return [
    `link set ${w.nodeIfName} up`,
    `addr add ${w.primaryIp}/${splitIpv4Cidr(w.cidr).prefix} dev ${w.nodeIfName}`,
    `route replace default via ${w.gateway} dev ${w.nodeIfName}`,
  ];
}

/** Router lines that send each IP to the ENI's link (idempotent: replace). */
export function routeAddLines(routerIf: string, mac: string, ips: readonly string[]): string[] {
  return ips.flatMap((ip) => [
    `route replace ${hostPrefix(ip)} dev ${routerIf}`,
    `neigh replace ${ip} lladdr ${mac} dev ${routerIf} nud permanent`,
  ]);
}

/** Router lines that withdraw routes previously added by routeAddLines. Only call with IPs known to be routed. */
export function routeDelLines(routerIf: string, ips: readonly string[]): string[] {
  return ips.flatMap((ip) => [`route del ${hostPrefix(ip)} dev ${routerIf}`, `neigh del ${ip} dev ${routerIf}`]);
}

/**
 * A custom VPC route entry (VPCIP mode: a node's pod CIDR -> that instance): the router sends the CIDR to the
 * instance's primary IP on its primary ENI link (the permanent neighbour there gives the ENI MAC).
 */
export function routeEntryAddLines(cidr: string, primaryIp: string, primaryRouterIf: string): string[] {
  return [`route replace ${cidr} via ${primaryIp} dev ${primaryRouterIf}`];
}

export function routeEntryDelLines(cidr: string): string[] {
  return [`route del ${cidr}`];
}
