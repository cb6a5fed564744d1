// Pure eni_conf parser: raw JSON value -> DaemonConfig, or a ConfigError naming every bad key. Each
// section of keys has its reader (poolKeys, cloudKeys, driverKeys, processKeys, kubeKeys); defaults
// live in defaults.ts. Unknown keys only warn: Terway's ConfigMaps carry keys this daemon does not use.
import { readCloudKeys } from './cloudKeys.js';
import { readDriverKeys } from './driverKeys.js';
import { readKubeKeys } from './kubeKeys.js';
import { readPoolKeys } from './poolKeys.js';
import { readProcessKeys } from './processKeys.js';
import { MAX_DEPTH } from './ranges.js';
import { isPlainObject, Reader, show } from './reader.js';
import { ConfigError, type DaemonConfig } from './types.js';

/** Terway keys we recognise but do not implement: accepted with a specific warning. */
const IGNORED_TERWAY_KEYS: Record<string, string> = {
  resource_group_id: 'ENIs are created in the default resource group',
  eni_tag_block_list: 'not supported yet',
  prefix: 'interface name prefix is not configurable',
  ip_warm_up_size: 'not supported yet; min_pool_size keeps the pool warm',
  enable_eni_trunking: 'trunk ENIs are not supported',
  enable_erdma: 'eRDMA is not supported',
  enable_ip_prefix: 'prefix delegation is not supported',
  ipv4_prefix_count: 'prefix delegation is not supported',
  ipv6_prefix_count: 'prefix delegation is not supported',
  ip_pool_sync_period: 'not configurable yet',
  extra_routes: 'not supported yet',
  disable_device_plugin: 'there is no device plugin',
  enable_patch_pod_ips: 'pod IPs are not patched onto pods',
  enable_eip: 'EIP is not supported (deprecated in Terway too)',
  hot_plug: 'ignored',
};

/** A Terway key this daemon recognises but does not implement (accepted with a warning unless switched off). */
export function isIgnoredTerwayKey(key: string): boolean {
  return Object.hasOwn(IGNORED_TERWAY_KEYS, key);
}

/** A value that leaves a feature off or unset: false, "", 0, null, [] or {}. */
function isOff(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return v === false || v === '' || v === 0 || v === null || v === undefined;
}

export interface ParseResult {
  config: DaemonConfig;
  /** The eni_conf object the config was read from (a node's terway-config is merged over it, RFC 7396). */
  source: Record<string, unknown>;
  /** Non-fatal findings (unknown or ignored keys), for the log. */
  warnings: string[];
}

/**
 * Parses eni_conf content. Accepts the eni_conf object itself or a ConfigMap-style wrapper
 * `{ "eni_conf": "<json string>" }`. Throws ConfigError listing every bad key.
 */
export function parseDaemonConfig(raw: unknown): ParseResult {
  // Before anything walks it (error messages stringify values): JSON.parse takes any depth, recursion does not.
  const depth = depthOver(raw, MAX_DEPTH);
  if (depth) throw new ConfigError([{ key: depth, message: `nested deeper than ${MAX_DEPTH} levels` }]);
  if (isPlainObject(raw) && 'eni_conf' in raw) {
    // The ConfigMap shape: {"eni_conf": "<json>"}. Anything but a string there is a mistake, not a config of defaults.
    const wrapped = raw['eni_conf'];
    if (typeof wrapped !== 'string') {
      throw new ConfigError([{ key: '', message: `eni_conf must hold the config as a JSON string (got ${show('', wrapped)})` }]);
    }
    let inner: unknown;
    try {
      inner = JSON.parse(wrapped);
    } catch (e) {
      throw new ConfigError([{ key: '', message: `eni_conf is not valid JSON: ${(e as Error).message}` }]);
    }
    if (isPlainObject(inner) && 'eni_conf' in inner) throw new ConfigError([{ key: '', message: 'eni_conf wraps another eni_conf' }]);
    return parseDaemonConfig(inner);
  }
  if (!isPlainObject(raw)) {
    throw new ConfigError([{ key: '', message: `must be a JSON object (got ${show('', raw)})` }]);
  }
  const r = new Reader(raw);
  const config: DaemonConfig = {
    version: r.str('version'),
    ...readCloudKeys(r),
    ...readPoolKeys(r),
    ...readDriverKeys(r),
    ...readProcessKeys(r),
    ...readKubeKeys(r),
  };
  if (config.ipamType === 'crd' && config.daemonMode !== 'ENIMultiIP')
    r.fail('ipam_type', `crd (centralized IPAM) serves daemon_mode ENIMultiIP only (got ${config.daemonMode})`);
  // The controller places IPv4 addresses only: a dual-stack pool is node-local for now.
  if (config.ipamType === 'crd' && config.ipStack === 'dual')
    r.fail(
      'ip_stack',
      'dual is not built for ipam_type crd (the controller places IPv4 addresses only): use ip_stack ipv4 or the node-local pool',
    );
  if (config.ipamType === 'crd' && (config.accessKey || config.credentialPath))
    r.warnings.push(
      `eni_conf.${config.accessKey ? 'access_key' : 'credential_path'}: ignored (ipam_type crd: the daemon makes no cloud call; the controller holds the credentials)`,
    );
  for (const key of r.unknownKeys()) {
    const why = IGNORED_TERWAY_KEYS[key];
    // Terway's chart renders some of these switched off (`"enable_eni_trunking": false`): nothing to say then.
    if (why && isOff(raw[key])) continue;
    const name = key.length > 64 ? `${key.slice(0, 64)}...` : key;
    r.warnings.push(why ? `eni_conf.${name}: ignored (${why})` : `eni_conf.${name}: unknown key, ignored`);
  }
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return { config, warnings: r.warnings, source: raw };
}

/** The path (a.b[0]...) of the first value nested deeper than `max`, or undefined. Iterative: no stack to overflow. */
function depthOver(root: unknown, max: number): string | undefined {
  const stack: [unknown, number, string][] = [[root, 0, '']];
  while (stack.length > 0) {
    const [v, d, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d >= max) return path.length > 80 ? `${path.slice(0, 80)}...` : path;
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, d + 1, `${path}[${i}]`]));
    else for (const [k, x] of Object.entries(v)) stack.push([x, d + 1, path ? `${path}.${k}` : k]);
  }
  return undefined;
}

/** The config with secrets removed, safe to log. */
export function redactConfig(config: DaemonConfig): Record<string, unknown> {
  const { accessKey, accessSecret, ...rest } = config;
  return { ...rest, accessKey: accessKey ? '<redacted>' : undefined, accessSecret: accessSecret ? '<redacted>' : undefined };
}
