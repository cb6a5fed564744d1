// Fault injection, counters, the admin endpoint and the state dump.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle, type WorldDump } from '../../sim/mockcloud/index.js';
import { $ecs, ecsClient } from '../../sim/mockcloud/sdk.js';

let h: MockCloudHandle;
let ecs: ReturnType<typeof ecsClient>;

beforeEach(async () => {
  h = await startMockCloud({ attachDelayMs: 5 });
  ecs = ecsClient(h);
});
afterEach(async () => {
  await h.close();
});

const describeTypes = (c = ecs) => c.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({}));

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function admin(path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(
    `${h.adminUrl}${path}`,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
  );
  return { status: res.status, json: await res.json() };
}

describe('throttling', () => {
  it('answers Throttling.User beyond the account QPS and recovers when lifted', async () => {
    h.faults.setThrottle(0.001); // burst 1, refill once per 1000 s: one call passes, the rest are refused
    const results = await Promise.all(Array.from({ length: 6 }, () => outcome(describeTypes())));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'Throttling.User')).toHaveLength(5);
    const e = await expectCloudError(describeTypes(), 'Throttling.User', 400);
    expect(e.name).toBe('ThrottlingError');
    h.faults.setThrottle(null);
    expect(await Promise.all(Array.from({ length: 6 }, () => outcome(describeTypes())))).toEqual(Array(6).fill('ok'));
  });

  it('refills the bucket over time', async () => {
    h.faults.setThrottle(1000, 2);
    const burst = await Promise.all(Array.from({ length: 4 }, () => outcome(describeTypes())));
    expect(burst.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 20)); // ≥ 2 tokens back at 1000 qps
    expect(await outcome(describeTypes())).toBe('ok');
  });
});

describe('injected errors', () => {
  it('fails the next N calls of an action with 5xx codes, then recovers', async () => {
    h.faults.failNext('DescribeInstanceTypes', 1, '5xx');
    const e = await expectCloudError(describeTypes(), 'InternalError', 500);
    expect(e.name).toBe('ServerError');
    expect(await outcome(describeTypes())).toBe('ok');
    h.faults.setErrorRate('*', 1, 'unavailable');
    await expectCloudError(describeTypes(), 'ServiceUnavailable', 503);
    await expectCloudError(
      ecs.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId })),
      'ServiceUnavailable',
      503,
    );
    h.faults.clear();
    expect(await outcome(describeTypes())).toBe('ok');
  });

  it('holds the request on a timeout fault until the client gives up', async () => {
    const impatient = ecsClient(h, { readTimeout: 200 });
    h.faults.failNext('DescribeInstanceTypes', 1, 'timeout');
    const r = await outcome(describeTypes(impatient));
    expect(r).not.toBe('ok');
    expect(await outcome(describeTypes(impatient))).toBe('ok');
  });

  it('latency longer than the client read timeout shows up as a timeout; ranges are accepted', async () => {
    const impatient = ecsClient(h, { readTimeout: 200 });
    h.faults.setLatency('DescribeInstanceTypes', 5_000);
    expect(await outcome(describeTypes(impatient))).not.toBe('ok');
    h.faults.setLatency('DescribeInstanceTypes', 0);
    h.faults.setLatency('*', [0, 3]);
    expect(await outcome(describeTypes(impatient))).toBe('ok');
  });

  it('afterEffect: the work is done but the reply is lost; a ClientToken retry returns the same IPs', async () => {
    const c = await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({ regionId: h.regionId, vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'] }),
    );
    const eniId = c.body!.networkInterfaceId!;
    const req = () =>
      ecs.assignPrivateIpAddresses(
        new $ecs.AssignPrivateIpAddressesRequest({
          regionId: h.regionId,
          networkInterfaceId: eniId,
          secondaryPrivateIpAddressCount: 3,
          clientToken: 'lost-reply-1',
        }),
      );
    h.faults.failNext('AssignPrivateIpAddresses', 1, '5xx', { afterEffect: true });
    await expectCloudError(req(), 'InternalError', 500);
    const held = h.dump().enis.find((e) => e.eniId === eniId)!.secondaryIps;
    expect(held).toHaveLength(3);
    const retry = await req();
    expect(retry.body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress).toEqual(held);
    expect(h.dump().enis.find((e) => e.eniId === eniId)!.secondaryIps).toEqual(held);
  });

  it('takes faults at start-up', async () => {
    await h.close();
    h = await startMockCloud({
      faults: { errorRates: [{ action: 'DescribeInstanceTypes', rate: 1, kind: 'unavailable' }], throttleQps: null },
    });
    ecs = ecsClient(h);
    await expectCloudError(describeTypes(), 'ServiceUnavailable', 503);
    expect(await outcome(ecs.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId })))).toBe('ok');
  });
});

