// Raw ENI driver (VPCENI mode): the whole ENI link moves into the pod netns, host-device plugin shape.
// The link's original host name is stored in its ifalias before the move, so a DEL after a daemon
// restart still knows what to rename it back to. Every setup step is undone on failure.
// Dual stack: the ENI's IPv6 /128 and routes via the vSwitch's IPv6 gateway (podIpv6.ts says why /128). The
// move back flushes both families.
import type { Driver, PodNetworkResult, PodNetworkSpec, TeardownSpec } from './types.js';
import { DriverError } from './types.js';
import { ipv6GatewayRoutes, podIpv6 } from './podIpv6.js';
import { AF_INET6, CREATE_REPLACE, Nl, RT_TABLE_MAIN, all, errnoOf, cidrPrefixLen, sameMac, type LinkInfo } from './netlink.js';
import { closeFd, netnsExists, openHomeNetnsFd, openNetlinkIn, openNetnsFd, warmThreadPool } from './netns.js';

/** ifalias marker: "eni-ipam:orig=<name>". */
const ALIAS_PREFIX = 'eni-ipam:orig=';

export function aliasFor(origName: string): string {
  return `${ALIAS_PREFIX}${origName}`;
}

export function origNameFromAlias(alias: string | undefined): string | undefined {
  return alias?.startsWith(ALIAS_PREFIX) ? alias.slice(ALIAS_PREFIX.length) : undefined;
}

export interface RawEniDriverOptions {
  /** Netns the ENI links live in when not in a pod; default the daemon's own. */
  hostNetnsPath?: string;
}

export class RawEniDriver implements Driver {
  readonly name = 'rawEni' as const;
  readonly hostNetnsPath?: string;

  constructor(opts: RawEniDriverOptions = {}) {
    this.hostNetnsPath = opts.hostNetnsPath;
  }

  private hostFd(op: string): number {
    return this.hostNetnsPath ? openNetnsFd(this.hostNetnsPath, op) : openHomeNetnsFd();
  }

  async setup(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    await warmThreadPool();
    const prefixLen = cidrPrefixLen(spec.vSwitchCidr);
    const v6 = podIpv6(spec, 'setup raw ENI');
    const host = await openNetlinkIn(this.hostNetnsPath, 'open host netlink socket');
    let pod: Nl | undefined;
    let podFd: number | undefined;
    /** Set before the move is sent: the move can half-succeed (moved, then the rename fails). */
    let moving: { origName: string; mtu?: number; alias?: string } | undefined;
    try {
      pod = await openNetlinkIn(spec.netnsPath, 'open pod netlink socket');
      podFd = openNetnsFd(spec.netnsPath, 'setup raw ENI');
      const [hostLink, podLinks] = await all([host.linkByMac(spec.eniMac), pod.links()]);
      let podLink = podLinks.find((l) => l.mac !== undefined && sameMac(l.mac, spec.eniMac));
      if (!hostLink && !podLink) {
        throw new DriverError('setup raw ENI', `no link with ENI MAC ${spec.eniMac} (${spec.eniId})`, {
          errno: 'ENODEV',
          netns: this.hostNetnsPath,
        });
      }
      if (hostLink) {
        // One message: remember the name, move, rename, set MTU (the kernel moves first, then renames).
        const origName = origNameFromAlias(hostLink.alias) ?? hostLink.name;
        moving = { origName, mtu: hostLink.mtu, alias: hostLink.alias };
        await host.setLink(`move ENI ${hostLink.name} into pod as ${spec.ifName}`, hostLink.index, {
          ifalias: aliasFor(origName),
          netNsFd: podFd,
          ifname: spec.ifName,
          ...(spec.mtu > 0 ? { mtu: spec.mtu } : {}),
        });
        podLink = await pod.linkByName(spec.ifName);
        if (!podLink)
          throw new DriverError('setup raw ENI', `ENI link ${spec.ifName} missing after the move`, {
            errno: 'ENODEV',
            netns: spec.netnsPath,
          });
      } else if (podLink && podLink.name !== spec.ifName) {
        throw new DriverError('setup raw ENI', `ENI ${spec.eniMac} is already in the pod as ${podLink.name}`, {
          errno: 'EEXIST',
          netns: spec.netnsPath,
        });
      }
      const link = podLink!;
      await all([
        pod.setLink(`set ${spec.ifName} up`, link.index, spec.mtu > 0 && link.mtu !== spec.mtu ? { mtu: spec.mtu } : {}, true),
        pod.setLink('set lo up', 1, {}, true),
        pod.addAddress(`add ${spec.ip}/${prefixLen} on ${spec.ifName}`, link.index, spec.ip, prefixLen, { flags: CREATE_REPLACE }),
        pod.addRoute(`add default via ${spec.gateway}`, { gateway: spec.gateway, oif: link.index, scope: 'UNIVERSE' }, CREATE_REPLACE),
        // In order on one socket: the gateway's on-link route before the default route via it.
        ...(v6
          ? [
              pod.addAddress(`add ${v6.ip}/128 on ${spec.ifName}`, link.index, v6.ip, 128, { flags: CREATE_REPLACE }),
              ...ipv6GatewayRoutes(v6.gateway, link.index, spec.ifName).map((r) => pod!.addRoute(r.op, r.route, CREATE_REPLACE)),
            ]
          : []),
      ]);
      return { podIfMac: link.mac ?? spec.eniMac, podGateway: spec.gateway, ...(v6 ? { podGatewayV6: v6.gateway } : {}) };
    } catch (e) {
      if (moving && pod) {
        await this.undoMove(host, pod, spec.eniMac, moving).catch(() => undefined);
      }
      throw e;
    } finally {
      pod?.close();
      host.close();
      closeFd(podFd);
    }
  }

