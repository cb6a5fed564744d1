// ipvlan driver rollback (real netns, root). This kernel has no CONFIG_IPVLAN, so the ipvlan links are
// stood in for by macvlan (same parent/child shape, created in the same RTM_NEWLINK): what is tested is
// the driver's own bookkeeping of what it created, not ipvlan itself.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { IpvlanDriver, hostSlaveName } from '../../drivers/ipvlan.js';
import { IPVLAN_MODE_L2, Nl, ipvlanLinkInfo, macvlanLinkInfo } from '../../drivers/netlink.js';
import { threadsOutsideHomeNetns, warmThreadPool } from '../../drivers/netns.js';
import { DriverError, type PodNetworkSpec } from '../../drivers/types.js';
import { NsEnv, VpcNode, ip, isRoot, path, rootSkipReason, uid } from './nsenv.js';

if (!isRoot) console.warn(`skipping ipvlan rollback tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('ipvlan driver: a failed setup removes what it created (macvlan stand-in)', () => {
  const env = new NsEnv();
  beforeAll(() => warmThreadPool());
  afterEach(() => {
    vi.restoreAllMocks();
    env.cleanup();
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  it('a pod route refused after the host /32 was added leaves no host route and no pod slave', async () => {
    const node = new VpcNode(env, uid());
    const eni = node.addEni('eth1', '10.73.0');
    const ipvlanInfo = ipvlanLinkInfo(IPVLAN_MODE_L2);
    const realNewLink = Nl.prototype.newLink;
    vi.spyOn(Nl.prototype, 'newLink').mockImplementation(function (this: Nl, op, data, a, flags) {
      const swapped = a.linkinfo && Buffer.compare(a.linkinfo, ipvlanInfo) === 0 ? { ...a, linkinfo: macvlanLinkInfo() } : a;
      return realNewLink.call(this, op, data, swapped, flags);
    });
    const realAddRoute = Nl.prototype.addRoute;
    vi.spyOn(Nl.prototype, 'addRoute').mockImplementation(function (this: Nl, op, r, flags) {
      if (op.startsWith('add default via')) return Promise.reject(new DriverError(op, 'injected', { errno: 'ENOBUFS' }));
      return realAddRoute.call(this, op, r, flags);
    });
    const driver = new IpvlanDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const spec: PodNetworkSpec = {
      containerId: 'ctr-ipvl',
      netnsPath: path(pod),
      ifName: 'eth0',
      ip: '10.73.0.7',
      eniId: 'eni-ipvl',
      eniMac: eni.mac,
      primaryEni: false,
      vSwitchCidr: eni.cidr,
      gateway: eni.gateway,
      mtu: 1400,
    };
    const err = await driver.setup(spec).catch((e: unknown) => e);
    expect((err as Error).message).toContain('injected');
    const eniIndex = Number(ip(['-o', 'link', 'show', 'eth1'], node.host).split(':')[0]);
    expect(ip(['-o', 'link', 'show'], node.host)).toContain(hostSlaveName(eniIndex)); // shared slave stays by design
    expect(ip(['route', 'show'], node.host)).not.toContain('10.73.0.7');
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
  });
});
