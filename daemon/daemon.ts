// Process wiring: config -> metadata -> cloud -> Kubernetes (optional) -> pod DB -> pool -> driver ->
// mode service -> gRPC. startDaemon() is what main.ts, the tests and the demo call; every part can be
// injected (deps).
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { createEniMultiIpPool, type PoolEvent } from '../pool/index.js';
import type { EniMultiIpPoolOptions } from '../pool/eniMultiIpPool.js';
import { podKeyOf, type IpAllocator, type OwnerCheck } from '../pool/types.js';
import type { PoolStore } from '../pool/store.js';
import { createDriver } from '../drivers/index.js';
import type { Driver } from '../drivers/types.js';
import { AliyunCloud, MetadataClient, REAL_METADATA_BASE_URL, type TerwayBackoff } from './cloud/index.js';
import type { Cloud, InstanceMetadata } from './cloud/types.js';
import { openPoolStore } from './store/index.js';
import { nodeNameOf, redactConfig, resolveKubeSettings, type DaemonConfig } from './config/index.js';
import { createKubeClient, createOwnerCheck, kubeEventRecorder, type KubeClient } from './k8s/index.js';
import { createLogger } from './log.js';
import { DaemonMetrics, serveMetrics, type MetricsServer } from './metrics.js';
import { Introspection } from './introspect.js';
import {
  createNetworkService,
  createPodStatefulness,
  FanOutEventRecorder,
  IpConditionReporter,
  KubeAwareService,
  LogEventRecorder,
  createVpcEniAllocator,
  ENI_RESOURCE_NAME,
  VpcEniService,
  onThisNode,
  type EventRecorder,
  type NetworkService,
} from './modes/index.js';
import { VpcIpAllocator } from './modes/vpcIp/index.js';
import { EniMultiIpService } from './modes/eniMultiIp.js';
import { KernelHygiene } from './modes/kernelHygiene.js';
import type { EniPool } from '../pool/enipool/index.js';
import { DaemonServer } from './server/server.js';
import { prepareSocketPath } from './server/socket.js';

/** Parts a caller may supply instead of the real ones (tests, benchmarks, demo). */
export interface DaemonDeps {
  logger?: Logger;
  /** Instance metadata; default: read from the cloud / metadata service. */
  metadata?: InstanceMetadata;
  cloud?: Cloud;
  store?: PoolStore;
  /** A ready allocator: no cloud, store or pool is built. */
  allocator?: IpAllocator;
  driver?: Driver;
  /** Plugin-reported and daemon events; default: the log, plus core/v1 Events when Kubernetes is on. */
  events?: EventRecorder;
  /** Tells the pool's periodic GC which pods are gone; default with Kubernetes and a node name: `createOwnerCheck`. */
  ownerCheck?: OwnerCheck;
  metrics?: DaemonMetrics;
  /** A ready Kubernetes client; null: run without Kubernetes whatever the config says. Default: from the config and env. */
  kube?: KubeClient | null;
  /** Environment read for NODE_NAME and KUBERNETES_SERVICE_HOST (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface DaemonHandle {
  socketPath: string;
  /** host:port or unix path of the /metrics listener, when metrics_listen is set. */
  metricsAddress?: string;
  instanceId: string;
  config: DaemonConfig;
  service: NetworkService;
  allocator: IpAllocator;
  driver: Driver;
  metrics: DaemonMetrics;
  logger: Logger;
  /** The Kubernetes client, when the daemon runs with one. */
  kube?: KubeClient;
  /** This node's name (node_name / env NODE_NAME), when known. */
  nodeName?: string;
  /** Graceful: stop accepting, drain in-flight calls (bounded), stop the pool, close the DB, remove the socket. Idempotent. */
  stop(): Promise<void>;
}

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

