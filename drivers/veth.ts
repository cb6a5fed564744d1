// veth + policy routing driver (ENIMultiIP default), AWS VPC CNI / Terway "policy route" shape:
//   pod:  <ifName> podIP/32, `169.254.1.1 dev <ifName> scope link`, `default via 169.254.1.1`,
//         PERMANENT neighbour 169.254.1.1 → host veth MAC; lo up.
//   host: veth <prefix><11 hex> up; `podIP dev <hostVeth> scope link` (main);
//         rule `to podIP lookup main` (512); secondary ENI: rule `from podIP lookup <eniTable>` (1536).
import { createHash } from 'node:crypto';
import type { Driver, LivePod, PodNetworkResult, PodNetworkSpec, TeardownSpec } from './types.js';
import { DriverError } from './types.js';
import { CREATE_EXCL, CREATE_REPLACE, Nl, RT_TABLE_MAIN, all, errnoOf, vethLinkInfo, type RouteInfo } from './netlink.js';
import { PROC_SYS, closeFd, delLinkOffMainThread, netnsExists, openNetlinkIn, openNetnsFd, warmThreadPool, writeSysctl } from './netns.js';
import {
  ENI_TABLE_BASE,
  FROM_POD_RULE_PRIORITY,
  TO_POD_RULE_PRIORITY,
  eniTableId,
  ensureEniTableOn,
  removeEniTableOn,
  type EniLinkSpec,
  type EniTable,
} from './eniTable.js';
import { POD_GATEWAY_V6, checkIpv6, hostVethIpv6, ipv6RuleIps, removeIpv6Rules, setupIpv6, teardownIpv6 } from './vethIpv6.js';
import { AF_INET6 } from './netlink.js';

/** Link-local gateway every pod routes through; answered by the PERMANENT neighbour entry. */
export const POD_GATEWAY = '169.254.1.1';
export const DEFAULT_VETH_PREFIX = 'eni';
const IFNAMSIZ_MAX = 15;

/**
 * Host veth name: prefix + the first hex chars of sha1("<containerId>/<ifName>"), 15 chars max
 * (11 hex with the default "eni" prefix). Deterministic, so DEL finds it with only containerId + ifName.
 */
export function hostVethName(containerId: string, ifName: string, prefix = DEFAULT_VETH_PREFIX): string {
  const n = IFNAMSIZ_MAX - prefix.length;
  if (n < 8) throw new DriverError('hostVethName', `veth prefix "${prefix}" too long (max ${IFNAMSIZ_MAX - 8} chars)`, { errno: 'EINVAL' });
  const hex = createHash('sha1').update(`${containerId}/${ifName}`).digest('hex');
  return prefix + hex.slice(0, Math.min(11, n));
}

const ENI_FIELDS = ['gateway', 'vSwitchCidr', 'tableId', 'primaryIp', 'ipv6Gateway', 'mtu', 'primaryEni'] as const;

function sameOrUnset(next: EniLinkSpec, applied: EniLinkSpec): boolean {
  return ENI_FIELDS.every((f) => next[f] === undefined || next[f] === applied[f]);
}

function definedOnly(e: EniLinkSpec): Partial<EniLinkSpec> {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Partial<EniLinkSpec>;
}

export interface VethDriverOptions {
  /** Host veth name prefix (Terway `veth_prefix`); default "eni". */
  vethPrefix?: string;
  /** Netns of the "host" side; default the daemon's own. Tests and multi-node demos pass a netns path. */
  hostNetnsPath?: string;
  /** Base of per-ENI table ids (ENI_TABLE_BASE + ifindex). */
  eniTableBase?: number;
  /** Set host sysctls (ip_forward=1, rp_filter=2 on ENI links); default true. */
  hostSysctls?: boolean;
  /** Where the host's /proc/sys (at least its net/ tree) is mounted; default /proc/sys. */
  procSysPath?: string;
}

