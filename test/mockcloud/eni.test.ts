// ECS ENI / IP actions through the real @alicloud/ecs20140526 client over HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type EniAttachedEvent, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { $ecs, ecsClient } from '../../sim/mockcloud/sdk.js';

let h: MockCloudHandle;
let ecs: ReturnType<typeof ecsClient>;

beforeEach(async () => {
  h = await startMockCloud({ attachDelayMs: 20 });
  ecs = ecsClient(h);
});
afterEach(async () => {
  await h.close();
});

async function createEni(extra: Partial<$ecs.CreateNetworkInterfaceRequest> = {}) {
  const r = await ecs.createNetworkInterface(
    new $ecs.CreateNetworkInterfaceRequest({ regionId: h.regionId, vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'], ...extra }),
  );
  return r.body!;
}

async function describeEni(eniId: string) {
  const r = await ecs.describeNetworkInterfaces(
    new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId, networkInterfaceId: [eniId] }),
  );
  const set = r.body!.networkInterfaceSets!.networkInterfaceSet!;
  expect(set).toHaveLength(1);
  return set[0];
}

async function attach(eniId: string, instanceId = 'i-mock-node-1') {
  await ecs.attachNetworkInterface(new $ecs.AttachNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: eniId, instanceId }));
}

async function assign(eniId: string, count: number, clientToken?: string) {
  const r = await ecs.assignPrivateIpAddresses(
    new $ecs.AssignPrivateIpAddressesRequest({
      regionId: h.regionId,
      networkInterfaceId: eniId,
      secondaryPrivateIpAddressCount: count,
      clientToken,
    }),
  );
  return r.body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress!;
}

