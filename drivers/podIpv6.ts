// Dual stack for the drivers whose pod interface sits on the ENI itself (rawEni, ipvlan): the pod's IPv6 /128
// (no DAD: the VPC hands each address to one ENI only) with a /128 route to the vSwitch's IPv6 gateway on the
// link and the default via it. Not the vSwitch /64 on-link: the pod would then solicit its vSwitch peers
// directly, which works only where the VPC answers NDP for every address; through the gateway it needs only
// the gateway's answer, and the VPC routes each address on its own (as for veth pods).
import type { RouteRequest } from './netlink.js';
import { DriverError, type PodNetworkSpec } from './types.js';

/** The pod's IPv6 address and gateway, or undefined (IPv4 only); throws when the gateway is unknown. */
export function podIpv6(spec: PodNetworkSpec, op: string): { ip: string; gateway: string } | undefined {
  if (!spec.ipv6) return undefined;
  if (!spec.ipv6Gateway)
    throw new DriverError(op, `IPv6 gateway of ENI ${spec.eniId}'s vSwitch unknown (ENI metadata ipv6-gateway)`, { errno: 'EINVAL' });
  return { ip: spec.ipv6, gateway: spec.ipv6Gateway };
}

/** The pod's IPv6 routes on `ifName` (index `oif`), in the order they must be sent: the gateway on-link, then the default via it. */
export function ipv6GatewayRoutes(gateway: string, oif: number, ifName: string): { op: string; route: RouteRequest }[] {
  return [
    { op: `add route ${gateway}/128 dev ${ifName}`, route: { dst: gateway, dstLen: 128, oif, scope: 'UNIVERSE' } },
    { op: `add default via ${gateway}`, route: { gateway, oif, scope: 'UNIVERSE' } },
  ];
}