export class VethDriver implements Driver {
  readonly name = 'veth' as const;
  readonly vethPrefix: string;
  readonly hostNetnsPath?: string;
  private readonly base: number;
  /** /proc/sys or where it is mounted; null: host sysctls are left alone. */
  private readonly sysctlRoot: string | null;
  private hostSock?: Promise<Nl>;
  private forwardingSet?: Promise<void>;
  private forwarding6Set?: Promise<void>;
  private readonly eniTables = new Map<string, { spec: EniLinkSpec; table: Promise<EniTable> }>();
  /** Host veth name -> its delete running in the background (teardownHostVeth). */
  private readonly pendingDeletes = new Map<string, Promise<void>>();
  private lastBackgroundError?: Error;

  constructor(opts: VethDriverOptions = {}) {
    this.vethPrefix = opts.vethPrefix ?? DEFAULT_VETH_PREFIX;
    hostVethName('x', 'eth0', this.vethPrefix); // validates the prefix early
    this.hostNetnsPath = opts.hostNetnsPath;
    this.base = opts.eniTableBase ?? ENI_TABLE_BASE;
    this.sysctlRoot = (opts.hostSysctls ?? true) ? (opts.procSysPath ?? PROC_SYS) : null;
  }

  /** Host-side socket, opened once and kept (unref'd: it never holds the process open). */
  protected host(): Promise<Nl> {
    this.hostSock ??= openNetlinkIn(this.hostNetnsPath, 'open host netlink socket').catch((e) => {
      this.hostSock = undefined;
      throw e;
    });
    return this.hostSock;
  }

  /** Waits for background veth deletes, then closes the cached host socket (tests, shutdown). */
  async close(): Promise<void> {
    await this.settle().catch(() => undefined);
    const s = this.hostSock;
    this.hostSock = undefined;
    if (s) (await s.catch(() => undefined))?.close();
  }

  /** Dual stack: the node forwards IPv6 between its ENIs and its pods (set once, at the first IPv6 pod). */
  private ensureForwarding6(): Promise<void> {
    if (!this.sysctlRoot) return Promise.resolve();
    this.forwarding6Set ??= writeSysctl(this.hostNetnsPath, 'net.ipv6.conf.all.forwarding', '1', this.sysctlRoot).catch((e) => {
      this.forwarding6Set = undefined;
      throw e;
    });
    return this.forwarding6Set;
  }

  private ensureForwarding(): Promise<void> {
    if (!this.sysctlRoot) return Promise.resolve();
    this.forwardingSet ??= writeSysctl(this.hostNetnsPath, 'net.ipv4.ip_forward', '1', this.sysctlRoot).catch((e) => {
      this.forwardingSet = undefined;
      throw e;
    });
    return this.forwardingSet;
  }

  /**
   * Daemon API: call when an ENI is attached (and at start-up for every secondary ENI in use).
   * Idempotent; shared by all pods on the ENI; cached until removeEniTable. setup() calls it too.
   */
  ensureEniTable(eni: EniLinkSpec, force = false): Promise<EniTable> {
    const key = eni.mac.toLowerCase();
    const cached = this.eniTables.get(key);
    // Reuse unless this call brings something the cached run did not apply (e.g. the daemon's call
    // with primaryIp/tableId after a pod's setup already created the table from the pod spec).
    if (cached && !force && sameOrUnset(eni, cached.spec)) return cached.table;
    const merged: EniLinkSpec = cached && !force ? { ...cached.spec, ...definedOnly(eni) } : eni;
    const table = (async () => {
      const host = await this.host();
      await this.ensureForwarding();
      return ensureEniTableOn(host, this.hostNetnsPath, merged, this.base, this.sysctlRoot);
    })();
    const entry = { spec: merged, table };
    table.catch(() => {
      if (this.eniTables.get(key) === entry) this.eniTables.delete(key);
    });
    this.eniTables.set(key, entry);
    return table;
  }

  /** Table id for a pod's ENI without changing anything (check()). */
  private async eniTableIdFor(spec: PodNetworkSpec): Promise<number | undefined> {
    const cached = await this.eniTables.get(spec.eniMac.toLowerCase())?.table.catch(() => undefined);
    if (cached) return cached.tableId;
    const link = await (await this.host()).linkByMac(spec.eniMac);
    return link ? eniTableId(link.index, this.base) : undefined;
  }

