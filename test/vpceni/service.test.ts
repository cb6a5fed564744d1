// VpcEniService over a fake allocator and driver: the reply shape of VPCENI (ipType VPC_ENI, vSwitch
// prefix, vSwitch gateway) and the mode switch.
import { describe, expect, it } from 'vitest';
import { createNetworkService, VpcEniService } from '../../daemon/modes/index.js';
import { FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { podRef as pod } from '../support/pods.js';

describe('VpcEniService', () => {
  const deps = () => ({ allocator: new FakeAllocator(), driver: new FakeDriver(), mtu: 1500, logger: captureLog().logger });

  it('createNetworkService(VPCENI) gives the VPC_ENI service', () => {
    const svc = createNetworkService('VPCENI', deps());
    expect(svc).toBeInstanceOf(VpcEniService);
    expect(svc.ipType).toBe('VPC_ENI');
  });

  it('AllocIP answers the ENI IP with the vSwitch prefix and the vSwitch gateway (not the driver link-local one)', async () => {
    const d = deps();
    const svc = new VpcEniService(d);
    await svc.start();
    const r = await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(r).toMatchObject({
      ipType: 'VPC_ENI',
      ips: [{ address: '10.0.1.10/24', gateway: '10.0.1.253', family: 4 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.1.253' }],
      eniId: 'eni-fake1',
      eniMac: '02:00:00:00:00:01',
    });
    // The driver got the whole ENI: its MAC, the vSwitch CIDR and gateway.
    expect(d.driver.setups[0]).toMatchObject({
      eniMac: '02:00:00:00:00:01',
      ip: '10.0.1.10',
      vSwitchCidr: '10.0.1.0/24',
      gateway: '10.0.1.253',
      ifName: 'eth0',
    });
    expect(await svc.getIpInfo(pod('a'))).toMatchObject({
      found: true,
      ipType: 'VPC_ENI',
      ips: [{ address: '10.0.1.10/24', gateway: '10.0.1.253' }],
    });
    expect(await svc.getIpInfo(pod('zz'))).toMatchObject({ found: false, ipType: 'VPC_ENI', ips: [] });
  });

  it('ReleaseIP tears the ENI link down (by MAC) before the allocator takes it back', async () => {
    const d = deps();
    const svc = new VpcEniService(d);
    await svc.start();
    await svc.allocIp(pod('b'), { deadlineMs: 1000 });
    expect(await svc.releaseIp(pod('b'), 'test')).toEqual({ releasedIp: '10.0.1.10' });
    expect(d.driver.teardowns[0]).toMatchObject({ eniMac: '02:00:00:00:00:01', ifName: 'eth0', netnsPath: '/var/run/netns/b' });
    expect(d.allocator.get('b/eth0/net')).toBeUndefined();
  });

  it('Status counts ENIs', async () => {
    const svc = new VpcEniService(deps());
    await svc.start();
    expect(svc.status()).toMatchObject({ ready: true, ipType: 'VPC_ENI', message: '4 free of 4 ENIs' });
  });
});

describe('VpcEniService GC', () => {
  it('tears each stale pod down before its ENI goes back; keeps valid ones and other networks', async () => {
    const allocator = new FakeAllocator();
    const driver = new FakeDriver();
    const order: string[] = [];
    const origTeardown = driver.teardown.bind(driver);
    driver.teardown = async (spec) => {
      order.push(`teardown:${spec.containerId}`);
      return origTeardown(spec);
    };
    const origRelease = allocator.release.bind(allocator);
    allocator.release = async (k) => {
      order.push(`release:${k}`);
      return origRelease(k);
    };
    const svc = new VpcEniService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    await svc.start();
    await svc.allocIp(pod('keep'), { deadlineMs: 1000 });
    await svc.allocIp(pod('stale'), { deadlineMs: 1000 });
    await svc.allocIp({ ...pod('other'), networkName: 'net2' }, { deadlineMs: 1000 });
    expect(await svc.gc('net', [{ containerId: 'keep', ifName: 'eth0' }])).toEqual(['stale/eth0/net']);
    expect(order).toEqual(['teardown:stale', 'release:stale/eth0/net']);
    expect(
      allocator
        .list()
        .map((a) => a.podKey)
        .sort(),
    ).toEqual(['keep/eth0/net', 'other/eth0/net2']);
  });

  it('a failed teardown keeps the ENI allocated', async () => {
    const allocator = new FakeAllocator();
    const driver = new FakeDriver();
    const svc = new VpcEniService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    await svc.start();
    await svc.allocIp(pod('s'), { deadlineMs: 1000 });
    driver.failTeardown = 'EBUSY';
    expect(await svc.gc('net', [])).toEqual([]);
    expect(allocator.get('s/eth0/net')).toBeDefined();
  });
});
