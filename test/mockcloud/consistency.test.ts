// The cloud as it really answers where the mock used to be lenient: listings that lag a change
// (eventual consistency), overlapping mutations of one ENI answering Operation.Conflict, and an
// unassign of an address the ENI does not hold answering InvalidIp.IpUnassigned.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { World, defaultWorldSpec } from '../../sim/mockcloud/world.js';
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
beforeEach(() => h.faults.clear());

async function createEni(): Promise<string> {
  const r = await ecs.createNetworkInterface(
    new $ecs.CreateNetworkInterfaceRequest({ regionId: h.regionId, vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'] }),
  );
  return r.body!.networkInterfaceId!;
}

const assign = (eniId: string, count: number) =>
  ecs.assignPrivateIpAddresses(
    new $ecs.AssignPrivateIpAddressesRequest({ regionId: h.regionId, networkInterfaceId: eniId, secondaryPrivateIpAddressCount: count }),
  );

const unassign = (eniId: string, ips: string[]) =>
  ecs.unassignPrivateIpAddresses(
    new $ecs.UnassignPrivateIpAddressesRequest({ regionId: h.regionId, networkInterfaceId: eniId, privateIpAddress: ips }),
  );

async function listed(eniId: string): Promise<string[] | undefined> {
  const r = await ecs.describeNetworkInterfaces(
    new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId, networkInterfaceId: [eniId] }),
  );
  const e = r.body!.networkInterfaceSets!.networkInterfaceSet![0];
  return e?.privateIpSets!.privateIpSet!.filter((p) => !p.primary).map((p) => p.privateIpAddress!);
}

describe('stale listings (staleListingsMs)', () => {
  it('the world answers a listing with the ENIs as of N ms ago', () => {
    let now = 1_000_000;
    const w = new World(defaultWorldSpec(), () => now);
    w.setListingLag(1_000);
    const e = w.createEni({ vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'] });
    expect(w.describeEnis({ eniIds: [e.id] })).toEqual([]); // created just now: not listed yet
    now += 1_000;
    expect(w.describeEnis({ eniIds: [e.id] }).map((x) => x.id)).toEqual([e.id]);
    w.assignIps(e.id, { count: 2 });
    now += 500;
    expect(w.describeEnis({ eniIds: [e.id] })[0]!.secondaryIps).toEqual([]);
    now += 500;
    expect(w.describeEnis({ eniIds: [e.id] })[0]!.secondaryIps).toHaveLength(2);
    w.setListingLag(0);
    w.assignIps(e.id, { count: 1 });
    expect(w.describeEnis({ eniIds: [e.id] })[0]!.secondaryIps).toHaveLength(3);
  });

  it('over the API: an assign shows up in DescribeNetworkInterfaces only after the lag', async () => {
    const id = await createEni();
    h.faults.setStaleListings(300);
    const got = (await assign(id, 2)).body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress!;
    expect(await listed(id)).toEqual([]);
    await new Promise((r) => setTimeout(r, 350));
    expect(await listed(id)).toEqual(got);
    expect(h.faults.state().staleListingsMs).toBe(300);
    h.faults.clear();
    expect(h.faults.state().staleListingsMs).toBe(0);
  });
});

describe('Operation.Conflict (operationConflictMs)', () => {
  it('a second mutation of the same ENI within the window answers Operation.Conflict (403); other ENIs are not affected', async () => {
    const a = await createEni();
    const b = await createEni();
    h.faults.setOperationConflict(60_000);
    await assign(a, 1);
    await expectCloudError(assign(a, 1), 'Operation.Conflict', 403);
    await expect(assign(b, 1)).resolves.toBeDefined();
    h.faults.setOperationConflict(0);
    await expect(assign(a, 1)).resolves.toBeDefined();
  });

  it('off by default', async () => {
    const a = await createEni();
    await Promise.all([assign(a, 1), assign(a, 1), assign(a, 1)]);
    expect(await listed(a)).toHaveLength(3);
  });
});

describe('UnassignPrivateIpAddresses of an address the ENI does not hold', () => {
  it('answers InvalidIp.IpUnassigned (403) and leaves the ENI as it was', async () => {
    const id = await createEni();
    const [ip] = (await assign(id, 1)).body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress!;
    await unassign(id, [ip!]);
    await expectCloudError(unassign(id, [ip!]), 'InvalidIp.IpUnassigned', 403);
    const [other] = (await assign(id, 1)).body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress!;
    await expectCloudError(unassign(id, [other!, '10.0.2.250']), 'InvalidIp.IpUnassigned', 403);
    expect(await listed(id)).toEqual([other]);
  });
});