  /**
   * Setup rollback: puts the ENI link (found by MAC, wherever the failed move left it and under whatever
   * name) back on the host with the name, MTU and alias it had before setup.
   */
  private async undoMove(host: Nl, pod: Nl, eniMac: string, orig: { origName: string; mtu?: number; alias?: string }): Promise<void> {
    const restore = { ifname: orig.origName, ifalias: orig.alias ?? '', ...(orig.mtu ? { mtu: orig.mtu } : {}) };
    const inPod = (await pod.links()).find((l) => l.mac !== undefined && sameMac(l.mac, eniMac));
    if (inPod) {
      const hostFd = this.hostFd('rollback: move ENI back');
      try {
        await pod.setLink(`rollback: move ${inPod.name} back as ${orig.origName}`, inPod.index, { netNsFd: hostFd, ...restore });
      } finally {
        closeFd(hostFd);
      }
      return;
    }
    const onHost = await host.linkByMac(eniMac);
    if (onHost) await host.setLink(`rollback: restore ENI ${onHost.name}`, onHost.index, restore);
  }

  /** Moves the ENI link (by pod ifName) back to the host netns under its original name, down. */
  private async moveBack(pod: Nl, ifName: string, netnsPath: string, why: string, eniMac?: string): Promise<LinkInfo | undefined> {
    const link = await pod.linkByName(ifName);
    if (!link) return undefined;
    if (eniMac && link.mac && !sameMac(link.mac, eniMac)) {
      throw new DriverError(`${why}: move ENI back`, `${ifName} has MAC ${link.mac}, expected ENI ${eniMac}`, {
        errno: 'EINVAL',
        netns: netnsPath,
      });
    }
    const origName = origNameFromAlias(link.alias);
    if (!origName) {
      throw new DriverError(`${why}: move ENI back`, `${ifName} carries no original-name alias: not moved by this driver`, {
        errno: 'EINVAL',
        netns: netnsPath,
      });
    }
    const hostFd = this.hostFd(`${why}: move ENI back`);
    try {
      // Moving brings the link down and flushes its addresses and routes.
      await pod.setLink(`${why}: move ${ifName} back as ${origName}`, link.index, { netNsFd: hostFd, ifname: origName });
    } finally {
      closeFd(hostFd);
    }
    return link;
  }

  /**
   * Idempotent. Pod netns present: move the link back (verifying eniMac when given). Netns gone: the
   * kernel already returned the physical link to the initial netns; rename it back by its alias.
   */
  async teardown(spec: TeardownSpec): Promise<void> {
    await warmThreadPool();
    if (spec.netnsPath && netnsExists(spec.netnsPath)) {
      let pod: Nl | undefined;
      try {
        pod = await openNetlinkIn(spec.netnsPath, 'teardown raw ENI');
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw e;
      }
      if (pod) {
        try {
          await this.moveBack(pod, spec.ifName, spec.netnsPath, 'teardown raw ENI', spec.eniMac);
        } finally {
          pod.close();
        }
      }
    }
    // Restore the name of a link that came back to the host without us (netns destroyed).
    const host = await openNetlinkIn(this.hostNetnsPath, 'open host netlink socket');
    try {
      const links = await host.links();
      const back = links.filter((l) => {
        const orig = origNameFromAlias(l.alias);
        return orig !== undefined && (!spec.eniMac || (l.mac !== undefined && sameMac(l.mac, spec.eniMac)));
      });
      await all(
        back.map(async (l) => {
          const orig = origNameFromAlias(l.alias)!;
          if (l.name !== orig && !links.some((x) => x.name === orig)) {
            await host.setLink(`teardown raw ENI: rename ${l.name} to ${orig}`, l.index, { ifname: orig });
          }
          await host.setLink(`teardown raw ENI: clear alias on ${orig}`, l.index, { ifalias: '' });
        }),
      );
    } finally {
      host.close();
    }
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    await warmThreadPool();
    const fail = (what: string): never => {
      throw new DriverError('check raw ENI', what, { errno: 'ENOENT', netns: spec.netnsPath });
    };
    if (!netnsExists(spec.netnsPath)) fail('pod netns is gone');
    const prefixLen = cidrPrefixLen(spec.vSwitchCidr);
    const pod = await openNetlinkIn(spec.netnsPath, 'check raw ENI');
    try {
      const [link, addrs, routes] = await all([pod.linkByName(spec.ifName), pod.addresses(), pod.routes(RT_TABLE_MAIN)]);
      if (!link) return fail(`interface ${spec.ifName} missing`);
      if (!link.mac || !sameMac(link.mac, spec.eniMac)) fail(`${spec.ifName} is not ENI ${spec.eniMac}`);
      if (!link.up) fail(`${spec.ifName} is down`);
      if (!addrs.some((a) => a.index === link.index && a.address === spec.ip && a.prefixLen === prefixLen))
        fail(`address ${spec.ip}/${prefixLen} missing`);
      if (!routes.some((r) => r.dstLen === 0 && r.gateway === spec.gateway && r.oif === link.index))
        fail(`default route via ${spec.gateway} missing`);
      if (spec.ipv6) {
        const [addrs6, routes6] = await all([pod.addresses(link.index, AF_INET6), pod.routes(RT_TABLE_MAIN, AF_INET6)]);
        if (!addrs6.some((a) => a.address === spec.ipv6 && a.prefixLen === 128)) fail(`address ${spec.ipv6}/128 missing`);
        if (!routes6.some((r) => r.dstLen === 0 && r.gateway === spec.ipv6Gateway && r.oif === link.index))
          fail(`IPv6 default route via ${spec.ipv6Gateway ?? '(unknown gateway)'} missing`);
      }
    } finally {
      pod.close();
    }
  }
}