  /** Daemon API: call when an ENI is detached/deleted. Pass tableId if the link may already be gone. */
  async removeEniTable(eni: { mac: string; tableId?: number; primaryIp?: string; vSwitchCidr?: string }): Promise<void> {
    const key = eni.mac.toLowerCase();
    const cached = await this.eniTables.get(key)?.table.catch(() => undefined);
    this.eniTables.delete(key);
    await removeEniTableOn(await this.host(), { ...eni, tableId: eni.tableId ?? cached?.tableId }, this.base);
  }

  async setup(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    await warmThreadPool();
    const hostName = hostVethName(spec.containerId, spec.ifName, this.vethPrefix);
    const [host, eni] = await Promise.all([
      this.host(),
      spec.primaryEni
        ? undefined
        : this.ensureEniTable({
            eniId: spec.eniId,
            mac: spec.eniMac,
            gateway: spec.gateway,
            vSwitchCidr: spec.vSwitchCidr,
            primaryIp: spec.eniPrimaryIp,
            ...(spec.ipv6 && spec.ipv6Gateway ? { ipv6Gateway: spec.ipv6Gateway } : {}),
          }),
      this.ensureForwarding(),
      spec.ipv6 ? this.ensureForwarding6() : undefined,
    ]);
    // A teardown of this very name may still be deleting the old pair: creating now would hit EEXIST.
    await this.pendingDeletes.get(hostName)?.catch(() => undefined);
    const podFd = openNetnsFd(spec.netnsPath, 'setup veth');
    let pod: Nl | undefined;
    let created = false;
    try {
      pod = await openNetlinkIn(spec.netnsPath, 'open pod netlink socket');
      // Round trip 1: the pair with its MTU, host end up, the peer created directly in the pod netns.
      await this.createPair(host, hostName, spec, podFd);
      created = true;
      // Round trip 2: pod end and lo up (by name / fixed index 1), then learn both ends (index, MAC).
      // The IP's from-rule has one owner, this pod: a stale one (an earlier holder on another ENI, same
      // priority, older so evaluated first) would send its traffic out of the wrong ENI. Usually ENOENT.
      const [, , hostLink, podLink] = await all([
        pod.setLink(`set ${spec.ifName} up`, 0, { ifname: spec.ifName }, true),
        pod.setLink('set lo up', 1, {}, true),
        host.linkByName(hostName),
        pod.linkByName(spec.ifName),
        host.delRuleAll(`delete stale rule from ${spec.ip}`, { src: spec.ip, priority: FROM_POD_RULE_PRIORITY }),
        spec.ipv6
          ? host.delRuleAll(`delete stale rule from ${spec.ipv6}`, { src: spec.ipv6, priority: FROM_POD_RULE_PRIORITY })
          : Promise.resolve(),
      ]);
      if (!hostLink?.mac || !podLink?.mac) {
        throw new DriverError('setup veth', `veth pair ${hostName}/${spec.ifName} vanished after creation`, {
          errno: 'ENODEV',
          netns: spec.netnsPath,
        });
      }
      // Round trip 3: every address, route, neighbour and rule, pipelined on both sockets.
      const ops: Promise<unknown>[] = [
        pod.addAddress(`add ${spec.ip}/32 on ${spec.ifName}`, podLink.index, spec.ip, 32, { flags: CREATE_REPLACE }),
        pod.addRoute(`add ${POD_GATEWAY} scope link`, { dst: POD_GATEWAY, oif: podLink.index, scope: 'LINK' }, CREATE_REPLACE),
        pod.addRoute(`add default via ${POD_GATEWAY}`, { gateway: POD_GATEWAY, oif: podLink.index, scope: 'UNIVERSE' }, CREATE_REPLACE),
        pod.addPermanentNeighbor(`add neighbour ${POD_GATEWAY}`, podLink.index, POD_GATEWAY, hostLink.mac),
        // REPLACE: a stale /32 left by a leaked veth must not block the new pod.
        host.addRoute(`add route ${spec.ip}/32 dev ${hostName}`, { dst: spec.ip, oif: hostLink.index, scope: 'LINK' }, CREATE_REPLACE),
        host.addRule(`add rule to ${spec.ip}`, { dst: spec.ip, table: RT_TABLE_MAIN, priority: TO_POD_RULE_PRIORITY }),
      ];
      if (eni) {
        ops.push(
          host.addRule(`add rule from ${spec.ip} lookup ${eni.tableId}`, {
            src: spec.ip,
            table: eni.tableId,
            priority: FROM_POD_RULE_PRIORITY,
          }),
        );
      }
      if (spec.ipv6) {
        const ends = {
          podIndex: podLink.index,
          podMac: podLink.mac,
          hostIndex: hostLink.index,
          hostMac: hostLink.mac,
          hostName,
          ifName: spec.ifName,
        };
        ops.push(...setupIpv6(pod, host, ends, spec.ipv6, eni?.tableId));
      }
      await all(ops);
      return {
        hostIfName: hostName,
        hostIfMac: hostLink.mac,
        podIfMac: podLink.mac,
        podGateway: POD_GATEWAY,
        ...(spec.ipv6 ? { podGatewayV6: POD_GATEWAY_V6 } : {}),
      };
    } catch (e) {
      if (created) await this.rollback(host, hostName, spec.ip).catch(() => undefined);
      if (created && spec.ipv6) await removeIpv6Rules(host, spec.ipv6).catch(() => undefined);
      throw e;
    } finally {
      pod?.close();
      closeFd(podFd);
    }
  }

