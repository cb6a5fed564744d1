// ipvlan driver rollback (real netns, root). This kernel has no CONFIG_IPVLAN, so the ipvlan links are
// stood in for by macvlan (same parent/child shape, created in the same RTM_NEWLINK): what is tested is
// the driver's own bookkeeping of what it created (and, in dual stack, its IPv6 wiring), not ipvlan itself.
import { spawnSync } from 'node:child_process';
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

  /** ipvlan requests become macvlan ones (this kernel has no ipvlan); `failOp` makes one route fail. */
  function standIn(failOp?: (op: string) => boolean): void {
    const ipvlanInfo = ipvlanLinkInfo(IPVLAN_MODE_L2);
    const realNewLink = Nl.prototype.newLink;
    vi.spyOn(Nl.prototype, 'newLink').mockImplementation(function (this: Nl, op, data, a, flags) {
      const swapped = a.linkinfo && Buffer.compare(a.linkinfo, ipvlanInfo) === 0 ? { ...a, linkinfo: macvlanLinkInfo() } : a;
      return realNewLink.call(this, op, data, swapped, flags);
    });
    const realAddRoute = Nl.prototype.addRoute;
    vi.spyOn(Nl.prototype, 'addRoute').mockImplementation(function (this: Nl, op, r, flags) {
      if (failOp?.(op)) return Promise.reject(new DriverError(op, 'injected', { errno: 'ENOBUFS' }));
      return realAddRoute.call(this, op, r, flags);
    });
  }

  const GW6 = 'fd00:73::ffff:ffff:ffff:fffd';
  const POD6 = 'fd00:73::7';

  function dualRig() {
    const node = new VpcNode(env, uid());
    const eni = node.addEni('eth1', '10.73.0');
    ip(['-6', 'addr', 'add', `${GW6}/128`, 'dev', eni.rtrIf, 'nodad', 'noprefixroute'], node.router);
    ip(['-6', 'route', 'add', `${POD6}/128`, 'dev', eni.rtrIf], node.router);
    const pod = env.add(`rv-p-${uid()}`);
    const spec: PodNetworkSpec = {
      containerId: 'ctr-ipvl6',
      netnsPath: path(pod),
      ifName: 'eth0',
      ip: '10.73.0.8',
      eniId: 'eni-ipvl',
      eniMac: eni.mac,
      primaryEni: false,
      vSwitchCidr: eni.cidr,
      gateway: eni.gateway,
      ipv6: POD6,
      ipv6Gateway: GW6,
      mtu: 1400,
    };
    return { node, pod, spec, driver: new IpvlanDriver({ hostNetnsPath: path(node.host) }) };
  }

  it('dual stack: the pod /128 (nodad) with routes via the vSwitch IPv6 gateway, the host /128 on the shared slave; ping -6; DEL removes the host route', async () => {
    standIn();
    const { node, pod, spec, driver } = dualRig();
    const res = await driver.setup(spec);
    expect(res.podGatewayV6).toBe(GW6);
    expect(ip(['-6', 'addr', 'show', 'dev', 'eth0'], pod)).toMatch(new RegExp(`inet6 ${POD6}/128 scope global nodad`));
    const routes6 = ip(['-6', 'route', 'show'], pod);
    expect(routes6).toContain(`${GW6} dev eth0`);
    expect(routes6).toContain(`default via ${GW6} dev eth0`);
    expect(ip(['-6', 'route', 'show'], node.host)).toContain(`${POD6} dev ${res.hostIfName}`);
    expect(spawnSync('ip', ['netns', 'exec', pod, 'ping', '-6', '-c', '1', '-W', '2', '-q', GW6]).status).toBe(0);
    // DEL without the pod DB's word: the IPv6 address is read from the pod
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath });
    expect(ip(['-6', 'route', 'show'], node.host)).not.toContain(POD6);
    expect(ip(['route', 'show'], node.host)).not.toContain('10.73.0.8');
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
  });

  it('dual stack: a refused IPv6 default route leaves no host /128, no host /32 and no pod slave', async () => {
    standIn((op) => op === `add default via ${GW6}`);
    const { node, pod, spec, driver } = dualRig();
    const err = await driver.setup(spec).catch((e: unknown) => e);
    expect((err as Error).message).toContain('injected');
    expect(ip(['-6', 'route', 'show'], node.host)).not.toContain(POD6);
    expect(ip(['route', 'show'], node.host)).not.toContain('10.73.0.8');
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
  });

  it('dual stack without a known IPv6 gateway: refused before anything is created', async () => {
    standIn();
    const { node, spec, driver } = dualRig();
    const err = await driver.setup({ ...spec, ipv6Gateway: undefined }).catch((e: unknown) => e);
    expect((err as DriverError).errno).toBe('EINVAL');
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain('ipvl_');
  });
});
