// Per-ENI policy-routing table on the host (shared by every pod whose IP sits on that ENI).
// Layout follows AWS VPC CNI: table holds `<gw>/32 dev <eni> scope link` and `default via <gw> dev <eni>`;
// pods on the ENI get `from <podIP> lookup <table>` (FROM_POD_RULE_PRIORITY).
// The ENI link carries no address: every address of a secondary ENI, its own primary included, is a pod's
// (Terway's ENIMultiIP), so the host must not hold one or it would take the pod's traffic for itself. ARP for
// the gateway then goes out with the node's address as sender (the kernel picks it from another link), as with
// Terway's policy-route datapath, which puts the node IP /32 on the ENI link for the same purpose.
import { DriverError } from './types.js';
import { AF_INET, AF_INET6, CREATE_REPLACE, Nl, RT_TABLE_MAIN, all, cidrPrefixLen, type Family, type RuleInfo } from './netlink.js';
import { PROC_SYS, writeSysctl } from './netns.js';

/**
 * ip rule priorities used by the drivers. Reserved: 512–1599 for per-pod rules (nothing else of ours
 * goes there; AWS VPC CNI uses the same slots); 32765 held the ENI primary-IP rules of older versions
 * (removed when found). The kernel's own rules sit at 0 (local), 32766 (main) and 32767 (default).
 */
export const TO_POD_RULE_PRIORITY = 512;
export const FROM_POD_RULE_PRIORITY = 1536;
export const ENI_PRIMARY_IP_RULE_PRIORITY = 32765;

/**
 * Per-ENI route tables default to ENI_TABLE_BASE + ifindex of the ENI link: stable for as long as
 * the link exists (and across daemon restarts), never in the kernel's reserved 0–255 range.
 * The daemon may pass its own id instead (EniLinkSpec.tableId), e.g. base + ENI device index.
 */
export const ENI_TABLE_BASE = 1000;

export interface EniLinkSpec {
  eniId?: string;
  /** ENI MAC: finds the host link. */
  mac: string;
  /** vSwitch gateway and CIDR of the ENI. */
  gateway: string;
  vSwitchCidr: string;
  /** Primary ENI: pods use the main table, nothing is created. */
  primaryEni?: boolean;
  /** Explicit route table id (> 255); default ENI_TABLE_BASE + ifindex. */
  tableId?: number;
  /**
   * ENI primary IP: a pod address, never the host's. Older versions put it on the link (with the vSwitch
   * prefix, no prefix route) and a `from <ip> lookup <table>` rule at 32765: a copy found is removed.
   */
  primaryIp?: string;
  /** Dual stack: the vSwitch's IPv6 gateway; the table gets `default via <it>` for IPv6 too. */
  ipv6Gateway?: string;
  mtu?: number;
}

export interface EniTable {
  mac: string;
  ifindex: number;
  ifName: string;
  /** 254 (main) for the primary ENI. */
  tableId: number;
}

export function eniTableId(ifindex: number, base = ENI_TABLE_BASE): number {
  return base + ifindex;
}

/**
 * Idempotent: brings the ENI link up, (re)writes the table's two routes with REPLACE, removes a copy of
 * the ENI primary IP an older version left on the link (and its rule), sets rp_filter=2 (loose) on the
 * ENI link and ip_forward=1. `hostNetns` undefined = the daemon's own netns. `sysctlRoot` null: leave
 * sysctls alone.
 */
