// The ECS instance RAM role: `ram/security-credentials/` lists the role attached to the instance (404:
// none), `ram/security-credentials/<role>` holds its STS credentials as JSON (AccessKeyId,
// AccessKeySecret, SecurityToken, Expiration ISO-8601, LastUpdated, Code "Success"). Read through the
// daemon's metadata client, so the hardened-mode token goes with every read.
import { CredentialError, NotEnabledError, type CloudCredentials } from './credentials.js';
import { MetadataError, type MetadataClient } from './metadata.js';

const ROLES_PATH = 'ram/security-credentials/';

/** Fetches the role's current STS credentials (wrap in RefreshingCredentials to keep them fresh). */
export class EcsRamRole {
  private role?: string;

  /** `configuredRole`: skip the listing (Terway's ALIBABA_CLOUD_ECS_METADATA). */
  constructor(
    private readonly metadata: MetadataClient,
    private readonly configuredRole?: string,
  ) {
    if (configuredRole) this.role = configuredRole;
  }

  /** The role name, once known. */
  get roleName(): string | undefined {
    return this.role;
  }

  async fetch(): Promise<CloudCredentials> {
    const role = this.role ?? (await this.discoverRole());
    let body: string;
    try {
      body = await this.metadata.get(`${ROLES_PATH}${role}`);
    } catch (err) {
      if (err instanceof MetadataError && err.httpStatus === 404) {
        // The role was detached or replaced: look it up again next time.
        this.role = this.configuredRole;
        throw new CredentialError(`RAM role ${role}: no credentials in the metadata (404)`, err);
      }
      throw err;
    }
    return parseRoleCredentials(body, role);
  }

  private async discoverRole(): Promise<string> {
    let listing: string;
    try {
      listing = await this.metadata.get(ROLES_PATH);
    } catch (err) {
      if (err instanceof MetadataError && err.httpStatus === 404) throw new NotEnabledError('no RAM role is attached to this instance');
      throw err;
    }
    const role = listing
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .find((l) => l !== '');
    if (!role) throw new NotEnabledError('no RAM role is attached to this instance');
    this.role = role;
    return role;
  }
}

/** The metadata's STS JSON for `role` (never echoes a secret in an error). */
export function parseRoleCredentials(body: string, role: string): CloudCredentials {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new CredentialError(`RAM role ${role}: credentials are not JSON`);
  }
  if (o['Code'] !== 'Success') throw new CredentialError(`RAM role ${role}: Code ${JSON.stringify(o['Code'])}, not Success`);
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const [accessKeyId, accessKeySecret, securityToken] = [str('AccessKeyId'), str('AccessKeySecret'), str('SecurityToken')];
  const expiration = Date.parse(str('Expiration'));
  if (!accessKeyId || !accessKeySecret || !securityToken || Number.isNaN(expiration))
    throw new CredentialError(`RAM role ${role}: AccessKeyId, AccessKeySecret, SecurityToken or Expiration missing`);
  return { accessKeyId, accessKeySecret, securityToken, expiration, providerName: 'ecs_ram_role' };
}