/** The vSwitches for new ENIs: those configured for this zone, else the node's own. */
export function pickVSwitches(
  config: DaemonConfig,
  md: Pick<InstanceMetadata, 'zoneId' | 'vSwitchId'>,
): { ids: string[]; fallback: boolean } {
  const ids = config.vSwitches[md.zoneId] ?? [];
  return ids.length > 0 ? { ids, fallback: false } : { ids: [md.vSwitchId], fallback: true };
}

async function createPool(
  config: DaemonConfig,
  cloud: Cloud,
  store: PoolStore,
  instanceId: string,
  md: InstanceMetadata,
  logger: Logger,
  ownerCheck?: OwnerCheck,
  forward?: (e: PoolEvent) => void,
  hooks?: Pick<EniMultiIpPoolOptions, 'beforeRelease' | 'onEniRemoved'>,
): Promise<IpAllocator> {
  const { ids: vSwitchIds, fallback } = pickVSwitches(config, md);
  if (fallback && Object.keys(config.vSwitches).length > 0) {
    logger.warn({ zoneId: md.zoneId, vSwitchId: md.vSwitchId }, 'eni_conf.vswitches has no entry for this zone; using the node vSwitch');
  }
  let securityGroupIds = config.securityGroupIds;
  if (securityGroupIds.length === 0) {
    const enis = await cloud.describeNetworkInterfaces({ instanceId });
    securityGroupIds = enis.find((e) => e.type === 'Primary')?.securityGroupIds ?? [];
    if (securityGroupIds.length === 0) {
      throw new Error('eni_conf.security_group(s) is not set and the primary ENI has no security group to copy');
    }
    logger.info({ securityGroupIds }, 'security groups copied from the primary ENI');
  }
  const poolLog = logger.child({ component: 'pool' });
  return createEniMultiIpPool({
    cloud,
    store,
    instanceId,
    instanceType: md.instanceType,
    vSwitchIds,
    securityGroupIds,
    eniTags: config.eniTags,
    ownerCheck,
    beforeRelease: hooks?.beforeRelease,
    onEniRemoved: hooks?.onEniRemoved,
    config: {
      minPoolSize: config.minPoolSize,
      maxPoolSize: config.maxPoolSize,
      idleIpReclaimAfterMs: config.idleIpReclaimAfterMs,
      idleIpReclaimIntervalMs: config.idleIpReclaimIntervalMs,
      idleIpReclaimBatchSize: config.idleIpReclaimBatchSize,
      idleIpReclaimJitterFactor: config.idleIpReclaimJitterFactor,
      eniTagFilter: config.eniTagFilter,
      minEni: config.minEni,
      maxEni: config.maxEni,
      eniSelectionPolicy: config.eniSelectionPolicy,
      vSwitchSelectionPolicy: config.vSwitchSelectionPolicy,
      ipCooldownMs: config.ipCooldownMs,
      statefulReserveMs: config.statefulIpReserveMs,
      allocDeadlineMs: config.allocTimeoutMs,
      gcIntervalMs: config.gcIntervalMs,
      gcGraceMs: config.gcGraceMs,
    },
    logger: poolLog,
    onEvent: (e) => {
      (e.type === 'Warning' ? poolLog.warn : poolLog.info).call(poolLog, { event: true, ...e }, e.message);
      forward?.(e);
    },
  });
}

interface KubeWiring {
  kube: KubeClient;
  nodeName?: string;
}

