// The ENIMultiIP service and its helpers without gRPC.
import { describe, expect, it } from 'vitest';
import { PoolError, type PodRef } from '../../pool/types.js';
import { DriverError } from '../../drivers/types.js';
import { CloudError } from '../../daemon/cloud/types.js';
import { EniMultiIpService, KeyedMutex, ServiceError, createNetworkService, mapFailure } from '../../daemon/modes/index.js';
import { DaemonMetrics } from '../../daemon/metrics.js';
import { FakeAllocator, FakeDriver, Gate } from '../support/fakes.js';
import { captureLog } from '../support/log.js';

const pod = (id: string, networkName = 'net'): PodRef => ({
  namespace: 'ns',
  name: `p-${id}`,
  containerId: id,
  ifName: 'eth0',
  networkName,
  netns: `/proc/1/ns/net`,
});

function service(allocator = new FakeAllocator(), driver = new FakeDriver()) {
  const svc = new EniMultiIpService({ allocator, driver, mtu: 1450, logger: captureLog().logger, now: () => 1_000_000 });
  return { svc, allocator, driver };
}

describe('KeyedMutex', () => {
  it('runs one key in arrival order and different keys concurrently', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const g = new Gate();
    const a = m.run('k', async () => {
      order.push('a-start');
      await g.promise;
      order.push('a-end');
    });
    const b = m.run('k', async () => {
      order.push('b');
    });
    const other = m.run('other', async () => {
      order.push('other');
    });
    await other;
    expect(order).toEqual(['a-start', 'other']);
    expect(m.size).toBe(1);
    g.open();
    await Promise.all([a, b]);
    expect(order).toEqual(['a-start', 'other', 'a-end', 'b']);
    expect(m.size).toBe(0);
  });

  it('a failing call does not block the next one', async () => {
    const m = new KeyedMutex();
    await expect(m.run('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(m.run('k', async () => 7)).resolves.toBe(7);
  });
});

describe('mapFailure', () => {
  it.each([
    [
      new PoolError('Exhausted', 'empty', { cloudCode: 'QuotaExceeded.PrivateIpAddress' }),
      'POOL_EXHAUSTED',
      'QuotaExceeded.PrivateIpAddress',
    ],
    [new PoolError('Timeout', 'late'), 'ALLOC_TIMEOUT', undefined],
    [new PoolError('ShuttingDown', 'bye'), 'SHUTTING_DOWN', undefined],
    [new PoolError('Internal', 'bug'), 'INTERNAL', undefined],
    [new DriverError('setup', 'EEXIST'), 'DRIVER_FAILED', undefined],
    [
      new CloudError({ api: 'AssignPrivateIpAddresses', code: 'InvalidVSwitchId.IpNotEnough', message: 'full', retryable: false }),
      'POOL_EXHAUSTED',
      'InvalidVSwitchId.IpNotEnough',
    ],
    [
      new CloudError({ api: 'CreateNetworkInterface', code: 'Forbidden.RAM', message: 'no', retryable: false }),
      'INTERNAL',
      'Forbidden.RAM',
    ],
    [new ServiceError('NOT_FOUND', 'none'), 'NOT_FOUND', undefined],
    [new Error('plain'), 'INTERNAL', undefined],
    ['a string', 'INTERNAL', undefined],
  ])('%s -> %s', (err, reason, code) => {
    const f = mapFailure(err);
    expect(f.reason).toBe(reason);
    expect(f.cloudCode).toBe(code);
  });
});

/** Hands out IPv4+IPv6 pairs, as the multi-IP pool in dual stack. */
class DualAllocator extends FakeAllocator {
  override async allocate(p: PodRef) {
    const a = await super.allocate(p);
    return Object.assign(a, {
      ipv6: `fd00:0:0:100::${a.ip.split('.')[3]}`,
      vSwitchIpv6Cidr: 'fd00:0:0:100::/64',
      ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd',
    });
  }
}

describe('EniMultiIpService, dual stack', () => {
  it('wires both addresses and answers both with routes for both families; DEL, CHECK and GetIPInfo carry the IPv6 address', async () => {
    const { svc, driver } = service(new DualAllocator());
    await svc.start();
    const r = await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(driver.setups[0]).toMatchObject({ ip: '10.0.1.10', ipv6: 'fd00:0:0:100::10', ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd' });
    expect(r.ips).toEqual([
      { address: '10.0.1.10/32', gateway: '169.254.1.1', family: 4 },
      { address: 'fd00:0:0:100::10/128', gateway: 'fe80::1', family: 6 },
    ]);
    expect(r.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::1' },
    ]);
    const info = await svc.getIpInfo(pod('a'));
    expect(info.ips.map((i) => i.address)).toEqual(['10.0.1.10/32', 'fd00:0:0:100::10/128']);
    await svc.checkIp(pod('a'));
    await svc.releaseIp(pod('a'), 'test');
    expect(driver.teardowns[0]).toMatchObject({ ip: '10.0.1.10', ipv6: 'fd00:0:0:100::10' });
  });
});

describe('EniMultiIpService', () => {
  it('passes the MTU and the allocation to the driver', async () => {
    const { svc, driver } = service();
    await svc.start();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(driver.setups[0]).toMatchObject({
      mtu: 1450,
      ip: '10.0.1.10',
      eniId: 'eni-fake1',
      vSwitchCidr: '10.0.1.0/24',
      primaryEni: false,
    });
  });

  it('re-wires a repeated ADD whose wiring is gone', async () => {
    const { svc, driver } = service();
    await svc.start();
    const first = await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    driver.failCheck = 'link gone';
    const again = await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(again.ips).toEqual(first.ips);
    expect(driver.setups).toHaveLength(2);
    expect(driver.teardowns).toHaveLength(1);
  });

  it('status: starting, ready, backing off with no free IP, stopped', async () => {
    const allocator = new FakeAllocator(['10.0.1.10']);
    const { svc } = service(allocator);
    expect(svc.status()).toMatchObject({ ready: false, message: 'pool is starting' });
    await svc.start();
    expect(svc.status()).toMatchObject({ ready: true, freeIps: 1, totalIps: 1 });
    allocator.backoffUntil = 1_000_000 + 30_000;
    expect(svc.status().ready).toBe(true); // backing off, but an IP is still free
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(svc.status()).toMatchObject({ ready: false, message: 'no free IP and allocation paused for 30s: InvalidVSwitchId.IpNotEnough' });
    allocator.backoffUntil = 1_000_000 - 1;
    expect(svc.status().ready).toBe(true); // backoff over: the pool may grow again
    await svc.stop();
    expect(svc.status()).toMatchObject({ ready: false, message: 'daemon is shutting down' });
    expect(allocator.stopped).toBe(true);
    await expect(svc.allocIp(pod('b'), { deadlineMs: 1000 })).rejects.toMatchObject({ reason: 'SHUTTING_DOWN' });
  });

  it('GC does not tear down a key re-allocated while GC ran', async () => {
    const allocator = new FakeAllocator();
    const { svc, driver } = service(allocator);
    await svc.start();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    const realGc = allocator.gcExcept.bind(allocator);
    allocator.gcExcept = async (valid) => {
      const released = await realGc(valid);
      await allocator.allocate(pod('a')); // a new ADD for the same key slipped in
      return released;
    };
    expect(await svc.gc('net', [])).toEqual(['a/eth0/net']);
    expect(driver.teardowns).toHaveLength(0);
  });

  it('a failed setup releases the IP only when its cleanup succeeded; otherwise DEL releases it', async () => {
    const { svc, allocator, driver } = service();
    await svc.start();
    driver.failSetup = 'veth exists';
    await expect(svc.allocIp(pod('a'), { deadlineMs: 1000 })).rejects.toMatchObject({ reason: 'DRIVER_FAILED' });
    expect(allocator.get('a/eth0/net')).toBeUndefined();

    driver.failTeardown = 'device busy';
    await expect(svc.allocIp(pod('b'), { deadlineMs: 1000 })).rejects.toThrow(/kept until DEL/);
    const kept = allocator.get('b/eth0/net');
    expect(kept).toBeDefined();

    driver.failTeardown = undefined;
    expect(await svc.releaseIp(pod('b'), 'cni del')).toEqual({ releasedIp: kept!.ip });
    expect(allocator.get('b/eth0/net')).toBeUndefined();
  });

  it('each daemon mode gets the service that replies with its IP type', () => {
    const deps = { allocator: new FakeAllocator(), driver: new FakeDriver(), mtu: 1500, logger: captureLog().logger };
    expect(createNetworkService('VPCENI', deps).ipType).toBe('VPC_ENI');
    expect(createNetworkService('ENIMultiIP', deps).ipType).toBe('ENI_MULTI_IP');
    expect(createNetworkService('VPCIP', deps).ipType).toBe('VPC_IP');
  });
});

describe('DaemonMetrics', () => {
  it('records RPC latency by method and failure, pool gauges and cloud counters at scrape time', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    const allocator = new FakeAllocator(['10.0.0.1', '10.0.0.2']);
    let calls = 3;
    m.setSources({
      poolStats: () => allocator.stats(),
      cloudStats: () => ({
        CreateNetworkInterface: { calls, errors: 1, throttled: 1, retries: 2, totalLatencyMs: 1500, maxLatencyMs: 900 },
      }),
    });
    m.startRpc('AllocIP')('');
    m.startRpc('AllocIP')('POOL_EXHAUSTED');
    let text = await m.text();
    expect(text).toContain('eniipam_rpc_latency_seconds_count{rpc_api="AllocIP",error=""} 1');
    expect(text).toContain('eniipam_rpc_latency_seconds_count{rpc_api="AllocIP",error="POOL_EXHAUSTED"} 1');
    expect(text).toContain('eniipam_pool_ips{state="free"} 2');
    expect(text).toContain('eniipam_cloud_api_calls_total{api="CreateNetworkInterface"} 3');
    expect(text).toContain('eniipam_cloud_api_throttled_total{api="CreateNetworkInterface"} 1');
    expect(text).toContain('eniipam_cloud_api_latency_seconds_total{api="CreateNetworkInterface"} 1.5');
    await allocator.allocate(pod('x'));
    calls = 5;
    text = await m.text();
    expect(text).toContain('eniipam_pool_ips{state="assigned"} 1');
    expect(text).toContain('eniipam_cloud_api_calls_total{api="CreateNetworkInterface"} 5');
  });
});
