// The IPv6 half of the veth + policy-routing driver (dual stack), AWS VPC CNI's IPv6 shape:
//   pod:  <ifName> podIPv6/128 (no DAD: usable at once), `default via fe80::1 dev <ifName>`,
//         PERMANENT neighbour fe80::1 → host veth MAC (no NDP for the gateway).
//   host: `podIPv6/128 dev <hostVeth>` (main) with a PERMANENT neighbour podIPv6 → pod MAC (the host veth's own
//         link-local may still be in DAD when the first packet comes), `ip -6 rule to podIPv6 lookup main` (512),
//         secondary ENI: `ip -6 rule from podIPv6 lookup <eniTable>` (1536); net.ipv6.conf.all.forwarding=1.
import type { Nl, RouteInfo, RuleInfo } from './netlink.js';
import { AF_INET6, CREATE_REPLACE, RT_TABLE_MAIN } from './netlink.js';
import { FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY } from './eniTable.js';

/** The pod's IPv6 gateway: link-local, answered by the permanent neighbour (as 169.254.1.1 for IPv4). */
export const POD_GATEWAY_V6 = 'fe80::1';

export interface VethEnds {
  podIndex: number;
  podMac: string;
  hostIndex: number;
  hostMac: string;
  hostName: string;
  ifName: string;
}

/** The requests that wire the pod's IPv6 address, issued at once (pipelined with the IPv4 ones by the caller). */
export function setupIpv6(pod: Nl, host: Nl, ends: VethEnds, ipv6: string, eniTableId?: number): Promise<unknown>[] {
  const ops: Promise<unknown>[] = [
    pod.addAddress(`add ${ipv6}/128 on ${ends.ifName}`, ends.podIndex, ipv6, 128, { flags: CREATE_REPLACE }),
    pod.addRoute(`add default via ${POD_GATEWAY_V6}`, { gateway: POD_GATEWAY_V6, oif: ends.podIndex, scope: 'UNIVERSE' }, CREATE_REPLACE),
    pod.addPermanentNeighbor(`add neighbour ${POD_GATEWAY_V6}`, ends.podIndex, POD_GATEWAY_V6, ends.hostMac),
    host.addRoute(`add route ${ipv6}/128 dev ${ends.hostName}`, { dst: ipv6, oif: ends.hostIndex, scope: 'UNIVERSE' }, CREATE_REPLACE),
    host.addPermanentNeighbor(`add neighbour ${ipv6} on ${ends.hostName}`, ends.hostIndex, ipv6, ends.podMac),
    host.addRule(`add rule to ${ipv6}`, { dst: ipv6, table: RT_TABLE_MAIN, priority: TO_POD_RULE_PRIORITY }),
  ];
  if (eniTableId !== undefined)
    ops.push(
      host.addRule(`add rule from ${ipv6} lookup ${eniTableId}`, { src: ipv6, table: eniTableId, priority: FROM_POD_RULE_PRIORITY }),
    );
  return ops;
}

/** The pod's IPv6 address from the host /128 route through its veth (teardown without the pod DB's word). */
export async function hostVethIpv6(host: Nl, hostIndex: number): Promise<string | undefined> {
  return (await host.routes(RT_TABLE_MAIN, AF_INET6)).find((r) => r.oif === hostIndex && r.dstLen === 128 && r.dst)?.dst;
}

/**
 * Removes the host side of a pod's IPv6 address: its /128 through this veth, then (unless another link now
 * routes the address: it was handed to another pod) its rules. The neighbour goes with the veth.
 */
export async function teardownIpv6(host: Nl, ipv6: string, hostIndex: number | undefined, hostName: string): Promise<void> {
  const own =
    hostIndex !== undefined ? await host.delRoute(`delete route ${ipv6}/128 dev ${hostName}`, { dst: ipv6, oif: hostIndex }) : false;
  const reused =
    !own && (await host.routes(RT_TABLE_MAIN, AF_INET6)).some((r) => r.dst === ipv6 && r.dstLen === 128 && r.oif !== hostIndex);
  if (!reused) await removeIpv6Rules(host, ipv6);
}

export async function removeIpv6Rules(host: Nl, ipv6: string): Promise<void> {
  await Promise.all([
    host.delRuleAll(`delete rule to ${ipv6}`, { dst: ipv6, priority: TO_POD_RULE_PRIORITY }),
    host.delRuleAll(`delete rule from ${ipv6}`, { src: ipv6, priority: FROM_POD_RULE_PRIORITY }),
  ]);
}

/** IPv6 addresses with a per-pod rule on the host (start-up reconcile). */
export function ipv6RuleIps(rules: readonly RuleInfo[]): string[] {
  const ips = new Set<string>();
  for (const r of rules) {
    if (r.priority === TO_POD_RULE_PRIORITY && r.dst && r.dstLen === 128) ips.add(r.dst);
    if (r.priority === FROM_POD_RULE_PRIORITY && r.src && r.srcLen === 128) ips.add(r.src);
  }
  return [...ips];
}

/** What check() finds missing of the IPv6 wiring (empty: all there). */
export async function checkIpv6(
  pod: Nl,
  host: Nl,
  ends: Pick<VethEnds, 'podIndex' | 'hostIndex' | 'hostMac' | 'hostName' | 'ifName'>,
  ipv6: string,
  eni?: { tableId: number; ipv6Gateway?: string },
): Promise<string[]> {
  const [addrs, podRoutes, podNeigh, hostRoutes, rules, eniRoutes] = await Promise.all([
    pod.addresses(ends.podIndex, AF_INET6),
    pod.routes(RT_TABLE_MAIN, AF_INET6),
    pod.neighbors(ends.podIndex, AF_INET6),
    host.routes(RT_TABLE_MAIN, AF_INET6),
    host.rules(AF_INET6),
    eni ? host.routes(eni.tableId, AF_INET6) : Promise.resolve([] as RouteInfo[]),
  ]);
  const missing: string[] = [];
  if (!addrs.some((a) => a.address === ipv6 && a.prefixLen === 128)) missing.push(`address ${ipv6}/128 missing on ${ends.ifName}`);
  if (!podRoutes.some((r) => r.dstLen === 0 && r.gateway === POD_GATEWAY_V6 && r.oif === ends.podIndex))
    missing.push(`default route via ${POD_GATEWAY_V6} missing`);
  if (!podNeigh.some((n) => n.dst === POD_GATEWAY_V6 && n.permanent && n.mac === ends.hostMac))
    missing.push(`permanent neighbour ${POD_GATEWAY_V6} missing`);
  if (!hostRoutes.some((r) => r.dst === ipv6 && r.dstLen === 128 && r.oif === ends.hostIndex))
    missing.push(`host route ${ipv6}/128 dev ${ends.hostName} missing`);
  if (!rules.some((r) => r.dst === ipv6 && r.priority === TO_POD_RULE_PRIORITY && r.table === RT_TABLE_MAIN))
    missing.push(`rule to ${ipv6} lookup main missing`);
  if (eni) {
    if (!rules.some((r) => r.src === ipv6 && r.priority === FROM_POD_RULE_PRIORITY && r.table === eni.tableId))
      missing.push(`rule from ${ipv6} lookup ${eni.tableId} missing`);
    if (eni.ipv6Gateway && !eniRoutes.some((r) => r.dstLen === 0 && r.gateway === eni.ipv6Gateway))
      missing.push(`IPv6 default route via ${eni.ipv6Gateway} missing from table ${eni.tableId}`);
  }
  return missing;
}