describe('CreateNetworkInterface', () => {
  it('creates an Available ENI with primary + secondary IPs, tags and a 00:16:3e MAC', async () => {
    const b = await createEni({
      secondaryPrivateIpAddressCount: 3,
      tag: [new $ecs.CreateNetworkInterfaceRequestTag({ key: 'creator', value: 'terway' })],
      description: 'pool eni',
    });
    expect(b.networkInterfaceId).toMatch(/^eni-[a-z0-9]{20}$/);
    expect(b.macAddress).toMatch(/^00:16:3e(:[0-9a-f]{2}){3}$/);
    expect(b.status).toBe('Available');
    expect(b.type).toBe('Secondary');
    expect(b.vSwitchId).toBe('vsw-mock-a');
    expect(b.vpcId).toBe('vpc-mock-1');
    expect(b.zoneId).toBe('cn-hangzhou-h');
    expect(b.securityGroupIds!.securityGroupId).toEqual(['sg-mock-1']);
    const ips = b.privateIpSets!.privateIpSet!;
    expect(ips).toHaveLength(4);
    expect(ips.filter((i) => i.primary).map((i) => i.privateIpAddress)).toEqual([b.privateIpAddress]);
    for (const i of ips) expect(i.privateIpAddress).toMatch(/^10\.0\.[01]\.\d+$/);
    expect(b.tags!.tag).toEqual([expect.objectContaining({ tagKey: 'creator', tagValue: 'terway' })]);

    const d = await describeEni(b.networkInterfaceId!);
    expect(d!.privateIpSets!.privateIpSet!.map((i) => i.privateIpAddress)).toEqual(ips.map((i) => i.privateIpAddress));
    expect(d!.tags!.tag![0]).toMatchObject({ tagKey: 'creator', tagValue: 'terway' });
    expect(d!.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(d!.description).toBe('pool eni');
  });

  it('is idempotent on ClientToken: a retry returns the same ENI and allocates nothing', async () => {
    const before = h.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-a')!.availableIpAddressCount;
    const a = await createEni({ clientToken: 'tok-create-1', secondaryPrivateIpAddressCount: 2 });
    const b = await createEni({ clientToken: 'tok-create-1', secondaryPrivateIpAddressCount: 2 });
    expect(b.networkInterfaceId).toBe(a.networkInterfaceId);
    expect(b.requestId).not.toBe(a.requestId);
    expect(h.dump().enis.filter((e) => e.type === 'Secondary')).toHaveLength(1);
    const after = h.dump().vSwitches.find((v) => v.vSwitchId === 'vsw-mock-a')!.availableIpAddressCount;
    expect(before - after).toBe(3);
    // same token, different request → refused
    await expectCloudError(
      createEni({ clientToken: 'tok-create-1', secondaryPrivateIpAddressCount: 5 }),
      'IdempotentParameterMismatch',
      400,
    );
  });

  it('refuses unknown vSwitch / security group, more than 49 secondary IPs, more than 10 explicit ones', async () => {
    await expectCloudError(createEni({ vSwitchId: 'vsw-nope' }), 'InvalidVSwitchId.NotFound', 404);
    await expectCloudError(createEni({ securityGroupIds: ['sg-nope'] }), 'InvalidSecurityGroupId.NotFound', 404);
    await expectCloudError(createEni({ secondaryPrivateIpAddressCount: 50 }), 'InvalidParameter', 400);
    const eleven = Array.from({ length: 11 }, (_, i) => `10.0.2.${200 + i}`);
    await expectCloudError(createEni({ vSwitchId: 'vsw-mock-b', privateIpAddress: eleven }), 'InvalidParam.PrivateIpAddressCount', 400);
  });

  it('creates an ENI with as many secondary IPs as the API reference allows (49)', async () => {
    const eni = await createEni({ secondaryPrivateIpAddressCount: 49 });
    expect(eni.privateIpSets!.privateIpSet!.filter((p) => !p.primary)).toHaveLength(49);
  });
});

describe('attach / detach', () => {
  it('walks Available → Attaching → InUse → Detaching → Available, awaiting the attach hook, and emits events', async () => {
    const eni = await createEni({ secondaryPrivateIpAddressCount: 1 });
    const id = eni.networkInterfaceId!;
    const attached: EniAttachedEvent[] = [];
    h.events.on('eniAttached', (ev: EniAttachedEvent) => attached.push(ev));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const hooked: EniAttachedEvent[] = [];
    h.setAttachHook(async (ev) => {
      hooked.push(ev);
      await gate; // a kernel backend setting up links
    });
    await attach(id);
    let d = await describeEni(id);
    expect(d!.status).toBe('Attaching');
    expect(d!.instanceId).toBe('i-mock-node-1');
    // still held by the hook after the attach delay
    await new Promise((r) => setTimeout(r, 50));
    expect((await describeEni(id))!.status).toBe('Attaching');
    expect(hooked).toHaveLength(1);
    expect(attached).toHaveLength(0);
    release();
    await h.settle();
    d = await describeEni(id);
    expect(d!.status).toBe('InUse');
    expect(d!.attachment?.instanceId).toBe('i-mock-node-1');
    expect(attached).toHaveLength(1);
    expect(attached[0]).toEqual({
      instanceId: 'i-mock-node-1',
      eniId: id,
      mac: eni.macAddress,
      primaryIp: eni.privateIpAddress,
      secondaryIps: [eni.privateIpSets!.privateIpSet![1]!.privateIpAddress],
      vSwitchId: 'vsw-mock-a',
      gateway: '10.0.1.253',
      cidr: '10.0.0.0/23',
      ipv6s: [],
      ipv6Cidr: 'fd00:0:0:100::/64',
      ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd',
    });
    const e2 = eni;

    const detached: unknown[] = [];
    h.events.on('eniDetached', (ev) => detached.push(ev));
    await ecs.detachNetworkInterface(
      new $ecs.DetachNetworkInterfaceRequest({
        regionId: h.regionId,
        networkInterfaceId: e2.networkInterfaceId,
        instanceId: 'i-mock-node-1',
      }),
    );
    expect((await describeEni(e2.networkInterfaceId!))!.status).toBe('Detaching');
    await h.settle();
    d = await describeEni(e2.networkInterfaceId!);
    expect(d!.status).toBe('Available');
    expect(d!.instanceId).toBe('');
    expect(detached).toEqual([
      {
        instanceId: 'i-mock-node-1',
        eniId: e2.networkInterfaceId,
        mac: e2.macAddress,
        primaryIp: e2.privateIpAddress,
        secondaryIps: attached[0]!.secondaryIps,
        ipv6s: [],
      },
    ]);
  });

  it('a failing attach hook leaves the ENI Available', async () => {
    const eni = await createEni();
    h.setAttachHook(async () => {
      throw new Error('no link');
    });
    const failed: unknown[] = [];
    h.events.on('eniAttachFailed', (ev) => failed.push(ev));
    await attach(eni.networkInterfaceId!);
    await h.settle();
    const d = await describeEni(eni.networkInterfaceId!);
    expect(d!.status).toBe('Available');
    expect(d!.instanceId).toBe('');
    expect(failed).toHaveLength(1);
  });

  it('refuses a second attach, deleting an InUse ENI and detaching the primary ENI', async () => {
    const eni = await createEni();
    const id = eni.networkInterfaceId!;
    await attach(id);
    await expectCloudError(attach(id), 'InvalidOperation.InvalidEniState', 403);
    await h.settle();
    await expectCloudError(attach(id, 'i-mock-node-2'), 'InvalidOperation.InvalidEniState', 403);
    await expectCloudError(
      ecs.deleteNetworkInterface(new $ecs.DeleteNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: id })),
      'InvalidOperation.InvalidEniState',
      403,
    );
    const primary = h.dump().instances.find((i) => i.instanceId === 'i-mock-node-1')!.primaryEniId;
    await expectCloudError(
      ecs.detachNetworkInterface(
        new $ecs.DetachNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: primary, instanceId: 'i-mock-node-1' }),
      ),
      'InvalidOperation.DetachPrimaryEniNotAllowed',
      400,
    );
    await expectCloudError(attach('eni-nope'), 'InvalidEniId.NotFound', 404);
    const fresh = await createEni();
    await expectCloudError(attach(fresh.networkInterfaceId!, 'i-nope'), 'InvalidEcsId.NotFound', 404);
  });

  it('enforces ENIs per instance (EniQuantity includes the primary ENI)', async () => {
    await h.close();
    h = await startMockCloud({
      attachDelayMs: 0,
      world: {
        instances: [
          { id: 'i-small', instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
        ],
      },
    });
    ecs = ecsClient(h);
    const a = await createEni();
    const b = await createEni();
    const c = await createEni();
    await attach(a.networkInterfaceId!, 'i-small');
    await attach(b.networkInterfaceId!, 'i-small'); // 3 with the primary: ecs.g7.large's limit
    await expectCloudError(attach(c.networkInterfaceId!, 'i-small'), 'EniPerInstanceLimitExceeded', 403);
    await h.settle();
    expect(h.dump().instances[0]!.eniIds).toHaveLength(3);
  });

  it('refuses attaching to an instance in another zone', async () => {
    const eni = await createEni({ vSwitchId: 'vsw-mock-c' }); // zone i; the nodes are in zone h
    await expectCloudError(attach(eni.networkInterfaceId!), 'InvalidOperation.AvailabilityZoneMismatch', 403);
  });

  it('deletes an Available ENI and returns its addresses to the vSwitch', async () => {
    const before = h.dump().vSwitches[0]!.availableIpAddressCount;
    const eni = await createEni({ secondaryPrivateIpAddressCount: 4 });
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(before - 5);
    const deleted: unknown[] = [];
    h.events.on('eniDeleted', (ev) => deleted.push(ev));
    h.faults.setDeleteDelay(500); // long enough to look at it while Deleting, on a loaded machine too
    await ecs.deleteNetworkInterface(
      new $ecs.DeleteNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: eni.networkInterfaceId }),
    );
    // asynchronous, as in ECS: Deleting first (addresses still taken, no other operation allowed), then gone
    expect((await describeEni(eni.networkInterfaceId!))!.status).toBe('Deleting');
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(before - 5);
    await expectCloudError(attach(eni.networkInterfaceId!), 'InvalidOperation.InvalidEniState', 403);
    await expectCloudError(
      ecs.deleteNetworkInterface(
        new $ecs.DeleteNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: eni.networkInterfaceId }),
      ),
      'InvalidOperation.InvalidEniState',
      403,
    );
    expect(deleted).toEqual([]);
    await h.settle();
    h.faults.setDeleteDelay(20);
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(before);
    expect(deleted).toEqual([{ eniId: eni.networkInterfaceId }]);
    await expectCloudError(
      ecs.deleteNetworkInterface(
        new $ecs.DeleteNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: eni.networkInterfaceId }),
      ),
      'InvalidEniId.NotFound',
      404,
    );
  });
});

