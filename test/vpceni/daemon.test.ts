// daemon_mode VPCENI end to end without the kernel: startDaemon in-process against the mock cloud
// (SDK-backed client, ENI pool, SQLite pod DB, `none` driver), driven through the gRPC socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { DaemonConfig } from '../../daemon/config/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { FakeKube } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { oursInCloud } from './rig.js';

describe('daemon VPCENI + mock cloud', () => {
  let mock: MockCloudHandle;
  let dir: string;
  let config: DaemonConfig;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  const kube = new FakeKube();
  const log = captureLog();

  const start = async (): Promise<void> => {
    handle = await startDaemon(config, { logger: log.logger, kube, env: { NODE_NAME: 'node-1' } });
    client = connect(handle.socketPath);
  };
  const stop = async (): Promise<void> => {
    client?.close();
    await handle?.stop();
    client = undefined;
    handle = undefined;
  };

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10, detachDelayMs: 10 });
    dir = tempDir();
    config = mockCloudConfig(mock, dir, {
      daemon_mode: 'VPCENI',
      vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      min_pool_size: 1,
      max_pool_size: 1,
      max_eni: 3, // secondary ENIs (Terway's meaning): 3 ENIs for pods
      ip_cooldown: '0s',
      db_path: join(dir, 'db', 'pods.db'),
    });
    await start();
  });

  afterAll(async () => {
    await stop();
    await mock?.close();
  });

  const call = (method: string, req: unknown) => client!.call<Record<string, any>>(method, req, 30_000);

  it('starts ready in VPCENI, warms one ENI, advertises aliyun/eni = max_eni', async () => {
    const st = await call('Status', { api_version: API_VERSION });
    expect(st).toMatchObject({ ready: true, ip_type: 'VPC_ENI' });
    await waitFor(() => handle!.allocator.stats().free === 1, 'one warm ENI', 10_000);
    await waitFor(() => kube.resources.length > 0, 'extended resource written');
    expect(kube.resources).toEqual([{ node: 'node-1', resource: 'aliyun/eni', quantity: 3 }]);
  });

  it('AllocIP: ipType VPC_ENI, the ENI primary IP with the vSwitch prefix, gateway of the vSwitch', async () => {
    const r = await call('AllocIP', { pod: podMsg('ve-a'), api_version: API_VERSION });
    expect(r).toMatchObject({ success: true, ip_type: 'VPC_ENI', vswitch_id: 'vsw-mock-b' });
    const dump = mock.dump();
    const eni = dump.enis.find((e) => e.eniId === r.eni_id)!;
    const vsw = dump.vSwitches.find((v) => v.vSwitchId === 'vsw-mock-b')!;
    expect(eni).toMatchObject({ status: 'InUse', instanceId: 'i-mock-node-1', type: 'Secondary', mac: r.eni_mac });
    expect(r.ips[0]).toMatchObject({ address: `${eni.primaryIp}/24`, gateway: vsw.gateway });
    expect(vsw.gateway).toBe('10.0.2.253');
    const info = await call('GetIPInfo', { pod: podMsg('ve-a'), api_version: API_VERSION });
    expect(info).toMatchObject({ found: true, ip_type: 'VPC_ENI', eni_id: r.eni_id });
    expect(info.ips[0].address).toBe(`${eni.primaryIp}/24`);
    const again = await call('AllocIP', { pod: podMsg('ve-a'), api_version: API_VERSION });
    expect(again.eni_id).toBe(r.eni_id);
  });

  it('ENIs run out at max_eni: the fourth pod is refused as exhausted', async () => {
    await call('AllocIP', { pod: podMsg('ve-b'), api_version: API_VERSION });
    await call('AllocIP', { pod: podMsg('ve-c'), api_version: API_VERSION });
    const r = await call('AllocIP', { pod: podMsg('ve-d'), api_version: API_VERSION });
    expect(r).toMatchObject({ success: false, failure_reason: 'POOL_EXHAUSTED' });
    expect(oursInCloud(mock.dump()).filter((e) => e.status === 'InUse')).toHaveLength(3);
  });

  it('restart on the same DB keeps every pod on its ENI', async () => {
    const before = handle!.allocator.list().sort((a, b) => a.podKey.localeCompare(b.podKey));
    await stop();
    await start();
    const after = handle!.allocator.list().sort((a, b) => a.podKey.localeCompare(b.podKey));
    expect(after).toEqual(before);
    const info = await call('GetIPInfo', { pod: podMsg('ve-b'), api_version: API_VERSION });
    expect(info).toMatchObject({ found: true, ip_type: 'VPC_ENI' });
  });

  it('ReleaseIP: the ENI goes back to the pool; above max_pool_size it is detached and deleted', async () => {
    const a = handle!.allocator.list().find((x) => x.podKey.startsWith('ve-a/'))!;
    const b = handle!.allocator.list().find((x) => x.podKey.startsWith('ve-b/'))!;
    expect(await call('ReleaseIP', { pod: podMsg('ve-a'), api_version: API_VERSION, reason: 'test' })).toMatchObject({
      success: true,
      released_ip: a.ip,
    });
    expect(mock.dump().enis.find((e) => e.eniId === a.eniId)).toMatchObject({ status: 'InUse' }); // warm, kept
    expect(await call('ReleaseIP', { pod: podMsg('ve-b'), api_version: API_VERSION, reason: 'test' })).toMatchObject({
      success: true,
      released_ip: b.ip,
    });
    await waitFor(() => !mock.dump().enis.some((e) => e.eniId === b.eniId), 'ENI above max_pool_size deleted', 10_000);
    expect(handle!.allocator.stats()).toMatchObject({ free: 1, assigned: 1 });
    expect(await call('ReleaseIP', { pod: podMsg('ve-a'), api_version: API_VERSION, reason: 'again' })).toMatchObject({
      success: true,
      released_ip: '',
    });
  });
});
