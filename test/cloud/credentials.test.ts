// The credential sources of Terway's chain and how expiring credentials are kept fresh, without a
// network: file formats (plain JSON, ACK's encrypted addon token), the chain's choice, the refresh.
import { createCipheriv, randomBytes } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  FileCredentialsProvider,
  NotEnabledError,
  parseCredentialFile,
  sdkCredential,
  StaticCredentialsProvider,
  type CloudCredentials,
  type CloudCredentialsProvider,
} from '../../daemon/cloud/credentials.js';
import { CredentialChain, maskKeyId } from '../../daemon/cloud/credentialChain.js';
import { RefreshingCredentials } from '../../daemon/cloud/refreshing.js';
import { parseRoleCredentials } from '../../daemon/cloud/ramRole.js';
import { FakeClock } from '../support/clock.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('cloud-cred-');

/** Encrypts a field as ACK's addon token does: AES-CBC, random IV prepended, PKCS#5 padding, base64. */
function encryptAddonField(plain: string, keyring: string): string {
  const key = Buffer.from(keyring, 'utf8');
  const iv = randomBytes(16);
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
  return Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]).toString('base64');
}

function addonToken(keyring: string, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    'access.key.id': encryptAddonField('STS.addon-id', keyring),
    'access.key.secret': encryptAddonField('addon-secret', keyring),
    'security.token': encryptAddonField('addon-token', keyring),
    expiration: '2030-01-02T03:04:05Z',
    keyring,
    ...over,
  });
}

describe('credential files', () => {
  it('plain JSON: the usual key spellings, optional token and expiration', () => {
    expect(parseCredentialFile('{"AccessKeyId":"a","AccessKeySecret":"b"}')).toEqual({
      accessKeyId: 'a',
      accessKeySecret: 'b',
      securityToken: '',
      providerName: 'credential_path',
    });
    expect(
      parseCredentialFile('{"access.key.id":"a","access.key.secret":"b","security.token":"t","expiration":"2030-01-02T03:04:05Z"}'),
    ).toMatchObject({ securityToken: 't', expiration: Date.parse('2030-01-02T03:04:05Z') });
    expect(() => parseCredentialFile('{"AccessKeyId":"a"}')).toThrow(/missing/);
    expect(() => parseCredentialFile('nope')).toThrow(/not JSON/);
  });

  it.each([16, 24, 32])("ACK's encrypted addon token is decrypted with its keyring (AES-%i bytes)", (n) => {
    const keyring = randomBytes(n).toString('base64').slice(0, n);
    expect(parseCredentialFile(addonToken(keyring), 'token-config')).toEqual({
      accessKeyId: 'STS.addon-id',
      accessKeySecret: 'addon-secret',
      securityToken: 'addon-token',
      expiration: Date.parse('2030-01-02T03:04:05Z'),
      providerName: 'credential_path',
    });
  });

  it('an addon token that cannot be decrypted, or that reports a failed AssumeRole, says so without a secret', () => {
    const keyring = '0123456789abcdef';
    const wrong = addonToken(keyring, { keyring: 'fedcba9876543210' });
    expect(() => parseCredentialFile(wrong, 'token-config')).toThrow(CredentialError);
    expect(() => parseCredentialFile(wrong, 'token-config')).toThrow(/cannot decrypt/);
    expect(() => parseCredentialFile(addonToken(keyring, { keyring: 'short' }))).toThrow(/keyring must be 16, 24 or 32 bytes/);
    const failed = JSON.stringify({ error: { roleName: 'AliyunCSManagedNetworkRole', code: 'EntityNotExist.Role', message: 'no role' } });
    expect(() => parseCredentialFile(failed, 'token-config')).toThrow(
      'token-config: assume role AliyunCSManagedNetworkRole failed: EntityNotExist.Role no role',
    );
  });

  it('the file provider re-reads a rotated file, and is not enabled where there is no file', async () => {
    const path = join(dir, 'token.json');
    writeFileSync(path, JSON.stringify({ AccessKeyId: 'id-1', AccessKeySecret: 's-1', SecurityToken: 'tok-1' }));
    const provider = new FileCredentialsProvider(path);
    expect((await provider.getCredentials()).accessKeyId).toBe('id-1');
    writeFileSync(path, addonToken('0123456789abcdef'));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect((await provider.getCredentials()).accessKeyId).toBe('STS.addon-id');
    await expect(sdkCredential(new FileCredentialsProvider(path)).getCredential()).resolves.toMatchObject({
      accessKeyId: 'STS.addon-id',
      securityToken: 'addon-token',
    });
    await expect(new FileCredentialsProvider(join(dir, 'absent.json')).getCredentials()).rejects.toBeInstanceOf(NotEnabledError);
  });

  it('static AK and STS credentials; empty strings are not a key', async () => {
    await expect(sdkCredential(new StaticCredentialsProvider('a', 'b')).getCredential()).resolves.toMatchObject({
      accessKeyId: 'a',
      accessKeySecret: 'b',
      providerName: 'access_key',
    });
    await expect(sdkCredential(new StaticCredentialsProvider('a', 'b', 't')).getCredential()).resolves.toMatchObject({
      securityToken: 't',
    });
    await expect(new StaticCredentialsProvider('', '').getCredentials()).rejects.toBeInstanceOf(NotEnabledError);
    await expect(new StaticCredentialsProvider('a', undefined).getCredentials()).rejects.toBeInstanceOf(NotEnabledError);
  });

  it('the RAM role JSON of the metadata: Code Success and every field, or a CredentialError', () => {
    const body = { AccessKeyId: 'STS.x', AccessKeySecret: 's', SecurityToken: 't', Expiration: '2030-01-01T00:00:00Z', Code: 'Success' };
    expect(parseRoleCredentials(JSON.stringify(body), 'r')).toEqual({
      accessKeyId: 'STS.x',
      accessKeySecret: 's',
      securityToken: 't',
      expiration: Date.parse('2030-01-01T00:00:00Z'),
      providerName: 'ecs_ram_role',
    });
    expect(() => parseRoleCredentials(JSON.stringify({ ...body, Code: 'Failed' }), 'r')).toThrow(/not Success/);
    expect(() => parseRoleCredentials(JSON.stringify({ ...body, SecurityToken: '' }), 'r')).toThrow(/missing/);
  });
});

