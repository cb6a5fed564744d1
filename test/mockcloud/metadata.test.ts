// The instance metadata paths the daemon reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { $ecs, ecsClient } from '../../sim/mockcloud/sdk.js';

let h: MockCloudHandle;
let ecs: ReturnType<typeof ecsClient>;

beforeAll(async () => {
  h = await startMockCloud({ attachDelayMs: 5 });
  ecs = ecsClient(h);
});
afterAll(async () => {
  await h.close();
});

async function md(instanceId: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${h.metadataUrl(instanceId)}/latest/meta-data/${path}`);
  return { status: res.status, text: await res.text() };
}

async function ok(instanceId: string, path: string): Promise<string> {
  const r = await md(instanceId, path);
  expect(r.status, path).toBe(200);
  return r.text;
}

describe('instance metadata', () => {
  it('serves the instance facts', async () => {
    const node = h.dump().instances.find((i) => i.instanceId === 'i-mock-node-1')!;
    const primary = h.dump().enis.find((e) => e.eniId === node.primaryEniId)!;
    expect(await ok('i-mock-node-1', 'instance-id')).toBe('i-mock-node-1');
    expect(await ok('i-mock-node-1', 'region-id')).toBe('cn-hangzhou');
    expect(await ok('i-mock-node-1', 'zone-id')).toBe('cn-hangzhou-h');
    expect(await ok('i-mock-node-1', 'instance/instance-type')).toBe('ecs.g7.4xlarge');
    expect(await ok('i-mock-node-1', 'vpc-id')).toBe('vpc-mock-1');
    expect(await ok('i-mock-node-1', 'vswitch-id')).toBe('vsw-mock-a');
    expect(await ok('i-mock-node-1', 'mac')).toBe(primary.mac);
    expect(await ok('i-mock-node-1', 'private-ipv4')).toBe(primary.primaryIp);
    expect(await ok('i-mock-node-1', 'network/interfaces/macs/')).toBe(`${primary.mac}/`);
    expect((await ok('i-mock-node-1', '')).split('\n')).toContain('instance-id');
  });

  it('lists attached ENIs by MAC with their per-ENI facts', async () => {
    const c = await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({
        regionId: h.regionId,
        vSwitchId: 'vsw-mock-b',
        securityGroupIds: ['sg-mock-1'],
        secondaryPrivateIpAddressCount: 2,
      }),
    );
    const eni = c.body!;
    // not attached yet: not visible
    expect((await md('i-mock-node-2', `network/interfaces/macs/${eni.macAddress}/network-interface-id`)).status).toBe(404);
    await ecs.attachNetworkInterface(
      new $ecs.AttachNetworkInterfaceRequest({
        regionId: h.regionId,
        networkInterfaceId: eni.networkInterfaceId,
        instanceId: 'i-mock-node-2',
      }),
    );
    await h.settle();
    const macs = (await ok('i-mock-node-2', 'network/interfaces/macs/')).split('\n');
    expect(macs).toHaveLength(2);
    expect(macs[1]).toBe(`${eni.macAddress}/`);
    const base = `network/interfaces/macs/${eni.macAddress}`;
    expect(await ok('i-mock-node-2', `${base}/network-interface-id`)).toBe(eni.networkInterfaceId);
    expect(await ok('i-mock-node-2', `${base}/primary-ip-address`)).toBe(eni.privateIpAddress);
    expect(JSON.parse(await ok('i-mock-node-2', `${base}/private-ipv4s`))).toEqual(
      eni.privateIpSets!.privateIpSet!.map((i) => i.privateIpAddress),
    );
    expect(await ok('i-mock-node-2', `${base}/vswitch-id`)).toBe('vsw-mock-b');
    expect(await ok('i-mock-node-2', `${base}/vswitch-cidr-block`)).toBe('10.0.2.0/24');
    expect(await ok('i-mock-node-2', `${base}/gateway`)).toBe('10.0.2.253');
    expect(await ok('i-mock-node-2', `${base}/netmask`)).toBe('255.255.255.0');
    expect(await ok('i-mock-node-2', `${base}/vpc-id`)).toBe('vpc-mock-1');
    expect(await ok('i-mock-node-2', `${base}/vpc-cidr-block`)).toBe('10.0.0.0/16');
    // an IP assigned behind the daemon's back shows up
    const a = await ecs.assignPrivateIpAddresses(
      new $ecs.AssignPrivateIpAddressesRequest({
        regionId: h.regionId,
        networkInterfaceId: eni.networkInterfaceId,
        secondaryPrivateIpAddressCount: 1,
      }),
    );
    expect(JSON.parse(await ok('i-mock-node-2', `${base}/private-ipv4s`))).toContain(
      a.body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress![0],
    );
    // the other node does not see it
    expect((await md('i-mock-node-1', `${base}/network-interface-id`)).status).toBe(404);
  });

  it('answers 404 for unknown paths and instances', async () => {
    expect((await md('i-mock-node-1', 'no-such-thing')).status).toBe(404);
    expect((await md('i-nope', 'instance-id')).status).toBe(404);
    expect((await md('i-mock-node-1', 'network/interfaces/macs/00:16:3e:00:00:00/gateway')).status).toBe(404);
  });

  it('hides a newly attached ENI for the metadata lag', async () => {
    h.faults.setMetadataLag(60_000);
    const c = await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({ regionId: h.regionId, vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'] }),
    );
    await ecs.attachNetworkInterface(
      new $ecs.AttachNetworkInterfaceRequest({
        regionId: h.regionId,
        networkInterfaceId: c.body!.networkInterfaceId,
        instanceId: 'i-mock-node-1',
      }),
    );
    await h.settle();
    expect(h.dump().enis.find((e) => e.eniId === c.body!.networkInterfaceId)!.status).toBe('InUse');
    expect((await ok('i-mock-node-1', 'network/interfaces/macs/')).split('\n')).toHaveLength(1);
    h.faults.setMetadataLag(0);
    expect((await ok('i-mock-node-1', 'network/interfaces/macs/')).split('\n')).toHaveLength(2);
  });

  it('hands out a hardened-mode token', async () => {
    const res = await fetch(`${h.metadataUrl('i-mock-node-1')}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aliyun-ecs-metadata-token-ttl-seconds': '21600' },
    });
    expect(res.status).toBe(200);
    expect((await res.text()).length).toBeGreaterThan(10);
  });
});
