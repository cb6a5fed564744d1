// The real daemon (startDaemon in-process) on the mock cloud as on an ECS node with a RAM role and no
// keys: eni_conf with `access_key: ""` / `access_secret: ""` (as Terway's chart renders them), the
// metadata in hardened-only mode, STS credentials that live 3 seconds. The daemon takes the role's
// credentials from the metadata, keeps allocating across refreshes, and — when the metadata stops
// rotating them — fails its cloud calls with the cloud's own InvalidSecurityToken.Expired.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { MOCK_NODE } from '../support/mockCloud.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

describe('daemon without keys: the instance RAM role, hardened metadata', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  const log = captureLog('debug');

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10, world: { stsTtlMs: 3_000, metadataHttpTokens: 'required' } });
    const dir = tempDir();
    const config = mockCloudConfig(mock, dir, {
      access_key: '',
      access_secret: '',
      credential_path: join(dir, 'no-addon-token'),
      vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      min_pool_size: 0,
      max_pool_size: 0, // every allocation is a cloud call
      ip_cooldown: '0s',
      alloc_timeout: '3s',
    });
    handle = await startDaemon(config, { logger: log.logger });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  const alloc = (id: string, deadlineMs = 10_000) =>
    client!.call<Record<string, any>>('AllocIP', { pod: podMsg(id), api_version: API_VERSION }, deadlineMs);

  it('starts: instance from the hardened metadata, credentials from the RAM role (one line, no secret)', async () => {
    expect(handle!.instanceId).toBe(MOCK_NODE);
    const chosen = log.lines().filter((l) => String(l['msg']).startsWith('cloud credentials from'));
    expect(chosen).toEqual([expect.objectContaining({ source: 'ecs_ram_role', role: 'eni-ipam-node', component: 'cloud' })]);
    const sts = mock.world.ram.forInstance(MOCK_NODE, 'eni-ipam-node', Date.now(), true);
    expect(log.text()).not.toContain(sts.accessKeySecret);
    expect(log.text()).not.toContain(sts.securityToken);
    // the daemon read the metadata only with a token (a read without one would have been refused with 403)
    const first = await alloc('ram-0');
    expect(first).toMatchObject({ success: true, ip_type: 'ENI_MULTI_IP' });
  });

  it('keeps allocating across credential refreshes', async () => {
    const refreshes = () => log.lines().filter((l) => l['msg'] === 'cloud credentials refreshed').length;
    const start = refreshes();
    let n = 0;
    for (const deadline = Date.now() + 15_000; refreshes() < start + 2 && Date.now() < deadline; n++) {
      const r = await alloc(`ram-${n + 1}`);
      expect(r.success, `allocation ${n + 1}`).toBe(true);
      const ip = (r.ips[0].address as string).replace('/32', '');
      // An address of a secondary ENI, its own primary included (ADR 0007), on the ENI the reply names.
      const eni = mock.dump().enis.find((e) => e.eniId === r.eni_id)!;
      expect(eni.type).toBe('Secondary');
      expect([eni.primaryIp, ...eni.secondaryIps]).toContain(ip);
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(refreshes()).toBeGreaterThanOrEqual(start + 2);
    expect(log.lines().some((l) => l['code'] === 'InvalidSecurityToken.Expired')).toBe(false);
  });

  it('fails with the cloud’s InvalidSecurityToken.Expired once the credentials it holds have expired', async () => {
    mock.faults.freezeRamCredentials(true);
    const held = mock.world.ram.forInstance(MOCK_NODE, 'eni-ipam-node', Date.now(), true);
    await waitFor(() => Date.now() >= held.expiresAt, 'the credentials expired', 10_000);
    const r = await alloc('ram-expired');
    // the plugin's answer carries the cloud's code, so the kubelet event says why
    expect(r).toMatchObject({ success: false, failure_reason: 'ALLOC_TIMEOUT', cloud_error_code: 'InvalidSecurityToken.Expired' });
    await waitFor(
      () => log.lines().some((l) => l['msg'] === 'cloud call failed' && l['code'] === 'InvalidSecurityToken.Expired'),
      'the pool logged the cloud’s code',
      5_000,
    );
    mock.faults.freezeRamCredentials(false);
  });
});