/** The Kubernetes client, or undefined when none is configured (Kubernetes is optional). */
async function connectKube(config: DaemonConfig, deps: DaemonDeps, log: Logger): Promise<KubeWiring | undefined> {
  if (deps.kube === null) return undefined;
  const env = deps.env ?? process.env;
  const settings = resolveKubeSettings(config, env);
  const nodeName = nodeNameOf(config, env);
  let kube = deps.kube;
  if (!kube) {
    if (!settings.enabled) {
      log.info(
        { why: settings.why },
        'Kubernetes not configured: no GC by pod existence, no stateful IP reservation, events only in the log',
      );
      return undefined;
    }
    let token: string | undefined;
    if (settings.tokenFile) {
      try {
        token = (await readFile(settings.tokenFile, 'utf8')).trim();
      } catch (e) {
        throw new Error(`eni_conf.kube_token_file ${settings.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`);
      }
    }
    // No request is made here: an API server that is down does not stop the daemon from starting.
    try {
      kube = await createKubeClient({ ...settings.clientOptions, ...(token ? { token } : {}) });
    } catch (e) {
      // Configured on purpose: a mistake to report. Merely running in a pod: Kubernetes stays optional.
      if (settings.source !== 'in-cluster') throw e;
      log.warn({ err: (e as Error).message }, 'in-cluster Kubernetes client unavailable: running without Kubernetes');
      return undefined;
    }
    log.info(
      { source: settings.source, server: settings.clientOptions.server, kubeconfig: settings.clientOptions.kubeconfig, nodeName },
      'Kubernetes client configured',
    );
  }
  if (!nodeName) log.warn('node name unknown (set node_name or env NODE_NAME): no GC by pod existence, no node events or conditions');
  return { kube, nodeName };
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps = {}): Promise<DaemonHandle> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const log = logger;
  log.info({ config: redactConfig(config) }, 'starting');

  // Refuse early if another daemon answers on our socket: two daemons must not share the pod DB.
  if ((await prepareSocketPath(config.socketPath)).removedStale) log.info({ socketPath: config.socketPath }, 'removed a stale socket');

  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'cleanup step failed');
      }
    }
  };

  try {
    const metadataBaseUrl = config.metadataEndpoint ?? REAL_METADATA_BASE_URL;
    let md = deps.metadata;
    if (!md) {
      md = deps.cloud ? await deps.cloud.getInstanceMetadata() : await new MetadataClient({ baseUrl: metadataBaseUrl }).instanceMetadata();
    }
    const instanceId = config.instanceId ?? md.instanceId;
    const regionId = config.regionId ?? md.regionId;
    const cloud =
      deps.cloud ??
      (deps.allocator
        ? undefined
        : new AliyunCloud({
            regionId,
            endpoint: config.cloudEndpoint,
            vpcEndpoint: config.vpcEndpoint,
            protocol: config.cloudProtocol,
            accessKeyId: config.accessKey,
            accessKeySecret: config.accessSecret,
            credentialPath: config.credentialPath,
            metadataBaseUrl,
            rateLimitPerMinute: config.rateLimit,
            backoffOverride: toTerwayBackoff(config),
            logger: logger.child({ component: 'cloud' }),
          }));

    const k8s = await connectKube(config, deps, log);
    const kube = k8s?.kube;
    const nodeName = k8s?.nodeName;
    const logEvents = new LogEventRecorder(logger.child({ component: 'events' }));
    const kubeEvents = kube
      ? onThisNode(
          kubeEventRecorder(kube, (err, ev) =>
            log.warn({ err: err.message, reason: ev.reason, target: ev.target, name: ev.name }, 'writing a Kubernetes event failed'),
          ),
          nodeName,
        )
      : undefined;
    const events = deps.events ?? (kubeEvents ? new FanOutEventRecorder(logEvents, kubeEvents) : logEvents);
    let ownerCheck = deps.ownerCheck;
    if (!ownerCheck && kube && nodeName && (config.daemonMode === 'ENIMultiIP' || config.daemonMode === 'VPCENI')) {
      ownerCheck = createOwnerCheck(kube, {
        nodeName,
        graceMs: config.gcGraceMs,
        customStatefulKinds: config.customStatefulWorkloadKinds,
        onError: (err) => log.warn({ err: err.message }, 'pod GC skipped this round: the API server did not answer'),
        onGone: (a, verdict) =>
          log.info({ pod: `${a.namespace}/${a.name}`, podKey: a.podKey, ip: a.ip, verdict }, 'pod is gone: releasing its IP'),
      });
    }
    if (kube && config.daemonMode === 'VPCIP') log.warn({ mode: config.daemonMode }, 'GC by pod existence is not implemented in this mode');
    // Pool warnings (failed ENI / IP calls with their cloud codes) also go on the Node, as Terway
    // does; the pool logs them itself.
    const forwardPoolEvent =
      kubeEvents && nodeName
        ? (e: PoolEvent): void => {
            if (e.type !== 'Warning') return;
            void kubeEvents.record({ target: 'node', namespace: '', name: nodeName, type: e.type, reason: e.reason, message: e.message });
          }
        : undefined;

    // Unwires gone pods before pool GC frees their IP, drops tables of ENIs that leave, repairs the kernel at start.
    const hygiene = new KernelHygiene(logger.child({ component: 'kernel' }));
    let allocator = deps.allocator;
    let eniPool: EniPool | undefined;
    let podDb: PoolStore | undefined; // read by introspection (/v1/mapping cross-checks it)
    if (!allocator) {
      if (!cloud) throw new Error('no cloud client');
      let store = deps.store;
      if (!store) {
        if (config.dbPath !== ':memory:') await mkdir(dirname(config.dbPath), { recursive: true, mode: 0o700 });
        const opened = openPoolStore(config.dbPath);
        cleanups.push(() => opened.close());
        store = opened;
      }
      podDb = store;
      if (config.daemonMode === 'VPCENI') {
        eniPool = await createVpcEniAllocator({
          config,
          cloud,
          store,
          instanceId,
          metadata: md,
          vSwitchIds: pickVSwitches(config, md).ids,
          logger,
          ownerCheck,
          beforeRelease: hygiene.beforeRelease,
          onEvent: (e) => {
            forwardPoolEvent?.(e);
            // A pod whose ENI vanished, or whose GC teardown failed: the Warning goes on the Pod too.
            if (e.pod && e.type === 'Warning') {
              void events
                .record({ target: 'pod', namespace: e.pod.namespace, name: e.pod.name, type: e.type, reason: e.reason, message: e.message })
                .catch(() => {});
            }
          },
        });
      }
      allocator =
        eniPool ??
        (config.daemonMode === 'VPCIP'
          ? new VpcIpAllocator({
              cloud,
              store,
              instanceId,
              podCidr: config.podCidr!,
              vSwitchId: md.vSwitchId,
              ipCooldownMs: config.ipCooldownMs,
              logger: logger.child({ component: 'vpcip' }),
            })
          : await createPool(config, cloud, store, instanceId, md, logger, ownerCheck, forwardPoolEvent, hygiene));
    }

    const driver =
      deps.driver ??
      createDriver(config.driver, {
        vethPrefix: config.vethPrefix,
        hostNetnsPath: config.hostNetnsPath,
        procSysPath: config.procSysPath,
      });
    const pool = allocator;
    let service = createNetworkService(config.daemonMode, { allocator, driver, mtu: config.mtu, logger });
    const podService = service;
    hygiene.bind({
      driver,
      teardownGone:
        podService instanceof EniMultiIpService || podService instanceof VpcEniService ? (a) => podService.teardownGone(a) : undefined,
      release: (a, reason) =>
        podService.releaseIp(
          {
            namespace: a.namespace,
            name: a.name,
            containerId: a.containerId,
            ifName: a.ifName,
            networkName: a.networkName,
            netns: a.netns || undefined,
          },
          reason,
        ),
    });
    let ipCondition: IpConditionReporter | undefined;
    if (kube) {
      if (nodeName) {
        ipCondition = new IpConditionReporter({
          write: (c) => kube.setNodeCondition(nodeName, c),
          onError: (err) => log.warn({ err: err.message }, 'updating node condition SufficientIP failed'),
        });
      }
      service = new KubeAwareService({
        inner: service,
        hasAllocation: (p) => pool.get(podKeyOf(p)) !== undefined,
        statefulness: createPodStatefulness({
          getPod: (ns, name) => kube.getPod(ns, name),
          customStatefulKinds: config.customStatefulWorkloadKinds,
          timeoutMs: config.podLookupTimeoutMs,
          onFallback: (ns, name, why) => log.warn({ pod: `${ns}/${name}` }, `${why}: the pod is treated as not stateful`),
        }),
        events,
        ipCondition,
        logger,
      });
    }
    const metrics = deps.metrics ?? new DaemonMetrics();
    metrics.setSources({ poolStats: () => pool.stats(), cloudStats: cloud ? () => cloud.stats() : undefined });

    await service.start();
    // Allocations are loaded (DB + cloud): release those of pods deleted while we were down, then
    // remove host wiring none of the rest owns, before any CNI call.
    await hygiene.releaseOrphans(pool.list());
    await hygiene.reconcile(pool.list());
    const startedService = service;
    cleanups.push(() => startedService.stop());
    if (ipCondition) {
      // Back to SufficientIP once the pool has IPs again (after Terway's hold), even without new pods.
      const ic = ipCondition;
      const check = (): void => {
        if (pool.stats().free > 0) void ic.sufficient();
      };
      check();
      const t = setInterval(check, 60_000);
      t.unref();
      cleanups.push(() => clearInterval(t));
    }

    if (eniPool && kube && nodeName) {
      // VPCENI: the scheduler must not place more ENI pods here than the node can attach (Terway's
      // device plugin advertises the same resource). Best effort, not awaited: an API server that is down does not stop us.
      const capacity = eniPool.capacity();
      void kube
        .setNodeExtendedResource(nodeName, ENI_RESOURCE_NAME, capacity)
        .then(() => log.info({ resource: ENI_RESOURCE_NAME, capacity }, 'node extended resource set'))
        .catch((e: Error) => log.warn({ err: e.message, resource: ENI_RESOURCE_NAME }, 'advertising the ENI capacity on the node failed'));
    }

    let server: DaemonServer | undefined;
    const health = (): { ok: boolean; message: string } =>
      !server
        ? { ok: false, message: 'starting' }
        : server.isDraining
          ? { ok: false, message: 'shutting down' }
          : { ok: true, message: 'ok' };
    let metricsServer: MetricsServer | undefined;
    if (config.metricsListen) {
      const db = podDb;
      const introspection = new Introspection({ instanceId, config, allocator, cloud, loadDb: db ? () => db.load() : undefined });
      metricsServer = await serveMetrics(metrics, config.metricsListen, { health, routes: (m, p, q) => introspection.route(m, p, q) });
      const ms = metricsServer;
      cleanups.push(() => ms.close());
    }

    const grpcServer = new DaemonServer({
      service,
      logger,
      metrics,
      events,
      allocTimeoutMs: config.allocTimeoutMs,
    });
    await grpcServer.listen(config.socketPath);
    grpcServer.setServing(true);
    server = grpcServer;

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        const started = Date.now();
        log.info({ inFlight: grpcServer.inFlightCount }, 'stopping: draining in-flight requests');
        const { forced, pending } = await grpcServer.shutdown(config.shutdownTimeoutMs);
        if (forced)
          log.warn({ pending, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'in-flight requests cancelled at the shutdown bound');
        await cleanup(); // reverse start order: metrics listener, then the pool, then the DB
        log.info({ tookMs: Date.now() - started }, 'stopped');
      })();
      return stopping;
    };

    const s = allocator.stats();
    log.info(
      {
        socketPath: config.socketPath,
        metrics: metricsServer?.address,
        mode: config.daemonMode,
        driver: driver.name,
        instanceId,
        free: s.free,
        total: s.total,
        enis: s.enis,
      },
      'daemon ready',
    );
    return {
      socketPath: config.socketPath,
      metricsAddress: metricsServer?.address,
      instanceId,
      config,
      service,
      allocator,
      driver,
      metrics,
      logger,
      kube,
      nodeName,
      stop,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
