// The controller's configuration: a JSON file (the chart renders it into a ConfigMap) with the key names of
// Terway's terway-controlplane config (types/controlplane/config_default.go) where Terway has the key.
// Credentials come from the file, or from the environment the chart fills from the controller's own Secret
// (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET, the Alibaba SDKs' names), or a credential file.
import { formatDuration, parseGoDuration } from '../daemon/config/duration.js';

export interface ControlplaneConfig {
  regionID: string;
  /** The cluster's VPC (the full cloud listing is of its ENIs). */
  vpcID: string;
  clusterID?: string;
  accessKey?: string;
  accessSecret?: string;
  credentialPath?: string;
  /** OpenAPI endpoint override (a private endpoint; the mock cloud in tests). */
  cloudEndpoint?: string;
  vpcEndpoint?: string;
  /** One token bucket for the whole account: calls per second and burst. */
  openAPIQPS: number;
  openAPIBurst: number;
  /** Calls per minute per API, over Terway's defaults (Terway `rateLimit`). */
  rateLimit: Record<string, number>;
  /** Apply Terway's per-API defaults under `rateLimit` (default true). */
  terwayRateLimits: boolean;
  leaderElection: boolean;
  leaseLockName: string;
  leaseLockNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** API server access: a kubeconfig file, else the pod's service account. */
  kubeconfig?: string;
  kubeClientQPS: number;
  kubeClientBurst: number;
  /** `host:port` for /metrics, /healthz and /v1/nodes (loopback peers only). Empty: none. */
  metricsBindAddress: string;
  /** ENIs in transit are asked about together this often. */
  attachPollPeriodMs: number;
  /** Full cloud listing, reconcile of every node, leaked-ENI hygiene (Terway `multiIPNodeSyncPeriod`). */
  multiIPNodeSyncPeriodMs: number;
  /** Detached ENIs of ours whose instance still exists go after this long. */
  leakedENIGracePeriodMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

export class ControlplaneConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.map((i) => `controlplane config: ${i}`).join('\n'));
    this.name = 'ControlplaneConfigError';
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Parses the config object; `env` supplies credentials the file leaves out. Throws ControlplaneConfigError naming every bad key. */
export function parseControlplaneConfig(raw: unknown, env: Readonly<Record<string, string | undefined>> = {}): ControlplaneConfig {
  const issues: string[] = [];
  const o = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) issues.push('must be a JSON object');
  const bad = <T>(k: string, what: string, def: T): T => {
    issues.push(`${k}: ${what}`);
    return def;
  };
  const str = (k: string, def?: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null || v === '') return def;
    return typeof v === 'string' ? v : bad(k, 'must be a string', def);
  };
  const num = (k: string, def: number, min = 0): number => {
    const v = o[k];
    if (v === undefined || v === null) return def;
    return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : bad(k, `must be a number >= ${min}`, def);
  };
  const bool = (k: string, def: boolean): boolean => {
    const v = o[k];
    if (v === undefined || v === null) return def;
    return typeof v === 'boolean' ? v : bad(k, 'must be true or false', def);
  };
  const dur = (k: string, def: string): number => {
    const v = str(k, def)!;
    const ms = parseGoDuration(v);
    if (ms === undefined || ms <= 0) {
      issues.push(`${k}: must be a positive Go duration like "2s" or "10m" (got ${JSON.stringify(v)})`);
      return parseGoDuration(def)!;
    }
    return ms;
  };
  const regionID = str('regionID');
  const vpcID = str('vpcID');
  if (!regionID) issues.push('regionID: required');
  if (!vpcID) issues.push('vpcID: required');
  const rateLimit: Record<string, number> = {};
  const rl = o['rateLimit'];
  if (rl !== undefined && rl !== null) {
    if (typeof rl !== 'object' || Array.isArray(rl)) issues.push('rateLimit: must be an object of API name -> calls per minute');
    else
      for (const [api, v] of Object.entries(rl as Record<string, unknown>)) {
        if (typeof v === 'number' && v > 0) rateLimit[api] = v;
        else issues.push(`rateLimit.${api}: must be a positive number of calls per minute`);
      }
  }
  const openAPIQPS = num('openAPIQPS', 20, 0.001);
  const logLevel = str('logLevel', 'info')!;
  if (!(LEVELS as readonly string[]).includes(logLevel)) issues.push(`logLevel: must be one of ${LEVELS.join('|')}`);
  const accessKey = str('accessKey') ?? (env['ALIBABA_CLOUD_ACCESS_KEY_ID'] || undefined);
  const accessSecret = str('accessSecret') ?? (env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] || undefined);
  if (Boolean(accessKey) !== Boolean(accessSecret)) issues.push('accessKey / accessSecret: set both or neither');
  const cfg: ControlplaneConfig = {
    regionID: regionID ?? '',
    vpcID: vpcID ?? '',
    clusterID: str('clusterID'),
    accessKey,
    accessSecret,
    credentialPath: str('credentialPath'),
    cloudEndpoint: str('cloudEndpoint'),
    vpcEndpoint: str('vpcEndpoint'),
    openAPIQPS,
    openAPIBurst: num('openAPIBurst', Math.max(1, Math.ceil(openAPIQPS)), 1),
    rateLimit,
    terwayRateLimits: bool('terwayRateLimits', true),
    leaderElection: bool('leaderElection', true),
    leaseLockName: str('leaseLockName', 'eni-ipam-controlplane')!,
    leaseLockNamespace: str('leaseLockNamespace', 'kube-system')!,
    leaseDurationMs: dur('leaseDuration', '15s'),
    renewDeadlineMs: dur('renewDeadline', '10s'),
    retryPeriodMs: dur('retryPeriod', '2s'),
    kubeconfig: str('kubeconfig'),
    kubeClientQPS: num('kubeClientQPS', 50, 0.001),
    kubeClientBurst: num('kubeClientBurst', 100, 1),
    metricsBindAddress: str('metricsBindAddress', '') ?? '',
    attachPollPeriodMs: dur('attachPollPeriod', '1s'),
    multiIPNodeSyncPeriodMs: dur('multiIPNodeSyncPeriod', '10m'),
    leakedENIGracePeriodMs: dur('leakedENIGracePeriod', '5m'),
    logLevel: logLevel as ControlplaneConfig['logLevel'],
  };
  if (cfg.leaderElection && !(cfg.leaseDurationMs > cfg.renewDeadlineMs && cfg.renewDeadlineMs > cfg.retryPeriodMs * 1.2))
    issues.push(
      `leaseDuration (${formatDuration(cfg.leaseDurationMs)}) > renewDeadline (${formatDuration(cfg.renewDeadlineMs)}) > retryPeriod × 1.2 is required`,
    );
  if (issues.length > 0) throw new ControlplaneConfigError(issues);
  return cfg;
}

/** The config safe to log. */
export function redactControlplaneConfig(c: ControlplaneConfig): Record<string, unknown> {
  return { ...c, accessKey: c.accessKey ? '<redacted>' : undefined, accessSecret: c.accessSecret ? '<redacted>' : undefined };
}
