// AliyunCloud against the mock cloud over real HTTP: the unmodified SDK signs, sends and parses;
// the mock keeps VPC state and injects faults.
import { afterEach, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle, type StartOptions } from '../../sim/mockcloud/index.js';
import { defaultWorldSpec } from '../../sim/mockcloud/index.js';
import { AliyunCloud, type AliyunCloudOptions } from '../../daemon/cloud/client.js';
import { FakeClock } from '../support/clock.js';
import { CloudError, CloudErrorCodes } from '../../daemon/cloud/types.js';

const NODE = 'i-mock-node-1';
const SG = 'sg-mock-1';
const VSW = 'vsw-mock-a';

const open: { mc: MockCloudHandle; cloud: AliyunCloud }[] = [];

afterEach(async () => {
  for (const { mc, cloud } of open.splice(0)) {
    cloud.close();
    await mc.close();
  }
});

/** A fresh mock and a client with test-sized timings (fast retries, fast polls). */
async function setup(
  mockOpts: StartOptions = {},
  cloudOpts: Partial<AliyunCloudOptions> = {},
): Promise<{ mc: MockCloudHandle; cloud: AliyunCloud }> {
  const mc = await startMockCloud({ attachDelayMs: 60, ...mockOpts });
  const cloud = new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: mc.metadataUrl(NODE),
    qps: Infinity,
    retry: { attempts: 6, baseMs: 5, capMs: 50, factor: 2, jitter: 0.5 },
    attachPollMs: 20,
    attachTimeoutMs: 5_000,
    requestTimeoutMs: 2_000,
    ...cloudOpts,
  });
  const pair = { mc, cloud };
  open.push(pair);
  return pair;
}

function eniOf(mc: MockCloudHandle, eniId: string) {
  return mc.dump().enis.find((e) => e.eniId === eniId);
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CloudError);
  return err as CloudError;
}