describe('Assign / UnassignPrivateIpAddresses', () => {
  it('assigns by count and by address, unassigns, and emits events', async () => {
    const eni = await createEni();
    const id = eni.networkInterfaceId!;
    await attach(id);
    await h.settle();
    const events: { name: string; ev: unknown }[] = [];
    h.events.on('ipsAssigned', (ev) => events.push({ name: 'ipsAssigned', ev }));
    h.events.on('ipsUnassigned', (ev) => events.push({ name: 'ipsUnassigned', ev }));
    const got = await assign(id, 3);
    expect(got).toHaveLength(3);
    const r = await ecs.assignPrivateIpAddresses(
      new $ecs.AssignPrivateIpAddressesRequest({
        regionId: h.regionId,
        networkInterfaceId: id,
        privateIpAddress: ['10.0.1.100', '10.0.1.101'],
      }),
    );
    expect(r.body!.assignedPrivateIpAddressesSet!.networkInterfaceId).toBe(id);
    expect(r.body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress).toEqual(['10.0.1.100', '10.0.1.101']);
    let d = await describeEni(id);
    expect(d!.privateIpSets!.privateIpSet!.filter((i) => !i.primary).map((i) => i.privateIpAddress)).toEqual([
      ...got,
      '10.0.1.100',
      '10.0.1.101',
    ]);

    await ecs.unassignPrivateIpAddresses(
      new $ecs.UnassignPrivateIpAddressesRequest({
        regionId: h.regionId,
        networkInterfaceId: id,
        privateIpAddress: [got[0], '10.0.1.100'],
      }),
    );
    d = await describeEni(id);
    expect(d!.privateIpSets!.privateIpSet!.filter((i) => !i.primary).map((i) => i.privateIpAddress)).toEqual([
      got[1],
      got[2],
      '10.0.1.101',
    ]);
    expect(events).toEqual([
      { name: 'ipsAssigned', ev: { eniId: id, instanceId: 'i-mock-node-1', ips: got } },
      { name: 'ipsAssigned', ev: { eniId: id, instanceId: 'i-mock-node-1', ips: ['10.0.1.100', '10.0.1.101'] } },
      { name: 'ipsUnassigned', ev: { eniId: id, instanceId: 'i-mock-node-1', ips: [got[0], '10.0.1.100'] } },
    ]);
    // errors: taken address, outside the vSwitch, reserved gateway, not assigned, unknown ENI
    await expectCloudError(
      ecs.assignPrivateIpAddresses(
        new $ecs.AssignPrivateIpAddressesRequest({ regionId: h.regionId, networkInterfaceId: id, privateIpAddress: [got[1]] }),
      ),
      'InvalidIp.IpAssigned',
      403,
    );
    for (const bad of ['10.0.9.9', '10.0.1.253', '10.0.0.0']) {
      await expectCloudError(
        ecs.assignPrivateIpAddresses(
          new $ecs.AssignPrivateIpAddressesRequest({ regionId: h.regionId, networkInterfaceId: id, privateIpAddress: [bad] }),
        ),
        'InvalidVSwitchId.IpInvalid',
        403,
      );
    }
    await expectCloudError(
      ecs.unassignPrivateIpAddresses(
        new $ecs.UnassignPrivateIpAddressesRequest({ regionId: h.regionId, networkInterfaceId: id, privateIpAddress: ['10.0.1.100'] }),
      ),
      'InvalidIp.IpUnassigned',
      403,
    );
    await expectCloudError(assign('eni-nope', 1), 'InvalidEniId.NotFound', 404);
  });

  it('ClientToken retry returns the same IPs without allocating twice', async () => {
    const eni = await createEni();
    const id = eni.networkInterfaceId!;
    const before = h.dump().vSwitches[0]!.availableIpAddressCount;
    const first = await assign(id, 4, 'assign-token-1');
    const again = await assign(id, 4, 'assign-token-1');
    expect(again).toEqual(first);
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(before - 4);
    expect(h.dump().enis.find((e) => e.eniId === id)!.secondaryIps).toEqual(first);
    const other = await assign(id, 1, 'assign-token-2');
    expect(first).not.toContain(other[0]);
  });

  it('enforces the per-ENI IPv4 quota of the instance type and at most 10 per call', async () => {
    const eni = await createEni();
    const id = eni.networkInterfaceId!;
    await attach(id);
    await h.settle();
    await expectCloudError(assign(id, 11), 'InvalidParam.PrivateIpAddressCount', 400);
    // ecs.g7.4xlarge: 20 IPv4 per ENI including the primary → 19 secondary
    await assign(id, 10);
    await assign(id, 9);
    await expectCloudError(assign(id, 1), 'InvalidOperation.Ipv4CountExceeded', 403);
    expect(h.dump().enis.find((e) => e.eniId === id)!.secondaryIps).toHaveLength(19);
  });

  it('refuses assignment while the ENI is attaching', async () => {
    h.faults.setAttachDelay(60_000);
    const eni = await createEni();
    await attach(eni.networkInterfaceId!);
    await expectCloudError(assign(eni.networkInterfaceId!, 1), 'InvalidOperation.InvalidEniState', 400);
  });

  it('runs a vSwitch out of addresses: InvalidVSwitchId.IpNotEnough, AvailableIpAddressCount 0', async () => {
    await h.close();
    h = await startMockCloud({ world: { vSwitches: [{ id: 'vsw-tiny', zoneId: 'cn-hangzhou-h', cidr: '10.0.9.0/28' }], instances: [] } });
    ecs = ecsClient(h);
    // /28 = 16 addresses; .0 and the last three are reserved → 12 usable
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(12);
    expect(h.dump().vSwitches[0]!.gateway).toBe('10.0.9.13');
    const eni = await createEni({ vSwitchId: 'vsw-tiny', secondaryPrivateIpAddressCount: 9 });
    const ips = eni.privateIpSets!.privateIpSet!.map((i) => i.privateIpAddress);
    expect(ips[0]).toBe('10.0.9.1');
    await assign(eni.networkInterfaceId!, 2);
    await expectCloudError(assign(eni.networkInterfaceId!, 1), 'InvalidVSwitchId.IpNotEnough', 403);
    await expectCloudError(createEni({ vSwitchId: 'vsw-tiny' }), 'InvalidVSwitchId.IpNotEnough', 403);
    expect(h.dump().vSwitches[0]!.availableIpAddressCount).toBe(0);
    const all = h.dump().enis[0];
    expect([all!.primaryIp, ...all!.secondaryIps].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `10.0.9.${i + 1}`).sort());
  });
});

