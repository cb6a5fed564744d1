// eni_conf keys of the cloud client: credentials, region and instance, endpoints, client-side rate
// limits and retry backoff (Terway's rate_limit / backoff_override).
import { parseGoDuration } from './duration.js';
import { DEFAULTS } from './defaults.js';
import { isPlainObject, show, type Reader } from './reader.js';
import type { BackoffSpec, DaemonConfig } from './types.js';

export type CloudKeys = Pick<
  DaemonConfig,
  | 'accessKey'
  | 'accessSecret'
  | 'credentialPath'
  | 'regionId'
  | 'instanceId'
  | 'rateLimit'
  | 'backoffOverride'
  | 'cloudEndpoint'
  | 'vpcEndpoint'
  | 'cloudProtocol'
  | 'metadataEndpoint'
>;

function readRateLimit(r: Reader): Record<string, number> {
  const key = 'rate_limit';
  if (!r.has(key)) return {};
  const v = r.value(key);
  if (!isPlainObject(v)) {
    r.fail(key, `must be an object of API name -> calls per minute (got ${show(key, v)})`);
    return {};
  }
  const out: Record<string, number> = {};
  for (const [api, n] of Object.entries(v)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
      r.fail(`${key}.${api}`, `must be a positive number of calls per minute (got ${show(key, n)})`);
    } else {
      out[api] = n;
    }
  }
  return out;
}

/** Go marshals time.Duration as integer nanoseconds; people also write "2s". Accept both. */
function durationField(r: Reader, key: string, v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v / 1e6;
  if (typeof v === 'string') {
    const ms = parseGoDuration(v);
    if (ms !== undefined && ms >= 0) return ms;
  }
  return r.fail(key, `must be a duration like "2s" or integer nanoseconds (got ${show(key, v)})`);
}

function readBackoffOverride(r: Reader): Record<string, BackoffSpec> {
  const key = 'backoff_override';
  if (!r.has(key)) return {};
  const v = r.value(key);
  if (!isPlainObject(v)) {
    r.fail(key, `must be an object of name -> {initial_delay, duration, factor, jitter, steps, cap} (got ${show(key, v)})`);
    return {};
  }
  const out: Record<string, BackoffSpec> = {};
  for (const [name, spec] of Object.entries(v)) {
    const base = `${key}.${name}`;
    if (!isPlainObject(spec)) {
      r.fail(base, `must be an object (got ${show(key, spec)})`);
      continue;
    }
    const b: BackoffSpec = {};
    for (const [field, fv] of Object.entries(spec)) {
      const f = field.toLowerCase();
      const fkey = `${base}.${field}`;
      if (f === 'initial_delay' || f === 'initialdelay') b.initialDelayMs = durationField(r, fkey, fv);
      else if (f === 'duration') b.durationMs = durationField(r, fkey, fv);
      else if (f === 'cap') b.capMs = durationField(r, fkey, fv);
      else if (f === 'factor') {
        if (typeof fv === 'number' && fv >= 1) b.factor = fv;
        else r.fail(fkey, `must be a number >= 1 (got ${show(key, fv)})`);
      } else if (f === 'jitter') {
        if (typeof fv === 'number' && fv >= 0) b.jitter = fv;
        else r.fail(fkey, `must be a number >= 0 (got ${show(key, fv)})`);
      } else if (f === 'steps') {
        if (typeof fv === 'number' && Number.isInteger(fv) && fv >= 1) b.steps = fv;
        else r.fail(fkey, `must be an integer >= 1 (got ${show(key, fv)})`);
      } else {
        r.warnings.push(`eni_conf.${fkey}: unknown backoff field, ignored`);
      }
    }
    out[name] = b;
  }
  return out;
}

function readEndpoint(r: Reader, key: string): { host?: string; scheme?: 'http' | 'https' } {
  const s = r.str(key);
  if (s === undefined) return {};
  const m = /^(https?):\/\/(.+)$/.exec(s);
  if (m) {
    try {
      const u = new URL(s);
      return { host: u.host, scheme: m[1] as 'http' | 'https' };
    } catch {
      r.fail(key, `must be a host[:port] or an http(s) URL (got ${show(key, s)})`);
      return {};
    }
  }
  if (!/^[A-Za-z0-9.\-_[\]:]+$/.test(s)) {
    r.fail(key, `must be a host[:port] or an http(s) URL (got ${show(key, s)})`);
    return {};
  }
  return { host: s };
}

/** A string key where "" means unset (Terway's chart renders `access_key: ""` when no key is given). */
function optionalStr(r: Reader, key: string): string | undefined {
  const v = r.str(key, { nonEmpty: false });
  return v === undefined || v.trim() === '' ? undefined : v;
}

export function readCloudKeys(r: Reader): CloudKeys {
  // Credentials, in Terway's chain order: this key pair, else credential_path, else the instance RAM role.
  const accessKey = optionalStr(r, 'access_key');
  const accessSecret = optionalStr(r, 'access_secret');
  if ((accessKey === undefined) !== (accessSecret === undefined)) {
    r.fail(accessKey === undefined ? 'access_key' : 'access_secret', 'access_key and access_secret must be set together');
  }
  const credentialPath = optionalStr(r, 'credential_path');
  const regionId = r.str('region_id');
  const instanceId = r.str('instance_id');
  const rateLimit = readRateLimit(r);
  const backoffOverride = readBackoffOverride(r);

  const cloud = readEndpoint(r, 'cloud_endpoint');
  const vpc = readEndpoint(r, 'vpc_endpoint');
  const cloudProtocol = r.oneOf('cloud_protocol', ['https', 'http'] as const, cloud.scheme ?? vpc.scheme ?? DEFAULTS.cloudProtocol);
  for (const [key, ep] of [
    ['cloud_endpoint', cloud],
    ['vpc_endpoint', vpc],
  ] as const) {
    if (ep.scheme && ep.scheme !== cloudProtocol) {
      r.fail(key, `URL scheme ${ep.scheme} contradicts cloud_protocol ${cloudProtocol}`);
    }
  }
  const metadataEndpoint = r.httpUrl('metadata_endpoint') ?? DEFAULTS.metadataEndpoint;

  return {
    accessKey,
    accessSecret,
    credentialPath,
    regionId,
    instanceId,
    rateLimit,
    backoffOverride,
    cloudEndpoint: cloud.host,
    vpcEndpoint: vpc.host,
    cloudProtocol,
    metadataEndpoint,
  };
}
