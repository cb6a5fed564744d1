// Credentials for the SDK, one provider per source of Terway's chain (credentialChain.ts picks one):
// a static AccessKey pair, a credential file (plain JSON, or ACK's encrypted addon token, re-read
// whenever it changes), the ECS instance RAM role (ramRole.ts). Secrets never leave here except into
// the SDK's signer: no log line, error message or metric carries them.
import { createDecipheriv } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import CredentialsModule from '@alicloud/credentials';
import { cjsDefault } from './interop.js';

const Credential = cjsDefault(CredentialsModule);
export type SdkCredential = InstanceType<typeof Credential>;

/** The sources of the chain, in Terway's order, by the names the log line and `x-acs-credentials-provider` carry. */
export type CredentialSourceName = 'access_key' | 'credential_path' | 'ecs_ram_role';

/** Where ACK's addon token lives unless `credential_path` says otherwise (ack-ram-tool's EncryptedFileProvider). */
export const ADDON_TOKEN_PATH = '/var/addon/token-config';

/** What @alicloud/credentials asks of a provider (its duck type), plus when they stop working. */
export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  providerName: string;
  /** Epoch ms; absent for a permanent AccessKey. */
  expiration?: number;
}

export interface CloudCredentialsProvider {
  getCredentials(): Promise<CloudCredentials>;
  getProviderName(): string;
  /** The cloud refused the credentials as expired or not matching: fetch new ones at the next call. */
  invalidate?(): void;
}

/** This source has nothing to offer here (no key configured, no file, no RAM role): the chain tries the next. */
export class NotEnabledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotEnabledError';
  }
}

/** A bad credential source (unreadable file, wrong format, a refused RAM role): never carries a secret. */
export class CredentialError extends Error {
  /** What an API call that could not be signed fails with (errors.ts reads `code`). */
  readonly code = 'CredentialsUnavailable';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'CredentialError';
  }
}

/** `access_key` / `access_secret` of eni_conf (empty strings mean unset, as Terway's chart renders them). */
export class StaticCredentialsProvider implements CloudCredentialsProvider {
  constructor(
    private readonly accessKeyId: string | undefined,
    private readonly accessKeySecret: string | undefined,
    private readonly securityToken = '',
  ) {}

  async getCredentials(): Promise<CloudCredentials> {
    if (!this.accessKeyId || !this.accessKeySecret) throw new NotEnabledError('access_key / access_secret not set');
    return {
      accessKeyId: this.accessKeyId,
      accessKeySecret: this.accessKeySecret,
      securityToken: this.securityToken,
      providerName: 'access_key',
    };
  }

  getProviderName(): string {
    return 'access_key';
  }
}

function pick(obj: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = obj[n];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** AES-CBC with the IV in the first block, PKCS#5 padding, base64: how ACK encrypts each field of the addon token. */
export function decryptAddonField(data: string, keyring: string, field: string): string {
  const key = Buffer.from(keyring, 'utf8');
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new CredentialError(`keyring must be 16, 24 or 32 bytes`);
  const raw = Buffer.from(data, 'base64');
  if (raw.length < 32 || raw.length % 16 !== 0) throw new CredentialError(`${field}: not an AES-CBC ciphertext`);
  try {
    const d = createDecipheriv(`aes-${key.length * 8}-cbc`, key, raw.subarray(0, 16));
    return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8');
  } catch (err) {
    throw new CredentialError(`${field}: cannot decrypt with the keyring`, err);
  }
}

function parseExpiration(v: unknown, path: string): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CredentialError(`${path}: bad expiration ${JSON.stringify(v.slice(0, 40))}`);
  return t;
}

/**
 * Parses a credential file. Plain JSON: `AccessKeyId`/`accessKeyId`/`access.key.id`,
 * `AccessKeySecret`/`accessKeySecret`/`access.key.secret`, optional `SecurityToken`/`securityToken`/
 * `security.token` and `Expiration`/`expiration`. ACK's encrypted addon token (a `keyring` field): the
 * three `access.key.*` / `security.token` fields are decrypted with it (see decryptAddonField), and an
 * `error` object (the role could not be assumed) is reported as such.
 */
export function parseCredentialFile(text: string, path = 'credential file'): CloudCredentials {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new CredentialError(`${path}: not JSON`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CredentialError(`${path}: not a JSON object`);
  const o = obj as Record<string, unknown>;
  const failure = o['error'];
  if (typeof failure === 'object' && failure !== null) {
    const f = failure as Record<string, unknown>;
    throw new CredentialError(
      `${path}: assume role ${String(f['roleName'] ?? '')} failed: ${String(f['code'] ?? '')} ${String(f['message'] ?? '')}`,
    );
  }
  const expiration = parseExpiration(pick(o, 'Expiration', 'expiration'), path);
  const keyring = pick(o, 'keyring');
  let accessKeyId = pick(o, 'AccessKeyId', 'accessKeyId', 'access.key.id');
  let accessKeySecret = pick(o, 'AccessKeySecret', 'accessKeySecret', 'access.key.secret');
  let securityToken = pick(o, 'SecurityToken', 'securityToken', 'security.token') ?? '';
  if (!accessKeyId || !accessKeySecret) throw new CredentialError(`${path}: AccessKeyId / AccessKeySecret missing`);
  if (keyring !== undefined) {
    accessKeyId = decryptAddonField(accessKeyId, keyring, `${path}: access.key.id`);
    accessKeySecret = decryptAddonField(accessKeySecret, keyring, `${path}: access.key.secret`);
    securityToken = securityToken ? decryptAddonField(securityToken, keyring, `${path}: security.token`) : '';
  }
  return {
    accessKeyId,
    accessKeySecret,
    securityToken,
    providerName: 'credential_path',
    ...(expiration !== undefined ? { expiration } : {}),
  };
}

/** `credential_path`: the file, cached until its mtime or size changes (an agent rotates it in place). */
export class FileCredentialsProvider implements CloudCredentialsProvider {
  private cached?: { mtimeMs: number; size: number; creds: CloudCredentials };

  constructor(readonly path: string) {}

  async getCredentials(): Promise<CloudCredentials> {
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotEnabledError(`${this.path} does not exist`);
      throw new CredentialError(`${this.path}: ${(err as Error).message}`, err);
    }
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.creds;
    const creds = parseCredentialFile(await readFile(this.path, 'utf8'), this.path);
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, creds };
    return creds;
  }

  getProviderName(): string {
    return 'credential_path';
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

/** The SDK's Credential over one of our providers (openapi-core asks it before every request). */
export function sdkCredential(provider: CloudCredentialsProvider): SdkCredential {
  return new Credential(null, provider);
}