describe('counters, dump and admin endpoint', () => {
  it('counts calls per action, including refused ones, and resets', async () => {
    h.resetCounters();
    await describeTypes();
    await describeTypes();
    await outcome(
      ecs.deleteNetworkInterface(new $ecs.DeleteNetworkInterfaceRequest({ regionId: h.regionId, networkInterfaceId: 'eni-nope' })),
    );
    expect(h.counters()).toEqual({ DeleteNetworkInterface: 1, DescribeInstanceTypes: 2 });
    expect((await admin('/counters')).json).toEqual({ DeleteNetworkInterface: 1, DescribeInstanceTypes: 2 });
    expect((await admin('/counters/reset', {})).status).toBe(200);
    expect(h.counters()).toEqual({});
  });

  it('sets and clears faults over HTTP', async () => {
    expect((await admin('/faults/throttle', { qps: 0.001 })).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 3 }, () => outcome(describeTypes())));
    expect(results.filter((r) => r === 'Throttling.User').length).toBe(2);
    await admin('/faults/throttle', { qps: null });
    await admin('/faults/fail-next', { action: 'DescribeInstanceTypes', count: 1, kind: 'unavailable' });
    expect(await outcome(describeTypes())).toBe('ServiceUnavailable');
    await admin('/faults/error-rate', { action: '*', rate: 1, kind: '5xx' });
    await admin('/faults/latency', { action: 'DescribeInstanceTypes', ms: [1, 2] });
    await admin('/faults/attach-delay', { ms: 7 });
    await admin('/faults/metadata-lag', { ms: 9 });
    const st = (await admin('/faults')).json as Record<string, unknown>;
    expect(st).toMatchObject({
      attachDelayMs: 7,
      metadataLagMs: 9,
      latency: { DescribeInstanceTypes: [1, 2] },
      errorRates: [{ action: '*', rate: 1, kind: '5xx' }],
    });
    expect(await outcome(describeTypes())).toBe('InternalError');
    await admin('/faults/clear', {});
    expect(await outcome(describeTypes())).toBe('ok');
    expect((await admin('/faults/error-rate', { rate: 2, kind: '5xx' })).status).toBe(400);
    expect((await admin('/faults/error-rate', { rate: 1, kind: 'nope' })).status).toBe(400);
    expect((await admin('/nope')).status).toBe(404);
  });

  it('dumps the whole state as JSON', async () => {
    const c = await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({
        regionId: h.regionId,
        vSwitchId: 'vsw-mock-a',
        securityGroupIds: ['sg-mock-1'],
        secondaryPrivateIpAddressCount: 2,
      }),
    );
    await ecs.attachNetworkInterface(
      new $ecs.AttachNetworkInterfaceRequest({
        regionId: h.regionId,
        networkInterfaceId: c.body!.networkInterfaceId,
        instanceId: 'i-mock-node-2',
      }),
    );
    await h.settle();
    const viaHttp = (await admin('/dump')).json as WorldDump;
    const d = h.dump();
    expect(viaHttp).toEqual(JSON.parse(JSON.stringify(d)));
    expect(d.regionId).toBe('cn-hangzhou');
    expect(d.vpc).toEqual({
      id: 'vpc-mock-1',
      cidr: '10.0.0.0/16',
      ipv6Cidr: 'fd00:0:0:100::/56',
      routeTableId: 'vtb-mock-1',
      vRouterId: 'vrt-mock-1',
    });
    expect(d.instances.map((i) => [i.instanceId, i.eniIds.length])).toEqual([
      ['i-mock-node-1', 1],
      ['i-mock-node-2', 2],
    ]);
    const eni = d.enis.find((e) => e.eniId === c.body!.networkInterfaceId)!;
    expect(eni).toMatchObject({ status: 'InUse', instanceId: 'i-mock-node-2', type: 'Secondary' });
    expect(eni.secondaryIps).toHaveLength(2);
    const vswA = d.vSwitches.find((v) => v.vSwitchId === 'vsw-mock-a')!;
    expect(vswA.availableIpAddressCount).toBe(508 - 5);
    expect(vswA.usedIps).toHaveLength(5);
    expect(vswA.gateway).toBe('10.0.1.253');
  });
});