describe('AliyunCloud ⇄ mock cloud: ENI lifecycle', () => {
  it('create → attach (InUse) → assign → unassign → detach (Available) → delete', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({
      vSwitchId: VSW,
      securityGroupIds: [SG],
      secondaryIpCount: 2,
      tags: { owner: 'test' },
      description: 'rt',
    });
    expect(eni.eniId).toMatch(/^eni-/);
    expect(eni.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(eni).toMatchObject({ status: 'Available', type: 'Secondary', vSwitchId: VSW, securityGroupIds: [SG], tags: { owner: 'test' } });
    expect(eni.secondaryIps).toHaveLength(2);
    expect(eniOf(mc, eni.eniId)).toMatchObject({ status: 'Available', primaryIp: eni.primaryIp, secondaryIps: eni.secondaryIps });

    await cloud.attachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)).toMatchObject({ status: 'InUse', instanceId: NODE });
    expect(mc.counters().DescribeNetworkInterfaces).toBeGreaterThanOrEqual(1); // it polled

    const ips = await cloud.assignPrivateIpAddresses(eni.eniId, 5);
    expect(ips).toHaveLength(5);
    expect(eniOf(mc, eni.eniId)!.secondaryIps).toEqual(expect.arrayContaining([...eni.secondaryIps, ...ips]));
    const chosen = await cloud.assignPrivateIpAddresses(eni.eniId, 0, { ips: ['10.0.1.200'] });
    expect(chosen).toEqual(['10.0.1.200']);

    const [seen] = await cloud.describeNetworkInterfaces({ eniIds: [eni.eniId] });
    expect(seen).toMatchObject({
      eniId: eni.eniId,
      status: 'InUse',
      instanceId: NODE,
      mac: eni.mac,
      primaryIp: eni.primaryIp,
      tags: { owner: 'test' },
    });
    expect(seen!.secondaryIps).toHaveLength(8);

    await cloud.unassignPrivateIpAddresses(eni.eniId, ips.slice(0, 2));
    expect(eniOf(mc, eni.eniId)!.secondaryIps).toHaveLength(6);
    expect(eniOf(mc, eni.eniId)!.secondaryIps).not.toContain(ips[0]);

    await cloud.detachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)).toMatchObject({ status: 'Available' });
    expect(eniOf(mc, eni.eniId)!.instanceId).toBeUndefined();

    await cloud.deleteNetworkInterface(eni.eniId);
    expect(eniOf(mc, eni.eniId)).toBeUndefined();

    const c = mc.counters();
    for (const api of ['CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface'])
      expect(c[api]).toBe(1);
    expect(c.AssignPrivateIpAddresses).toBe(2);
    const s = cloud.stats();
    expect(s.CreateNetworkInterface).toMatchObject({ calls: 1, errors: 0, retries: 0, throttled: 0 });
    expect(s.CreateNetworkInterface!.totalLatencyMs).toBeGreaterThan(0);
    expect(s.DescribeNetworkInterfaces!.calls).toBe(c.DescribeNetworkInterfaces);
  });

  it('attach waits for the async InUse (attach delay) and times out with code Timeout when it never comes', async () => {
    const { mc, cloud } = await setup({ attachDelayMs: 300 }, { attachPollMs: 25, attachTimeoutMs: 3_000 });
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)!.status).toBe('InUse');
    expect(mc.counters().DescribeNetworkInterfaces).toBeGreaterThanOrEqual(2); // Attaching seen at least once

    const slow = await setup({ attachDelayMs: 10_000 }, { attachPollMs: 25, attachTimeoutMs: 200 });
    const eni2 = await slow.cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    const err = await failure(slow.cloud.attachNetworkInterface(eni2.eniId, NODE));
    expect(err).toMatchObject({ code: CloudErrorCodes.Timeout, api: 'AttachNetworkInterface', retryable: false });
    expect(err.message).toContain('Attaching');
  });

  it('an attach the cloud abandons (Attaching → Available) fails fast with AttachFailed', async () => {
    const { mc, cloud } = await setup({ attachDelayMs: 150 }, { attachPollMs: 20, attachTimeoutMs: 5_000 });
    mc.setAttachHook(async () => {
      throw new Error('no PCI slot');
    });
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    const err = await failure(cloud.attachNetworkInterface(eni.eniId, NODE));
    expect(err).toMatchObject({ code: 'AttachFailed', api: 'AttachNetworkInterface', retryable: false });
    expect(eniOf(mc, eni.eniId)!.status).toBe('Available');
  });

  it('describe pages through every page and merges (page size 3, 8 ENIs → 3 calls)', async () => {
    const { mc, cloud } = await setup({}, { describePageSize: 3 });
    const created = [];
    for (let i = 0; i < 8; i++)
      created.push(await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], tags: { batch: 'paging' } }));
    mc.resetCounters();
    const all = await cloud.describeNetworkInterfaces({ tags: { batch: 'paging' } });
    expect(all.map((e) => e.eniId).sort()).toEqual(created.map((e) => e.eniId).sort());
    expect(mc.counters().DescribeNetworkInterfaces).toBe(3);

    const byId = await cloud.describeNetworkInterfaces({ eniIds: created.slice(0, 4).map((e) => e.eniId) });
    expect(byId).toHaveLength(4);
    const mine = await cloud.describeNetworkInterfaces({ instanceId: NODE });
    expect(mine.map((e) => e.type)).toEqual(['Primary']);
    expect(await cloud.describeNetworkInterfaces({ eniIds: [] })).toEqual([]);
  });
});

