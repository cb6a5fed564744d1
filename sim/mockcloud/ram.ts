// Instance RAM roles: the STS credentials the metadata serves under
// `ram/security-credentials/<role>`, and what the API gateway checks when a request is signed with
// one (the `x-acs-security-token` / `SecurityToken` must be the one issued with the key, and not
// expired). Credentials rotate once less than half their lifetime is left, as the metadata service
// hands out fresh ones before the old expire; the old stay valid until their own expiration.
import { randomBytes } from 'node:crypto';

export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** Whole seconds, as the advertised ISO-8601 `Expiration` says. */
  expiresAt: number;
  issuedAt: number;
  instanceId: string;
  role: string;
}

/** The metadata's JSON for a role (`Code` "Success", times in ISO-8601 UTC without milliseconds). */
export function stsMetadataBody(c: StsCredentials): string {
  return JSON.stringify({
    AccessKeyId: c.accessKeyId,
    AccessKeySecret: c.accessKeySecret,
    Expiration: isoSeconds(c.expiresAt),
    SecurityToken: c.securityToken,
    LastUpdated: isoSeconds(c.issuedAt),
    Code: 'Success',
  });
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += ALNUM[b % ALNUM.length];
  return s;
}

/** Keys kept after their expiration so a late request still gets InvalidSecurityToken.Expired. */
const MAX_KEPT = 1_000;

export class RamCredentials {
  private readonly current = new Map<string, StsCredentials>();
  private readonly byKey = new Map<string, StsCredentials>();

  constructor(readonly ttlMs: number) {
    if (!(ttlMs >= 1_000)) throw new Error(`world: stsTtlMs must be at least 1000 (got ${ttlMs})`);
  }

  /** The credentials the metadata serves now for the instance's role; `frozen`: no rotation. */
  forInstance(instanceId: string, role: string, now: number, frozen = false): StsCredentials {
    const cur = this.current.get(instanceId);
    if (cur && cur.role === role && (frozen || cur.expiresAt - now > this.ttlMs / 2)) return cur;
    const c: StsCredentials = {
      accessKeyId: `STS.${randomText(24)}`,
      accessKeySecret: randomText(44),
      securityToken: `CAIS${randomText(300)}`,
      expiresAt: Math.floor((now + this.ttlMs) / 1000) * 1000,
      issuedAt: now,
      instanceId,
      role,
    };
    this.current.set(instanceId, c);
    this.byKey.set(c.accessKeyId, c);
    this.prune(now);
    return c;
  }

  lookup(accessKeyId: string): StsCredentials | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** Is this string a token the mock issued (to any key)? */
  isIssuedToken(token: string): boolean {
    for (const c of this.byKey.values()) if (c.securityToken === token) return true;
    return false;
  }

  private prune(now: number): void {
    if (this.byKey.size <= MAX_KEPT) return;
    const oldest = [...this.byKey.values()].filter((c) => c.expiresAt < now).sort((a, b) => a.expiresAt - b.expiresAt);
    for (const c of oldest.slice(0, this.byKey.size - MAX_KEPT)) this.byKey.delete(c.accessKeyId);
  }
}