  private async createPair(host: Nl, hostName: string, spec: PodNetworkSpec, podFd: number): Promise<void> {
    const create = (): Promise<void> =>
      host.newLink(
        `create veth ${hostName}/${spec.ifName}`,
        { flags: { up: true }, change: { up: true } },
        {
          ifname: hostName,
          ...(spec.mtu > 0 ? { mtu: spec.mtu } : {}),
          linkinfo: vethLinkInfo({ ifname: spec.ifName, mtu: spec.mtu > 0 ? spec.mtu : undefined, netnsFd: podFd }),
        },
        CREATE_EXCL,
      );
    try {
      await create();
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
      // A previous ADD for the same container left its pair behind (the name is ours): replace it.
      const stale = await host.linkByName(hostName);
      if (!stale) throw e;
      await host.delLink(`delete stale veth ${hostName}`, stale.index);
      await create();
    }
  }

  private async rollback(host: Nl, hostName: string, ip: string): Promise<void> {
    const link = await host.linkByName(hostName);
    await all([
      link ? host.delLink(`rollback: delete ${hostName}`, link.index) : Promise.resolve(),
      host.delRuleAll(`rollback: delete rule to ${ip}`, { dst: ip, priority: TO_POD_RULE_PRIORITY }),
      host.delRuleAll(`rollback: delete rule from ${ip}`, { src: ip, priority: FROM_POD_RULE_PRIORITY }),
    ]);
  }

  /**
   * Idempotent. The pod IP comes from spec.ip, else from the host /32 route via the veth, else from
   * the address inside the pod netns. Rules for an IP are only removed when this pod held it: if a
   * /32 for that IP now points at another link, the IP was reused and its rules belong to the new pod.
   */
  async teardown(spec: TeardownSpec): Promise<void> {
    await this.teardownHostVeth(
      hostVethName(spec.containerId, spec.ifName, this.vethPrefix),
      spec.ip,
      spec.netnsPath,
      spec.ifName,
      spec.ipv6,
    );
  }

