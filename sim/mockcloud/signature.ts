// Request authentication as the OpenAPI gateway does it: ACS3-HMAC-SHA256 in the Authorization header
// (what @alicloud/openapi-core signs by default), and the older RPC HMAC-SHA1 `Signature` parameter.
// The canonical request is rebuilt exactly as openapi-core's getAuthorization() builds it. A key of
// an instance RAM role (STS) is accepted only with the security token issued with it, until it expires
// (openapi-core sends the token as `x-acs-security-token` in ACS3, `SecurityToken` in RPC).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { errors } from './errors.js';

export interface SignedRequest {
  method: string;
  pathname: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  /** Lower-cased header names → values (as node:http gives them). */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface AuthResult {
  accessKeyId: string;
  scheme: 'ACS3-HMAC-SHA256' | 'HMAC-SHA1';
  /** Signed with STS credentials (an instance RAM role). */
  sts: boolean;
}

/** What the gateway knows of a key: its secret, and for an STS key the token issued with it. */
export interface KeyRecord {
  secret: string;
  sts?: { securityToken: string; expiresAt: number };
}

export interface AuthOptions {
  lookupKey: (accessKeyId: string) => KeyRecord | undefined;
  /** Is this a token the gateway issued (to some other key)? Tells a mismatch from garbage. */
  isIssuedToken?: (token: string) => boolean;
  now: () => number;
  /** Remembers nonces to refuse replays; entries older than the skew window are forgotten. */
  nonces: NonceCache;
  maxSkewMs?: number;
}

/** The percent-encoding openapi-core uses for canonical strings (RFC 3986, plus !'()* encoded). */
export function acsEncode(s: string): string {
  return encodeURIComponent(s).replace(/!/g, '%21').replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\*/g, '%2A');
}

function header(h: SignedRequest['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs = 15 * 60_000) {}
  /** False when the nonce was used within the window. */
  use(nonce: string, now: number): boolean {
    if (this.seen.size > 10_000) {
      for (const [k, t] of this.seen) if (now - t > this.ttlMs) this.seen.delete(k);
    }
    const t = this.seen.get(nonce);
    if (t !== undefined && now - t <= this.ttlMs) return false;
    this.seen.set(nonce, now);
    return true;
  }
}

function safeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** The security token rules: an STS key needs its own token, unexpired; a permanent key takes none. */
function checkSecurityToken(key: KeyRecord, token: string | undefined, opts: AuthOptions): void {
  if (!key.sts) {
    if (token) throw opts.isIssuedToken?.(token) ? errors.securityTokenMismatch() : errors.securityTokenMalformed();
    return;
  }
  if (!token) throw errors.missingSecurityToken();
  if (token !== key.sts.securityToken) throw opts.isIssuedToken?.(token) ? errors.securityTokenMismatch() : errors.securityTokenMalformed();
  if (opts.now() >= key.sts.expiresAt) throw errors.securityTokenExpired();
}

function checkTime(value: string | undefined, opts: AuthOptions): void {
  if (!value) throw errors.missing('x-acs-date');
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw errors.invalidParam('Timestamp');
  if (Math.abs(opts.now() - t) > (opts.maxSkewMs ?? 15 * 60_000)) throw errors.timestampExpired();
}

/** ACS3-HMAC-SHA256: canonical request = method, URI, sorted encoded query, signed headers, payload hash. */
export function acs3CanonicalRequest(req: SignedRequest, signedHeaders: string[], payloadHash: string): string {
  const canonicalUri = (req.pathname || '/').replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonicalQuery = Object.keys(req.query)
    .sort()
    .map((k) => `${k}=${acsEncode(req.query[k] ?? '')}`)
    .join('&');
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const v = (header(req.headers, name) ?? '').trim();
    canonicalHeaders += `${name}:${v}\n`;
  }
  return `${req.method}\n${canonicalUri}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders.join(';')}\n${payloadHash}`;
}

