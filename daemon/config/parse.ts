// Pure eni_conf parser: raw JSON value -> DaemonConfig, or a ConfigError naming every bad key.
// Unknown keys only warn: Terway's ConfigMaps carry keys this daemon does not use.
import { isIP } from 'node:net';
import { parseGoDuration } from './duration.js';
import { parsePodCidr } from '../modes/vpcIp/podCidr.js';
import {
  ConfigError,
  type BackoffSpec,
  type ConfigIssue,
  type DaemonConfig,
  type DaemonMode,
  type DriverName,
  type ListenAddress,
  type LogLevel,
} from './types.js';

export const DEFAULTS = {
  socketPath: '/var/run/eni/eni.socket',
  dbPath: '/var/lib/cni/eni-ipam/pods.db',
  maxPoolSize: 5,
  minPoolSize: 0,
  idleIpReclaimIntervalMs: 10 * 60_000,
  idleIpReclaimBatchSize: 5,
  idleIpReclaimJitterFactor: 0.1,
  mtu: 1500,
  ipCooldownMs: 30_000,
  statefulIpReserveMs: 10 * 60_000,
  allocTimeoutMs: 60_000,
  shutdownTimeoutMs: 10_000,
  gcIntervalMs: 5 * 60_000,
  gcGraceMs: 2 * 60_000,
  kubeClientQps: 20,
  kubeClientBurst: 30,
  podLookupTimeoutMs: 2_000,
} as const;

/** Keys whose values never appear in errors or logs. */
export const SECRET_KEYS = new Set(['access_key', 'access_secret']);

/** Terway keys we recognise but do not implement: accepted with a specific warning. */
const IGNORED_TERWAY_KEYS: Record<string, string> = {
  resource_group_id: 'ENIs are created in the default resource group',
  eni_tag_block_list: 'not supported yet',
  prefix: 'interface name prefix is not configurable',
  ip_warm_up_size: 'not supported yet; min_pool_size keeps the pool warm',
  eni_cap_ratio: 'not supported yet',
  eni_cap_shift: 'not supported yet',
  enable_eni_trunking: 'trunk ENIs are not supported',
  enable_erdma: 'eRDMA is not supported',
  enable_ip_prefix: 'prefix delegation is not supported',
  ipv4_prefix_count: 'prefix delegation is not supported',
  ipv6_prefix_count: 'prefix delegation is not supported',
  ipam_type: 'centralized (crd) IPAM is not supported; the daemon runs the pool itself',
  ip_pool_sync_period: 'not configurable yet',
  extra_routes: 'not supported yet',
  disable_device_plugin: 'there is no device plugin',
  enable_patch_pod_ips: 'pod IPs are not patched onto pods',
  enable_eip: 'EIP is not supported (deprecated in Terway too)',
  hot_plug: 'ignored',
};

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const UNIX_PATH_MAX = 107; // sun_path is 108 bytes including the NUL

function show(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key.split('.')[0]!)) return '<redacted>';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isIpv4Cidr(s: string): boolean {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  return !!m && isIP(m[1]!) === 4 && Number(m[2]) <= 32;
}

function isCidr(s: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const fam = isIP(m[1]!);
  const len = Number(m[2]);
  return (fam === 4 && len <= 32) || (fam === 6 && len <= 128);
}

/** "127.0.0.1:9100", ":9100", "[::1]:9100", "unix:///run/x.sock" or "/run/x.sock". */
export function parseListenAddress(s: string): ListenAddress | undefined {
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    return path.startsWith('/') ? { kind: 'unix', path } : undefined;
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { kind: 'tcp', host, port };
}

