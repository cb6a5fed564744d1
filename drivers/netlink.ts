// Thin typed wrapper over netlink@0.3.0. The package has no iproute2-style defaults, so this module
// passes CREATE|EXCL / REPLACE, delete scope NOWHERE and table ids > 255 explicitly, and turns its
// message-only errors ("Request rejected: EEXIST") into DriverError with an errno name.
// netlink costs ~50 ms to load: it is required lazily, on first use (the CNI plugin never imports drivers/).
import { createRequire } from 'node:module';
import type * as NL from 'netlink';
import { intToIpv4, ipv4ToInt, splitIpv4Cidr } from '../lib/ipv4.js';
import { bigIntToIpv6, ipv6ToBigInt } from '../lib/ipv6.js';
import { DriverError } from './types.js';

type NetlinkModule = typeof NL;
export type RtSocket = NL.RtNetlinkSocket;
export type LinkMessage = NL.rt.LinkMessage;
export type RouteMessage = NL.rt.RouteMessage;
export type RuleMessage = NL.rt.RuleMessage;
export type AddressMessage = NL.rt.AddressMessage;
export type NeighborMessage = NL.rt.NeighborMessage;

let nlModule: NetlinkModule | undefined;
/** Loads netlink on first call (synchronous require of the CommonJS package). */
export function loadNetlink(): NetlinkModule {
  if (!nlModule) nlModule = createRequire(import.meta.url)('netlink') as NetlinkModule;
  return nlModule;
}

// Kernel constants used here (linux/rtnetlink.h, linux/if.h).
export const AF_INET = 2;
export const AF_INET6 = 10;
export type Family = typeof AF_INET | typeof AF_INET6;
export const RT_TABLE_MAIN = 254;
/** rtm_table value when the real id (> 255) travels in RTA_TABLE / FRA_TABLE. */
export const RT_TABLE_COMPAT = 252;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const CREATE_EXCL = NLM_F_CREATE | NLM_F_EXCL;
export const CREATE_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;

// ---------- pure helpers ----------

/** An IPv4 address as netlink carries it: 4 bytes, network order. */
export function ip4(s: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(asDriverError('parse-ip', () => ipv4ToInt(s)));
  return b;
}

export function ip4String(b: Buffer | undefined): string | undefined {
  if (!b || b.length !== 4) return undefined;
  return intToIpv4(b.readUInt32BE(0));
}

/** The family of an address in text: IPv6 when it has a colon. */
export function familyOf(ip: string): Family {
  return ip.includes(':') ? AF_INET6 : AF_INET;
}

/** Host prefix length of the family (/32, /128). */
export function hostLen(family: Family): number {
  return family === AF_INET6 ? 128 : 32;
}

/** An IPv4 or IPv6 address as netlink carries it (4 or 16 bytes, network order). */
export function ipBuf(s: string): Buffer {
  if (familyOf(s) === AF_INET) return ip4(s);
  const n = asDriverError('parse-ip', () => ipv6ToBigInt(s));
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(n >> 64n, 0);
  b.writeBigUInt64BE(n & 0xffffffffffffffffn, 8);
  return b;
}

/** 4 or 16 bytes → text (IPv6 in canonical RFC 5952 form). */
export function ipString(b: Buffer | undefined): string | undefined {
  if (b?.length === 16) return bigIntToIpv6((b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8));
  return ip4String(b);
}

/** "10.0.1.0/24" → 24 (the address part checked too). */
export function cidrPrefixLen(cidr: string): number {
  return asDriverError('parse-cidr', () => splitIpv4Cidr(cidr).prefix);
}

function asDriverError<T>(op: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new DriverError(op, (err as Error).message, { errno: 'EINVAL', cause: err });
  }
}

export function macBuf(mac: string): Buffer {
  const b = Buffer.from(mac.replace(/[:-]/g, ''), 'hex');
  if (b.length !== 6) throw new DriverError('parse-mac', `not a MAC address: ${mac}`, { errno: 'EINVAL' });
  return b;
}

