import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadNetlink, decodeLinkMessage } from '../../drivers/netlink.js';
import {
  IPVLAN_MISSING,
  IpvlanDriver,
  encodeRequest,
  hostSlaveName,
  hostSlaveRequest,
  ipvlanSupported,
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