class Reader {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly raw: Record<string, unknown>) {}

  has(key: string): boolean {
    this.seen.add(key);
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }
  fail(key: string, message: string): undefined {
    this.issues.push({ key, message });
    return undefined;
  }
  /** The raw value (null reads as unset); marks the key as known. */
  value(key: string): unknown {
    this.seen.add(key);
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  str(key: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.fail(key, `must be a string (got ${show(key, v)})`);
    if (opts.nonEmpty !== false && v.trim() === '') return this.fail(key, 'must not be empty');
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.value(key);
    if (v === undefined || v === '') return def;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.fail(key, `must be one of ${allowed.join('|')} (got ${show(key, v)})`);
    return def;
  }

  int(key: string, def: number, opts: { min?: number; max?: number; what?: string } = {}): number {
    const v = this.value(key);
    if (v === undefined) return def;
    const min = opts.min ?? 0;
    const ok = typeof v === 'number' && Number.isInteger(v) && v >= min && (opts.max === undefined || v <= opts.max);
    if (!ok) {
      const range = opts.what ?? (opts.max === undefined ? `>= ${min}` : `in ${min}..${opts.max}`);
      this.fail(key, `must be an integer ${range} (got ${show(key, v)})`);
      return def;
    }
    return v as number;
  }

  num(key: string, def: number, min: number, max: number): number {
    const v = this.value(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(key, `must be a number in ${min}..${max} (got ${show(key, v)})`);
      return def;
    }
    return v;
  }

  duration(key: string, opts: { allowZero?: boolean } = {}): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const ms = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (ms === undefined || ms < 0 || (!opts.allowZero && ms === 0)) {
      return this.fail(
        key,
        `must be a ${opts.allowZero ? 'non-negative' : 'positive'} duration like "30s", "10m" or "1h30m" (got ${show(key, v)})`,
      );
    }
    return ms;
  }

  stringMap(key: string): Record<string, string> {
    const v = this.value(key);
    if (v === undefined) return {};
    if (!isPlainObject(v)) {
      this.fail(key, `must be an object of string values (got ${show(key, v)})`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (k === '') this.fail(key, 'tag keys must not be empty');
      else if (typeof val !== 'string') this.fail(`${key}.${k}`, `must be a string (got ${show(key, val)})`);
      else out[k] = val;
    }
    return out;
  }

  unknownKeys(): string[] {
    return Object.keys(this.raw).filter((k) => !this.seen.has(k));
  }
}

function parseVSwitches(r: Reader): Record<string, string[]> {
  const key = 'vswitches';
  if (!r.has(key)) return {};
  const v = r.value(key);
  if (!isPlainObject(v)) {
    r.fail(key, `must be an object of zone id -> [vSwitch ids] (got ${show(key, v)})`);
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const [zone, ids] of Object.entries(v)) {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.trim() === '')) {
      r.fail(`${key}.${zone}`, `must be a list of vSwitch ids (got ${show(key, ids)})`);
      continue;
    }
    out[zone] = [...new Set(ids as string[])];
  }
  return out;
}

function parseSecurityGroups(r: Reader): string[] {
  const ids: string[] = [];
  const single = r.str('security_group');
  if (single !== undefined)
    ids.push(
      ...single
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  if (r.has('security_groups')) {
    const v = r.value('security_groups');
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.trim() === '')) {
      r.fail('security_groups', `must be a list of security group ids (got ${show('security_groups', v)})`);
    } else {
      ids.push(...(v as string[]));
    }
  }
  const unique = [...new Set(ids)];
  if (unique.length > 10) {
    r.fail(r.has('security_groups') ? 'security_groups' : 'security_group', `at most 10 security groups per ENI (got ${unique.length})`);
  }
  return unique;
}

function parseServiceCidr(r: Reader): string[] {
  const s = r.str('service_cidr');
  if (s === undefined) return [];
  const parts = s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = parts.find((p) => !isCidr(p));
  if (bad !== undefined) {
    r.fail('service_cidr', `must be a CIDR or a comma-separated list of CIDRs (got ${show('service_cidr', s)})`);
    return [];
  }
  return parts;
}

