// ipvlan driver (ENIMultiIP with `eniip_virtual_type: ipvlan`), Terway IPVlan-L2 shape:
//   pod:  <ifName> = ipvlan L2 slave of the ENI link, podIP/32, `<gw> dev <ifName> scope link`,
//         `default via <gw>` (the vSwitch gateway: traffic leaves straight through the ENI).
//   host: one shared ipvlan L2 slave of the ENI (`ipvl_<ENI ifindex>`), up, with `podIP/32 dev ipvl_x`
//         routes, because an ipvlan master cannot talk to its own slaves; this gives host → pod.
//   dual stack (Terway's ipvlan IPv6): pod podIPv6/128 (no DAD), `<gw6>/128 dev <ifName>`, `default via <gw6>`
//         (the vSwitch's IPv6 gateway, podIpv6.ts); host `podIPv6/128 dev ipvl_x`. Built as pure requests
//         (ipv6Requests) so their netlink messages are tested where the kernel lacks ipvlan.
// Kernels without CONFIG_IPVLAN answer EOPNOTSUPP: detected once, setup then fails with a clear error.
import type { Driver, PodNetworkResult, PodNetworkSpec, TeardownSpec } from './types.js';
import { DriverError } from './types.js';
import type * as NL from 'netlink';
import {
  AF_INET6,
  CREATE_EXCL,
  CREATE_REPLACE,
  IPVLAN_MODE_L2,
  Nl,
  RT_TABLE_MAIN,
  all,
  errnoOf,
  familyOf,
  hostLen,
  ipvlanLinkInfo,
  u32,
  type RouteRequest,
} from './netlink.js';
import { ipv6GatewayRoutes, podIpv6 } from './podIpv6.js';
import { encodeLinkMessage } from './netlinkWire.js';
import { closeFd, netnsExists, openNetlinkIn, openNetnsFd, warmThreadPool } from './netns.js';

export const IPVLAN_MISSING = 'kernel lacks ipvlan support (CONFIG_IPVLAN)';

export function hostSlaveName(eniIfindex: number): string {
  return `ipvl_${eniIfindex}`;
}

export interface LinkRequest {
  data: NL.rt.Link;
  attrs: NL.ifla.LinkAttrs;
}

/** RTM_NEWLINK for the pod's slave: created directly in the pod netns under its final name. */
export function podSlaveRequest(o: { parentIndex: number; ifName: string; mtu?: number; netnsFd: number; mode?: number }): LinkRequest {
  return {
    data: {},
    attrs: {
      ifname: o.ifName,
      link: u32(o.parentIndex),
      ...(o.mtu ? { mtu: o.mtu } : {}),
      netNsFd: o.netnsFd,
      linkinfo: ipvlanLinkInfo(o.mode ?? IPVLAN_MODE_L2),
    },
  };
}

/** RTM_NEWLINK for the shared host-side slave of an ENI, created up. */
export function hostSlaveRequest(o: { parentIndex: number; mtu?: number }): LinkRequest {
  return {
    data: { flags: { up: true }, change: { up: true } },
    attrs: {
      ifname: hostSlaveName(o.parentIndex),
      link: u32(o.parentIndex),
      ...(o.mtu ? { mtu: o.mtu } : {}),
      linkinfo: ipvlanLinkInfo(IPVLAN_MODE_L2),
    },
  };
}

/** Probe: an ipvlan on lo. With ipvlan the kernel rejects lo as master (EINVAL); without, EOPNOTSUPP. */
export function probeRequest(): LinkRequest {
  return { data: {}, attrs: { ifname: `ipvlprobe${process.pid % 100000}`, link: u32(1), linkinfo: ipvlanLinkInfo(IPVLAN_MODE_L2) } };
}

/** Wire bytes of a request (ifinfomsg + attributes), as newLink() sends them. */
export function encodeRequest(r: LinkRequest): Buffer {
  return encodeLinkMessage(r.data, r.attrs);
}

export function isMissingFeature(errno: string | undefined): boolean {
  return errno === 'ENOTSUP' || errno === 'EOPNOTSUPP';
}

