// The node's identity and the cloud client, from eni_conf: instance metadata (from the metadata service,
// or from a supplied cloud), and the SDK-backed client with Terway's rate_limit / backoff_override and
// credential chain (access_key → credential_path → the instance RAM role).
import type { Logger } from 'pino';
import { AliyunCloud, MetadataClient, type TerwayBackoff } from '../cloud/index.js';
import type { Cloud, CloudObserver, InstanceMetadata } from '../cloud/types.js';
import type { DaemonConfig } from '../config/types.js';

/** The instance metadata: asked of `cloud` when one is supplied, else of the metadata service. */
export async function readMetadata(config: DaemonConfig, cloud?: Cloud, observer?: CloudObserver): Promise<InstanceMetadata> {
  if (cloud) return cloud.getInstanceMetadata();
  const client = new MetadataClient({ baseUrl: config.metadataEndpoint, observer });
  try {
    return await client.instanceMetadata();
  } finally {
    client.close();
  }
}

/** eni_conf backoff_override in the k8s wait.Backoff shape the cloud client reads. */
function toTerwayBackoff(config: DaemonConfig): Record<string, TerwayBackoff> {
  const out: Record<string, TerwayBackoff> = {};
  for (const [key, b] of Object.entries(config.backoffOverride)) {
    const e: TerwayBackoff = {};
    if (b.durationMs !== undefined) e['Duration'] = `${b.durationMs}ms`;
    if (b.capMs !== undefined) e['Cap'] = `${b.capMs}ms`;
    if (b.factor !== undefined) e['Factor'] = b.factor;
    if (b.jitter !== undefined) e['Jitter'] = b.jitter;
    if (b.steps !== undefined) e['Steps'] = b.steps;
    out[key] = e;
  }
  return out;
}

/**
 * The SDK-backed cloud client for this node's region, its credential source chosen (one log line names
 * it; no source at all fails the start). Its owner closes it (keep-alive sockets).
 */
export async function createCloud(
  config: DaemonConfig,
  md: Pick<InstanceMetadata, 'regionId'>,
  logger: Logger,
  observer?: CloudObserver,
): Promise<AliyunCloud> {
  const cloud = new AliyunCloud({
    regionId: config.regionId ?? md.regionId,
    endpoint: config.cloudEndpoint,
    vpcEndpoint: config.vpcEndpoint,
    protocol: config.cloudProtocol,
    accessKeyId: config.accessKey,
    accessKeySecret: config.accessSecret,
    credentialPath: config.credentialPath,
    metadataBaseUrl: config.metadataEndpoint,
    rateLimitPerMinute: config.rateLimit,
    backoffOverride: toTerwayBackoff(config),
    logger: logger.child({ component: 'cloud' }),
    observer,
  });
  try {
    await cloud.credentialSource();
  } catch (err) {
    cloud.close();
    throw err;
  }
  return cloud;
}
