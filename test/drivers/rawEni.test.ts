import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawEniDriver, aliasFor, origNameFromAlias } from '../../drivers/rawEni.js';
import { DriverError, type PodNetworkSpec } from '../../drivers/types.js';
import { threadsOutsideHomeNetns, warmThreadPool } from '../../drivers/netns.js';
import { NsEnv, VpcNode, type EniLink, ip, isRoot, path, ping, rootSkipReason, snapshot, uid } from './nsenv.js';

describe('raw ENI alias helpers', () => {
  it('round-trips the original name', () => {
    expect(origNameFromAlias(aliasFor('eth3'))).toBe('eth3');
    expect(origNameFromAlias('something else')).toBeUndefined();
    expect(origNameFromAlias(undefined)).toBeUndefined();
  });
});

if (!isRoot) console.warn(`skipping raw ENI driver tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('raw ENI driver (real netns)', () => {
  const env = new NsEnv();
  let node: VpcNode;
  let eni: EniLink;
  let driver: RawEniDriver;

  beforeAll(() => warmThreadPool());
  afterEach(() => {
    env.cleanup();
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  const init = (): void => {
    node = new VpcNode(env, uid());
    eni = node.addEni('eth1', '10.40.0');
    driver = new RawEniDriver({ hostNetnsPath: path(node.host) });
  };
  const spec = (pod: string, podIp: string): PodNetworkSpec => ({
    containerId: `ctr-${pod}`,
    netnsPath: path(pod),
    ifName: 'eth0',
    ip: podIp,
    eniId: 'eni-raw1',
    eniMac: eni.mac,
    primaryEni: false,
    vSwitchCidr: eni.cidr,
    gateway: eni.gateway,
    mtu: 1450,
  });

  it('moves the ENI into the pod, configures it, and moves it back under its original name', async () => {
    init();
    const before = snapshot(node.host);
    const pod = env.add(`drv-p-${uid()}`);
    const s = spec(pod, '10.40.0.5');
    const res = await driver.setup(s);
    expect(res.podIfMac).toBe(eni.mac);
    expect(res.podGateway).toBe(eni.gateway);
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain('eth1');
    const link = ip(['addr', 'show', 'dev', 'eth0'], pod);
    expect(link).toContain(`link/ether ${eni.mac}`);
    expect(link).toContain('mtu 1450');
    expect(link).toContain('inet 10.40.0.5/24');
    expect(ip(['route', 'show'], pod)).toContain(`default via ${eni.gateway} dev eth0`);
    expect(ping(pod, eni.gateway)).toBe(true);
    await driver.check(s);

    // Restart-time DEL: no MAC, no IP.
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath });
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
    const after = ip(['-o', 'link', 'show', 'eth1'], node.host);
    expect(after).toContain(eni.mac);
    expect(after).not.toContain('alias');
    expect(snapshot(node.host).addrs).toBe(before.addrs);
    expect(snapshot(node.host).links.replace(/mtu \d+/g, '')).toBe(before.links.replace(/mtu \d+/g, ''));
    // Idempotent.
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, eniMac: eni.mac });
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0' });
    const err = await driver.check(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
  });

  it('rolls the move back when a later step fails (invalid IP)', async () => {
    init();
    const pod = env.add(`drv-p-${uid()}`);
    const err = await driver.setup(spec(pod, '10.40.0.300')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
    expect(ip(['-o', 'link', 'show', 'eth1'], node.host)).toContain(eni.mac);
  });

  it('fails with ENODEV naming the MAC when no link has it', async () => {
    init();
    const pod = env.add(`drv-p-${uid()}`);
    const err = await driver.setup({ ...spec(pod, '10.40.0.6'), eniMac: '02:00:00:00:00:99' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).errno).toBe('ENODEV');
    expect((err as DriverError).message).toContain('02:00:00:00:00:99');
  });

  it('dual stack: the IPv6 /128 without DAD, default via the vSwitch IPv6 gateway (on-link /128); ping -6; check; DEL flushes it', async () => {
    init();
    const GW6 = 'fd00:40::ffff:ffff:ffff:fffd';
    const POD6 = 'fd00:40::5';
    // as the simulated VPC: the router holds the gateway alone (no prefix route) and routes the pod's /128 to the ENI
    ip(['-6', 'addr', 'add', `${GW6}/128`, 'dev', eni.rtrIf, 'nodad', 'noprefixroute'], node.router);
    ip(['-6', 'route', 'add', `${POD6}/128`, 'dev', eni.rtrIf], node.router);
    const pod = env.add(`drv-p-${uid()}`);
    const s: PodNetworkSpec = { ...spec(pod, '10.40.0.7'), ipv6: POD6, ipv6Gateway: GW6 };
    const res = await driver.setup(s);
    expect(res.podGatewayV6).toBe(GW6);
    // nodad: not tentative, usable at once
    expect(ip(['-6', 'addr', 'show', 'dev', 'eth0'], pod)).toMatch(new RegExp(`inet6 ${POD6}/128 scope global nodad`));
    const routes6 = ip(['-6', 'route', 'show'], pod);
    expect(routes6).toContain(`${GW6} dev eth0`);
    expect(routes6).toContain(`default via ${GW6} dev eth0`);
    expect(spawnSync('ip', ['netns', 'exec', pod, 'ping', '-6', '-c', '1', '-W', '2', '-q', GW6]).status).toBe(0);
    expect(ping(pod, eni.gateway)).toBe(true);
    await driver.check(s);
    // CHECK covers the IPv6 part
    ip(['-6', 'route', 'del', 'default', 'via', GW6, 'dev', 'eth0'], pod);
    await expect(driver.check(s)).rejects.toThrow(`IPv6 default route via ${GW6} missing`);
    ip(['-6', 'addr', 'del', `${POD6}/128`, 'dev', 'eth0'], pod);
    await expect(driver.check(s)).rejects.toThrow(`address ${POD6}/128 missing`);
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, eniMac: eni.mac, ipv6: POD6 });
    // back on the host without the pod's addresses of either family
    const back = ip(['addr', 'show', 'dev', 'eth1'], node.host);
    expect(back).toContain(eni.mac);
    expect(back).not.toContain(POD6);
    expect(back).not.toContain('10.40.0.7');
  });

  it('dual stack without a known IPv6 gateway: setup refuses before moving the ENI', async () => {
    init();
    const pod = env.add(`drv-p-${uid()}`);
    const err = await driver.setup({ ...spec(pod, '10.40.0.8'), ipv6: 'fd00:40::8' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).errno).toBe('EINVAL');
    expect(ip(['-o', 'link', 'show', 'eth1'], node.host)).toContain(eni.mac);
  });
});
