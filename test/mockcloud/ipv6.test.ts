// IPv6 on the mock cloud through the real @alicloud SDK clients: vSwitch IPv6 blocks, AssignIpv6Addresses /
// UnassignIpv6Addresses (count or explicit, ClientToken, the per-ENI quota, the API reference's error codes),
// CreateNetworkInterface Ipv6AddressCount, Ipv6Sets in the listings, and the metadata's IPv6 paths.
import { afterEach, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { $ecs, ecsClient, vpcClient } from '../../sim/mockcloud/sdk.js';
import { defaultWorldSpec, World } from '../../sim/mockcloud/world.js';
import { ipv6CidrContains } from '../../lib/ipv6.js';
import type { WorldSpec } from '../../sim/mockcloud/types.js';

let h: MockCloudHandle | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The default world plus an IPv4-only vSwitch and an instance type without IPv6. */
function world(): Partial<WorldSpec> {
  const d = defaultWorldSpec();
  return {
    vSwitches: [...d.vSwitches, { id: 'vsw-mock-v4', zoneId: 'cn-hangzhou-h', cidr: '10.0.8.0/24' }],
    instanceTypes: [...d.instanceTypes, { id: 'ecs.t5.small', eniQuantity: 2, ipv4PerEni: 2, ipv6PerEni: 0 }],
    instances: [
      ...d.instances,
      { id: 'i-mock-v4only', instanceType: 'ecs.t5.small', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
      { id: 'i-mock-small', instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
    ],
  };
}

async function start() {
  h = await startMockCloud({ attachDelayMs: 5, world: world() });
  const ecs = ecsClient(h);
  const regionId = h.regionId;
  const create = async (extra: Partial<$ecs.CreateNetworkInterfaceRequest> = {}) =>
    (
      await ecs.createNetworkInterface(
        new $ecs.CreateNetworkInterfaceRequest({ regionId, vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'], ...extra }),
      )
    ).body!;
  const assign = async (networkInterfaceId: string, extra: Partial<$ecs.AssignIpv6AddressesRequest>) =>
    (await ecs.assignIpv6Addresses(new $ecs.AssignIpv6AddressesRequest({ regionId, networkInterfaceId, ...extra }))).body!;
  const unassign = (networkInterfaceId: string, ipv6Address: string[]) =>
    ecs.unassignIpv6Addresses(new $ecs.UnassignIpv6AddressesRequest({ regionId, networkInterfaceId, ipv6Address }));
  const describe = async (eniId: string) =>
    (await ecs.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ regionId, networkInterfaceId: [eniId] }))).body!
      .networkInterfaceSets!.networkInterfaceSet![0]!;
  const attach = async (eniId: string, instanceId = 'i-mock-node-1') => {
    await ecs.attachNetworkInterface(new $ecs.AttachNetworkInterfaceRequest({ regionId, networkInterfaceId: eniId, instanceId }));
    await h!.settle();
  };
  const v6sOf = (b: { ipv6Sets?: { ipv6Set?: { ipv6Address?: string }[] } }) => (b.ipv6Sets?.ipv6Set ?? []).map((x) => x.ipv6Address);
  return { h: h!, ecs, create, assign, unassign, describe, attach, v6sOf };
}

describe('vSwitches', () => {
  it('DescribeVSwitches answers each IPv6 block (a /64 of the VPC /56), empty where IPv6 is off', async () => {
    const { h } = await start();
    const r = await vpcClient(h).describeVSwitches(
      new (await import('../../sim/mockcloud/sdk.js')).$vpc.DescribeVSwitchesRequest({
        regionId: h.regionId,
        vpcId: 'vpc-mock-1',
        pageSize: 50,
      }),
    );
    const byId = new Map(r.body!.vSwitches!.vSwitch!.map((v) => [v.vSwitchId, v.ipv6CidrBlock]));
    expect(byId.get('vsw-mock-a')).toBe('fd00:0:0:100::/64');
    expect(byId.get('vsw-mock-v4')).toBe('');
    expect(h.dump().vpc.ipv6Cidr).toBe('fd00:0:0:100::/56');
  });

  it('a world whose vSwitch IPv6 block is no /64 of the VPC /56 is refused', () => {
    const d = defaultWorldSpec();
    const bad = (ipv6Cidr: string) => () =>
      new World({ ...d, vSwitches: [{ id: 'vsw-x', zoneId: 'cn-hangzhou-h', cidr: '10.0.0.0/24', ipv6Cidr }], instances: [] });
    expect(bad('fd00:0:0:200::/64')).toThrow(/must be a \/64 of the VPC's fd00:0:0:100::\/56/);
    expect(bad('fd00:0:0:100::/60')).toThrow(/must be a \/64/);
    expect(bad('fd00:0:0:100::1/64')).toThrow(/host bits set/);
    expect(() => new World({ ...d, vpc: { id: 'v', cidr: '10.0.0.0/16', ipv6Cidr: 'fd00::/48' }, instances: [] })).toThrow(/\/56/);
  });
});

describe('AssignIpv6Addresses / UnassignIpv6Addresses', () => {
  it('assigns by count from the vSwitch /64 in canonical text; listings and DescribeInstances show them', async () => {
    const t = await start();
    const eni = await t.create();
    await t.attach(eni.networkInterfaceId!);
    const got = await t.assign(eni.networkInterfaceId!, { ipv6AddressCount: 3 });
    const ips = got.ipv6Sets!.ipv6Address!;
    expect(got.networkInterfaceId).toBe(eni.networkInterfaceId);
    expect(ips).toHaveLength(3);
    for (const ip of ips) expect(ipv6CidrContains('fd00:0:0:100::/64', ip)).toBe(true);
    expect(ips[0]).toBe('fd00:0:0:100::1');
    expect(t.v6sOf(await t.describe(eni.networkInterfaceId!))).toEqual(ips);
    const inst = await t.ecs.describeInstances(
      new $ecs.DescribeInstancesRequest({ regionId: t.h.regionId, instanceIds: '["i-mock-node-1"]' }),
    );
    const nics = inst.body!.instances!.instance![0]!.networkInterfaces!.networkInterface!;
    const nic = nics.find((n) => n.networkInterfaceId === eni.networkInterfaceId)!;
    expect(nic.ipv6Sets!.ipv6Set!.map((x) => x.ipv6Address)).toEqual(ips);
    // filter by address
    const found = await t.ecs.describeNetworkInterfaces(
      new $ecs.DescribeNetworkInterfacesRequest({ regionId: t.h.regionId, ipv6Address: ['FD00:0:0:100:0::2'] }),
    );
    expect(found.body!.networkInterfaceSets!.networkInterfaceSet!.map((e) => e.networkInterfaceId)).toEqual([eni.networkInterfaceId]);
  });

  it('explicit addresses: any spelling stored canonical; repeated, taken, outside or reserved ones refused with the real codes', async () => {
    const t = await start();
    const a = (await t.create()).networkInterfaceId!;
    const b = (await t.create()).networkInterfaceId!;
    const got = await t.assign(a, { ipv6Address: ['FD00:0:0:100:0:0:0:00AB'] });
    expect(got.ipv6Sets!.ipv6Address).toEqual(['fd00:0:0:100::ab']);
    await expectCloudError(t.assign(b, { ipv6Address: ['fd00:0:0:100::ab'] }), 'InvalidIp.IpAssigned', 403);
    await expectCloudError(t.assign(b, { ipv6Address: ['fd00:0:0:100::c', 'fd00:0:0:100:0::c'] }), 'InvalidIp.IpRepeated', 403);
    await expectCloudError(t.assign(b, { ipv6Address: ['fd00:0:0:102::c'] }), 'InvalidIp.Address', 403);
    await expectCloudError(t.assign(b, { ipv6Address: ['fd00:0:0:100:ffff:ffff:ffff:fffd'] }), 'InvalidIp.Address', 403);
    await expectCloudError(t.assign(b, { ipv6Address: ['10.0.0.9'] }), 'InvalidIp.Address', 403);
    await expectCloudError(t.assign(b, { ipv6AddressCount: 1, ipv6Address: ['fd00:0:0:100::d'] }), 'InvalidParameter', 400);
    await expectCloudError(t.assign(b, {}), 'MissingParameter', 400);
    await expectCloudError(t.assign(b, { ipv6AddressCount: 11 }), 'InvalidParameter', 400);
    // nothing of the refused calls was taken
    expect(t.v6sOf(await t.describe(b))).toEqual([]);
    expect(t.h.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-a')!.usedIpv6s).toEqual(['fd00:0:0:100::ab']);
  });

  it('the quota: 10 on an ENI that is not attached, the instance type EniIpv6AddressQuantity once attached', async () => {
    const t = await start();
    const free = (await t.create()).networkInterfaceId!;
    await t.assign(free, { ipv6AddressCount: 10 });
    const e = await expectCloudError(t.assign(free, { ipv6AddressCount: 1 }), 'InvalidOperation.Ipv6CountExceeded', 403);
    expect(e.data?.Message).toMatch(/exceeds the limit\(10\).*Assigned:10\. Expecting assign:1\./);
    // ecs.g7.large takes 6 per ENI: an ENI with 10 cannot be attached to it, one with 4 can and grows to 6
    await expectCloudError(
      t.ecs.attachNetworkInterface(
        new $ecs.AttachNetworkInterfaceRequest({ regionId: t.h.regionId, networkInterfaceId: free, instanceId: 'i-mock-small' }),
      ),
      'InvalidOperation.Ipv6CountExceeded',
      403,
    );
    const eni = (await t.create({ ipv6AddressCount: 4 })).networkInterfaceId!;
    await t.attach(eni, 'i-mock-small');
    await t.assign(eni, { ipv6AddressCount: 2 });
    const err = await expectCloudError(t.assign(eni, { ipv6AddressCount: 1 }), 'InvalidOperation.Ipv6CountExceeded', 403);
    expect(err.data?.Message).toMatch(/limit\(6\)\. target instanceType ecs\.g7\.large/);
  });

  it('a vSwitch without IPv6 and an instance type without IPv6 answer their own codes', async () => {
    const t = await start();
    const v4 = (await t.create({ vSwitchId: 'vsw-mock-v4' })).networkInterfaceId!;
    await expectCloudError(t.assign(v4, { ipv6AddressCount: 1 }), 'InvalidVSwitch.Ipv6NotTurnOn', 403);
    await expectCloudError(t.create({ vSwitchId: 'vsw-mock-v4', ipv6AddressCount: 1 }), 'InvalidVSwitch.Ipv6NotTurnOn', 403);
    const eni = (await t.create()).networkInterfaceId!;
    await t.attach(eni, 'i-mock-v4only');
    await expectCloudError(t.assign(eni, { ipv6AddressCount: 1 }), 'InvalidOperation.Ipv6NotSupport', 403);
    // the refused create took no IPv4 address either
    expect(t.h.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-v4')!.usedIps).toEqual([
      t.h.dump().enis.find((x) => x.eniId === v4)!.primaryIp,
    ]);
  });

  it('ClientToken: the same call returns the first addresses again, other parameters are a mismatch', async () => {
    const t = await start();
    const eni = (await t.create()).networkInterfaceId!;
    const first = await t.assign(eni, { ipv6AddressCount: 2, clientToken: 'tok-6' });
    const again = await t.assign(eni, { ipv6AddressCount: 2, clientToken: 'tok-6' });
    expect(again.ipv6Sets!.ipv6Address).toEqual(first.ipv6Sets!.ipv6Address);
    expect(t.v6sOf(await t.describe(eni))).toHaveLength(2);
    await expectCloudError(t.assign(eni, { ipv6AddressCount: 3, clientToken: 'tok-6' }), 'IdempotentParameterMismatch', 400);
  });

  it('unassign releases for reuse; an address the ENI does not hold refuses the whole call', async () => {
    const t = await start();
    const eni = (await t.create({ ipv6AddressCount: 3 })).networkInterfaceId!;
    const ips = t.v6sOf(await t.describe(eni)) as string[];
    await expectCloudError(t.unassign(eni, [ips[0]!, 'fd00:0:0:100::99']), 'InvalidIp.IpUnassigned', 403);
    expect(t.v6sOf(await t.describe(eni))).toEqual(ips);
    await t.unassign(eni, [ips[0]!.toUpperCase()]);
    expect(t.v6sOf(await t.describe(eni))).toEqual(ips.slice(1));
    const other = (await t.create({ ipv6AddressCount: 1 })).networkInterfaceId!;
    expect(t.v6sOf(await t.describe(other))).toEqual([ips[0]]);
  });

  it('CreateNetworkInterface with Ipv6AddressCount answers Ipv6Sets; deleting the ENI gives them back', async () => {
    const t = await start();
    const b = await t.create({ ipv6AddressCount: 2 });
    expect(t.v6sOf(b)).toEqual(['fd00:0:0:100::1', 'fd00:0:0:100::2']);
    await t.ecs.deleteNetworkInterface(
      new $ecs.DeleteNetworkInterfaceRequest({ regionId: t.h.regionId, networkInterfaceId: b.networkInterfaceId }),
    );
    await t.h.settle();
    expect(t.h.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-a')!.usedIpv6s).toEqual([]);
  });
});

describe('metadata', () => {
  it('ipv6s (404 while none), ipv6-gateway and vswitch-ipv6-cidr-block per ENI', async () => {
    const t = await start();
    const eni = await t.create();
    await t.attach(eni.networkInterfaceId!);
    const base = `${t.h.metadataUrl('i-mock-node-1')}/latest/meta-data/network/interfaces/macs/${eni.macAddress}`;
    const get = async (p: string) => {
      const r = await fetch(`${base}/${p}`);
      return { status: r.status, body: await r.text() };
    };
    expect((await get('ipv6s')).status).toBe(404);
    expect(await get('ipv6-gateway')).toEqual({ status: 200, body: 'fd00::100:ffff:ffff:ffff:fffd' });
    expect(await get('vswitch-ipv6-cidr-block')).toEqual({ status: 200, body: 'fd00:0:0:100::/64' });
    expect((await get('')).body.split('\n')).toEqual(expect.arrayContaining(['ipv6s', 'ipv6-gateway', 'vswitch-ipv6-cidr-block']));
    const got = await t.assign(eni.networkInterfaceId!, { ipv6AddressCount: 2 });
    expect(await get('ipv6s')).toEqual({ status: 200, body: JSON.stringify(got.ipv6Sets!.ipv6Address) });
  });

  it('an ENI on an IPv4-only vSwitch has no IPv6 paths', async () => {
    const t = await start();
    const eni = await t.create({ vSwitchId: 'vsw-mock-v4' });
    await t.attach(eni.networkInterfaceId!);
    const base = `${t.h.metadataUrl('i-mock-node-1')}/latest/meta-data/network/interfaces/macs/${eni.macAddress}`;
    for (const p of ['ipv6s', 'ipv6-gateway', 'vswitch-ipv6-cidr-block']) expect((await fetch(`${base}/${p}`)).status, p).toBe(404);
  });
});
