import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawEniDriver, aliasFor, origNameFromAlias } from '../../drivers/rawEni.js';
import { DriverError, type PodNetworkSpec } from '../../drivers/types.js';
import { threadsOutsideHomeNetns, warmThreadPool } from '../../drivers/netns.js';
import { NsEnv, VpcNode, ip, isRoot, path, ping, rootSkipReason, snapshot, uid } from './nsenv.js';

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
  let eni: { name: string; mac: string; gateway: string; cidr: string };
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
});