describe('AliyunCloud ⇄ mock cloud: lookups', () => {
  it('instance type limits (cached after the first call)', async () => {
    const { mc, cloud } = await setup();
    await expect(cloud.describeInstanceTypeLimits('ecs.g7.4xlarge')).resolves.toEqual({
      instanceTypeId: 'ecs.g7.4xlarge',
      eniQuantity: 8,
      ipv4PerEni: 20,
      ipv6PerEni: 20,
    });
    await cloud.describeInstanceTypeLimits('ecs.g7.4xlarge');
    expect(mc.counters().DescribeInstanceTypes).toBe(1);
    const err = await failure(cloud.describeInstanceTypeLimits('ecs.nope.large'));
    expect(err.retryable).toBe(false);
    expect(err.code).toMatch(/^InvalidInstanceType/);
  });

  it('vSwitches with CIDR, free count and route table; unknown ids are left out', async () => {
    const { cloud } = await setup();
    const vs = await cloud.describeVSwitches(['vsw-mock-a', 'vsw-mock-c', 'vsw-missing', 'vsw-mock-a']);
    expect(vs.map((v) => v.vSwitchId).sort()).toEqual(['vsw-mock-a', 'vsw-mock-c']);
    const a = vs.find((v) => v.vSwitchId === 'vsw-mock-a')!;
    expect(a).toMatchObject({ vpcId: 'vpc-mock-1', zoneId: 'cn-hangzhou-h', cidrBlock: '10.0.0.0/23', routeTableId: 'vtb-mock-1' });
    expect(a.availableIpAddressCount).toBeGreaterThan(400);
  });

  it('route entries: ensure is idempotent, conflicts are typed, delete tolerates absence', async () => {
    const { mc, cloud } = await setup();
    await cloud.ensureRouteEntry('vtb-mock-1', '172.20.1.0/24', NODE);
    await cloud.ensureRouteEntry('vtb-mock-1', '172.20.1.0/24', NODE);
    expect(mc.counters().CreateRouteEntry).toBe(1);
    const entries = await cloud.describeRouteEntries('vtb-mock-1');
    expect(entries).toContainEqual(
      expect.objectContaining({
        routeTableId: 'vtb-mock-1',
        destinationCidrBlock: '172.20.1.0/24',
        nextHopType: 'Instance',
        nextHopId: NODE,
      }),
    );
    const err = await failure(cloud.ensureRouteEntry('vtb-mock-1', '172.20.1.0/24', 'i-mock-node-2'));
    expect(err.code).toBe('InvalidCIDRBlock.Duplicate');
    await cloud.deleteRouteEntry('vtb-mock-1', '172.20.1.0/24', NODE);
    expect((await cloud.describeRouteEntries('vtb-mock-1')).some((e) => e.destinationCidrBlock === '172.20.1.0/24')).toBe(false);
    await cloud.deleteRouteEntry('vtb-mock-1', '172.20.1.0/24', NODE);
  });

  it('metadata: instance facts and an attached ENI by MAC', async () => {
    const { mc, cloud } = await setup();
    const md = await cloud.getInstanceMetadata();
    const inst = mc.dump().instances.find((i) => i.instanceId === NODE)!;
    const primary = eniOf(mc, inst.primaryEniId)!;
    expect(md).toEqual({
      instanceId: NODE,
      regionId: 'cn-hangzhou',
      zoneId: 'cn-hangzhou-h',
      instanceType: 'ecs.g7.4xlarge',
      vpcId: 'vpc-mock-1',
      vSwitchId: VSW,
      primaryMac: primary.mac,
      eniMacs: [primary.mac],
    });
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], secondaryIpCount: 3 });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    expect((await cloud.getInstanceMetadata()).eniMacs).toContain(eni.mac);
    const em = await cloud.getEniMetadata(eni.mac.toUpperCase());
    expect(em).toMatchObject({ mac: eni.mac, eniId: eni.eniId, primaryIp: eni.primaryIp, vSwitchId: VSW, vSwitchCidr: '10.0.0.0/23' });
    expect(em.privateIps.sort()).toEqual([eni.primaryIp, ...eni.secondaryIps].sort());
    expect(em.gateway).toMatch(/^10\.0\.\d+\.\d+$/);
  });
});