const support = new Map<string, Promise<boolean>>();

/** Whether the kernel (seen from `host`) has ipvlan; cached per netns label. Never leaves a link behind. */
export function ipvlanSupported(host: Nl): Promise<boolean> {
  let p = support.get(host.netns);
  if (!p) {
    p = (async () => {
      const probe = probeRequest();
      try {
        await host.newLink('probe ipvlan', probe.data, probe.attrs, CREATE_EXCL);
      } catch (e) {
        return !isMissingFeature(errnoOf(e));
      }
      const l = await host.linkByName(probe.attrs.ifname!);
      if (l) await host.delLink('delete ipvlan probe', l.index);
      return true;
    })();
    support.set(host.netns, p);
    p.catch(() => support.delete(host.netns));
  }
  return p;
}

/** Dual stack: what setup sends for the pod's IPv6 address, in order (the address before the routes via the gateway). */
export function ipv6Requests(o: {
  ipv6: string;
  gateway: string;
  ifName: string;
  podIndex: number;
  hostSlave: { name: string; index: number };
}): {
  podAddress: { op: string; index: number; ip: string; prefixLen: number };
  podRoutes: { op: string; route: RouteRequest }[];
  hostRoute: { op: string; route: RouteRequest };
} {
  return {
    podAddress: { op: `add ${o.ipv6}/128 on ${o.ifName}`, index: o.podIndex, ip: o.ipv6, prefixLen: 128 },
    podRoutes: ipv6GatewayRoutes(o.gateway, o.podIndex, o.ifName),
    hostRoute: {
      op: `add route ${o.ipv6}/128 dev ${o.hostSlave.name}`,
      route: { dst: o.ipv6, dstLen: 128, oif: o.hostSlave.index, scope: 'UNIVERSE' },
    },
  };
}

/** The host /128 (IPv4 /32) routes to `ip` through the shared host slaves. */
async function hostSlaveRoutes(host: Nl, ip: string): Promise<{ dst: string; oif: number }[]> {
  const family = familyOf(ip);
  const [routes, links] = await all([host.routes(RT_TABLE_MAIN, family), host.links()]);
  const slaves = new Set(links.filter((l) => l.name.startsWith('ipvl_')).map((l) => l.index));
  return routes
    .filter((r) => r.dst === ip && r.dstLen === hostLen(family) && r.oif !== undefined && slaves.has(r.oif))
    .map((r) => ({ dst: ip, oif: r.oif! }));
}

export interface IpvlanDriverOptions {
  hostNetnsPath?: string;
}

export class IpvlanDriver implements Driver {
  readonly name = 'ipvlan' as const;
  readonly hostNetnsPath?: string;

  constructor(opts: IpvlanDriverOptions = {}) {
    this.hostNetnsPath = opts.hostNetnsPath;
  }

  /** Resolves when ipvlan works here; rejects with DriverError(IPVLAN_MISSING, errno ENOTSUP) otherwise. */
  async assertSupported(): Promise<void> {
    await warmThreadPool();
    const host = await openNetlinkIn(this.hostNetnsPath, 'open host netlink socket');
    try {
      if (!(await ipvlanSupported(host))) {
        throw new DriverError('setup ipvlan', IPVLAN_MISSING, { errno: 'ENOTSUP', netns: this.hostNetnsPath });
      }
    } finally {
      host.close();
    }
  }