export function acs3StringToSign(canonicalRequest: string): string {
  return `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
}

function verifyAcs3(req: SignedRequest, authorization: string, opts: AuthOptions): AuthResult {
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]*),SignedHeaders=([^,]*),Signature=([0-9a-fA-F]*)$/.exec(authorization.trim());
  if (!m) {
    if (/^ACS3-/.test(authorization))
      throw errors.incompleteSignature('Unsupported signature algorithm or malformed Authorization header.');
    throw errors.incompleteSignature('Malformed Authorization header.');
  }
  const [, accessKeyId = '', signedList = '', signature = ''] = m;
  const signedHeaders = signedList.split(';').filter(Boolean);
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.join(';') !== sorted.join(';')) throw errors.incompleteSignature('SignedHeaders must be sorted.');
  for (const must of ['host', 'x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (!signedHeaders.includes(must)) throw errors.incompleteSignature(`Header ${must} must be signed.`);
  }
  // every x-acs-* header sent must be signed
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-acs-') && !signedHeaders.includes(name)) throw errors.incompleteSignature(`Header ${name} is not signed.`);
  }
  const key = opts.lookupKey(accessKeyId);
  if (key === undefined) throw errors.accessKeyNotFound();
  checkSecurityToken(key, header(req.headers, 'x-acs-security-token'), opts);
  const secret = key.secret;
  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  const claimed = header(req.headers, 'x-acs-content-sha256') ?? '';
  if (claimed !== payloadHash) throw errors.incompleteSignature('x-acs-content-sha256 does not match the body.');
  const canonical = acs3CanonicalRequest(req, signedHeaders, payloadHash);
  const stringToSign = acs3StringToSign(canonical);
  const expected = createHmac('sha256', secret).update(stringToSign).digest('hex');
  if (!safeEqualHex(expected, signature.toLowerCase())) throw errors.signatureMismatch(stringToSign.replace(/\n/g, '\\n'));
  checkTime(header(req.headers, 'x-acs-date'), opts);
  const nonce = header(req.headers, 'x-acs-signature-nonce');
  if (!nonce) throw errors.missing('x-acs-signature-nonce');
  if (!opts.nonces.use(nonce, opts.now())) throw errors.nonceUsed();
  return { accessKeyId, scheme: 'ACS3-HMAC-SHA256', sts: key.sts !== undefined };
}

/** RPC signature v1 (openapi-core getRPCSignature): HMAC-SHA1 over METHOD&%2F&encode(sorted params). */
export function rpcStringToSign(method: string, params: Record<string, string>): string {
  const canonical = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${acsEncode(k)}=${acsEncode(params[k] ?? '')}`)
    .join('&');
  return `${method}&${acsEncode('/')}&${acsEncode(canonical)}`;
}

function verifyRpc(method: string, params: Record<string, string>, opts: AuthOptions): AuthResult {
  const { AccessKeyId: accessKeyId, SignatureNonce: nonce, Signature: signature = '' } = params;
  for (const must of ['AccessKeyId', 'SignatureMethod', 'SignatureNonce', 'Timestamp']) {
    if (!params[must]) throw errors.missing(must);
  }
  if (!accessKeyId || !nonce) throw errors.missing(!accessKeyId ? 'AccessKeyId' : 'SignatureNonce');
  if (params.SignatureMethod !== 'HMAC-SHA1') throw errors.incompleteSignature(`Unsupported SignatureMethod ${params.SignatureMethod}.`);
  const key = opts.lookupKey(accessKeyId);
  if (key === undefined) throw errors.accessKeyNotFound();
  checkSecurityToken(key, params.SecurityToken, opts);
  const secret = key.secret;
  const stringToSign = rpcStringToSign(method, params);
  const expected = createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
  if (!safeEqualHex(expected, signature)) throw errors.signatureMismatch(stringToSign);
  checkTime(params.Timestamp, opts);
  if (!opts.nonces.use(nonce, opts.now())) throw errors.nonceUsed();
  return { accessKeyId, scheme: 'HMAC-SHA1', sts: key.sts !== undefined };
}

/**
 * Authenticates a request. `params` are all request parameters (query + form body) for the RPC v1 form.
 * Throws ApiError with the gateway's codes.
 */
export function authenticate(req: SignedRequest, params: Record<string, string>, opts: AuthOptions): AuthResult {
  const authorization = header(req.headers, 'authorization');
  if (authorization) return verifyAcs3(req, authorization, opts);
  if (params.Signature !== undefined) return verifyRpc(req.method, params, opts);
  throw errors.incompleteSignature('The request carries neither an Authorization header nor a Signature parameter.');
}
