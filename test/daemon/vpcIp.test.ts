// VPCIP mode: pod-CIDR arithmetic, and the daemon against the mock cloud (route entry + AllocIP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contains, nextFree, parsePodCidr, usableCount } from '../../daemon/modes/vpcIp/index.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { DaemonConfig } from '../../daemon/config/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

describe('pod CIDR arithmetic', () => {
  it.each([
    ['172.20.1.0/24', '172.20.1.1', '172.20.1.2', 253],
    ['10.8.0.0/29', '10.8.0.1', '10.8.0.2', 5],
    ['10.0.0.0/16', '10.0.0.1', '10.0.0.2', 65533],
  ])('%s: gateway %s, first %s, %d usable', (cidr, gw, first, n) => {
    const c = parsePodCidr(cidr);
    expect(c.gateway).toBe(gw);
    expect(nextFree(c, new Set())).toBe(first);
    expect(usableCount(c)).toBe(n);
  });

  it.each([
    ['10.0.0.0', /not an IPv4 CIDR/],
    ['10.0.0.1/24', /host bits set/],
    ['10.0.0.0/30', /out of range/],
    ['300.0.0.0/24', /not an IPv4 address/],
  ])('rejects %s', (cidr, want) => {
    expect(() => parsePodCidr(cidr)).toThrow(want);
  });

  it('hands out round-robin after the cursor, skipping taken ones, and reports full', () => {
    const c = parsePodCidr('10.8.0.0/29'); // .2 .. .6
    expect(nextFree(c, new Set(['10.8.0.2', '10.8.0.3']))).toBe('10.8.0.4');
    expect(nextFree(c, new Set(), '10.8.0.4')).toBe('10.8.0.5');
    expect(nextFree(c, new Set(['10.8.0.2']), '10.8.0.6')).toBe('10.8.0.3'); // wraps, skips .2
    expect(nextFree(c, new Set(['10.8.0.2', '10.8.0.3', '10.8.0.4', '10.8.0.5', '10.8.0.6']))).toBeUndefined();
    expect(contains(c, '10.8.0.7')).toBe(true);
    expect(contains(c, '10.8.0.8')).toBe(false);
  });
});

describe('VPCIP daemon + mock cloud', () => {
  let mock: MockCloudHandle;
  let config: DaemonConfig;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;

  beforeAll(async () => {
    mock = await startMockCloud();
    const dir = tempDir();
    config = mockCloudConfig(
      mock,
      dir,
      {
        daemon_mode: 'VPCIP',
        pod_cidr: '172.20.1.0/29',
        ip_cooldown: '1h',
      },
      'i-mock-node-2',
    );
    handle = await startDaemon(config, { logger: captureLog().logger });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  const call = (method: string, req: unknown) => client!.call<Record<string, any>>(method, req, 10_000);

  it('routes the pod CIDR to the instance in the VPC route table', () => {
    const entries = mock.dump().routeTables.flatMap((t) => t.entries);
    expect(entries).toContainEqual(
      expect.objectContaining({ destinationCidrBlock: '172.20.1.0/29', nextHopType: 'Instance', nextHopId: 'i-mock-node-2' }),
    );
  });

  it('AllocIP hands out pod-CIDR addresses; exhaustion and cool-down are reported', async () => {
    const ips: string[] = [];
    for (const id of ['v1', 'v2', 'v3', 'v4', 'v5']) {
      const r = await call('AllocIP', { pod: podMsg(id), api_version: API_VERSION });
      expect(r).toMatchObject({ success: true, ip_type: 'VPC_IP', eni_id: '' });
      ips.push(r.ips[0].address);
    }
    expect(ips).toEqual(['172.20.1.2/32', '172.20.1.3/32', '172.20.1.4/32', '172.20.1.5/32', '172.20.1.6/32']);
    const full = await call('AllocIP', { pod: podMsg('v6'), api_version: API_VERSION });
    expect(full).toMatchObject({ success: false, failure_reason: 'POOL_EXHAUSTED' });
    expect(full.message).toMatch(/pod CIDR 172\.20\.1\.0\/29 has no free address \(5 assigned, 0 cooling down\)/);
    expect(await call('ReleaseIP', { pod: podMsg('v1'), api_version: API_VERSION })).toMatchObject({
      success: true,
      released_ip: '172.20.1.2',
    });
    // Released, but cooling down for an hour: still no address.
    expect(await call('AllocIP', { pod: podMsg('v6'), api_version: API_VERSION })).toMatchObject({
      success: false,
      failure_reason: 'POOL_EXHAUSTED',
    });
    expect(await call('Status', { api_version: API_VERSION })).toMatchObject({ ip_type: 'VPC_IP', free_ips: 0, total_ips: 5 });
  });

  it('keeps allocations across a restart and re-ensures the route idempotently', async () => {
    client!.close();
    await handle!.stop();
    handle = await startDaemon(config, { logger: captureLog().logger });
    client = connect(handle.socketPath);
    expect(await call('GetIPInfo', { pod: podMsg('v3'), api_version: API_VERSION })).toMatchObject({
      found: true,
      ips: [{ address: '172.20.1.4/32' }],
    });
    const entries = mock
      .dump()
      .routeTables.flatMap((t) => t.entries)
      .filter((e) => e.destinationCidrBlock === '172.20.1.0/29');
    expect(entries).toHaveLength(1);
    const gc = await call('GC', {
      network_name: 'eni-net',
      valid_attachments: [{ container_id: 'v2', if_name: 'eth0' }],
      api_version: API_VERSION,
    });
    expect(gc.released.sort()).toEqual(['v3/eth0/eni-net', 'v4/eth0/eni-net', 'v5/eth0/eni-net']);
  });
});