  /**
   * teardown() by host veth name: also the daemon's GC entry for a leaked veth found by listHostVeths().
   * `ip` optional (read from the host /32 route or the pod netns).
   *
   * Everything is gone from the netns when this returns: the /32 and rules first (the IP stops being
   * routed here), then the veth. Its delete runs off the event loop (deleteVethInBackground) and only
   * the kernel's trailing wait for an RCU grace period (15-40 ms here) is not awaited.
   */
  async teardownHostVeth(hostName: string, ip?: string, netnsPath?: string, ifName?: string, ipv6?: string): Promise<void> {
    await warmThreadPool();
    const host = await this.host();
    // A repeated teardown while the first one's delete is still running: let it finish first.
    await this.pendingDeletes.get(hostName)?.catch(() => undefined);
    const link = await host.linkByName(hostName);
    let mainRoutes: RouteInfo[] | undefined;
    const dumpMain = async (): Promise<RouteInfo[]> => (mainRoutes ??= await host.routes(RT_TABLE_MAIN));
    if (!ip && link) ip = (await dumpMain()).find((r) => r.oif === link.index && r.dstLen === 32 && r.dst)?.dst;
    if (!ip && netnsPath && ifName && netnsExists(netnsPath)) ip = await this.podIp(netnsPath, ifName);

    if (ip) {
      // Our /32 (matched by its device, so another link's /32 for a reused IP stays) goes first. Having
      // removed it proves the IP was ours here; otherwise only a dump tells whether another link owns it
      // now (the IP was reused and its rules belong to the new pod).
      const ownRouteRemoved = link ? await host.delRoute(`delete route ${ip}/32 dev ${hostName}`, { dst: ip, oif: link.index }) : false;
      const reused = !ownRouteRemoved && (await dumpMain()).some((r) => r.dst === ip && r.dstLen === 32 && r.oif !== link?.index);
      if (!reused) await this.removePodRules(ip);
    }
    // Dual stack: the IPv6 address the same way (read from its /128 through the veth when not given).
    ipv6 ??= link ? await hostVethIpv6(host, link.index) : undefined;
    if (ipv6) await teardownIpv6(host, ipv6, link?.index, hostName);
    // Deleting one end deletes the pair and the pod end's addresses, routes and neighbour.
    if (link) await this.unlinkVeth(host, hostName, link.index);
  }

  /**
   * Deletes the veth and returns once it is gone from the netns: the kernel unlinks it at the start
   * of the request, then waits for RCU before it answers; that wait is left to the background.
   * Throws when the delete fails before the link went away (the caller then keeps the IP).
   */
  private async unlinkVeth(host: Nl, hostName: string, index: number): Promise<void> {
    const del = this.deleteVethInBackground(hostName, index);
    let failed: unknown;
    let settled = false;
    void del.then(
      () => (settled = true),
      (e: unknown) => {
        failed = e;
        settled = true;
      },
    );
    // The first polls follow each other at once (each is a round trip, so the pool thread gets going
    // meanwhile), then back off to 1, 2, 4, 8 ms: many DELs at once queue on libuv's few pool threads.
    for (let n = 0; ; n++) {
      if (n >= 4) await new Promise((r) => setTimeout(r, Math.min(8, 2 ** (n - 4))));
      if (settled) break;
      const l = await host.linkByName(hostName);
      if (!l || l.index !== index) return;
    }
    if (failed) {
      if (this.lastBackgroundError === failed) this.lastBackgroundError = undefined; // reported here, not again by settle()
      throw failed;
    }
  }

  /**
   * Deletes a host veth off the event loop (delLinkOffMainThread), tracked by name: setup() of the same
   * name and a repeated teardown wait for it, settle() waits for all. A failed delete leaves a veth that
   * setup() replaces (EEXIST path) and the start-up reconcile removes.
   */
  private deleteVethInBackground(hostName: string, index: number): Promise<void> {
    const del: Promise<void> = delLinkOffMainThread(this.hostNetnsPath, index, `delete veth ${hostName}`)
      .catch((e: unknown) => {
        this.lastBackgroundError = e instanceof Error ? e : new Error(String(e));
        throw e;
      })
      .finally(() => {
        if (this.pendingDeletes.get(hostName) === del) this.pendingDeletes.delete(hostName);
      });
    del.catch(() => undefined);
    this.pendingDeletes.set(hostName, del);
    return del;
  }

  /** Number of veth deletes still running in the background. */
  get pendingDeleteCount(): number {
    return this.pendingDeletes.size;
  }

  /**
   * Waits until every background veth delete has finished (daemon stop, tests, reconcile). Throws the
   * last background failure since the previous settle(), if any (the veth then stays until reconcile).
   */
  async settle(): Promise<void> {
    while (this.pendingDeletes.size > 0) await Promise.allSettled([...this.pendingDeletes.values()]);
    const err = this.lastBackgroundError;
    this.lastBackgroundError = undefined;
    if (err) throw err;
  }

