// The real daemon (startDaemon in-process) against the mock cloud: SDK-backed cloud client, real
// pool, SQLite pod DB, `none` driver. AllocIP / ReleaseIP / GC / Status through gRPC, metrics, restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ipv4CidrContains } from '../../lib/ipv4.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { DaemonConfig } from '../../daemon/config/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

describe('daemon + mock cloud', () => {
  let mock: MockCloudHandle;
  let dir: string;
  let config: DaemonConfig;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  const log = captureLog();

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 20 });
    dir = tempDir();
    config = mockCloudConfig(mock, dir, {
      vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      // no security_group: copied from the primary ENI
      // More than one secondary ENI holds (20 addresses on ecs.g7.4xlarge): forces two ENIs.
      min_pool_size: 25,
      max_pool_size: 30,
      ip_cooldown: '0s',
      db_path: join(dir, 'db', 'pods.db'),
      metrics_listen: '127.0.0.1:0',
    });
    handle = await startDaemon(config, { logger: log.logger });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  const call = (method: string, req: unknown) => client!.call<Record<string, any>>(method, req, 30_000);

  it('starts against the cloud: instance from metadata, ready', async () => {
    expect(handle!.instanceId).toBe('i-mock-node-1');
    expect(log.lines().some((l) => l['msg'] === 'security groups copied from the primary ENI')).toBe(true);
    const st = await call('Status', { api_version: API_VERSION });
    expect(st.ready).toBe(true);
    expect(await client!.health()).toEqual({ status: 'SERVING' });
  });

  it("AllocIP hands out addresses of secondary ENIs (a secondary ENI's own primary included), never eth0", async () => {
    const [a, b] = await Promise.all([
      call('AllocIP', { pod: podMsg('int-a'), api_version: API_VERSION }),
      call('AllocIP', { pod: podMsg('int-b'), api_version: API_VERSION }),
    ]);
    const dump = mock.dump();
    for (const r of [a, b]) {
      expect(r).toMatchObject({ success: true, ip_type: 'ENI_MULTI_IP' });
      const ip = (r.ips[0].address as string).replace('/32', '');
      const eni = dump.enis.find((e) => e.eniId === r.eni_id)!;
      expect(eni.instanceId).toBe('i-mock-node-1');
      expect(eni.type).toBe('Secondary');
      expect([eni.primaryIp, ...eni.secondaryIps]).toContain(ip);
      expect(r.eni_mac).toBe(eni.mac);
      const vsw = dump.vSwitches.find((v) => v.vSwitchId === r.vswitch_id)!;
      expect(eni.vSwitchId).toBe(vsw.vSwitchId);
      expect(ipv4CidrContains(vsw.cidr, ip)).toBe(true);
      expect(r.ips[0].gateway).toBe(vsw.gateway);
    }
    expect(a.ips[0].address).not.toBe(b.ips[0].address);
  });

  it('fills the pool to min_pool_size with a new ENI on the configured vSwitch', async () => {
    await waitFor(() => handle!.allocator.stats().free >= 25, 'pool filled to min_pool_size', 20_000);
    const created = mock.dump().enis.filter((e) => e.instanceId === 'i-mock-node-1' && e.type === 'Secondary');
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.every((e) => e.vSwitchId === 'vsw-mock-b' && e.securityGroupIds.includes('sg-mock-1'))).toBe(true);
  });

  it('AllocIP repeated for the same key answers the same IP', async () => {
    const first = await call('GetIPInfo', { pod: podMsg('int-a'), api_version: API_VERSION });
    const again = await call('AllocIP', { pod: podMsg('int-a'), api_version: API_VERSION });
    expect(again.ips[0].address).toBe(first.ips[0].address);
  });

  it('ReleaseIP returns the IP; a second ReleaseIP succeeds with nothing to do', async () => {
    const info = await call('GetIPInfo', { pod: podMsg('int-a'), api_version: API_VERSION });
    const r = await call('ReleaseIP', { pod: podMsg('int-a'), api_version: API_VERSION, reason: 'test' });
    expect(r).toMatchObject({ success: true, released_ip: info.ips[0].address.replace('/32', '') });
    expect(await call('GetIPInfo', { pod: podMsg('int-a'), api_version: API_VERSION })).toMatchObject({ found: false });
    expect(await call('ReleaseIP', { pod: podMsg('int-a'), api_version: API_VERSION, reason: 'again' })).toMatchObject({
      success: true,
      released_ip: '',
    });
  });

  it('GC releases allocations the runtime no longer lists', async () => {
    await call('AllocIP', { pod: podMsg('int-c'), api_version: API_VERSION });
    const r = await call('GC', {
      network_name: 'eni-net',
      valid_attachments: [{ container_id: 'int-c', if_name: 'eth0' }],
      api_version: API_VERSION,
    });
    expect(r).toMatchObject({ success: true, released: ['int-b/eth0/eni-net'] });
    expect(handle!.allocator.list().map((a) => a.podKey)).toEqual(['int-c/eth0/eni-net']);
  });

  it('serves /metrics with RPC latency, pool gauges and cloud API counters', async () => {
    const res = await fetch(`http://${handle!.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/eniipam_rpc_latency_seconds_count\{rpc_api="AllocIP",error=""\} [1-9]/);
    expect(text).toMatch(/eniipam_pool_ips\{state="assigned"\} 1/);
    expect(text).toMatch(/eniipam_cloud_api_calls_total\{api="CreateNetworkInterface"\} [1-9]/);
    expect(text).toMatch(/eniipam_pool_enis \d/);
    const hz = await fetch(`http://${handle!.metricsAddress}/healthz`);
    expect(hz.status).toBe(200);
    expect(await hz.text()).toBe('ok\n');
  });

  it('keeps allocations across a restart (pod DB)', async () => {
    const before = await call('GetIPInfo', { pod: podMsg('int-c'), api_version: API_VERSION });
    client!.close();
    await handle!.stop();
    handle = await startDaemon(config, { logger: log.logger });
    client = connect(handle.socketPath);
    const after = await call('GetIPInfo', { pod: podMsg('int-c'), api_version: API_VERSION });
    expect(after).toMatchObject({ found: true, eni_id: before.eni_id });
    expect(after.ips[0].address).toBe(before.ips[0].address);
    await waitFor(() => handle!.allocator.stats().free >= 25, 'pool refilled to min_pool_size', 20_000);
    const r = await call('ReleaseIP', { pod: podMsg('int-c'), api_version: API_VERSION, reason: 'done' });
    expect(r.success).toBe(true);
  });
});
