// Credentials for the SDK: static AccessKey pair, or a JSON file that is re-read whenever it changes
// (Terway's `credential_path`: a token file rotated by an external agent). Secrets never leave here
// except into the SDK's signer.
import { readFile, stat } from 'node:fs/promises';
import CredentialsModule, { Config as CredentialConfig } from '@alicloud/credentials';
import { cjsDefault } from './interop.js';

const Credential = cjsDefault(CredentialsModule);
export type SdkCredential = InstanceType<typeof Credential>;

interface FileCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  providerName: string;
}

function pick(obj: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = obj[n];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/**
 * Parses a credential file. Accepted keys: `AccessKeyId`/`accessKeyId`/`access.key.id`,
 * `AccessKeySecret`/`accessKeySecret`/`access.key.secret`, optional `SecurityToken`/`securityToken`/`security.token`.
 * Keyring-encrypted files (ACK's `keyring` field) are not supported.
 */
export function parseCredentialFile(text: string, path = 'credential file'): FileCredentials {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not JSON`);
  }
  if (typeof obj !== 'object' || obj === null) throw new Error(`${path}: not a JSON object`);
  const o = obj as Record<string, unknown>;
  if (typeof o.keyring === 'string' && o.keyring !== '') throw new Error(`${path}: keyring-encrypted credentials are not supported`);
  const accessKeyId = pick(o, 'AccessKeyId', 'accessKeyId', 'access.key.id');
  const accessKeySecret = pick(o, 'AccessKeySecret', 'accessKeySecret', 'access.key.secret');
  if (!accessKeyId || !accessKeySecret) throw new Error(`${path}: AccessKeyId / AccessKeySecret missing`);
  const securityToken = pick(o, 'SecurityToken', 'securityToken', 'security.token') ?? '';
  return { accessKeyId, accessKeySecret, securityToken, providerName: 'credential_file' };
}

/** A CredentialsProvider (the SDK's duck type) over a file, cached until its mtime or size changes. */
export class FileCredentialsProvider {
  private cached?: { mtimeMs: number; size: number; creds: FileCredentials };

  constructor(private readonly path: string) {}

  async getCredentials(): Promise<FileCredentials> {
    const st = await stat(this.path);
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.creds;
    const creds = parseCredentialFile(await readFile(this.path, 'utf8'), this.path);
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, creds };
    return creds;
  }

  getProviderName(): string {
    return 'credential_file';
  }
}

export function credentialFromFile(path: string): SdkCredential {
  return new Credential(null, new FileCredentialsProvider(path));
}

export function credentialFromAccessKey(accessKeyId: string, accessKeySecret: string, securityToken?: string): SdkCredential {
  return new Credential(
    new CredentialConfig({
      type: securityToken ? 'sts' : 'access_key',
      accessKeyId,
      accessKeySecret,
      ...(securityToken ? { securityToken } : {}),
    }),
  );
}