describe('AliyunCloud ⇄ mock cloud: typed errors are not retried', () => {
  it('not found carries the cloud code and RequestId, one call', async () => {
    const { mc, cloud } = await setup();
    const err = await failure(cloud.unassignPrivateIpAddresses('eni-doesnotexist', ['10.0.0.9']));
    expect(err).toMatchObject({ code: CloudErrorCodes.EniNotFound, api: 'UnassignPrivateIpAddresses', retryable: false });
    expect(err.requestId).toBeTruthy();
    expect(err.httpStatus).toBe(404);
    expect(mc.counters().UnassignPrivateIpAddresses).toBe(1);
    expect(cloud.stats().UnassignPrivateIpAddresses).toMatchObject({ calls: 1, errors: 1, retries: 0 });
    // Deleting an ENI that is not there is what was asked for (Terway counts it as success too).
    await cloud.deleteNetworkInterface('eni-doesnotexist');
    expect(cloud.stats().DeleteNetworkInterface).toMatchObject({ calls: 1, errors: 1, retries: 0 });
  });

  it('vSwitch exhaustion: InvalidVSwitchId.IpNotEnough, one call', async () => {
    const spec = defaultWorldSpec();
    const { mc, cloud } = await setup({
      world: { vSwitches: [...spec.vSwitches, { id: 'vsw-tiny', zoneId: 'cn-hangzhou-h', cidr: '10.0.9.0/29' }] },
    });
    const err = await failure(cloud.createNetworkInterface({ vSwitchId: 'vsw-tiny', securityGroupIds: [SG], secondaryIpCount: 9 }));
    expect(err).toMatchObject({ code: CloudErrorCodes.VSwitchIpNotEnough, retryable: false });
    expect(err.requestId).toBeTruthy();
    expect(mc.counters().CreateNetworkInterface).toBe(1);
  });

  it('per-ENI quota: the 20th address is refused with the cloud code, one call', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], secondaryIpCount: 9 });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    await cloud.assignPrivateIpAddresses(eni.eniId, 10); // 1 primary + 19 secondary = 20
    mc.resetCounters();
    const err = await failure(cloud.assignPrivateIpAddresses(eni.eniId, 1));
    expect(err.retryable).toBe(false);
    expect(['InvalidOperation.Ipv4CountExceeded', CloudErrorCodes.QuotaExceededPrivateIp]).toContain(err.code);
    expect(mc.counters().AssignPrivateIpAddresses).toBe(1);
    // and the client refuses more than 10 per call without calling at all
    const local = await failure(cloud.assignPrivateIpAddresses(eni.eniId, 11));
    expect(local.code).toBe('InvalidParam.PrivateIpAddressCount');
    expect(mc.counters().AssignPrivateIpAddresses).toBe(1);
  });
});

describe('AliyunCloud ⇄ mock cloud: transient faults are retried', () => {
  it('server throttling: every call still succeeds; stats show throttled + retries', async () => {
    const { mc, cloud } = await setup({}, { retry: { attempts: 12, baseMs: 20, capMs: 300, factor: 2, jitter: 1 } });
    mc.faults.setThrottle(20, 2);
    const results = await Promise.all(Array.from({ length: 12 }, () => cloud.describeVSwitches(['vsw-mock-b'])));
    expect(results.every((r) => r.length === 1 && r[0]!.vSwitchId === 'vsw-mock-b')).toBe(true);
    const s = cloud.stats().DescribeVSwitches!;
    expect(s.throttled).toBeGreaterThan(0);
    expect(s.retries).toBeGreaterThan(0);
    expect(s.calls).toBe(12 + s.retries);
    expect(mc.counters().DescribeVSwitches).toBe(s.calls);
  });

  it('injected 5xx: success after retries, each retry logged without secrets', async () => {
    const logged: { obj: object; msg?: string }[] = [];
    const log = (obj: object, msg?: string): void => void logged.push({ obj, msg });
    const { mc, cloud } = await setup({}, { logger: { debug: log, info: log, warn: log } });
    mc.faults.failNext('DescribeVSwitches', 2, '5xx');
    const vs = await cloud.describeVSwitches(['vsw-mock-a']);
    expect(vs).toHaveLength(1);
    expect(mc.counters().DescribeVSwitches).toBe(3);
    expect(cloud.stats().DescribeVSwitches).toMatchObject({ calls: 3, errors: 2, retries: 2, throttled: 0 });
    const retries = logged.filter((l) => l.msg === 'cloud call retried');
    expect(retries).toHaveLength(2);
    expect(retries[0]!.obj).toMatchObject({ api: 'DescribeVSwitches', retry: 1 });
    expect((retries[0]!.obj as { requestId?: string }).requestId).toBeTruthy();
    const text = JSON.stringify(logged);
    expect(text).not.toContain(mc.accessKeySecret);
  });

  it('injected 5xx on every call: the last error surfaces after the attempts, typed and marked retryable', async () => {
    const { mc, cloud } = await setup({}, { retry: { attempts: 3, baseMs: 1, capMs: 5, factor: 2, jitter: 0 } });
    mc.faults.setErrorRate('DescribeVSwitches', 1, '5xx');
    const err = await failure(cloud.describeVSwitches(['vsw-mock-a']));
    expect(err.httpStatus).toBeGreaterThanOrEqual(500);
    expect(err.retryable).toBe(true);
    expect(err.requestId).toBeTruthy();
    expect(mc.counters().DescribeVSwitches).toBe(3);
  });

  it('injected timeout: the request times out and is retried', async () => {
    const { mc, cloud } = await setup({}, { requestTimeoutMs: 150 });
    mc.faults.failNext('DescribeInstanceTypes', 1, 'timeout');
    await expect(cloud.describeInstanceTypeLimits('ecs.g7.large')).resolves.toMatchObject({ eniQuantity: 3, ipv4PerEni: 6 });
    expect(mc.counters().DescribeInstanceTypes).toBe(2);
    expect(cloud.stats().DescribeInstanceTypes).toMatchObject({ calls: 2, errors: 1, retries: 1 });
  });
});