export async function ensureEniTableOn(
  host: Nl,
  hostNetns: string | undefined,
  eni: EniLinkSpec,
  base = ENI_TABLE_BASE,
  sysctlRoot: string | null = PROC_SYS,
): Promise<EniTable> {
  const link = await host.linkByMac(eni.mac);
  if (!link) {
    throw new DriverError('ensureEniTable', `no link with ENI MAC ${eni.mac}${eni.eniId ? ` (${eni.eniId})` : ''}`, {
      errno: 'ENODEV',
      netns: host.netns,
    });
  }
  if (eni.primaryEni) {
    if (!link.up) await host.setLink(`set ENI link ${link.name} up`, link.index, {}, true);
    return { mac: eni.mac, ifindex: link.index, ifName: link.name, tableId: RT_TABLE_MAIN };
  }
  const tableId = eni.tableId ?? eniTableId(link.index, base);
  const prefixLen = cidrPrefixLen(eni.vSwitchCidr);
  const ops: Promise<unknown>[] = [];
  // Dual stack: no DAD on the ENI link, so its link-local address (the source of its neighbour solicitations
  // for the gateway) is usable as soon as the link comes up. Before the link goes up.
  if (eni.ipv6Gateway && sysctlRoot && !link.up) await writeSysctl(hostNetns, `net/ipv6/conf/${link.name}/accept_dad`, '0', sysctlRoot);
  if (!link.up || (eni.mtu && link.mtu !== eni.mtu)) {
    ops.push(host.setLink(`set ENI link ${link.name} up`, link.index, eni.mtu ? { mtu: eni.mtu } : {}, true));
  }
  if (eni.primaryIp) {
    // A pod's address now: the host must not answer for it (a no-op unless an older version put it there).
    ops.push(
      host.delAddress(`remove ENI primary IP ${eni.primaryIp} from ${link.name}`, link.index, eni.primaryIp, prefixLen),
      host.delRuleAll(`remove the old rule from ${eni.primaryIp}`, { src: eni.primaryIp, priority: ENI_PRIMARY_IP_RULE_PRIORITY }),
    );
  }
  ops.push(
    host.addRoute(
      `add ${eni.gateway}/32 to table ${tableId}`,
      { dst: eni.gateway, oif: link.index, table: tableId, scope: 'LINK' },
      CREATE_REPLACE,
    ),
    host.addRoute(
      `add default via ${eni.gateway} to table ${tableId}`,
      { gateway: eni.gateway, oif: link.index, table: tableId, scope: 'UNIVERSE' },
      CREATE_REPLACE,
    ),
  );
  await all(ops);
  if (eni.ipv6Gateway) {
    // A global IPv6 gateway must be reachable before a route may use it: its /128 first, then the default.
    const gw = eni.ipv6Gateway;
    await host.addRoute(
      `add ${gw}/128 to table ${tableId}`,
      { dst: gw, oif: link.index, table: tableId, scope: 'UNIVERSE' },
      CREATE_REPLACE,
    );
    await host.addRoute(
      `add IPv6 default via ${gw} to table ${tableId}`,
      { gateway: gw, oif: link.index, table: tableId, scope: 'UNIVERSE' },
      CREATE_REPLACE,
    );
  }
  if (sysctlRoot) await writeSysctl(hostNetns, `net/ipv4/conf/${link.name}/rp_filter`, '2', sysctlRoot);
  return { mac: eni.mac, ifindex: link.index, ifName: link.name, tableId };
}

/**
 * Removes an ENI's table: its routes, every rule pointing at it (including pods' from-rules), and a copy of
 * the primary IP an older version put on the link. Works after the link is gone when `tableId` is known.
 */
export async function removeEniTableOn(
  host: Nl,
  eni: { mac: string; tableId?: number; primaryIp?: string; vSwitchCidr?: string },
  base = ENI_TABLE_BASE,
): Promise<void> {
  const link = await host.linkByMac(eni.mac);
  let tableId = eni.tableId ?? (link ? eniTableId(link.index, base) : undefined);
  let dumped: RuleInfo[] | undefined;
  if (tableId === undefined && eni.primaryIp) {
    // Link already gone and no cached id (daemon restarted since): an older version's primary-IP rule names the table.
    dumped = await host.rules();
    tableId = dumped.find(
      (r) => r.src === eni.primaryIp && r.srcLen === 32 && r.priority === ENI_PRIMARY_IP_RULE_PRIORITY && r.table > 255,
    )?.table;
  }
  if (tableId === undefined || tableId === RT_TABLE_MAIN) return;
  const [routes4, rules4, routes6, rules6] = await Promise.all([
    host.routes(tableId),
    dumped ?? host.rules(),
    host.routes(tableId, AF_INET6),
    host.rules(AF_INET6),
  ]);
  const routes = [
    ...routes4.map((r) => ({ ...r, family: AF_INET as Family })),
    ...routes6.map((r) => ({ ...r, family: AF_INET6 as Family })),
  ];
  const rules = [...rules4, ...rules6];
  const ops: Promise<unknown>[] = [];
  for (const r of routes) {
    ops.push(
      host.delRoute(`delete route from table ${tableId}`, { dst: r.dst, dstLen: r.dstLen, oif: r.oif, table: tableId, family: r.family }),
    );
  }
  for (const r of rules.filter((x) => x.table === tableId && x.priority !== undefined)) {
    ops.push(host.delRule(`delete rule lookup ${tableId}`, { src: r.src, dst: r.dst, table: tableId, priority: r.priority! }));
  }
  if (link && eni.primaryIp && eni.vSwitchCidr) {
    ops.push(host.delAddress(`delete ENI primary IP ${eni.primaryIp}`, link.index, eni.primaryIp, cidrPrefixLen(eni.vSwitchCidr)));
  }
  await all(ops);
}