export function macString(b: Buffer | undefined): string | undefined {
  if (!b || b.length !== 6) return undefined;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function sameMac(a: string, b: string): boolean {
  return a.replace(/[:-]/g, '').toLowerCase() === b.replace(/[:-]/g, '').toLowerCase();
}

/** Errno name from a netlink@0.3.0 rejection ("Request rejected: EEXIST") or a Node ErrnoException. */
export function errnoOf(e: unknown): string | undefined {
  if (e instanceof DriverError) return e.errno;
  if (e && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    const msg = (e as { message?: unknown }).message;
    if (typeof msg === 'string') {
      const m = /: (E[A-Z]+)$/.exec(msg);
      if (m) return m[1];
    }
  }
  return undefined;
}

export function concatStream(emit: (s: NL.AttrStream) => void): Buffer {
  const { AttrStream } = loadNetlink();
  const s = new AttrStream();
  emit(s);
  return Buffer.concat(s.bufs);
}

function attrs(sd: NL.StreamData): Buffer {
  return concatStream((s) => s.emit(sd));
}

export interface VethPeer {
  ifname: string;
  mtu?: number;
  /** Open fd of the netns the peer is created in (IFLA_NET_NS_FD). */
  netnsFd?: number;
  address?: Buffer;
}

/**
 * IFLA_LINKINFO for a veth pair; the peer's ifinfomsg + attrs go in VETH_INFO_PEER.
 * The peer cannot be created up (veth_open returns ENOTCONN before the pair is joined): set it up after.
 */
export function vethLinkInfo(peer: VethPeer): Buffer {
  const { rt, ifla } = loadNetlink();
  const peerMsg = concatStream((s) =>
    rt.formatLinkMessage(
      {
        kind: 'link',
        data: {},
        attrs: {
          ifname: peer.ifname,
          ...(peer.mtu ? { mtu: peer.mtu } : {}),
          ...(peer.netnsFd !== undefined ? { netNsFd: peer.netnsFd } : {}),
          ...(peer.address ? { address: peer.address } : {}),
        },
      },
      s,
    ),
  );
  return attrs(ifla.formatInfo({ kind: 'veth', data: attrs(ifla.formatVethInfo({ peer: peerMsg })) }));
}

/** ipvlan modes (linux/if_link.h IPVLAN_MODE_*). */
export const IPVLAN_MODE_L2 = 0;
export const IPVLAN_MODE_L3 = 1;
export function ipvlanLinkInfo(mode: number = IPVLAN_MODE_L2): Buffer {
  const { ifla } = loadNetlink();
  return attrs(ifla.formatInfo({ kind: 'ipvlan', data: attrs(ifla.formatIpvlan({ mode })) }));
}

/** macvlan modes (MACVLAN_MODE_*): 1 private, 2 vepa, 4 bridge, 8 passthru. */
export const MACVLAN_MODE_BRIDGE = 4;
export function macvlanLinkInfo(mode: number = MACVLAN_MODE_BRIDGE): Buffer {
  const { ifla } = loadNetlink();
  return attrs(ifla.formatInfo({ kind: 'macvlan', data: attrs(ifla.formatMacvlan({ mode })) }));
}

/** IFLA_LINK carries the parent ifindex as a raw u32 (the package types it as Buffer). */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A route as addRoute() sends it (RTM_NEWROUTE body). */
export interface RouteRequest {
  dst?: string;
  dstLen?: number;
  gateway?: string;
  oif: number;
  table?: number;
  scope: 'LINK' | 'UNIVERSE';
}

/** The RTM_NEWADDR body of addAddress(). IPv6 ones carry IFA_F_NODAD: usable at once (the VPC hands each to one ENI). */
export function addressMessage(
  index: number,
  ip: string,
  prefixLen: number,
  opts: { noPrefixRoute?: boolean } = {},
): { data: NL.rt.Address; attrs: NL.rt.AddressAttrs } {
  const a = ipBuf(ip);
  const family = familyOf(ip);
  const addrFlags = {
    ...(opts.noPrefixRoute ? { noprefixroute: true as const } : {}),
    ...(family === AF_INET6 ? { nodad: true as const } : {}),
  };
  return {
    data: { family, prefixlen: prefixLen, index },
    attrs: { local: a, address: a, ...(Object.keys(addrFlags).length > 0 ? { flags: addrFlags } : {}) },
  };
}

/** The RTM_NEWROUTE body of addRoute(): `dst` undefined = default route; table ids above 255 travel in RTA_TABLE. */
export function routeMessage(r: RouteRequest): { data: NL.rt.Route; attrs: NL.rt.RouteAttrs } {
  const table = r.table ?? RT_TABLE_MAIN;
  const family = familyOf(r.dst ?? r.gateway ?? '');
  return {
    data: {
      family,
      dstLen: r.dst ? (r.dstLen ?? hostLen(family)) : 0,
      table: table > 255 ? RT_TABLE_COMPAT : table,
      protocol: 'BOOT',
      scope: r.scope,
      type: 'UNICAST',
    },
    attrs: {
      ...(r.dst ? { dst: ipBuf(r.dst) } : {}),
      ...(r.gateway ? { gateway: ipBuf(r.gateway) } : {}),
      oif: r.oif,
      table,
    },
  };
}

// ---------- socket wrapper ----------

export interface LinkInfo {
  index: number;
  name: string;
  mac?: string;
  mtu?: number;
  up: boolean;
  kind?: string;
  alias?: string;
  /** IFLA_LINK (parent ifindex) when present. */
  parent?: number;
}

export interface RouteInfo {
  table: number;
  dst?: string;
  dstLen: number;
  gateway?: string;
  oif?: number;
  scope: string;
  protocol?: string;
  type?: string;
}

export interface RuleInfo {
  priority?: number;
  table: number;
  src?: string;
  srcLen: number;
  dst?: string;
  dstLen: number;
  action?: string;
}

export interface AddrInfo {
  index: number;
  address: string;
  prefixLen: number;
}

export interface NeighInfo {
  ifindex: number;
  dst?: string;
  mac?: string;
  permanent: boolean;
}

function toLinkInfo(m: LinkMessage): LinkInfo {
  const { ifla } = loadNetlink();
  let kind: string | undefined;
  if (m.attrs.linkinfo) {
    try {
      kind = ifla.parseInfo(m.attrs.linkinfo).kind;
    } catch {
      kind = undefined;
    }
  }
  return {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    mac: macString(m.attrs.address),
    mtu: m.attrs.mtu,
    up: !!m.data.flags?.up,
    kind,
    alias: m.attrs.ifalias,
    parent: m.attrs.link && m.attrs.link.length >= 4 ? m.attrs.link.readUInt32LE(0) : undefined,
  };
}

function enumName(v: unknown): string | undefined {
  return v === undefined ? undefined : String(v);
}

/**
 * One rtnetlink socket bound in one netns. Every method names its operation and netns in errors.
 * Requests issued without awaiting in between are pipelined on the socket: the kernel handles them
 * in order, so a setup phase costs one round trip (see `all`).
 */
export class Nl {
  constructor(
    readonly sock: RtSocket,
    /** Label for errors: the netns path, or "host". */
    readonly netns: string,
  ) {}

  static open(netns = 'host'): Nl {
    return new Nl(loadNetlink().createRtNetlink(), netns);
  }

  close(): void {
    try {
      this.sock.socket.close();
    } catch {
      // already closed
    }
  }

  // Dumps (multipart replies) must not overlap anything else on the socket: the kernel runs one dump
  // per socket and netlink@0.3.0 cannot untangle interleaved multipart replies. Plain requests are
  // pipelined (shared); dumps are exclusive. Shared requests keep their issue order.
  private lastExclusive: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();

  private schedule<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    const gate = this.lastExclusive;
    let p: Promise<T>;
    if (exclusive) {
      const before = [...this.inFlight];
      p = (async () => {
        await gate;
        await Promise.all(before);
        return fn();
      })();
      this.lastExclusive = p.then(
        () => undefined,
        () => undefined,
      );
    } else {
      p = (async () => {
        await gate;
        return fn();
      })();
    }
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return p;
  }

  private async run<T>(op: string, p: () => Promise<T>, dump = false): Promise<T> {
    try {
      return await this.schedule(dump, p);
    } catch (e) {
      if (e instanceof DriverError) throw e;
      const errno = errnoOf(e);
      const msg = e instanceof Error ? e.message : String(e);
      throw new DriverError(op, msg, { errno, netns: this.netns, cause: e });
    }
  }

  /** Like run, but the listed errnos resolve to undefined (idempotent create/delete). */
  private async tolerate<T>(op: string, ok: string[], p: () => Promise<T>, dump = false): Promise<T | undefined> {
    try {
      return await this.run(op, p, dump);
    } catch (e) {
      if (e instanceof DriverError && e.errno && ok.includes(e.errno)) return undefined;
      throw e;
    }
  }

  // links
  async links(): Promise<LinkInfo[]> {
    const ms = await this.run('list links', () => this.sock.getLinks(), true);
    return ms.map(toLinkInfo);
  }

  /** The link by name, or undefined (ENODEV). */
  async linkByName(name: string): Promise<LinkInfo | undefined> {
    const ms = await this.tolerate(`get link ${name}`, ['ENODEV'], () => this.sock.getLink({}, { ifname: name }));
    return ms && ms[0] ? toLinkInfo(ms[0]) : undefined;
  }

  async linkByMac(mac: string): Promise<LinkInfo | undefined> {
    return (await this.links()).find((l) => l.mac !== undefined && sameMac(l.mac, mac));
  }

  async newLink(op: string, data: NL.rt.Link, a: NL.ifla.LinkAttrs, flags = CREATE_EXCL): Promise<void> {
    await this.run(op, () => this.sock.newLink(data, a, { flags }));
  }

  /** RTM_SETLINK by index (or, with index 0, by `a.ifname`); `up` toggles IFF_UP. */
  async setLink(op: string, index: number, a: NL.ifla.LinkAttrs = {}, up?: boolean): Promise<void> {
    const data: NL.rt.Link = up === undefined ? { index } : { index, change: { up: true }, flags: up ? { up: true } : {} };
    await this.run(op, () => this.sock.setLink(data, a));
  }

  /** Deletes the link; a missing link is not an error. */
  async delLink(op: string, index: number): Promise<void> {
    await this.tolerate(op, ['ENODEV'], () => this.sock.delLink({ index }));
  }

  // addresses
  async addresses(index?: number, family: Family = AF_INET): Promise<AddrInfo[]> {
    const ms = await this.run('list addresses', () => this.sock.getAddresses({ family }), true);
    return ms
      .filter((m) => m.data.family === family && (index === undefined || m.data.index === index))
      .map((m) => ({
        index: m.data.index ?? 0,
        address: ipString(m.attrs.local ?? m.attrs.address) ?? '',
        prefixLen: m.data.prefixlen ?? 0,
      }));
  }

  async addAddress(
    op: string,
    index: number,
    ip: string,
    prefixLen: number,
    opts: { noPrefixRoute?: boolean; flags?: number } = {},
  ): Promise<void> {
    const m = addressMessage(index, ip, prefixLen, opts);
    await this.run(op, () => this.sock.newAddress(m.data, m.attrs, { flags: opts.flags ?? CREATE_EXCL }));
  }

  async delAddress(op: string, index: number, ip: string, prefixLen: number): Promise<void> {
    const a = ipBuf(ip);
    await this.tolerate(op, ['EADDRNOTAVAIL', 'ENODEV'], () =>
      this.sock.delAddress({ family: familyOf(ip), prefixlen: prefixLen, index }, { local: a, address: a }),
    );
  }

  // routes
  async routes(table?: number, family: Family = AF_INET): Promise<RouteInfo[]> {
    const ms = await this.run('list routes', () => this.sock.getRoutes({ family }), true);
    return ms
      .filter((m) => m.data.family === family)
      .map((m) => ({
        table: m.attrs.table ?? m.data.table ?? 0,
        dst: ipString(m.attrs.dst),
        dstLen: m.data.dstLen ?? 0,
        gateway: ipString(m.attrs.gateway),
        oif: m.attrs.oif,
        scope: enumName(m.data.scope) ?? 'UNIVERSE',
        protocol: enumName(m.data.protocol),
        type: enumName(m.data.type),
      }))
      .filter((r) => table === undefined || r.table === table);
  }

  /**
   * Adds (or with REPLACE, overwrites) an IPv4 unicast route. `dst` undefined = default route.
   * Table ids above 255 travel in RTA_TABLE with rtm_table = RT_TABLE_COMPAT.
   */
  async addRoute(op: string, r: RouteRequest, flags = CREATE_EXCL): Promise<void> {
    const m = routeMessage(r);
    await this.run(op, () => this.sock.newRoute(m.data, m.attrs, { flags }));
  }

  /** Deletes a route; scope NOWHERE so the kernel matches any scope. Missing route is fine: returns false. */
  async delRoute(
    op: string,
    r: { dst?: string; dstLen?: number; oif?: number; table?: number; gateway?: string; family?: Family },
  ): Promise<boolean> {
    const table = r.table ?? RT_TABLE_MAIN;
    const family = r.family ?? familyOf(r.dst ?? r.gateway ?? '');
    const res = await this.tolerate(op, ['ESRCH', 'ENOENT', 'ENODEV'], async () => {
      await this.sock.delRoute(
        { family, dstLen: r.dst ? (r.dstLen ?? hostLen(family)) : 0, table: table > 255 ? RT_TABLE_COMPAT : table, scope: 'NOWHERE' },
        {
          ...(r.dst ? { dst: ipBuf(r.dst) } : {}),
          ...(r.oif !== undefined ? { oif: r.oif } : {}),
          ...(r.gateway ? { gateway: ipBuf(r.gateway) } : {}),
          table,
        },
      );
      return true;
    });
    return res === true;
  }

  // rules
  async rules(family: Family = AF_INET): Promise<RuleInfo[]> {
    const ms = await this.run('list rules', () => this.sock.getRules({ family }), true);
    return ms.map((m) => ({
      priority: m.attrs.priority,
      table: m.attrs.table ?? m.data.table ?? 0,
      src: ipString(m.attrs.src),
      srcLen: m.data.srcLen ?? 0,
      dst: ipString(m.attrs.dst),
      dstLen: m.data.dstLen ?? 0,
      action: enumName(m.data.action),
    }));
  }

  /** Adds `from/to <ip>/32 lookup <table> pref <priority>`; an identical existing rule is fine (EXCL → EEXIST). */
  async addRule(op: string, r: { src?: string; dst?: string; table: number; priority: number }): Promise<void> {
    const family = familyOf(r.src ?? r.dst ?? '');
    const len = hostLen(family);
    await this.tolerate(op, ['EEXIST'], () =>
      this.sock.newRule(
        {
          family,
          srcLen: r.src ? len : 0,
          dstLen: r.dst ? len : 0,
          action: 'toTbl',
          table: r.table > 255 ? RT_TABLE_COMPAT : r.table,
        },
        { ...(r.src ? { src: ipBuf(r.src) } : {}), ...(r.dst ? { dst: ipBuf(r.dst) } : {}), table: r.table, priority: r.priority },
        { flags: CREATE_EXCL },
      ),
    );
  }

  /** Deletes one matching rule; `table` omitted matches any table. Returns false when none matched. */
  async delRule(op: string, r: { src?: string; dst?: string; table?: number; priority: number }): Promise<boolean> {
    const family = familyOf(r.src ?? r.dst ?? '');
    const len = hostLen(family);
    const res = await this.tolerate(op, ['ENOENT', 'ESRCH'], async () => {
      await this.sock.delRule(
        {
          family,
          srcLen: r.src ? len : 0,
          dstLen: r.dst ? len : 0,
          action: 'toTbl',
          table: r.table === undefined ? 0 : r.table > 255 ? RT_TABLE_COMPAT : r.table,
        },
        {
          ...(r.src ? { src: ipBuf(r.src) } : {}),
          ...(r.dst ? { dst: ipBuf(r.dst) } : {}),
          ...(r.table !== undefined ? { table: r.table } : {}),
          priority: r.priority,
        },
      );
      return true;
    });
    return res === true;
  }

  /** Deletes every copy of a rule (duplicates can exist if something added it without EXCL). */
  async delRuleAll(op: string, r: { src?: string; dst?: string; table?: number; priority: number }): Promise<void> {
    for (let i = 0; i < 16 && (await this.delRule(op, r)); i++);
  }

  // neighbours
  async neighbors(ifindex?: number, family: Family = AF_INET): Promise<NeighInfo[]> {
    const ms = await this.run('list neighbours', () => this.sock.getNeighbors({ family }), true);
    return ms
      .filter((m) => ifindex === undefined || m.data.ifindex === ifindex)
      .map((m) => ({
        ifindex: m.data.ifindex ?? 0,
        dst: ipString(m.attrs.dst),
        mac: macString(m.attrs.lladdr),
        permanent: !!m.data.state?.permanent,
      }));
  }

  async addPermanentNeighbor(op: string, ifindex: number, ip: string, mac: string): Promise<void> {
    await this.run(op, () =>
      this.sock.newNeighbor(
        { family: familyOf(ip), ifindex, state: { permanent: true } },
        { dst: ipBuf(ip), lladdr: macBuf(mac) },
        { flags: CREATE_REPLACE },
      ),
    );
  }
}

/**
 * Awaits a batch of already-issued (pipelined) requests. All are settled before the first
 * error is thrown, so no request is left in flight when the caller rolls back or closes the socket.
 */
export async function all<T extends unknown[]>(ps: [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const rs = await Promise.allSettled(ps as Promise<unknown>[]);
  const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}