describe('AliyunCloud ⇄ mock cloud: idempotent retries (reply lost after the cloud applied the call)', () => {
  it('assign: the retry reuses the ClientToken, so one batch is allocated, not two', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    const usedBefore = mc.dump().vSwitches.find((v) => v.vSwitchId === VSW)!.usedIps.length;
    mc.faults.failNext('AssignPrivateIpAddresses', 1, '5xx', { afterEffect: true });
    const ips = await cloud.assignPrivateIpAddresses(eni.eniId, 4);
    expect(mc.counters().AssignPrivateIpAddresses).toBe(2);
    expect(ips).toHaveLength(4);
    expect(eniOf(mc, eni.eniId)!.secondaryIps.sort()).toEqual([...ips].sort());
    expect(mc.dump().vSwitches.find((v) => v.vSwitchId === VSW)!.usedIps.length).toBe(usedBefore + 4);
  });

  it('assign after a timeout that the cloud applied: still one batch', async () => {
    const { mc, cloud } = await setup({}, { requestTimeoutMs: 150 });
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    mc.faults.failNext('AssignPrivateIpAddresses', 1, 'timeout', { afterEffect: true });
    const ips = await cloud.assignPrivateIpAddresses(eni.eniId, 3);
    expect(mc.counters().AssignPrivateIpAddresses).toBe(2);
    expect(eniOf(mc, eni.eniId)!.secondaryIps.sort()).toEqual([...ips].sort());
  });

  it('the same caller-supplied clientToken twice yields the same addresses', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    const a = await cloud.assignPrivateIpAddresses(eni.eniId, 2, { clientToken: 'pool-batch-1' });
    const b = await cloud.assignPrivateIpAddresses(eni.eniId, 2, { clientToken: 'pool-batch-1' });
    expect(b.sort()).toEqual(a.sort());
    expect(eniOf(mc, eni.eniId)!.secondaryIps).toHaveLength(2);
  });

  it('create: one ENI despite the lost reply', async () => {
    const { mc, cloud } = await setup();
    const before = mc.dump().enis.length;
    mc.faults.failNext('CreateNetworkInterface', 1, '5xx', { afterEffect: true });
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], secondaryIpCount: 2 });
    expect(mc.counters().CreateNetworkInterface).toBe(2);
    expect(mc.dump().enis.length).toBe(before + 1);
    expect(eniOf(mc, eni.eniId)!.secondaryIps.sort()).toEqual([...eni.secondaryIps].sort());
  });

  it('attach / detach / delete / unassign survive a lost reply', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], secondaryIpCount: 2 });
    mc.faults.failNext('AttachNetworkInterface', 1, '5xx', { afterEffect: true });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)).toMatchObject({ status: 'InUse', instanceId: NODE });
    mc.faults.failNext('UnassignPrivateIpAddresses', 1, '5xx', { afterEffect: true });
    await cloud.unassignPrivateIpAddresses(eni.eniId, eni.secondaryIps);
    expect(eniOf(mc, eni.eniId)!.secondaryIps).toEqual([]);
    mc.faults.failNext('DetachNetworkInterface', 1, '5xx', { afterEffect: true });
    await cloud.detachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)!.status).toBe('Available');
    mc.faults.failNext('DeleteNetworkInterface', 1, '5xx', { afterEffect: true });
    await cloud.deleteNetworkInterface(eni.eniId);
    expect(eniOf(mc, eni.eniId)).toBeUndefined();
    const c = mc.counters();
    for (const api of ['AttachNetworkInterface', 'UnassignPrivateIpAddresses', 'DetachNetworkInterface', 'DeleteNetworkInterface'])
      expect(c[api]).toBe(2);
  });
});

