// The support bundle's secret list reads the credential file eni_conf names, ACK's encrypted addon token
// included: its keyring decrypts the rest, so it is a secret like them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrub, secretsOf, REDACTED } from '../../cli/secrets.js';
import { tempDir } from '../support/tmp.js';

describe('secretsOf', () => {
  it('lists the encrypted addon token fields and its keyring', async () => {
    const dir = tempDir();
    const token = join(dir, 'token-config');
    const conf = join(dir, 'eni_conf');
    const addon = {
      'access.key.id': 'ZW5jcnlwdGVkLWlk',
      'access.key.secret': 'ZW5jcnlwdGVkLXNlY3JldA==',
      'security.token': 'ZW5jcnlwdGVkLXRva2Vu',
      expiration: '2030-01-01T00:00:00Z',
      keyring: '0123456789abcdef',
    };
    writeFileSync(token, JSON.stringify(addon));
    writeFileSync(conf, JSON.stringify({ credential_path: token }));
    const secrets = await secretsOf(conf);
    for (const k of ['access.key.id', 'access.key.secret', 'security.token', 'keyring'] as const) expect(secrets).toContain(addon[k]);
    expect(scrub(`keyring=${addon.keyring}`, secrets)).toBe(`keyring=${REDACTED}`);
  });
});