  async setup(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    await warmThreadPool();
    const host = await openNetlinkIn(this.hostNetnsPath, 'open host netlink socket');
    let pod: Nl | undefined;
    let podFd: number | undefined;
    let created = false;
    let hostSlaveIndex: number | undefined;
    const v6 = podIpv6(spec, 'setup ipvlan');
    try {
      if (!(await ipvlanSupported(host))) {
        throw new DriverError('setup ipvlan', IPVLAN_MISSING, { errno: 'ENOTSUP', netns: this.hostNetnsPath });
      }
      const eni = await host.linkByMac(spec.eniMac);
      if (!eni)
        throw new DriverError('setup ipvlan', `no link with ENI MAC ${spec.eniMac} (${spec.eniId})`, {
          errno: 'ENODEV',
          netns: this.hostNetnsPath,
        });
      if (!eni.up) await host.setLink(`set ENI link ${eni.name} up`, eni.index, {}, true);
      const hostSlave = await this.ensureHostSlave(host, eni.index, spec.mtu);
      hostSlaveIndex = hostSlave.index;

      podFd = openNetnsFd(spec.netnsPath, 'setup ipvlan');
      pod = await openNetlinkIn(spec.netnsPath, 'open pod netlink socket');
      const req = podSlaveRequest({
        parentIndex: eni.index,
        ifName: spec.ifName,
        mtu: spec.mtu > 0 ? spec.mtu : undefined,
        netnsFd: podFd,
      });
      await host.newLink(`create ipvlan ${spec.ifName} on ${eni.name}`, req.data, req.attrs, CREATE_EXCL);
      created = true;
      const [, , podLink] = await all([
        pod.setLink(`set ${spec.ifName} up`, 0, { ifname: spec.ifName }, true),
        pod.setLink('set lo up', 1, {}, true),
        pod.linkByName(spec.ifName),
      ]);
      if (!podLink)
        throw new DriverError('setup ipvlan', `${spec.ifName} vanished after creation`, { errno: 'ENODEV', netns: spec.netnsPath });
      await all([
        pod.addAddress(`add ${spec.ip}/32 on ${spec.ifName}`, podLink.index, spec.ip, 32, { flags: CREATE_REPLACE }),
        pod.addRoute(`add ${spec.gateway} scope link`, { dst: spec.gateway, oif: podLink.index, scope: 'LINK' }, CREATE_REPLACE),
        pod.addRoute(`add default via ${spec.gateway}`, { gateway: spec.gateway, oif: podLink.index, scope: 'UNIVERSE' }, CREATE_REPLACE),
        host.addRoute(
          `add route ${spec.ip}/32 dev ${hostSlave.name}`,
          { dst: spec.ip, oif: hostSlave.index, scope: 'LINK' },
          CREATE_REPLACE,
        ),
        ...(v6
          ? this.setupIpv6(pod, host, { ipv6: v6.ip, gateway: v6.gateway, ifName: spec.ifName, podIndex: podLink.index, hostSlave })
          : []),
      ]);
      return {
        podIfMac: podLink.mac ?? spec.eniMac,
        podGateway: spec.gateway,
        hostIfName: hostSlave.name,
        hostIfMac: hostSlave.mac,
        ...(v6 ? { podGatewayV6: v6.gateway } : {}),
      };
    } catch (e) {
      if (created && pod) {
        const l = await pod.linkByName(spec.ifName).catch(() => undefined);
        if (l) await pod.delLink('rollback: delete ipvlan', l.index).catch(() => undefined);
      }
      // The host /32 goes out in the same batch as the pod's routes: it may exist although that batch failed.
      if (created && hostSlaveIndex !== undefined) {
        await host.delRoute(`rollback: delete route ${spec.ip}/32`, { dst: spec.ip, oif: hostSlaveIndex }).catch(() => undefined);
        if (v6) await host.delRoute(`rollback: delete route ${v6.ip}/128`, { dst: v6.ip, oif: hostSlaveIndex }).catch(() => undefined);
      }
      throw e;
    } finally {
      pod?.close();
      host.close();
      closeFd(podFd);
    }
  }

  /** The IPv6 requests, issued at once (pipelined with the IPv4 ones; in order per socket). */
  private setupIpv6(pod: Nl, host: Nl, o: Parameters<typeof ipv6Requests>[0]): Promise<unknown>[] {
    const r = ipv6Requests(o);
    return [
      pod.addAddress(r.podAddress.op, r.podAddress.index, r.podAddress.ip, r.podAddress.prefixLen, { flags: CREATE_REPLACE }),
      ...r.podRoutes.map((x) => pod.addRoute(x.op, x.route, CREATE_REPLACE)),
      host.addRoute(r.hostRoute.op, r.hostRoute.route, CREATE_REPLACE),
    ];
  }