describe('DescribeNetworkInterfaces', () => {
  it('filters by instance, ids, status, vSwitch and tags', async () => {
    const a = await createEni({ tag: [new $ecs.CreateNetworkInterfaceRequestTag({ key: 'pool', value: 'x' })] });
    const b = await createEni({ vSwitchId: 'vsw-mock-b', tag: [new $ecs.CreateNetworkInterfaceRequestTag({ key: 'pool', value: 'y' })] });
    await attach(a.networkInterfaceId!);
    await h.settle();
    const q = async (req: Partial<$ecs.DescribeNetworkInterfacesRequest>) =>
      (await ecs.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId, pageSize: 100, ...req })))
        .body!.networkInterfaceSets!.networkInterfaceSet!.map((e) => e.networkInterfaceId)
        .sort();
    const primary1 = h.dump().instances[0]!.primaryEniId;
    expect(await q({ instanceId: 'i-mock-node-1' })).toEqual([a.networkInterfaceId, primary1].sort());
    expect(await q({ status: 'Available' })).toEqual([b.networkInterfaceId]);
    expect(await q({ vSwitchId: 'vsw-mock-b' })).toEqual([b.networkInterfaceId]);
    expect(await q({ tag: [new $ecs.DescribeNetworkInterfacesRequestTag({ key: 'pool', value: 'x' })] })).toEqual([a.networkInterfaceId]);
    expect(await q({ tag: [new $ecs.DescribeNetworkInterfacesRequestTag({ key: 'pool' })] })).toEqual(
      [a.networkInterfaceId, b.networkInterfaceId].sort(),
    );
    expect(await q({ networkInterfaceId: [a.networkInterfaceId!, b.networkInterfaceId!] })).toEqual(
      [a.networkInterfaceId, b.networkInterfaceId].sort(),
    );
    expect(await q({ type: 'Primary' })).toHaveLength(2);
  });

  it('pages with PageNumber/PageSize and with NextToken/MaxResults', async () => {
    for (let i = 0; i < 23; i++) await createEni({ vSwitchId: 'vsw-mock-b' });
    const base = { regionId: h.regionId, vSwitchId: 'vsw-mock-b' };
    const seen: string[] = [];
    for (let page = 1; ; page++) {
      const r = await ecs.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ ...base, pageNumber: page, pageSize: 10 }));
      const body = r.body!;
      expect(body.totalCount).toBe(23);
      expect(body.pageNumber).toBe(page);
      expect(body.pageSize).toBe(10);
      const items = body.networkInterfaceSets!.networkInterfaceSet!;
      if (items.length === 0) break;
      seen.push(...items.map((e) => e.networkInterfaceId!));
    }
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);

    const viaToken: string[] = [];
    let token: string | undefined;
    let calls = 0;
    do {
      const r = await ecs.describeNetworkInterfaces(
        new $ecs.DescribeNetworkInterfacesRequest({ ...base, maxResults: 10, nextToken: token }),
      );
      viaToken.push(...r.body!.networkInterfaceSets!.networkInterfaceSet!.map((e) => e.networkInterfaceId!));
      token = r.body!.nextToken || undefined;
      calls++;
    } while (token);
    expect(calls).toBe(3);
    expect(viaToken).toEqual(seen);
  });
});

