// eni_conf keys of the cloud client: credentials, region and instance, endpoints, client-side rate
// limits and retry backoff (Terway's rate_limit / backoff_override).
import { formatDuration, parseGoDuration } from './duration.js';
import { DEFAULTS } from './defaults.js';
import { BACKOFF_DURATION_RANGE, MAX_MAP_ENTRIES, NUMBER_RANGES } from './ranges.js';
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

/**
 * The OpenAPI actions the cloud client calls (daemon/cloud/ecsCalls.ts, vpcCalls.ts; test/daemon/configBounds.test.ts
 * keeps the list whole; DescribeInstances only for the controller's hygiene): a `rate_limit` for any other name
 * limits nothing, so it is warned about.
 */
export const CLOUD_APIS: readonly string[] = [
  'AssignPrivateIpAddresses',
  'AttachNetworkInterface',
  'CreateNetworkInterface',
  'CreateRouteEntry',
  'DeleteNetworkInterface',
  'DeleteRouteEntry',
  'DescribeInstanceTypes',
  'DescribeInstances',
  'DescribeNetworkInterfaces',
  'DescribeRouteEntryList',
  'DescribeVSwitches',
  'DetachNetworkInterface',
  'UnassignPrivateIpAddresses',
  'AssignIpv6Addresses',
  'UnassignIpv6Addresses',
];

function readRateLimit(r: Reader): Record<string, number> {
  const key = 'rate_limit';
  if (!r.has(key)) return {};
  const v = r.value(key);
  if (!isPlainObject(v)) {
    r.fail(key, `must be an object of API name -> calls per minute (got ${show(key, v)})`);
    return {};
  }
  const entries = Object.entries(v);
  if (entries.length > MAX_MAP_ENTRIES) {
    r.fail(key, `must have at most ${MAX_MAP_ENTRIES} entries (got ${entries.length})`);
    return {};
  }
  const max = NUMBER_RANGES.rate_limit[1];
  const out: Record<string, number> = {};
  for (const [api, n] of entries) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > max) {
      r.fail(`${key}.${api}`, `must be a positive number of calls per minute, at most ${max} (got ${show(key, n)})`);
      continue;
    }
    if (!CLOUD_APIS.includes(api)) {
      r.warnings.push(
        `eni_conf.${key}.${show(key, api)}: the daemon calls no API of that name; it limits nothing (APIs: ${CLOUD_APIS.join(', ')})`,
      );
    }
    out[api] = n;
  }
  return out;
}

/** Go marshals time.Duration as integer nanoseconds; people also write "2s". Accept both, up to 24h. */
function durationField(r: Reader, key: string, v: unknown): number | undefined {
  const [min, max] = BACKOFF_DURATION_RANGE;
  const ms = typeof v === 'number' && Number.isFinite(v) ? v / 1e6 : typeof v === 'string' ? parseGoDuration(v) : undefined;
  if (ms !== undefined && ms >= min && ms <= max) return ms;
  return r.fail(key, `must be a duration like "2s" or integer nanoseconds, up to ${formatDuration(max)} (got ${show(key, v)})`);
}

/** A number of a backoff field in its range, or undefined after recording the problem. */
function backoffNumber(r: Reader, key: string, v: unknown, range: readonly [number, number], integer = false): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= range[0] && v <= range[1] && (!integer || Number.isInteger(v))) return v;
  return r.fail(key, `must be ${integer ? 'an integer' : 'a number'} in ${range[0]}..${range[1]} (got ${show(key, v)})`);
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
  if (Object.keys(v).length > MAX_MAP_ENTRIES) {
    r.fail(key, `must have at most ${MAX_MAP_ENTRIES} entries (got ${Object.keys(v).length})`);
    return {};
  }
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
      else if (f === 'factor') b.factor = backoffNumber(r, fkey, fv, NUMBER_RANGES.backoff_factor);
      else if (f === 'jitter') b.jitter = backoffNumber(r, fkey, fv, NUMBER_RANGES.backoff_jitter);
      else if (f === 'steps') b.steps = backoffNumber(r, fkey, fv, NUMBER_RANGES.backoff_steps, true);
      else r.warnings.push(`eni_conf.${fkey}: unknown backoff field, ignored`);
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

export function readCloudKeys(r: Reader): CloudKeys {
  // Empty strings are unset, as in Terway's credential chain (its chart renders `"access_key": ""` by default).
  const accessKey = r.optionalStr('access_key');
  const accessSecret = r.optionalStr('access_secret');
  if ((accessKey === undefined) !== (accessSecret === undefined) && !r.issues.some((i) => i.key.startsWith('access_'))) {
    r.fail(accessKey === undefined ? 'access_key' : 'access_secret', 'access_key and access_secret must be set together');
  }
  const credentialPath = r.optionalStr('credential_path');
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
