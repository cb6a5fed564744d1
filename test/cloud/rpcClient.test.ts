// The daemon's ECS / VPC clients (daemon/cloud/rpcClient.ts: openapi-core + the SDK's models, one file each)
// against the generated SDK clients they stand in for: for every action the daemon calls, the same request
// gives the same RPC parameters and the same query to openapi-core's callApi, and the same reply model; and
// with no endpoint configured both pick the same host for every region of the SDK's table and for others.
import OpenApiModule, { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import EcsModule, * as $Ecs from '@alicloud/ecs20140526';
import VpcModule, * as $Vpc from '@alicloud/vpc20160428';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cjsDefault } from '../../daemon/cloud/interop.js';
import { createEcsClient, createVpcClient } from '../../daemon/cloud/rpcClient.js';
import * as Models from '../../daemon/cloud/ecsModels.js';

const OpenApiClient = cjsDefault(OpenApiModule);
const GeneratedEcs = cjsDefault(EcsModule);
const GeneratedVpc = cjsDefault(VpcModule);

const config = (over: Record<string, unknown> = {}): $OpenApiUtil.Config =>
  new $OpenApiUtil.Config({
    regionId: 'cn-hangzhou',
    accessKeyId: 'ak',
    accessKeySecret: 'sk',
    protocol: 'http',
    endpoint: '127.0.0.1:1',
    ...over,
  });
const runtime = new $dara.RuntimeOptions({ autoretry: false });

