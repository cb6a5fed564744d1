// `eni-ipam-cli max-pods`: how many pods a node holds in the daemon's mode, the number for kubelet's --max-pods
// (as EKS users run max-pods-calculator.sh, and Terway's examples/maxpods prints).
//   no --instance-type      this node, as its daemon counts it: GET /v1/capacity (ENIs of other tools left out)
//   --instance-type T       that type's limits from DescribeInstanceTypes: with the cloud credentials of --config
//                           (access_key or credential_path) the CLI asks the cloud itself; otherwise the running
//                           daemon asks with its own (GET /v1/capacity?instanceType=T)
// There is no built-in table of instance types: limits change with new types, the cloud is the source.
import type { CapacityView } from '../daemon/introspect.js';
import type { DaemonConfig, DaemonMode } from '../daemon/config/index.js';
import { CliError } from './client.js';

export const MODES: readonly DaemonMode[] = ['ENIMultiIP', 'VPCENI', 'VPCIP'];

export function parseMode(s: string | undefined): DaemonMode | undefined {
  if (s === undefined) return undefined;
  const m = MODES.find((x) => x.toLowerCase() === s.toLowerCase());
  if (!m) throw new CliError(`--mode must be one of ${MODES.join('|')} (got ${JSON.stringify(s)})`);
  return m;
}

/** Whether the eni_conf carries credentials the CLI can call the cloud with itself. */
export function hasCloudCredentials(config: Pick<DaemonConfig, 'accessKey' | 'credentialPath'>): boolean {
  return config.accessKey !== undefined || config.credentialPath !== undefined;
}

/** DescribeInstanceTypes with the eni_conf's credentials and endpoints; region from eni_conf, else metadata. */
export async function capacityFromCloud(config: DaemonConfig, instanceType: string, mode?: DaemonMode): Promise<CapacityView> {
  // Loaded here: the cloud SDKs take a while to import, and the other commands never need them.
  const [{ createCloud }, { MetadataClient }, { createLogger }, { maxPodsFor }] = await Promise.all([
    import('../daemon/build/cloud.js'),
    import('../daemon/cloud/index.js'),
    import('../daemon/log.js'),
    import('../daemon/maxPods.js'),
  ]);
  let regionId = config.regionId;
  if (!regionId) {
    const md = new MetadataClient({ baseUrl: config.metadataEndpoint });
    try {
      regionId = (await md.instanceMetadata()).regionId;
    } finally {
      md.close();
    }
  }
  const cloud = await createCloud(config, { regionId }, createLogger({ level: 'silent' }));
  try {
    const limits = await cloud.describeInstanceTypeLimits(instanceType);
    return { ...maxPodsFor({ ...config, daemonMode: mode ?? config.daemonMode }, limits), instanceType, scope: 'instanceType' };
  } finally {
    await cloud.close();
  }
}

/** The path of the daemon's answer. */
export function capacityPath(instanceType?: string, mode?: DaemonMode): string {
  const q = new URLSearchParams();
  if (instanceType) q.set('instanceType', instanceType);
  if (mode) q.set('mode', mode);
  return `/v1/capacity${q.size > 0 ? `?${q.toString()}` : ''}`;
}