  private async ensureHostSlave(host: Nl, parentIndex: number, mtu: number): Promise<{ name: string; index: number; mac?: string }> {
    const name = hostSlaveName(parentIndex);
    let l = await host.linkByName(name);
    if (!l) {
      const r = hostSlaveRequest({ parentIndex, mtu });
      try {
        await host.newLink(`create host ipvlan ${name}`, r.data, r.attrs, CREATE_EXCL);
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw e; // another pod raced us
      }
      l = await host.linkByName(name);
      if (!l) throw new DriverError('setup ipvlan', `host slave ${name} missing after creation`, { errno: 'ENODEV' });
    }
    return { name: l.name, index: l.index, mac: l.mac };
  }

  /** Idempotent; the shared host slave stays. Without spec.ip / spec.ipv6 the addresses are read from the pod first. */
  async teardown(spec: TeardownSpec): Promise<void> {
    await warmThreadPool();
    let ip = spec.ip;
    let ipv6 = spec.ipv6;
    if (spec.netnsPath && netnsExists(spec.netnsPath)) {
      const pod = await openNetlinkIn(spec.netnsPath, 'teardown ipvlan').catch((e: unknown) => {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw e;
      });
      if (pod) {
        try {
          const l = await pod.linkByName(spec.ifName);
          if (l) {
            ip ??= (await pod.addresses(l.index)).find((a) => a.prefixLen === 32)?.address;
            ipv6 ??= (await pod.addresses(l.index, AF_INET6)).find((a) => a.prefixLen === 128)?.address;
            await pod.delLink(`delete ipvlan ${spec.ifName}`, l.index);
          }
        } finally {
          pod.close();
        }
      }
    }
    const ips = [ip, ipv6].filter((x): x is string => x !== undefined);
    if (ips.length === 0) return;
    const host = await openNetlinkIn(this.hostNetnsPath, 'open host netlink socket');
    try {
      const routes = (await all(ips.map((x) => hostSlaveRoutes(host, x)))).flat();
      await all(routes.map((r) => host.delRoute(`delete route ${r.dst}/${hostLen(familyOf(r.dst))}`, r)));
    } finally {
      host.close();
    }
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    await warmThreadPool();
    const fail = (what: string, netns?: string): never => {
      throw new DriverError('check ipvlan', what, { errno: 'ENOENT', netns });
    };
    if (!netnsExists(spec.netnsPath)) fail('pod netns is gone', spec.netnsPath);
    const pod = await openNetlinkIn(spec.netnsPath, 'check ipvlan');
    try {
      const [link, addrs, routes] = await all([pod.linkByName(spec.ifName), pod.addresses(), pod.routes(RT_TABLE_MAIN)]);
      const ns = spec.netnsPath;
      if (!link) return fail(`interface ${spec.ifName} missing`, ns);
      if (link.kind !== 'ipvlan') fail(`${spec.ifName} is ${link.kind ?? 'not'} an ipvlan`, ns);
      if (!link.up) fail(`${spec.ifName} is down`, ns);
      if (!addrs.some((a) => a.index === link.index && a.address === spec.ip && a.prefixLen === 32))
        fail(`address ${spec.ip}/32 missing`, ns);
      if (!routes.some((r) => r.dstLen === 0 && r.gateway === spec.gateway && r.oif === link.index))
        fail(`default route via ${spec.gateway} missing`, ns);
      if (spec.ipv6) {
        const [addrs6, routes6] = await all([pod.addresses(link.index, AF_INET6), pod.routes(RT_TABLE_MAIN, AF_INET6)]);
        if (!addrs6.some((a) => a.address === spec.ipv6 && a.prefixLen === 128)) fail(`address ${spec.ipv6}/128 missing`, ns);
        if (!routes6.some((r) => r.dstLen === 0 && r.gateway === spec.ipv6Gateway && r.oif === link.index))
          fail(`IPv6 default route via ${spec.ipv6Gateway ?? '(unknown gateway)'} missing`, ns);
      }
    } finally {
      pod.close();
    }
  }
}