describe('AliyunCloud ⇄ mock cloud: re-runs after a crash', () => {
  it('attaching an ENI already InUse on this node and detaching one already Available succeed; other owners do not', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)).toMatchObject({ status: 'InUse', instanceId: NODE });
    const other = await failure(cloud.attachNetworkInterface(eni.eniId, 'i-mock-node-2'));
    expect(other.code).toBe(CloudErrorCodes.EniStateInvalid);
    await cloud.detachNetworkInterface(eni.eniId, NODE);
    await cloud.detachNetworkInterface(eni.eniId, NODE);
    expect(eniOf(mc, eni.eniId)!.status).toBe('Available');
    expect(mc.counters().DetachNetworkInterface).toBe(2);
    expect((await cloud.describeNetworkInterfaces({ status: 'Available' })).map((e) => e.eniId)).toContain(eni.eniId);
    expect((await cloud.describeNetworkInterfaces({ status: 'InUse' })).map((e) => e.eniId)).not.toContain(eni.eniId);
  });
});

describe('AliyunCloud ⇄ mock cloud: client-side token bucket (fake clock)', () => {
  it('only burst + qps × elapsed calls reach the cloud', async () => {
    const clock = new FakeClock(0);
    const { mc, cloud } = await setup({}, { qps: 2, burst: 3, clock, terwayRateLimitDefaults: false });
    let done = 0;
    const calls = Array.from({ length: 9 }, () => cloud.describeVSwitches(['vsw-mock-a']).then(() => done++));
    const reached = async (n: number): Promise<void> => {
      await expect.poll(() => mc.counters().DescribeVSwitches ?? 0, { timeout: 3000, interval: 5 }).toBe(n);
    };
    await clock.advanceAsync(0);
    await reached(3);
    await expect.poll(() => done, { timeout: 3000, interval: 5 }).toBe(3);
    expect(mc.counters().DescribeVSwitches).toBe(3); // the other 6 are held by the bucket
    await clock.advanceAsync(1000); // +2 tokens
    await reached(5);
    await clock.advanceAsync(500); // +1
    await reached(6);
    await clock.advanceAsync(1500); // +3
    await reached(9);
    await Promise.all(calls);
    const rl = cloud.rateLimiterStats();
    expect(rl.delayed).toBe(6);
    expect(rl.maxWaitMs).toBeCloseTo(3000);
  });
});

describe('AliyunCloud ⇄ mock cloud: Operation.Conflict', () => {
  it('overlapping mutations of one ENI: the one refused with Operation.Conflict is retried and lands', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    mc.faults.setOperationConflict(30);
    mc.resetCounters();
    const got = await Promise.all([cloud.assignPrivateIpAddresses(eni.eniId, 1), cloud.assignPrivateIpAddresses(eni.eniId, 1)]);
    expect(new Set(got.flat()).size).toBe(2);
    expect(eniOf(mc, eni.eniId)!.secondaryIps.sort()).toEqual(got.flat().sort());
    expect(mc.counters().AssignPrivateIpAddresses).toBeGreaterThan(2);
    expect(cloud.stats().AssignPrivateIpAddresses!.retries).toBeGreaterThan(0);
  });
});