/** A provider that answers from a script and counts its calls. */
class Scripted implements CloudCredentialsProvider {
  calls = 0;
  constructor(
    private readonly name: string,
    private readonly answer: () => Promise<CloudCredentials>,
  ) {}
  getCredentials(): Promise<CloudCredentials> {
    this.calls++;
    return this.answer();
  }
  getProviderName(): string {
    return this.name;
  }
}

const creds = (id: string, expiration?: number): CloudCredentials => ({
  accessKeyId: id,
  accessKeySecret: `secret-of-${id}`,
  securityToken: expiration ? `token-of-${id}` : '',
  providerName: 'x',
  ...(expiration !== undefined ? { expiration } : {}),
});

describe('the credential chain (Terway: access key → credential file → RAM role)', () => {
  it('skips sources that are not there, chooses the first that is, sticks to it, logs one line without the secret', async () => {
    const log = captureLog();
    const ak = new Scripted('access_key', () => Promise.reject(new NotEnabledError('access_key / access_secret not set')));
    const file = new Scripted('credential_path', () => Promise.reject(new NotEnabledError('/var/addon/token-config does not exist')));
    const role = new Scripted('ecs_ram_role', async () => creds('STS.role', Date.parse('2030-01-01T00:00:00Z')));
    const chain = new CredentialChain(
      [
        { name: 'access_key', provider: ak, detail: () => ({}) },
        { name: 'credential_path', provider: file, detail: () => ({ path: '/var/addon/token-config' }) },
        { name: 'ecs_ram_role', provider: role, detail: () => ({ role: 'eni-ipam-node' }) },
      ],
      log.logger,
    );
    expect((await chain.select()).name).toBe('ecs_ram_role');
    expect((await chain.getCredentials()).accessKeyId).toBe('STS.role');
    await chain.getCredentials();
    expect([ak.calls, file.calls]).toEqual([1, 1]); // chosen once
    const lines = log.lines().filter((l) => String(l['msg']).startsWith('cloud credentials from'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'cloud credentials from ecs_ram_role', source: 'ecs_ram_role', role: 'eni-ipam-node' });
    expect(log.text()).not.toContain('secret-of-STS.role');
    expect(log.text()).not.toContain('token-of-STS.role');
  });

  it('a source that is there but fails is chosen anyway (Terway), and its failure shows', async () => {
    const broken = new Scripted('credential_path', () => Promise.reject(new CredentialError('token-config: not JSON')));
    const role = new Scripted('ecs_ram_role', async () => creds('STS.role'));
    const chain = new CredentialChain([
      { name: 'credential_path', provider: broken, detail: () => ({}) },
      { name: 'ecs_ram_role', provider: role, detail: () => ({}) },
    ]);
    expect((await chain.select()).name).toBe('credential_path');
    await expect(chain.getCredentials()).rejects.toThrow(/not JSON/);
    expect(role.calls).toBe(0);
  });

  it('no source at all: a CredentialError naming why each was skipped', async () => {
    const none = (name: 'access_key' | 'ecs_ram_role', why: string) => ({
      name,
      provider: new Scripted(name, () => Promise.reject(new NotEnabledError(why))),
      detail: () => ({}),
    });
    const chain = new CredentialChain([none('access_key', 'not set'), none('ecs_ram_role', 'no RAM role is attached to this instance')]);
    await expect(chain.select()).rejects.toThrow(
      'no cloud credentials: access_key: not set; ecs_ram_role: no RAM role is attached to this instance',
    );
    await expect(chain.getCredentials()).rejects.toMatchObject({ code: 'CredentialsUnavailable' });
  });

  it('masks AccessKey ids in logs', () => {
    expect(maskKeyId('LTAI5tABCDEFGHIJ1234')).toBe('LTAI****1234');
    expect(maskKeyId('short')).toBe('****');
  });
});