  /** Removes the per-pod rules (512 to, 1536 from) of `ip`, every copy. Daemon GC uses it for stale IPs. */
  async removePodRules(ip: string): Promise<void> {
    const host = await this.host();
    await all([
      host.delRuleAll(`delete rule to ${ip}`, { dst: ip, priority: TO_POD_RULE_PRIORITY }),
      host.delRuleAll(`delete rule from ${ip}`, { src: ip, priority: FROM_POD_RULE_PRIORITY }),
    ]);
  }

  /** Daemon GC: IPs that have a per-pod rule on the host (compare with the pod DB; AWS prunes the same way). */
  async podRuleIps(): Promise<string[]> {
    const host = await this.host();
    const [rules, rules6] = await all([host.rules(), host.rules(AF_INET6)]);
    const ips = new Set<string>(ipv6RuleIps(rules6));
    for (const r of rules) {
      if (r.priority === TO_POD_RULE_PRIORITY && r.dst && r.dstLen === 32) ips.add(r.dst);
      if (r.priority === FROM_POD_RULE_PRIORITY && r.src && r.srcLen === 32) ips.add(r.src);
    }
    return [...ips];
  }

  /** Daemon GC: host veths with this driver's prefix, with the pod IP their /32 route names. */
  async listHostVeths(): Promise<{ name: string; index: number; ip?: string }[]> {
    const host = await this.host();
    const [links, routes] = await all([host.links(), host.routes(RT_TABLE_MAIN)]);
    const hexLen = Math.min(11, IFNAMSIZ_MAX - this.vethPrefix.length);
    const isOurs = (name: string): boolean =>
      name.length === this.vethPrefix.length + hexLen &&
      name.startsWith(this.vethPrefix) &&
      /^[0-9a-f]+$/.test(name.slice(this.vethPrefix.length));
    return links
      .filter((l) => isOurs(l.name) && l.kind === 'veth')
      .map((l) => ({ name: l.name, index: l.index, ip: routes.find((r) => r.oif === l.index && r.dstLen === 32)?.dst }));
  }

  /**
   * Start-up repair (Driver.reconcile): deletes host veths of ours whose name belongs to no live pod,
   * and per-pod rules whose IP no live pod holds. A stale veth whose /32 names a live pod's IP (the IP
   * was handed to another pod) loses only its link: the rules of that IP are the live pod's.
   */
  /**
   * A pod's host veth dies with its netns (deleting either end deletes the pair), so an allocation whose
   * host veth and netns path are both gone belongs to a pod deleted while the daemon was down. Both
   * must be gone: a netns that still exists means an ADD was cut short, and the runtime will retry it.
   */
  async orphaned(live: Array<LivePod & { netnsPath: string }>): Promise<LivePod[]> {
    await warmThreadPool();
    const present = new Set((await this.listHostVeths()).map((v) => v.name));
    return live.filter(
      (p) => !present.has(hostVethName(p.containerId, p.ifName, this.vethPrefix)) && (p.netnsPath === '' || !netnsExists(p.netnsPath)),
    );
  }

  async reconcile(live: LivePod[]): Promise<{ removed: string[] }> {
    await warmThreadPool();
    const liveNames = new Set(live.map((p) => hostVethName(p.containerId, p.ifName, this.vethPrefix)));
    const liveIps = new Set(live.flatMap((p) => (p.ipv6 ? [p.ip, p.ipv6] : [p.ip])));
    const host = await this.host();
    const removed: string[] = [];
    for (const v of await this.listHostVeths()) {
      if (liveNames.has(v.name)) continue;
      if (v.ip && !liveIps.has(v.ip)) await this.teardownHostVeth(v.name, v.ip);
      else await host.delLink(`delete stale veth ${v.name}`, v.index); // ENODEV (gone meanwhile) is tolerated
      removed.push(`veth ${v.name}${v.ip ? ` (${v.ip})` : ''}`);
    }
    for (const ip of await this.podRuleIps()) {
      if (liveIps.has(ip)) continue;
      await this.removePodRules(ip);
      removed.push(`rules ${ip}`);
    }
    await this.settle();
    return { removed };
  }

