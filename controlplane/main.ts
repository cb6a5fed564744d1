// `node dist/controlplane/main.js --config /etc/eni-ipam-controlplane/config.json` (npm run controlplane):
// the centralized IPAM controller as the chart runs it (a Deployment of 2 replicas). It reads its config,
// connects to the API server (kubeconfig, or the pod's service account) and to the cloud with its own
// credentials, campaigns for the Lease and, while it leads, runs the controller. /metrics, /healthz and
// /v1/nodes on metricsBindAddress. SIGTERM / SIGINT: the controller finishes what it started, the lease is
// released for the standby, exit 0. Leadership lost: exit 1 (the pod restarts clean, as client-go's
// leader-elected components do). Exit 2: usage or configuration error.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { AliyunCloud } from '../daemon/cloud/client.js';
import { REAL_METADATA_BASE_URL } from '../daemon/cloud/metadata.js';
import { RateLimiter } from '../daemon/cloud/ratelimit.js';
import { NODE_CR, type NodeCr } from '../daemon/k8s/nodeCr.js';
import { createObjectClients } from '../daemon/k8s/objectClient.js';
import type { ResourceRef } from '../daemon/k8s/objects.js';
import { createLogger } from '../daemon/log.js';
import { ControlplaneConfigError, parseControlplaneConfig, redactControlplaneConfig, type ControlplaneConfig } from './config.js';
import { Controller } from './controller.js';
import { ControlplaneMetrics, serveControlplane } from './metrics.js';
import type { Lease } from './ports.js';
import { Replica } from './replica.js';

const LEASE: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

function loadConfig(): ControlplaneConfig {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: true });
  const file = values.config ?? process.env['CONTROLPLANE_CONFIG'];
  if (!file) throw new ControlplaneConfigError(['--config FILE (or env CONTROLPLANE_CONFIG) is required']);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ControlplaneConfigError([`${file}: ${(e as Error).message}`]);
  }
  return parseControlplaneConfig(raw, process.env);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, name: 'eni-controlplane' });
  log.info({ config: redactControlplaneConfig(config) }, 'starting');
  const identity = process.env['POD_NAME'] || hostname();

  const kube = await createObjectClients({
    ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : { inCluster: true }),
    qps: config.kubeClientQPS,
    burst: config.kubeClientBurst,
  });
  const nodes = kube.objects<NodeCr>(NODE_CR);
  const leases = kube.objects<Lease>(LEASE);
  // One bucket for the account, shared by every call of every node; the dispatcher paces work on it.
  const limiter = new RateLimiter({
    qps: config.openAPIQPS,
    burst: config.openAPIBurst,
    perApiPerMinute: config.rateLimit,
    terwayDefaults: config.terwayRateLimits,
  });
  const cloud = new AliyunCloud({
    regionId: config.regionID,
    endpoint: config.cloudEndpoint,
    vpcEndpoint: config.vpcEndpoint,
    accessKeyId: config.accessKey,
    accessKeySecret: config.accessSecret,
    credentialPath: config.credentialPath,
    // Only for the last source of Terway's credential chain: the RAM role of the node the controller runs on.
    metadataBaseUrl: REAL_METADATA_BASE_URL,
    limiter,
    logger: log.child({ component: 'cloud' }),
  });
  // Key, credential file, or the node's RAM role (Terway's chain): chosen and logged now, none fails the start.
  await cloud.credentialSource();
  const newController = (isLeader: () => boolean): Controller =>
    new Controller({
      nodes,
      cloud,
      limiter,
      vpcId: config.vpcID,
      isLeader,
      log: log.child({ component: 'controller' }),
      attachPollMs: config.attachPollPeriodMs,
      resyncPeriodMs: config.multiIPNodeSyncPeriodMs,
      leakedEniGraceMs: config.leakedENIGracePeriodMs,
    });

  let current: Controller | undefined;
  let replica: Replica | undefined;
  if (config.leaderElection) {
    replica = new Replica({
      leases,
      name: config.leaseLockName,
      namespace: config.leaseLockNamespace,
      identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      now: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      log,
      newController,
      onLost: () => {
        if (stopping) return;
        log.error({ identity }, 'leadership lost: exiting so the pod restarts clean');
        process.exit(1);
      },
    });
    replica.start();
  } else {
    current = newController(() => true);
    await current.start();
  }
  const controller = (): Controller | undefined => replica?.controller ?? current;

  const metrics = new ControlplaneMetrics({
    controller,
    leading: () => (replica ? replica.elector.isLeader() : true),
    cloudStats: () => cloud.stats(),
    identity,
  });
  const server = config.metricsBindAddress ? await serveControlplane(metrics, config.metricsBindAddress, () => true) : undefined;
  log.info({ identity, metrics: server?.address, leaderElection: config.leaderElection }, 'controlplane ready');

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) process.exit(1); // a second signal: at once
    stopping = true;
    log.info('stopping');
    await replica?.stop();
    await current?.stop();
    await server?.close();
    cloud.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  if (err instanceof ControlplaneConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`controlplane: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
