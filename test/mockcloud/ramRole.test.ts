// Instance RAM roles and the hardened metadata mode: the metadata serves the role's STS credentials,
// the gateway accepts an STS key only with its own unexpired security token (ACS3 header and RPC
// parameter), and in hardened-only mode every metadata read needs a token from PUT /latest/api/token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle, DEFAULT_RAM_ROLE, defaultWorldSpec } from '../../sim/mockcloud/index.js';
import { RamCredentials } from '../../sim/mockcloud/ram.js';
import { $ecs, ecsClient } from '../../sim/mockcloud/sdk.js';
import { waitFor } from '../support/wait.js';

let h: MockCloudHandle;

beforeAll(async () => {
  const d = defaultWorldSpec();
  h = await startMockCloud({
    world: {
      stsTtlMs: 2_000,
      instances: [...d.instances, { ...d.instances[0]!, id: 'i-no-role', ramRole: null }],
    },
  });
});
afterAll(async () => {
  await h.close();
});

interface Sts {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  LastUpdated: string;
  Code: string;
}

async function get(instanceId: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.metadataUrl(instanceId)}/latest/meta-data/${path}`, { headers });
  return { status: res.status, text: await res.text() };
}

async function roleCredentials(instanceId = 'i-mock-node-1'): Promise<Sts> {
  const role = await get(instanceId, 'ram/security-credentials/');
  expect(role).toEqual({ status: 200, text: DEFAULT_RAM_ROLE });
  const r = await get(instanceId, `ram/security-credentials/${role.text}`);
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as Sts;
}

function stsClient(c: Pick<Sts, 'AccessKeyId' | 'AccessKeySecret'>, securityToken: string | undefined, rpc = false) {
  return ecsClient(h, {
    accessKeyId: c.AccessKeyId,
    accessKeySecret: c.AccessKeySecret,
    ...(securityToken !== undefined ? { securityToken } : {}),
    ...(rpc ? { signatureAlgorithm: 'v2' } : {}),
  });
}

const call = (c: ReturnType<typeof ecsClient>) => c.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({}));

describe('instance RAM role credentials', () => {
  it('the metadata lists the role and serves its STS credentials; an instance without a role has none', async () => {
    const c = await roleCredentials();
    expect(c.Code).toBe('Success');
    expect(c.AccessKeyId).toMatch(/^STS\./);
    expect(c.SecurityToken.length).toBeGreaterThan(100);
    expect(c.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(c.Expiration)).toBeGreaterThan(Date.parse(c.LastUpdated));
    expect((await get('i-mock-node-1', 'ram/')).text).toBe('security-credentials/');
    expect((await get('i-mock-node-1', '')).text.split('\n')).toContain('ram/');
    expect((await get('i-mock-node-1', 'ram/security-credentials/other-role')).status).toBe(404);
    expect((await get('i-no-role', 'ram/security-credentials/')).status).toBe(404);
  });

  it('the API accepts the STS key with its token, in ACS3 (x-acs-security-token) and RPC (SecurityToken)', async () => {
    const c = await roleCredentials();
    await expect(call(stsClient(c, c.SecurityToken))).resolves.toBeDefined();
    await expect(call(stsClient(c, c.SecurityToken, true))).resolves.toBeDefined();
  });

  it('refuses an STS key without its token, with another key’s token or a made-up one, and a token on a permanent key', async () => {
    const c = await roleCredentials();
    const other = await roleCredentials('i-mock-node-2');
    await expectCloudError(call(stsClient(c, undefined)), 'MissingSecurityToken', 400);
    await expectCloudError(call(stsClient(c, other.SecurityToken)), 'InvalidSecurityToken.MismatchWithAccessKey', 400);
    await expectCloudError(call(stsClient(c, 'CAISnot-a-token', true)), 'InvalidSecurityToken.Malformed', 400);
    await expectCloudError(call(ecsClient(h, { securityToken: c.SecurityToken })), 'InvalidSecurityToken.MismatchWithAccessKey', 400);
  });

  it('refuses the key once it expired (InvalidSecurityToken.Expired); the metadata has rotated to new ones by then', async () => {
    const c = await roleCredentials();
    await waitFor(() => Date.now() >= Date.parse(c.Expiration), 'the credentials expired', 5_000);
    await expectCloudError(call(stsClient(c, c.SecurityToken)), 'InvalidSecurityToken.Expired', 400);
    const fresh = await roleCredentials();
    expect(fresh.AccessKeyId).not.toBe(c.AccessKeyId);
    await expect(call(stsClient(fresh, fresh.SecurityToken))).resolves.toBeDefined();
  });

  it('with the ramCredentialsFrozen fault the metadata keeps serving the same credentials past their expiry', async () => {
    h.faults.freezeRamCredentials(true);
    try {
      const c = await roleCredentials();
      await waitFor(() => Date.now() >= Date.parse(c.Expiration), 'the credentials expired', 5_000);
      expect((await roleCredentials()).AccessKeyId).toBe(c.AccessKeyId);
      await expectCloudError(call(stsClient(c, c.SecurityToken)), 'InvalidSecurityToken.Expired', 400);
    } finally {
      h.faults.freezeRamCredentials(false);
    }
    expect(h.faults.state().ramCredentialsFrozen).toBe(false);
  });

  it('rotates once less than half the lifetime is left; the old credentials stay valid until their own expiry', () => {
    const ram = new RamCredentials(60_000);
    const t0 = 1_700_000_000_000;
    const a = ram.forInstance('i-1', 'role', t0);
    expect(a.expiresAt).toBe(t0 + 60_000);
    expect(ram.forInstance('i-1', 'role', t0 + 29_000)).toBe(a);
    const b = ram.forInstance('i-1', 'role', t0 + 31_000);
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(ram.lookup(a.accessKeyId)).toBe(a);
    expect(ram.forInstance('i-1', 'role', t0 + 200_000, true)).toBe(b);
  });
});

describe('hardened metadata mode', () => {
  const token = async (instanceId: string, headers: Record<string, string> = { 'X-aliyun-ecs-metadata-token-ttl-seconds': '60' }) => {
    const res = await fetch(`${h.metadataUrl(instanceId)}/latest/api/token`, { method: 'PUT', headers });
    return { status: res.status, text: await res.text() };
  };

  it('issues tokens for a TTL of 1 to 21600 s, refuses others and proxied requests', async () => {
    expect((await token('i-mock-node-1')).status).toBe(200);
    expect((await token('i-mock-node-1', { 'X-aliyun-ecs-metadata-token-ttl-seconds': '21601' })).status).toBe(400);
    expect((await token('i-mock-node-1', {})).status).toBe(400);
    expect(
      (await token('i-mock-node-1', { 'X-aliyun-ecs-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '203.0.113.1' })).status,
    ).toBe(403);
  });

  it('normal mode reads with or without a token; a bad token is 401 either way', async () => {
    const t = (await token('i-mock-node-1')).text;
    expect(await get('i-mock-node-1', 'instance-id')).toEqual({ status: 200, text: 'i-mock-node-1' });
    expect(await get('i-mock-node-1', 'instance-id', { 'X-aliyun-ecs-metadata-token': t })).toEqual({ status: 200, text: 'i-mock-node-1' });
    expect((await get('i-mock-node-1', 'instance-id', { 'X-aliyun-ecs-metadata-token': 'nope' })).status).toBe(401);
  });

  it('hardened-only mode: no token 403, a token of this instance 200, of another instance or expired 401', async () => {
    h.world.metadataHttpTokens = 'required';
    try {
      expect((await get('i-mock-node-1', 'instance-id')).status).toBe(403);
      const t = (await token('i-mock-node-1')).text;
      expect(await get('i-mock-node-1', 'instance-id', { 'X-aliyun-ecs-metadata-token': t })).toEqual({
        status: 200,
        text: 'i-mock-node-1',
      });
      expect((await get('i-mock-node-2', 'instance-id', { 'X-aliyun-ecs-metadata-token': t })).status).toBe(401);
      const short = (await token('i-mock-node-1', { 'X-aliyun-ecs-metadata-token-ttl-seconds': '1' })).text;
      const issued = Date.now();
      await waitFor(() => Date.now() >= issued + 1_000, 'the token TTL passed', 5_000);
      expect((await get('i-mock-node-1', 'instance-id', { 'X-aliyun-ecs-metadata-token': short })).status).toBe(401);
    } finally {
      h.world.metadataHttpTokens = 'optional';
    }
  });

  it('the admin endpoint switches the mode at run time', async () => {
    const post = (body: unknown) => fetch(`${h.adminUrl}/metadata-http-tokens`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ httpTokens: 'required' })).status).toBe(200);
    expect((await get('i-mock-node-1', 'instance-id')).status).toBe(403);
    expect((await post({ httpTokens: 'optional' })).status).toBe(200);
    expect((await get('i-mock-node-1', 'instance-id')).status).toBe(200);
    expect((await post({ httpTokens: 'sometimes' })).status).toBe(400);
  });
});