describe('AliyunCloud ⇄ mock cloud: IPv6', () => {
  it('create with IPv6, assign / unassign by count and by address, canonical text; vSwitch and metadata IPv6 facts', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG], secondaryIpCount: 1, ipv6Count: 1 });
    expect(eni.ipv6s).toEqual(['fd00:0:0:100::1']);
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    const got = await cloud.assignIpv6Addresses(eni.eniId, 2);
    expect(got).toEqual(['fd00:0:0:100::2', 'fd00:0:0:100::3']);
    expect(await cloud.assignIpv6Addresses(eni.eniId, 0, { ips: ['FD00:0:0:100:0:0:0:0a'] })).toEqual(['fd00:0:0:100::a']);
    const [listed] = await cloud.describeNetworkInterfaces({ eniIds: [eni.eniId] });
    expect(listed!.ipv6s).toEqual(['fd00:0:0:100::1', 'fd00:0:0:100::2', 'fd00:0:0:100::3', 'fd00:0:0:100::a']);
    await cloud.unassignIpv6Addresses(eni.eniId, ['fd00:0:0:100::2', 'fd00:0:0:100::a']);
    expect(eniOf(mc, eni.eniId)!.ipv6s).toEqual(['fd00:0:0:100::1', 'fd00:0:0:100::3']);
    const [vsw] = await cloud.describeVSwitches([VSW]);
    expect(vsw!.ipv6CidrBlock).toBe('fd00:0:0:100::/64');
    const md = await cloud.getEniMetadata(eni.mac);
    expect(md).toMatchObject({
      eniId: eni.eniId,
      vSwitchIpv6Cidr: 'fd00:0:0:100::/64',
      ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd',
      ipv6s: ['fd00:0:0:100::1', 'fd00:0:0:100::3'],
    });
  });

  it('IPv6 errors carry the cloud codes, one call each; an ENI without IPv6 reads as no IPv6 in the metadata', async () => {
    const d = defaultWorldSpec();
    const { mc, cloud } = await setup({
      world: { vSwitches: [...d.vSwitches, { id: 'vsw-v4', zoneId: 'cn-hangzhou-h', cidr: '10.0.9.0/24' }] },
    });
    const v4 = await cloud.createNetworkInterface({ vSwitchId: 'vsw-v4', securityGroupIds: [SG] });
    expect((await failure(cloud.assignIpv6Addresses(v4.eniId, 1))).code).toBe(CloudErrorCodes.Ipv6NotTurnOn);
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    await cloud.attachNetworkInterface(eni.eniId, NODE);
    await cloud.assignIpv6Addresses(eni.eniId, 10);
    await cloud.assignIpv6Addresses(eni.eniId, 10);
    mc.resetCounters();
    // ecs.g7.4xlarge: 20 IPv6 per ENI
    expect((await failure(cloud.assignIpv6Addresses(eni.eniId, 1))).code).toBe(CloudErrorCodes.Ipv6CountExceeded);
    expect((await failure(cloud.unassignIpv6Addresses(eni.eniId, ['fd00:0:0:100::99']))).code).toBe(CloudErrorCodes.IpUnassigned);
    expect(mc.counters()).toMatchObject({ AssignIpv6Addresses: 1, UnassignIpv6Addresses: 1 });
    expect((await failure(cloud.assignIpv6Addresses(eni.eniId, 11))).code).toBe('InvalidParameter');
    await cloud.attachNetworkInterface(v4.eniId, NODE);
    const md = await cloud.getEniMetadata(v4.mac);
    expect(md.vSwitchIpv6Cidr).toBeUndefined();
    expect(md.ipv6s).toBeUndefined();
  });

  it('assign after a lost reply: the retry reuses the ClientToken, one batch; unassign after a lost reply counts as done', async () => {
    const { mc, cloud } = await setup();
    const eni = await cloud.createNetworkInterface({ vSwitchId: VSW, securityGroupIds: [SG] });
    mc.faults.failNext('AssignIpv6Addresses', 1, '5xx', { afterEffect: true });
    const got = await cloud.assignIpv6Addresses(eni.eniId, 3);
    expect(got).toHaveLength(3);
    expect(eniOf(mc, eni.eniId)!.ipv6s).toEqual(got);
    mc.faults.failNext('UnassignIpv6Addresses', 1, '5xx', { afterEffect: true });
    await cloud.unassignIpv6Addresses(eni.eniId, got);
    expect(eniOf(mc, eni.eniId)!.ipv6s).toEqual([]);
  });
});