interface Sent {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

/** Captures what reaches openapi-core's callApi (both clients share it) and answers with `body`. */
function captureCalls(body: Record<string, unknown>): Sent[] {
  const sent: Sent[] = [];
  vi.spyOn(OpenApiClient.prototype, 'callApi').mockImplementation(async (params, req) => {
    sent.push({ params: params.toMap(), query: { ...(req.query ?? {}) }, body: req.body });
    return { statusCode: 200, headers: {}, body };
  });
  return sent;
}

afterEach(() => vi.restoreAllMocks());

type Call = { name: string; run: (c: any) => Promise<unknown>; reply: Record<string, unknown> };

const tag = (k: string, v: string) => new $Ecs.CreateNetworkInterfaceRequestTag({ key: k, value: v });
const ecsCalls: Call[] = [
  {
    name: 'CreateNetworkInterface',
    run: (c) =>
      c.createNetworkInterfaceWithOptions(
        new Models.CreateNetworkInterfaceRequest({
          regionId: 'cn-hangzhou',
          vSwitchId: 'vsw-1',
          securityGroupIds: ['sg-1', 'sg-2'],
          clientToken: 'tok-1',
          description: 'd',
          secondaryPrivateIpAddressCount: 3,
          ipv6AddressCount: 2,
          tag: [tag('creator', 'eni-ipam'), tag('node', 'i-1')],
        }),
        runtime,
      ),
    reply: { NetworkInterfaceId: 'eni-1', PrivateIpAddress: '10.0.0.5', RequestId: 'r' },
  },
  {
    name: 'DeleteNetworkInterface',
    run: (c) =>
      c.deleteNetworkInterfaceWithOptions(
        new Models.DeleteNetworkInterfaceRequest({ regionId: 'r', networkInterfaceId: 'eni-1' }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
  {
    name: 'AttachNetworkInterface',
    run: (c) =>
      c.attachNetworkInterfaceWithOptions(
        new Models.AttachNetworkInterfaceRequest({ regionId: 'r', networkInterfaceId: 'eni-1', instanceId: 'i-1' }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
  {
    name: 'DetachNetworkInterface',
    run: (c) =>
      c.detachNetworkInterfaceWithOptions(
        new Models.DetachNetworkInterfaceRequest({ regionId: 'r', networkInterfaceId: 'eni-1', instanceId: 'i-1' }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
  {
    name: 'AssignPrivateIpAddresses',
    run: (c) =>
      c.assignPrivateIpAddressesWithOptions(
        new Models.AssignPrivateIpAddressesRequest({
          regionId: 'r',
          networkInterfaceId: 'eni-1',
          secondaryPrivateIpAddressCount: 10,
          clientToken: 't',
        }),
        runtime,
      ),
    reply: {
      RequestId: 'r',
      AssignedPrivateIpAddressesSet: { NetworkInterfaceId: 'eni-1', PrivateIpSet: { PrivateIpAddress: ['10.0.0.6'] } },
    },
  },
  {
    name: 'UnassignPrivateIpAddresses',
    run: (c) =>
      c.unassignPrivateIpAddressesWithOptions(
        new Models.UnassignPrivateIpAddressesRequest({
          regionId: 'r',
          networkInterfaceId: 'eni-1',
          privateIpAddress: ['10.0.0.6', '10.0.0.7'],
        }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
  {
    name: 'AssignIpv6Addresses',
    run: (c) =>
      c.assignIpv6AddressesWithOptions(
        new Models.AssignIpv6AddressesRequest({ regionId: 'r', networkInterfaceId: 'eni-1', ipv6AddressCount: 2, clientToken: 't6' }),
        runtime,
      ),
    reply: { RequestId: 'r', NetworkInterfaceId: 'eni-1', Ipv6Sets: { Ipv6Address: ['fd00::1', 'fd00::2'] } },
  },
  {
    name: 'AssignIpv6Addresses (explicit)',
    run: (c) =>
      c.assignIpv6AddressesWithOptions(
        new Models.AssignIpv6AddressesRequest({ regionId: 'r', networkInterfaceId: 'eni-1', ipv6Address: ['fd00::7', 'fd00::8'] }),
        runtime,
      ),
    reply: { RequestId: 'r', NetworkInterfaceId: 'eni-1', Ipv6Sets: { Ipv6Address: ['fd00::7', 'fd00::8'] } },
  },
  {
    name: 'UnassignIpv6Addresses',
    run: (c) =>
      c.unassignIpv6AddressesWithOptions(
        new Models.UnassignIpv6AddressesRequest({ regionId: 'r', networkInterfaceId: 'eni-1', ipv6Address: ['fd00::1', 'fd00::2'] }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
  {
    name: 'DescribeNetworkInterfaces',
    run: (c) =>
      c.describeNetworkInterfacesWithOptions(
        new Models.DescribeNetworkInterfacesRequest({
          regionId: 'r',
          instanceId: 'i-1',
          networkInterfaceId: ['eni-1', 'eni-2'],
          maxResults: 100,
          nextToken: 'nt',
          tag: [new Models.DescribeNetworkInterfacesRequestTag({ key: 'creator', value: 'eni-ipam' })],
        }),
        runtime,
      ),
    reply: {
      RequestId: 'r',
      NextToken: '',
      NetworkInterfaceSets: { NetworkInterfaceSet: [{ NetworkInterfaceId: 'eni-1', MacAddress: '00:16:3e:00:00:01', Status: 'InUse' }] },
    },
  },
  {
    name: 'DescribeInstanceTypes',
    run: (c) => c.describeInstanceTypesWithOptions(new Models.DescribeInstanceTypesRequest({ instanceTypes: ['ecs.g7.large'] }), runtime),
    reply: { RequestId: 'r', InstanceTypes: { InstanceType: [{ InstanceTypeId: 'ecs.g7.large', EniQuantity: 3 }] } },
  },
  {
    name: 'DescribeInstances',
    run: (c) =>
      c.describeInstancesWithOptions(
        new Models.DescribeInstancesRequest({
          regionId: 'r',
          instanceIds: JSON.stringify(['i-1', 'i-2']),
          maxResults: 100,
          nextToken: 'n',
        }),
        runtime,
      ),
    reply: { RequestId: 'r', NextToken: '', Instances: { Instance: [{ InstanceId: 'i-1', Status: 'Running' }] } },
  },
];

const vpcCalls: Call[] = [
  {
    name: 'DescribeVSwitches',
    run: (c) =>
      c.describeVSwitchesWithOptions(new $Vpc.DescribeVSwitchesRequest({ regionId: 'r', vSwitchId: 'vsw-1', pageSize: 50 }), runtime),
    reply: { RequestId: 'r', VSwitches: { VSwitch: [{ VSwitchId: 'vsw-1', CidrBlock: '10.0.0.0/24', AvailableIpAddressCount: 250 }] } },
  },
  {
    name: 'DescribeRouteEntryList',
    run: (c) =>
      c.describeRouteEntryListWithOptions(
        new $Vpc.DescribeRouteEntryListRequest({
          regionId: 'r',
          routeTableId: 'vtb-1',
          maxResult: 100,
          destinationCidrBlock: '10.1.0.0/24',
          nextToken: 'n',
        }),
        runtime,
      ),
    reply: { RequestId: 'r', NextToken: '', RouteEntrys: { RouteEntry: [{ RouteEntryId: 'rte-1', DestinationCidrBlock: '10.1.0.0/24' }] } },
  },
  {
    name: 'CreateRouteEntry',
    run: (c) =>
      c.createRouteEntryWithOptions(
        new $Vpc.CreateRouteEntryRequest({
          regionId: 'r',
          routeTableId: 'vtb-1',
          destinationCidrBlock: '10.1.0.0/24',
          nextHopType: 'Instance',
          nextHopId: 'i-1',
          clientToken: 'c',
        }),
        runtime,
      ),
    reply: { RequestId: 'r', RouteEntryId: 'rte-1' },
  },
  {
    name: 'DeleteRouteEntry',
    run: (c) =>
      c.deleteRouteEntryWithOptions(
        new $Vpc.DeleteRouteEntryRequest({ regionId: 'r', routeTableId: 'vtb-1', destinationCidrBlock: '10.1.0.0/24', nextHopId: 'i-1' }),
        runtime,
      ),
    reply: { RequestId: 'r' },
  },
];

describe('daemon ECS / VPC clients match the generated SDK clients', () => {
  const cases = [
    ...ecsCalls.map((c) => ({ ...c, ours: () => createEcsClient(config()), theirs: () => new GeneratedEcs(config()) })),
    ...vpcCalls.map((c) => ({ ...c, ours: () => createVpcClient(config()), theirs: () => new GeneratedVpc(config()) })),
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s: same RPC parameters, query and reply model', async (_name, c) => {
    const sent = captureCalls(c.reply);
    const mine = await c.run(c.ours());
    const generated = await c.run(c.theirs());
    expect(sent).toHaveLength(2);
    expect(sent[0]!.params).toEqual(sent[1]!.params);
    expect(sent[0]!.params.action).toBe(c.name.split(' ')[0]);
    expect(sent[0]!.query).toEqual(sent[1]!.query);
    expect(Object.keys(sent[0]!.query).length).toBeGreaterThan(0);
    expect(sent[0]!.body).toEqual(sent[1]!.body);
    expect(mine!.constructor).toBe(generated!.constructor);
    expect(mine).toEqual(generated);
  });

  it('flattens tag lists and id lists as the generated client does', async () => {
    const sent = captureCalls(ecsCalls[0]!.reply);
    await ecsCalls[0]!.run(createEcsClient(config()));
    expect(sent[0]!.query).toMatchObject({
      'Tag.1.Key': 'creator',
      'Tag.2.Value': 'i-1',
      'SecurityGroupIds.1': 'sg-1',
      SecondaryPrivateIpAddressCount: '3',
    });
  });

  it('flattens the IPv6 address lists and counts under their API names', async () => {
    const byName = (n: string) => ecsCalls.find((c) => c.name === n)!;
    const sent = captureCalls({});
    await byName('AssignIpv6Addresses (explicit)').run(createEcsClient(config()));
    await byName('UnassignIpv6Addresses').run(createEcsClient(config()));
    await byName('AssignIpv6Addresses').run(createEcsClient(config()));
    await ecsCalls[0]!.run(createEcsClient(config()));
    expect(sent[0]!.query).toMatchObject({ 'Ipv6Address.1': 'fd00::7', 'Ipv6Address.2': 'fd00::8', NetworkInterfaceId: 'eni-1' });
    expect(sent[1]!.query).toMatchObject({ 'Ipv6Address.1': 'fd00::1', 'Ipv6Address.2': 'fd00::2' });
    expect(sent[2]!.query).toMatchObject({ Ipv6AddressCount: '2', ClientToken: 't6' });
    expect(sent[3]!.query).toMatchObject({ Ipv6AddressCount: '2' });
  });

  it('without an endpoint: the same host as the SDK for every region of its table, and for one outside it', () => {
    const ecsRegions = Object.keys((new GeneratedEcs(config({ endpoint: undefined })) as unknown as { _endpointMap: object })._endpointMap);
    const vpcRegions = Object.keys((new GeneratedVpc(config({ endpoint: undefined })) as unknown as { _endpointMap: object })._endpointMap);
    for (const regionId of [...ecsRegions, 'ap-southeast-1', 'cn-beijing']) {
      const c = config({ endpoint: undefined, regionId });
      expect(createEcsClient(c).endpoint, regionId).toBe((new GeneratedEcs(c) as unknown as { _endpoint: string })._endpoint);
    }
    for (const regionId of [...vpcRegions, 'ap-southeast-1', 'cn-beijing']) {
      const c = config({ endpoint: undefined, regionId });
      expect(createVpcClient(c).endpoint, regionId).toBe((new GeneratedVpc(c) as unknown as { _endpoint: string })._endpoint);
    }
    expect(createEcsClient(config()).endpoint).toBe('127.0.0.1:1');
  });
});
