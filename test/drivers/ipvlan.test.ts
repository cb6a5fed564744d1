import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressMessage, loadNetlink, routeMessage } from '../../drivers/netlink.js';
import { decodeLinkMessage, encodeAddressMessage, encodeRouteMessage } from '../../drivers/netlinkWire.js';
import {
  IPVLAN_MISSING,
  IpvlanDriver,
  encodeRequest,
  hostSlaveName,
  hostSlaveRequest,
  ipvlanSupported,
  ipv6Requests,
  isMissingFeature,
  podSlaveRequest,
  probeRequest,
} from '../../drivers/ipvlan.js';
import { openNetlinkIn, warmThreadPool } from '../../drivers/netns.js';
import { DriverError } from '../../drivers/types.js';
import { NsEnv, VpcNode, ip, isRoot, path, ping, uid } from './nsenv.js';

/** Walks top-level rtattrs after the 16-byte ifinfomsg: [type, payload][]. */
function rtattrs(buf: Buffer, start = 16): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let off = start;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    out.push([type, buf.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_IPVLAN_MODE = 1;

describe('ipvlan netlink messages (no kernel)', () => {
  it('pod slave: name, parent, MTU, netns fd and kind ipvlan / mode L2 in the exact attribute layout', () => {
    const buf = encodeRequest(podSlaveRequest({ parentIndex: 7, ifName: 'eth0', mtu: 1500, netnsFd: 42 }));
    // ifinfomsg: family 0, index 0 (new link), no flags.
    expect(buf.readUInt8(0)).toBe(0);
    expect(buf.readInt32LE(4)).toBe(0);
    const a = new Map(rtattrs(buf));
    expect(a.get(IFLA_IFNAME)!.toString('latin1')).toBe('eth0\0');
    expect(a.get(IFLA_LINK)!.readUInt32LE(0)).toBe(7);
    expect(a.get(IFLA_MTU)!.readUInt32LE(0)).toBe(1500);
    expect(a.get(IFLA_NET_NS_FD)!.readUInt32LE(0)).toBe(42);
    const info = new Map(rtattrs(a.get(IFLA_LINKINFO)!, 0));
    expect(info.get(IFLA_INFO_KIND)!.toString('latin1')).toBe('ipvlan\0');
    const data = new Map(rtattrs(info.get(IFLA_INFO_DATA)!, 0));
    expect(data.get(IFLA_IPVLAN_MODE)!.length).toBe(2); // u16
    expect(data.get(IFLA_IPVLAN_MODE)!.readUInt16LE(0)).toBe(0); // IPVLAN_MODE_L2

    // And the package decodes it back to the same fields.
    const m = decodeLinkMessage(buf);
    expect(m.attrs.ifname).toBe('eth0');
    const { ifla } = loadNetlink();
    const parsed = ifla.parseInfo(m.attrs.linkinfo!);
    expect(parsed.kind).toBe('ipvlan');
    expect(ifla.parseIpvlan(parsed.data!).mode).toBe(ifla.IpvlanMode.L2);
  });

  it('host slave is named ipvl_<ENI ifindex>, created up, L2', () => {
    const r = hostSlaveRequest({ parentIndex: 12, mtu: 9000 });
    const buf = encodeRequest(r);
    const m = decodeLinkMessage(buf);
    expect(m.attrs.ifname).toBe(hostSlaveName(12));
    expect(hostSlaveName(12)).toBe('ipvl_12');
    expect(m.data.flags?.up).toBe(true);
    expect(m.data.change?.up).toBe(true);
    expect(buf.readUInt32LE(8) & 1).toBe(1); // ifi_flags IFF_UP
    expect(buf.readUInt32LE(12) & 1).toBe(1); // ifi_change IFF_UP
    expect(m.attrs.link!.readUInt32LE(0)).toBe(12);
    expect(m.attrs.mtu).toBe(9000);
  });

  it('probe targets lo (index 1), so a kernel with ipvlan refuses it and none is created', () => {
    const m = decodeLinkMessage(encodeRequest(probeRequest()));
    expect(m.attrs.link!.readUInt32LE(0)).toBe(1);
    expect(isMissingFeature('ENOTSUP')).toBe(true);
    expect(isMissingFeature('EOPNOTSUPP')).toBe(true);
    expect(isMissingFeature('EINVAL')).toBe(false);
  });
});

const AF_INET6 = 10;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
const RT_TABLE_MAIN = 254;

/** fd00::… as the 16 network-order bytes netlink carries. */
const v6bytes = (hex: string) => Buffer.from(hex.padStart(32, '0'), 'hex');

describe('ipvlan IPv6 netlink messages (no kernel)', () => {
  const POD6 = 'fd00:0:0:102::5';
  const GW6 = 'fd00:0:0:102:ffff:ffff:ffff:fffd';
  const req = ipv6Requests({ ipv6: POD6, gateway: GW6, ifName: 'eth0', podIndex: 3, hostSlave: { name: 'ipvl_9', index: 11 } });
  const routeBytes = (i: number) => encodeRouteMessage(routeMessage(req.podRoutes[i]!.route));
  /** rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, then u32 flags; attributes from byte 12. */
  const rtmsg = (b: Buffer) => ({
    family: b[0],
    dstLen: b[1],
    table: b[4],
    protocol: b[5],
    scope: b[6],
    type: b[7],
    attrs: new Map(rtattrs(b, 12)),
  });

  it('pod address: AF_INET6 /128 on the pod slave, IFA_LOCAL = IFA_ADDRESS, IFA_FLAGS with NODAD', () => {
    const a = req.podAddress;
    expect(a).toMatchObject({ index: 3, ip: POD6, prefixLen: 128 });
    const b = encodeAddressMessage(addressMessage(a.index, a.ip, a.prefixLen));
    // ifaddrmsg: family, prefixlen, flags, scope, u32 index
    expect([b[0], b[1], b[3]]).toEqual([AF_INET6, 128, 0]);
    expect(b.readUInt32LE(4)).toBe(3);
    const attrs = new Map(rtattrs(b, 8));
    const pod = v6bytes('fd000000000001020000000000000005');
    expect(attrs.get(IFA_LOCAL)).toEqual(pod);
    expect(attrs.get(IFA_ADDRESS)).toEqual(pod);
    expect(attrs.get(IFA_FLAGS)!.readUInt32LE(0) & IFA_F_NODAD).toBe(IFA_F_NODAD);
  });

  it('pod routes, in order: the gateway /128 on the slave, then the default via it (main table, BOOT, unicast)', () => {
    expect(req.podRoutes.map((r) => r.op)).toEqual([`add route ${GW6}/128 dev eth0`, `add default via ${GW6}`]);
    const gw = v6bytes('fd00000000000102fffffffffffffffd');
    const onLink = rtmsg(routeBytes(0));
    expect(onLink).toMatchObject({
      family: AF_INET6,
      dstLen: 128,
      table: RT_TABLE_MAIN,
      protocol: RTPROT_BOOT,
      scope: RT_SCOPE_UNIVERSE,
      type: RTN_UNICAST,
    });
    expect(onLink.attrs.get(RTA_DST)).toEqual(gw);
    expect(onLink.attrs.has(RTA_GATEWAY)).toBe(false);
    expect(onLink.attrs.get(RTA_OIF)!.readUInt32LE(0)).toBe(3);
    const dflt = rtmsg(routeBytes(1));
    expect(dflt).toMatchObject({ family: AF_INET6, dstLen: 0, table: RT_TABLE_MAIN, type: RTN_UNICAST });
    expect(dflt.attrs.has(RTA_DST)).toBe(false);
    expect(dflt.attrs.get(RTA_GATEWAY)).toEqual(gw);
    expect(dflt.attrs.get(RTA_OIF)!.readUInt32LE(0)).toBe(3);
    expect(dflt.attrs.get(RTA_TABLE)!.readUInt32LE(0)).toBe(RT_TABLE_MAIN);
  });

  it('host route: the pod /128 through the shared host slave (host → pod), no gateway', () => {
    expect(req.hostRoute.op).toBe(`add route ${POD6}/128 dev ipvl_9`);
    const m = rtmsg(encodeRouteMessage(routeMessage(req.hostRoute.route)));
    expect(m).toMatchObject({ family: AF_INET6, dstLen: 128, table: RT_TABLE_MAIN, type: RTN_UNICAST });
    expect(m.attrs.get(RTA_DST)).toEqual(v6bytes('fd000000000001020000000000000005'));
    expect(m.attrs.get(RTA_OIF)!.readUInt32LE(0)).toBe(11);
    expect(m.attrs.has(RTA_GATEWAY)).toBe(false);
  });

  it('the package decodes the messages back to the same fields', () => {
    const { rt } = loadNetlink();
    const addr = rt.parseAddressMessage(encodeAddressMessage(addressMessage(3, POD6, 128)));
    expect(addr.data).toMatchObject({ family: AF_INET6, prefixlen: 128, index: 3 });
    expect(addr.attrs.flags?.nodad).toBe(true);
    const route = rt.parseRouteMessage(routeBytes(1));
    expect(route.data).toMatchObject({ family: AF_INET6, dstLen: 0 });
    expect(route.attrs.oif).toBe(3);
  });
});

describe.skipIf(!isRoot)('ipvlan driver (real netns)', () => {
  const env = new NsEnv();
  let supported = false;
  let hostNs: string;

  beforeAll(async () => {
    await warmThreadPool();
    hostNs = env.add(`drv-i-${uid()}`);
    const s = await openNetlinkIn(path(hostNs), 'probe');
    supported = await ipvlanSupported(s);
    s.close();
    if (!supported) console.warn(`ipvlan real-netns tests skipped: ${IPVLAN_MISSING}`);
  });
  afterEach(() => env.cleanup());

  it('detection leaves no link behind', () => {
    expect(ip(['-o', 'link', 'show'], hostNs)).not.toContain('ipvlprobe');
  });

  it('without kernel support, setup fails naming the missing feature and changes nothing', async (ctx) => {
    if (supported) ctx.skip();
    const node = new VpcNode(env, uid());
    const eni = node.addEni('eth1', '10.50.0');
    const pod = env.add(`drv-p-${uid()}`);
    const d = new IpvlanDriver({ hostNetnsPath: path(node.host) });
    const err = await d
      .setup({
        containerId: 'c1',
        netnsPath: path(pod),
        ifName: 'eth0',
        ip: '10.50.0.5',
        eniId: 'eni-1',
        eniMac: eni.mac,
        primaryEni: false,
        vSwitchCidr: eni.cidr,
        gateway: eni.gateway,
        mtu: 1500,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).message).toContain(IPVLAN_MISSING);
    expect((err as DriverError).errno).toBe('ENOTSUP');
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
    await expect(d.assertSupported()).rejects.toThrow(IPVLAN_MISSING);
  });

  it('with kernel support: pod slave, routes, host reachability, teardown', async (ctx) => {
    if (!supported) {
      console.warn(`skipped: ${IPVLAN_MISSING}`);
      ctx.skip();
    }
    const node = new VpcNode(env, uid());
    const eni = node.addEni('eth1', '10.50.0');
    ip(['link', 'set', 'eth1', 'up'], node.host);
    const pod = env.add(`drv-p-${uid()}`);
    const d = new IpvlanDriver({ hostNetnsPath: path(node.host) });
    const spec = {
      containerId: 'c1',
      netnsPath: path(pod),
      ifName: 'eth0',
      ip: '10.50.0.5',
      eniId: 'eni-1',
      eniMac: eni.mac,
      primaryEni: false,
      vSwitchCidr: eni.cidr,
      gateway: eni.gateway,
      mtu: 1500,
    };
    await d.setup(spec);
    await d.check(spec);
    expect(ping(pod, eni.gateway)).toBe(true);
    await d.teardown({ containerId: 'c1', ifName: 'eth0', netnsPath: path(pod) });
    await d.teardown({ containerId: 'c1', ifName: 'eth0', netnsPath: path(pod) });
    expect(ip(['route', 'show'], node.host)).not.toContain('10.50.0.5');
  });
});
