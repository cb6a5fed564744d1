// Pure eni_conf parser: raw JSON value -> DaemonConfig, or a ConfigError naming every bad key. Each
// section of keys has its reader (poolKeys, cloudKeys, driverKeys, processKeys, kubeKeys); defaults
// live in defaults.ts. Unknown keys only warn: Terway's ConfigMaps carry keys this daemon does not use.
import { readCloudKeys } from './cloudKeys.js';
import { readDriverKeys } from './driverKeys.js';
import { readKubeKeys } from './kubeKeys.js';
import { readPoolKeys } from './poolKeys.js';
import { readProcessKeys } from './processKeys.js';
import { isPlainObject, Reader, show } from './reader.js';
import { ConfigError, type DaemonConfig } from './types.js';

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
  ip_pool_sync_period: 'not configurable yet',
  extra_routes: 'not supported yet',
  disable_device_plugin: 'there is no device plugin',
  enable_patch_pod_ips: 'pod IPs are not patched onto pods',
  enable_eip: 'EIP is not supported (deprecated in Terway too)',
  hot_plug: 'ignored',
};

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
  if (config.ipamType === 'crd' && (config.accessKey || config.credentialPath))
    r.warnings.push(
      `eni_conf.${config.accessKey ? 'access_key' : 'credential_path'}: ignored (ipam_type crd: the daemon makes no cloud call; the controller holds the credentials)`,
    );
  for (const key of r.unknownKeys()) {
    const why = IGNORED_TERWAY_KEYS[key];
    r.warnings.push(why ? `eni_conf.${key}: ignored (${why})` : `eni_conf.${key}: unknown key, ignored`);
  }
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return { config, warnings: r.warnings };
}

/** The config with secrets removed, safe to log. */
export function redactConfig(config: DaemonConfig): Record<string, unknown> {
  const { accessKey, accessSecret, ...rest } = config;
  return { ...rest, accessKey: accessKey ? '<redacted>' : undefined, accessSecret: accessSecret ? '<redacted>' : undefined };
}
