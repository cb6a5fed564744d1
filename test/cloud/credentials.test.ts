import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  credentialFromAccessKey,
  credentialFromFile,
  FileCredentialsProvider,
  parseCredentialFile,
} from '../../daemon/cloud/credentials.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('cloud-cred-');

describe('credentials', () => {
  it('accepts the usual key spellings and refuses keyring-encrypted files', () => {
    expect(parseCredentialFile('{"AccessKeyId":"a","AccessKeySecret":"b"}')).toMatchObject({
      accessKeyId: 'a',
      accessKeySecret: 'b',
      securityToken: '',
    });
    expect(parseCredentialFile('{"access.key.id":"a","access.key.secret":"b","security.token":"t"}')).toMatchObject({ securityToken: 't' });
    expect(() => parseCredentialFile('{"access.key.id":"a","access.key.secret":"b","keyring":"k"}')).toThrow(/keyring/);
    expect(() => parseCredentialFile('{"AccessKeyId":"a"}')).toThrow(/missing/);
    expect(() => parseCredentialFile('nope')).toThrow(/not JSON/);
  });

  it('re-reads the file when it changes (rotation) and feeds the SDK credential', async () => {
    const path = join(dir, 'token.json');
    writeFileSync(path, JSON.stringify({ AccessKeyId: 'id-1', AccessKeySecret: 's-1', SecurityToken: 'tok-1' }));
    const provider = new FileCredentialsProvider(path);
    expect((await provider.getCredentials()).accessKeyId).toBe('id-1');
    writeFileSync(path, JSON.stringify({ AccessKeyId: 'id-22', AccessKeySecret: 's-22' }));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect((await provider.getCredentials()).accessKeyId).toBe('id-22');
    const sdkCred = credentialFromFile(path);
    await expect(sdkCred.getCredential()).resolves.toMatchObject({ accessKeyId: 'id-22', accessKeySecret: 's-22' });
  });

  it('builds static AK and STS credentials', async () => {
    await expect(credentialFromAccessKey('a', 'b').getCredential()).resolves.toMatchObject({ accessKeyId: 'a', accessKeySecret: 'b' });
    await expect(credentialFromAccessKey('a', 'b', 't').getCredential()).resolves.toMatchObject({ securityToken: 't' });
  });
});