describe('DescribeInstanceTypes / DescribeInstances', () => {
  it('reports ENI quotas per instance type', async () => {
    const r = await ecs.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({ instanceTypes: ['ecs.g7.large', 'ecs.g7.xlarge'] }));
    const types = r.body!.instanceTypes!.instanceType!;
    expect(types.map((t) => [t.instanceTypeId, t.eniQuantity, t.eniPrivateIpAddressQuantity, t.eniIpv6AddressQuantity])).toEqual([
      ['ecs.g7.large', 3, 6, 6],
      ['ecs.g7.xlarge', 4, 15, 15],
    ]);
    const all = await ecs.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({}));
    expect(all.body!.instanceTypes!.instanceType!).toHaveLength(3);
  });

  it('describes instances with VPC attributes and attached ENIs', async () => {
    const eni = await createEni();
    await attach(eni.networkInterfaceId!, 'i-mock-node-2');
    await h.settle();
    const r = await ecs.describeInstances(
      new $ecs.DescribeInstancesRequest({ regionId: h.regionId, instanceIds: JSON.stringify(['i-mock-node-2']) }),
    );
    const insts = r.body!.instances!.instance!;
    expect(insts).toHaveLength(1);
    const i = insts[0];
    expect(i!.instanceId).toBe('i-mock-node-2');
    expect(i!.instanceType).toBe('ecs.g7.4xlarge');
    expect(i!.zoneId).toBe('cn-hangzhou-h');
    expect(i!.status).toBe('Running');
    expect(i!.vpcAttributes!.vpcId).toBe('vpc-mock-1');
    expect(i!.vpcAttributes!.vSwitchId).toBe('vsw-mock-a');
    const enis = i!.networkInterfaces!.networkInterface!;
    expect(enis.map((e) => e.type)).toEqual(['Primary', 'Secondary']);
    expect(enis[1]!.networkInterfaceId).toBe(eni.networkInterfaceId);
    expect(i!.vpcAttributes!.privateIpAddress!.ipAddress).toEqual([enis[0]!.primaryIpAddress]);
    const both = await ecs.describeInstances(new $ecs.DescribeInstancesRequest({ regionId: h.regionId }));
    expect(both.body!.totalCount).toBe(2);
  });
});