  private async podIp(netnsPath: string, ifName: string): Promise<string | undefined> {
    let pod: Nl | undefined;
    try {
      pod = await openNetlinkIn(netnsPath, 'open pod netlink socket');
      const l = await pod.linkByName(ifName);
      if (!l) return undefined;
      return (await pod.addresses(l.index)).find((a) => a.prefixLen === 32)?.address;
    } catch (e) {
      // The netns vanished between the existence check and the open: nothing to read.
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw e;
    } finally {
      pod?.close();
    }
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    await warmThreadPool();
    const fail = (what: string, netns?: string): never => {
      throw new DriverError('check veth', what, { errno: 'ENOENT', netns });
    };
    if (!netnsExists(spec.netnsPath)) fail('pod netns is gone', spec.netnsPath);
    const host = await this.host();
    const hostName = hostVethName(spec.containerId, spec.ifName, this.vethPrefix);
    const pod = await openNetlinkIn(spec.netnsPath, 'check veth');
    try {
      const [podLink, hostLink, podAddrs, podRoutes, podNeigh, hostRoutes, rules] = await all([
        pod.linkByName(spec.ifName),
        host.linkByName(hostName),
        pod.addresses(),
        pod.routes(RT_TABLE_MAIN),
        pod.neighbors(),
        host.routes(RT_TABLE_MAIN),
        host.rules(),
      ]);
      const ns = spec.netnsPath;
      if (!podLink) return fail(`interface ${spec.ifName} missing`, ns);
      if (!podLink.up) fail(`interface ${spec.ifName} is down`, ns);
      if (!podAddrs.some((a) => a.index === podLink.index && a.address === spec.ip && a.prefixLen === 32))
        fail(`address ${spec.ip}/32 missing on ${spec.ifName}`, ns);
      if (!podRoutes.some((r) => r.dst === POD_GATEWAY && r.dstLen === 32 && r.oif === podLink.index && r.scope === 'LINK'))
        fail(`route ${POD_GATEWAY} scope link missing`, ns);
      if (!podRoutes.some((r) => r.dstLen === 0 && r.gateway === POD_GATEWAY && r.oif === podLink.index))
        fail(`default route via ${POD_GATEWAY} missing`, ns);
      if (!hostLink) return fail(`host veth ${hostName} missing`);
      if (!podNeigh.some((n) => n.ifindex === podLink.index && n.dst === POD_GATEWAY && n.permanent && n.mac === hostLink.mac))
        fail(`permanent neighbour ${POD_GATEWAY} missing`, ns);
      if (!hostRoutes.some((r) => r.dst === spec.ip && r.dstLen === 32 && r.oif === hostLink.index))
        fail(`host route ${spec.ip}/32 dev ${hostName} missing`);
      if (!rules.some((r) => r.dst === spec.ip && r.priority === TO_POD_RULE_PRIORITY && r.table === RT_TABLE_MAIN))
        fail(`rule to ${spec.ip} lookup main missing`);
      if (spec.ipv6) {
        const eniTable = spec.primaryEni ? undefined : await this.eniTableIdFor(spec);
        const ends = { podIndex: podLink.index, hostIndex: hostLink.index, hostMac: hostLink.mac!, hostName, ifName: spec.ifName };
        const eni = eniTable !== undefined ? { tableId: eniTable, ipv6Gateway: spec.ipv6Gateway } : undefined;
        const missing = await checkIpv6(pod, host, ends, spec.ipv6, eni);
        if (missing.length > 0) fail(missing[0]!, ns);
      }
      if (!spec.primaryEni) {
        const tableId = await this.eniTableIdFor(spec);
        if (tableId === undefined) return fail(`no link with ENI MAC ${spec.eniMac}`);
        if (!rules.some((r) => r.src === spec.ip && r.priority === FROM_POD_RULE_PRIORITY && r.table === tableId))
          fail(`rule from ${spec.ip} lookup ${tableId} missing`);
        const eniRoutes = await host.routes(tableId);
        if (!eniRoutes.some((r) => r.dstLen === 0 && r.gateway === spec.gateway))
          fail(`default route via ${spec.gateway} missing from table ${tableId}`);
      }
    } finally {
      pod.close();
    }
  }
}
