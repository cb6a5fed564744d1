// VPC actions through the real @alicloud/vpc20160428 client over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { $ecs, $vpc, ecsClient, vpcClient } from '../../sim/mockcloud/sdk.js';

let h: MockCloudHandle;
let vpc: ReturnType<typeof vpcClient>;
let ecs: ReturnType<typeof ecsClient>;

beforeAll(async () => {
  h = await startMockCloud();
  vpc = vpcClient(h);
  ecs = ecsClient(h);
});
afterAll(async () => {
  await h.close();
});

describe('DescribeVSwitches', () => {
  it('lists vSwitches with CIDR, zone, route table and a live AvailableIpAddressCount', async () => {
    const all = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: h.regionId, vpcId: 'vpc-mock-1', pageSize: 50 }));
    const list = all.body!.vSwitches!.vSwitch!;
    expect(all.body!.totalCount).toBe(3);
    expect(list.map((v) => [v.vSwitchId, v.zoneId, v.cidrBlock, v.availableIpAddressCount])).toEqual([
      ['vsw-mock-a', 'cn-hangzhou-h', '10.0.0.0/23', 508 - 2], // two node primary ENIs
      ['vsw-mock-b', 'cn-hangzhou-h', '10.0.2.0/24', 252],
      ['vsw-mock-c', 'cn-hangzhou-i', '10.0.3.0/24', 252],
    ]);
    expect(list[0]!.routeTable!.routeTableId).toBe('vtb-mock-1');
    expect(list[0]!.vpcId).toBe('vpc-mock-1');

    await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({
        regionId: h.regionId,
        vSwitchId: 'vsw-mock-b',
        securityGroupIds: ['sg-mock-1'],
        secondaryPrivateIpAddressCount: 5,
      }),
    );
    const one = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: h.regionId, vSwitchId: 'vsw-mock-b' }));
    expect(one.body!.vSwitches!.vSwitch!.map((v) => v.availableIpAddressCount)).toEqual([246]);
    const byZone = await vpc.describeVSwitches(new $vpc.DescribeVSwitchesRequest({ regionId: h.regionId, zoneId: 'cn-hangzhou-i' }));
    expect(byZone.body!.vSwitches!.vSwitch!.map((v) => v.vSwitchId)).toEqual(['vsw-mock-c']);
  });
});

describe('route entries', () => {
  it('creates, lists and deletes custom route entries; refuses duplicates and unknown ids', async () => {
    const rtl = await vpc.describeRouteTableList(new $vpc.DescribeRouteTableListRequest({ regionId: h.regionId, vpcId: 'vpc-mock-1' }));
    const tables = rtl.body!.routerTableList!.routerTableListType!;
    expect(tables.map((t) => [t.routeTableId, t.vpcId, t.routeTableType])).toEqual([['vtb-mock-1', 'vpc-mock-1', 'System']]);

    const created = await vpc.createRouteEntry(
      new $vpc.CreateRouteEntryRequest({
        regionId: h.regionId,
        routeTableId: 'vtb-mock-1',
        destinationCidrBlock: '172.16.1.0/24',
        nextHopType: 'Instance',
        nextHopId: 'i-mock-node-1',
      }),
    );
    expect(created.body!.routeEntryId).toMatch(/^rte-/);
    await expectCloudError(
      vpc.createRouteEntry(
        new $vpc.CreateRouteEntryRequest({
          regionId: h.regionId,
          routeTableId: 'vtb-mock-1',
          destinationCidrBlock: '172.16.1.0/24',
          nextHopType: 'Instance',
          nextHopId: 'i-mock-node-2',
        }),
      ),
      'InvalidCIDRBlock.Duplicate',
      400,
    );
    await expectCloudError(
      vpc.createRouteEntry(
        new $vpc.CreateRouteEntryRequest({
          regionId: h.regionId,
          routeTableId: 'vtb-nope',
          destinationCidrBlock: '172.16.2.0/24',
          nextHopType: 'Instance',
          nextHopId: 'i-mock-node-2',
        }),
      ),
      'InvalidRouteTableId.NotFound',
      404,
    );
    await expectCloudError(
      vpc.createRouteEntry(
        new $vpc.CreateRouteEntryRequest({
          regionId: h.regionId,
          routeTableId: 'vtb-mock-1',
          destinationCidrBlock: '172.16.2.0/24',
          nextHopType: 'Instance',
          nextHopId: 'i-nope',
        }),
      ),
      'InvalidInstanceId.NotFound',
      404,
    );

    const listed = await vpc.describeRouteEntryList(
      new $vpc.DescribeRouteEntryListRequest({ regionId: h.regionId, routeTableId: 'vtb-mock-1', routeEntryType: 'Custom' }),
    );
    const entries = listed.body!.routeEntrys!.routeEntry!;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      destinationCidrBlock: '172.16.1.0/24',
      status: 'Available',
      type: 'Custom',
      routeTableId: 'vtb-mock-1',
    });
    expect(entries[0]!.nextHops!.nextHop![0]).toMatchObject({ nextHopType: 'Instance', nextHopId: 'i-mock-node-1' });
    const system = await vpc.describeRouteEntryList(
      new $vpc.DescribeRouteEntryListRequest({ regionId: h.regionId, routeTableId: 'vtb-mock-1', routeEntryType: 'System' }),
    );
    expect(system.body!.routeEntrys!.routeEntry!.map((r) => r.destinationCidrBlock)).toEqual(['10.0.0.0/23', '10.0.2.0/24', '10.0.3.0/24']);

    await vpc.deleteRouteEntry(
      new $vpc.DeleteRouteEntryRequest({
        regionId: h.regionId,
        routeTableId: 'vtb-mock-1',
        destinationCidrBlock: '172.16.1.0/24',
        nextHopId: 'i-mock-node-1',
      }),
    );
    await expectCloudError(
      vpc.deleteRouteEntry(
        new $vpc.DeleteRouteEntryRequest({ regionId: h.regionId, routeTableId: 'vtb-mock-1', destinationCidrBlock: '172.16.1.0/24' }),
      ),
      'InvalidRouteEntry.NotFound',
      404,
    );
    expect(h.dump().routeTables[0]!.entries.filter((r) => r.type === 'Custom')).toEqual([]);
  });

  it('pages route entries with MaxResult / NextToken', async () => {
    for (let i = 0; i < 5; i++) {
      await vpc.createRouteEntry(
        new $vpc.CreateRouteEntryRequest({
          regionId: h.regionId,
          routeTableId: 'vtb-mock-1',
          destinationCidrBlock: `172.20.${i}.0/24`,
          nextHopType: 'Instance',
          nextHopId: 'i-mock-node-2',
        }),
      );
    }
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await vpc.describeRouteEntryList(
        new $vpc.DescribeRouteEntryListRequest({
          regionId: h.regionId,
          routeTableId: 'vtb-mock-1',
          routeEntryType: 'Custom',
          maxResult: 2,
          nextToken: token,
        }),
      );
      seen.push(...r.body!.routeEntrys!.routeEntry!.map((e) => e.destinationCidrBlock!));
      token = r.body!.nextToken || undefined;
    } while (token);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `172.20.${i}.0/24`));
  });
});