describe('expiring credentials kept fresh', () => {
  const HOUR = 3_600_000;

  it('refreshes a margin before the expiration: 30 min, or a fifth of a shorter lifetime; one fetch for concurrent callers', async () => {
    const clock = new FakeClock();
    let n = 0;
    let exp = clock.t + 6 * HOUR;
    const fetch = async () => creds(`k${++n}`, exp);
    const r = new RefreshingCredentials('ecs_ram_role', fetch, { now: clock.now });
    const [a, b] = await Promise.all([r.getCredentials(), r.getCredentials()]);
    expect([a.accessKeyId, b.accessKeyId, n]).toEqual(['k1', 'k1', 1]);
    clock.advance(6 * HOUR - 30 * 60_000 - 1);
    expect((await r.getCredentials()).accessKeyId).toBe('k1');
    exp = clock.t + 10 * 60_000; // the next ones live 10 minutes: refreshed 2 minutes before
    clock.advance(1);
    expect((await r.getCredentials()).accessKeyId).toBe('k2');
    clock.advance(8 * 60_000 - 1);
    expect((await r.getCredentials()).accessKeyId).toBe('k2');
    clock.advance(1);
    expect((await r.getCredentials()).accessKeyId).toBe('k3');
  });

  it('a failed refresh keeps the old credentials until they expire, retried with a growing back-off, then the failure shows', async () => {
    const clock = new FakeClock();
    const log = captureLog();
    const exp = clock.t + 10 * 60_000;
    let fail = false;
    let calls = 0;
    const fetch = async () => {
      calls++;
      if (fail) throw new Error('metadata: Http500');
      return creds(`k${calls}`, exp);
    };
    const r = new RefreshingCredentials('ecs_ram_role', fetch, {
      now: clock.now,
      logger: log.logger,
      minRetryMs: 1_000,
      maxRetryMs: 8_000,
    });
    await r.getCredentials();
    fail = true;
    clock.advance(8 * 60_000); // inside the 2-minute margin
    expect((await r.getCredentials()).accessKeyId).toBe('k1');
    expect(calls).toBe(2);
    await r.getCredentials(); // within the back-off: no new fetch
    expect(calls).toBe(2);
    clock.advance(1_000);
    await r.getCredentials();
    expect(calls).toBe(3);
    clock.advance(1_999);
    await r.getCredentials();
    expect(calls).toBe(3); // 2 s after the second failure
    clock.t = exp;
    await expect(r.getCredentials()).rejects.toThrow('metadata: Http500');
    fail = false;
    clock.advance(8_000);
    expect((await r.getCredentials()).accessKeyId).toMatch(/^k\d+$/);
    expect(log.lines().some((l) => l['msg'] === 'refreshing cloud credentials failed; the current ones are used until they expire')).toBe(
      true,
    );
    expect(log.text()).not.toContain('secret-of-');
  });

  it('credentials handed out already expired are used (the cloud answers InvalidSecurityToken.Expired) and asked again after a back-off', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const r = new RefreshingCredentials('ecs_ram_role', async () => (calls++, creds('stale', clock.t - 1)), {
      now: clock.now,
      minRetryMs: 1_000,
    });
    expect((await r.getCredentials()).accessKeyId).toBe('stale');
    await r.getCredentials();
    expect(calls).toBe(1);
    clock.advance(1_000);
    await r.getCredentials();
    expect(calls).toBe(2);
  });

  it('invalidate(): the next call fetches again (the cloud refused them)', async () => {
    const clock = new FakeClock();
    let n = 0;
    const r = new RefreshingCredentials('ecs_ram_role', async () => creds(`k${++n}`, clock.t + HOUR), { now: clock.now });
    await r.getCredentials();
    r.invalidate();
    expect((await r.getCredentials()).accessKeyId).toBe('k2');
  });

  it('a source that is not there stays not there (the chain needs to know)', async () => {
    const r = new RefreshingCredentials('ecs_ram_role', () => Promise.reject(new NotEnabledError('no role')), { now: new FakeClock().now });
    await expect(r.getCredentials()).rejects.toBeInstanceOf(NotEnabledError);
  });
});
