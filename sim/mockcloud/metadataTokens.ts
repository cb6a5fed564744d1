// The metadata service's security hardening mode (ECS "IMDSv2"): `PUT /latest/api/token` with
// `X-aliyun-ecs-metadata-token-ttl-seconds` (1 to 21600) returns a token; reads carry it in
// `X-aliyun-ecs-metadata-token`. As the ECS docs describe the answers: a TTL out of range 400, a token
// request through a proxy (`X-Forwarded-For`) 403, an invalid or expired token 401, and — when the
// instance is in hardened-only mode (HttpTokens `required`) — a read without a token 403.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { MetadataAnswer } from './metadata.js';

export const TOKEN_TTL_HEADER = 'x-aliyun-ecs-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'x-aliyun-ecs-metadata-token';
const MAX_TTL_SECONDS = 21_600;

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class MetadataTokens {
  /** token → (instance, expiry) */
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  /** Answers `PUT /latest/api/token` for an instance. */
  issue(instanceId: string, headers: IncomingHttpHeaders, now: number): MetadataAnswer {
    if (header(headers, 'x-forwarded-for') !== undefined) return { status: 403, body: 'Forbidden' };
    const raw = header(headers, TOKEN_TTL_HEADER);
    const ttl = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(ttl >= 1 && ttl <= MAX_TTL_SECONDS)) return { status: 400, body: 'Missing or Invalid Parameters' };
    this.prune(now);
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { instanceId, expiresAt: now + ttl * 1000 });
    return { status: 200, body: token };
  }

  /** Undefined when a read may go ahead; else the refusal. */
  check(instanceId: string, headers: IncomingHttpHeaders, now: number, required: boolean): MetadataAnswer | undefined {
    const token = header(headers, TOKEN_HEADER);
    if (token === undefined) return required ? { status: 403, body: 'Forbidden' } : undefined;
    const t = this.tokens.get(token);
    if (!t || t.instanceId !== instanceId || now >= t.expiresAt) return { status: 401, body: 'Unauthorized' };
    return undefined;
  }

  private prune(now: number): void {
    if (this.tokens.size < 1_000) return;
    for (const [k, t] of this.tokens) if (now >= t.expiresAt) this.tokens.delete(k);
  }
}