function parseRateLimit(r: Reader): Record<string, number> {
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

function parseBackoffOverride(r: Reader): Record<string, BackoffSpec> {
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

function parseEndpoint(r: Reader, key: string): { host?: string; scheme?: 'http' | 'https' } {
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

type KubeKeys = Pick<
  DaemonConfig,
  | 'kubeconfig'
  | 'kubeApiServer'
  | 'kubeTokenFile'
  | 'kubeCaFile'
  | 'nodeName'
  | 'customStatefulWorkloadKinds'
  | 'kubeClientQps'
  | 'kubeClientBurst'
  | 'podLookupTimeoutMs'
>;

function parseKube(r: Reader): KubeKeys {
  const kubeconfig = r.str('kubeconfig');
  let kubeApiServer = r.str('kube_api_server');
  if (kubeApiServer !== undefined) {
    try {
      const u = new URL(kubeApiServer);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      kubeApiServer = kubeApiServer.replace(/\/+$/, '');
    } catch {
      kubeApiServer = r.fail('kube_api_server', `must be an http(s) URL (got ${show('kube_api_server', kubeApiServer)})`);
    }
  }
  const kubeTokenFile = r.str('kube_token_file');
  const kubeCaFile = r.str('kube_ca_file');
  if (kubeApiServer === undefined) {
    if (r.has('kube_token_file')) r.fail('kube_token_file', 'needs kube_api_server (a kubeconfig carries its own credentials)');
    if (r.has('kube_ca_file')) r.fail('kube_ca_file', 'needs kube_api_server (a kubeconfig carries its own CA)');
  }
  const nodeName = r.str('node_name');
  // Node names are DNS subdomains (RFC 1123), at most 253 characters.
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(nodeName)) {
    r.fail('node_name', `must be a lower-case DNS subdomain (got ${show('node_name', nodeName)})`);
  }
  let customStatefulWorkloadKinds: string[] = [];
  if (r.has('custom_stateful_workload_kinds')) {
    const v = r.value('custom_stateful_workload_kinds');
    if (!Array.isArray(v) || v.some((k) => typeof k !== 'string' || k.trim() === '')) {
      r.fail(
        'custom_stateful_workload_kinds',
        `must be a list of owner kinds like ["CloneSet"] (got ${show('custom_stateful_workload_kinds', v)})`,
      );
    } else {
      customStatefulWorkloadKinds = [...new Set((v as string[]).map((k) => k.trim()))];
    }
  }
  const kubeClientQps = r.num('kube_client_qps', DEFAULTS.kubeClientQps, 0.01, 10_000);
  const kubeClientBurst = r.int('kube_client_burst', Math.max(DEFAULTS.kubeClientBurst, Math.ceil(kubeClientQps)), { min: 1 });
  const podLookupTimeoutMs = r.duration('pod_lookup_timeout') ?? DEFAULTS.podLookupTimeoutMs;
  return {
    kubeconfig,
    kubeApiServer,
    kubeTokenFile,
    kubeCaFile,
    nodeName,
    customStatefulWorkloadKinds,
    kubeClientQps,
    kubeClientBurst,
    podLookupTimeoutMs,
  };
}

function defaultDriver(mode: DaemonMode, virtualType: 'veth' | 'ipvlan'): DriverName {
  if (mode === 'VPCENI') return 'rawEni';
  if (mode === 'VPCIP') return 'veth';
  return virtualType;
}

export interface ParseResult {
  config: DaemonConfig;
  /** Non-fatal findings (unknown or ignored keys), for the log. */
  warnings: string[];
}

/**
 * Parses eni_conf content. Accepts the eni_conf object itself or a ConfigMap-style wrapper
 * `{ "eni_conf": "<json string>" }`. Throws ConfigError listing every bad key.
 */
export function parseDaemonConfig(raw: unknown): ParseResult {
  if (isPlainObject(raw) && typeof raw['eni_conf'] === 'string') {
    let inner: unknown;
    try {
      inner = JSON.parse(raw['eni_conf']);
    } catch (e) {
      throw new ConfigError([{ key: '', message: `eni_conf is not valid JSON: ${(e as Error).message}` }]);
    }
    return parseDaemonConfig(inner);
  }
  if (!isPlainObject(raw)) {
    throw new ConfigError([{ key: '', message: `must be a JSON object (got ${show('', raw)})` }]);
  }
  const r = new Reader(raw);

  const version = r.str('version');
  const accessKey = r.str('access_key');
  const accessSecret = r.str('access_secret');
  if (r.has('access_key') !== r.has('access_secret')) {
    r.fail(accessKey === undefined ? 'access_key' : 'access_secret', 'access_key and access_secret must be set together');
  }
  const credentialPath = r.str('credential_path');
  const regionId = r.str('region_id');
  const vSwitches = parseVSwitches(r);
  const vSwitchSelectionPolicy = r.oneOf('vswitch_selection_policy', ['random', 'ordered'] as const, 'random');
  const securityGroupIds = parseSecurityGroups(r);
  const serviceCidrs = parseServiceCidr(r);

  const minPoolSize = r.int('min_pool_size', DEFAULTS.minPoolSize, { min: 0 });
  const maxPoolSize = r.int('max_pool_size', Math.max(DEFAULTS.maxPoolSize, minPoolSize), {
    min: minPoolSize,
    what: `>= min_pool_size (${minPoolSize})`,
  });
  const idleIpReclaimAfterMs = r.duration('idle_ip_reclaim_after');
  const idleIpReclaimIntervalMs = r.duration('idle_ip_reclaim_interval') ?? DEFAULTS.idleIpReclaimIntervalMs;
  const idleIpReclaimBatchSize = r.int('idle_ip_reclaim_batch_size', DEFAULTS.idleIpReclaimBatchSize, { min: 1 });
  const idleIpReclaimJitterFactor = r.num('idle_ip_reclaim_jitter_factor', DEFAULTS.idleIpReclaimJitterFactor, 0, 1);
  const minEni = r.int('min_eni', 0, { min: 0 });
  const maxEni = r.int('max_eni', 0, { min: 0 });
  if (maxEni !== 0 && maxEni < minEni) r.fail('max_eni', `must be 0 (the instance limit) or >= min_eni (${minEni}) (got ${maxEni})`);
  const eniSelectionPolicy = r.oneOf('eni_selection_policy', ['most_ips', 'least_ips'] as const, 'most_ips');
  const eniTags = r.stringMap('eni_tags');
  const eniTagFilter = r.stringMap('eni_tag_filter');
  const rateLimit = parseRateLimit(r);
  const backoffOverride = parseBackoffOverride(r);

  const ipStackRaw = r.oneOf('ip_stack', ['ipv4', 'dual', 'ipv6'] as const, 'ipv4');
  if (ipStackRaw !== 'ipv4') r.fail('ip_stack', `"${ipStackRaw}" is not supported yet (only ipv4)`);

  const daemonMode = r.oneOf('daemon_mode', ['ENIMultiIP', 'VPCENI', 'VPCIP'] as const, 'ENIMultiIP');
  const eniipVirtualType = r.oneOf('eniip_virtual_type', ['veth', 'ipvlan'] as const, 'veth');
  const podCidr = r.str('pod_cidr');
  if (podCidr !== undefined) {
    try {
      parsePodCidr(podCidr);
    } catch (e) {
      r.fail('pod_cidr', `must be an IPv4 CIDR with a /8../29 prefix and no host bits: ${(e as Error).message}`);
    }
  } else if (daemonMode === 'VPCIP') {
    r.fail('pod_cidr', 'is required when daemon_mode is VPCIP (the node\'s pod CIDR, e.g. "172.20.1.0/24")');
  }
  const mtu = r.int('mtu', DEFAULTS.mtu, { min: 68, max: 65535 });

  const cloud = parseEndpoint(r, 'cloud_endpoint');
  const vpc = parseEndpoint(r, 'vpc_endpoint');
  const protoDefault = cloud.scheme ?? vpc.scheme ?? 'https';
  const cloudProtocol = r.oneOf('cloud_protocol', ['https', 'http'] as const, protoDefault);
  for (const [key, ep] of [
    ['cloud_endpoint', cloud],
    ['vpc_endpoint', vpc],
  ] as const) {
    if (ep.scheme && ep.scheme !== cloudProtocol) {
      r.fail(key, `URL scheme ${ep.scheme} contradicts cloud_protocol ${cloudProtocol}`);
    }
  }
  let metadataEndpoint = r.str('metadata_endpoint');
  if (metadataEndpoint !== undefined) {
    try {
      const u = new URL(metadataEndpoint);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      metadataEndpoint = metadataEndpoint.replace(/\/+$/, '');
    } catch {
      metadataEndpoint = r.fail('metadata_endpoint', `must be an http(s) URL (got ${show('metadata_endpoint', metadataEndpoint)})`);
    }
  }

  const socketPath = r.str('socket_path') ?? DEFAULTS.socketPath;
  if (Buffer.byteLength(socketPath) > UNIX_PATH_MAX) {
    r.fail('socket_path', `unix socket paths are limited to ${UNIX_PATH_MAX} bytes (got ${Buffer.byteLength(socketPath)})`);
  }
  const dbPath = r.str('db_path') ?? DEFAULTS.dbPath;
  const ipCooldownMs = r.duration('ip_cooldown', { allowZero: true }) ?? DEFAULTS.ipCooldownMs;
  const statefulIpReserveMs = r.duration('stateful_ip_reserve', { allowZero: true }) ?? DEFAULTS.statefulIpReserveMs;

  const driverOverride = r.oneOf<DriverName | ''>('driver', ['veth', 'ipvlan', 'rawEni', 'none'] as const, '');
  const driver: DriverName = driverOverride || defaultDriver(daemonMode, eniipVirtualType);
  if (driver === 'rawEni' && daemonMode !== 'VPCENI') r.fail('driver', `rawEni needs daemon_mode VPCENI (daemon_mode is ${daemonMode})`);
  if (daemonMode === 'VPCIP' && driver === 'ipvlan') r.fail('driver', 'daemon_mode VPCIP is wired with veth (or none) (got ipvlan)');
  if (daemonMode === 'VPCENI' && (driver === 'veth' || driver === 'ipvlan')) {
    r.fail('driver', `daemon_mode VPCENI moves a whole ENI into the pod: use rawEni or none (got ${driver})`);
  }
  const vethPrefix = r.str('veth_prefix');
  if (vethPrefix !== undefined && !/^[a-zA-Z][a-zA-Z0-9_-]{0,6}$/.test(vethPrefix)) {
    r.fail('veth_prefix', `must be 1-7 letters, digits, "_" or "-", starting with a letter (got ${show('veth_prefix', vethPrefix)})`);
  }
  const hostNetnsPath = r.str('host_netns_path');
  const procSysPath = r.str('proc_sys_path');
  if (procSysPath !== undefined && !procSysPath.startsWith('/'))
    r.fail('proc_sys_path', `must be an absolute path (got ${show('proc_sys_path', procSysPath)})`);
  const instanceId = r.str('instance_id');
  const logLevel = r.oneOf('log_level', LOG_LEVELS, 'info');
  let metricsListen: ListenAddress | undefined;
  const ml = r.str('metrics_listen');
  if (ml !== undefined) {
    metricsListen = parseListenAddress(ml);
    if (!metricsListen) r.fail('metrics_listen', `must be host:port, :port or a unix socket path (got ${show('metrics_listen', ml)})`);
  }
  const allocTimeoutMs = r.duration('alloc_timeout') ?? DEFAULTS.allocTimeoutMs;
  const shutdownTimeoutMs = r.duration('shutdown_timeout', { allowZero: true }) ?? DEFAULTS.shutdownTimeoutMs;
  const gcIntervalMs = r.duration('gc_interval') ?? DEFAULTS.gcIntervalMs;
  const gcGraceMs = r.duration('gc_grace', { allowZero: true }) ?? DEFAULTS.gcGraceMs;
  const kube = parseKube(r);

  for (const key of r.unknownKeys()) {
    const why = IGNORED_TERWAY_KEYS[key];
    r.warnings.push(why ? `eni_conf.${key}: ignored (${why})` : `eni_conf.${key}: unknown key, ignored`);
  }
  if (r.issues.length > 0) throw new ConfigError(r.issues);

  const config: DaemonConfig = {
    version,
    accessKey,
    accessSecret,
    credentialPath,
    regionId,
    vSwitches,
    vSwitchSelectionPolicy,
    securityGroupIds,
    serviceCidrs,
    maxPoolSize,
    minPoolSize,
    idleIpReclaimAfterMs,
    idleIpReclaimIntervalMs,
    idleIpReclaimBatchSize,
    idleIpReclaimJitterFactor,
    minEni,
    maxEni,
    eniSelectionPolicy,
    eniTags,
    eniTagFilter,
    rateLimit,
    backoffOverride,
    ipStack: 'ipv4',
    daemonMode,
    podCidr,
    eniipVirtualType,
    mtu,
    cloudEndpoint: cloud.host,
    vpcEndpoint: vpc.host,
    cloudProtocol,
    metadataEndpoint,
    socketPath,
    dbPath,
    ipCooldownMs,
    statefulIpReserveMs,
    driver,
    vethPrefix,
    hostNetnsPath,
    procSysPath,
    instanceId,
    logLevel,
    metricsListen,
    allocTimeoutMs,
    shutdownTimeoutMs,
    gcIntervalMs,
    gcGraceMs,
    ...kube,
  };
  return { config, warnings: r.warnings };
}

/** The config with secrets removed, safe to log. */
export function redactConfig(config: DaemonConfig): Record<string, unknown> {
  const { accessKey, accessSecret, ...rest } = config;
  return { ...rest, accessKey: accessKey ? '<redacted>' : undefined, accessSecret: accessSecret ? '<redacted>' : undefined };
}
