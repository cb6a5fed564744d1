// The SDK-backed client without keys, as on an ECS node with a RAM role: STS credentials from the
// metadata (hardened mode included), refreshed before they expire, the cloud's own code when expired
// ones are used, and recovery once the metadata serves fresh ones again.
import { afterEach, describe, expect, it } from 'vitest';
import { startMockCloud, defaultWorldSpec, type MockCloudHandle, type StartOptions } from '../../sim/mockcloud/index.js';
import { AliyunCloud, type AliyunCloudOptions } from '../../daemon/cloud/client.js';
import { CloudError } from '../../daemon/cloud/types.js';
import { captureLog } from '../support/log.js';
import { MOCK_NODE } from '../support/mockCloud.js';
import { waitFor } from '../support/wait.js';

const open: { mc: MockCloudHandle; cloud: AliyunCloud }[] = [];
afterEach(async () => {
  for (const { mc, cloud } of open.splice(0)) {
    cloud.close();
    await mc.close();
  }
});

/** A client with no access key and no credential file: only the instance RAM role is left. */
async function setup(mockOpts: StartOptions = {}, cloudOpts: Partial<AliyunCloudOptions> = {}, instanceId = MOCK_NODE) {
  const mc = await startMockCloud({ attachDelayMs: 5, ...mockOpts });
  const log = captureLog('debug');
  const cloud = new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: '',
    accessKeySecret: '',
    credentialPath: '/nonexistent/eni-ipam-test/token-config',
    metadataBaseUrl: mc.metadataUrl(instanceId),
    qps: Infinity,
    terwayRateLimitDefaults: false,
    retry: { attempts: 2, baseMs: 5, capMs: 20, factor: 2, jitter: 0 },
    requestTimeoutMs: 2_000,
    logger: log.logger,
    ...cloudOpts,
  });
  open.push({ mc, cloud });
  return { mc, cloud, log };
}

const listTypes = (cloud: AliyunCloud) => cloud.describeInstanceTypeLimits(`ecs.g7.large-${Math.random()}`).catch((e: unknown) => e);

async function cloudCall(cloud: AliyunCloud): Promise<unknown> {
  // DescribeVSwitches is not cached: every call reaches the cloud.
  return cloud.describeVSwitches(['vsw-mock-a']).catch((e: unknown) => e);
}

describe('AliyunCloud without keys on a node with a RAM role', () => {
  it('signs with the role’s STS credentials from the metadata; one log line names the source, never a secret', async () => {
    const { mc, cloud, log } = await setup();
    expect(await cloud.credentialSource()).toBe('ecs_ram_role');
    expect(await cloudCall(cloud)).toEqual([expect.objectContaining({ vSwitchId: 'vsw-mock-a' })]);
    const chosen = log.lines().filter((l) => String(l['msg']).startsWith('cloud credentials from'));
    expect(chosen).toEqual([
      expect.objectContaining({ msg: 'cloud credentials from ecs_ram_role', source: 'ecs_ram_role', role: 'eni-ipam-node' }),
    ]);
    expect(chosen[0]!['skipped']).toEqual([
      'access_key: access_key / access_secret not set',
      'credential_path: /nonexistent/eni-ipam-test/token-config does not exist',
    ]);
    const sts = mc.world.ram.forInstance(MOCK_NODE, 'eni-ipam-node', Date.now());
    expect(log.text()).not.toContain(sts.accessKeySecret);
    expect(log.text()).not.toContain(sts.securityToken);
    // an unknown type answers the cloud's own error: the request was signed and accepted
    expect(await listTypes(cloud)).toMatchObject({ code: 'InvalidInstanceType.ValueNotSupported' });
  });

  it('keeps working across refreshes of short-lived credentials', async () => {
    const { cloud, log } = await setup({ world: { stsTtlMs: 2_000 } });
    const refreshes = () => log.lines().filter((l) => l['msg'] === 'cloud credentials refreshed').length;
    let calls = 0;
    // the first fetch is one "refresh"; two more mean the client moved on to new credentials twice
    for (const deadline = Date.now() + 10_000; refreshes() < 3 && Date.now() < deadline; calls++) {
      expect(await cloudCall(cloud), 'every call succeeds').not.toBeInstanceOf(Error);
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(refreshes()).toBeGreaterThanOrEqual(3);
    expect(calls).toBeGreaterThan(5);
    expect(log.lines().some((l) => String(l['msg']).includes('failed'))).toBe(false);
  });

  it('fails with the cloud’s InvalidSecurityToken.Expired once expired credentials are used, and recovers when fresh ones come', async () => {
    const { mc, cloud, log } = await setup({ world: { stsTtlMs: 2_000 } }, { credentialRefresh: { minRetryMs: 50, maxRetryMs: 200 } });
    expect(await cloudCall(cloud)).not.toBeInstanceOf(Error);
    mc.faults.freezeRamCredentials(true); // the metadata stops rotating them
    const held = mc.world.ram.forInstance(MOCK_NODE, 'eni-ipam-node', Date.now(), true);
    await waitFor(() => Date.now() >= held.expiresAt, 'the credentials expired', 5_000);
    const err = await cloudCall(cloud);
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ code: 'InvalidSecurityToken.Expired', httpStatus: 400, retryable: false });
    expect(log.lines().some((l) => l['msg'] === 'cloud credentials fetched are already expired')).toBe(true);
    mc.faults.freezeRamCredentials(false);
    await waitFor(async () => !((await cloudCall(cloud)) instanceof Error), 'calls work again with fresh credentials', 5_000);
  });

  it('works with the metadata in hardened-only mode (a token with every read)', async () => {
    const { cloud } = await setup({ world: { metadataHttpTokens: 'required' } });
    expect(await cloud.getInstanceMetadata()).toMatchObject({ instanceId: MOCK_NODE, regionId: 'cn-hangzhou' });
    expect(await cloudCall(cloud)).not.toBeInstanceOf(Error);
    expect(cloud.metadataStats().errors).toBe(0);
  });

  it('without a role either: start-up learns there is no source; every call fails with CredentialsUnavailable', async () => {
    const d = defaultWorldSpec();
    const { cloud } = await setup({ world: { instances: [{ ...d.instances[0]!, id: 'i-bare', ramRole: null }] } }, {}, 'i-bare');
    await expect(cloud.credentialSource()).rejects.toThrow(
      /no cloud credentials: .*ecs_ram_role: no RAM role is attached to this instance/,
    );
    expect(await cloudCall(cloud)).toMatchObject({ code: 'CredentialsUnavailable', retryable: false });
  });

  it('an access key, when given, wins (the RAM role is not read)', async () => {
    const mc = await startMockCloud();
    const log = captureLog();
    const cloud = new AliyunCloud({
      regionId: mc.regionId,
      endpoint: mc.url,
      accessKeyId: mc.accessKeyId,
      accessKeySecret: mc.accessKeySecret,
      metadataBaseUrl: mc.metadataUrl(MOCK_NODE),
      logger: log.logger,
    });
    open.push({ mc, cloud });
    expect(await cloud.credentialSource()).toBe('access_key');
    expect(cloud.metadataStats().requests).toBe(0);
    expect(log.lines().find((l) => l['msg'] === 'cloud credentials from access_key')).toMatchObject({ accessKeyId: 'LTAI****Id01' });
    expect(log.text()).not.toContain(mc.accessKeySecret);
  });
});
