// Process wiring: config -> metadata -> cloud -> pod DB -> pool -> driver -> mode service -> gRPC.
// startDaemon() is what main.ts, the tests and the demo call; every part can be injected (deps).
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { createEniMultiIpPool } from '../pool/index.js';
import type { IpAllocator, OwnerCheck } from '../pool/types.js';
import type { PoolStore } from '../pool/store.js';
import { createDriver } from '../drivers/index.js';
import type { Driver } from '../drivers/types.js';
import { AliyunCloud, MetadataClient, REAL_METADATA_BASE_URL, type TerwayBackoff } from './cloud/index.js';
import type { Cloud, InstanceMetadata } from './cloud/types.js';
import { openPoolStore } from './store/index.js';
import { redactConfig, type DaemonConfig } from './config/index.js';
import { createLogger } from './log.js';
import { DaemonMetrics, serveMetrics, type MetricsServer } from './metrics.js';
import { createNetworkService, LogEventRecorder, ModeNotImplementedError, type EventRecorder, type NetworkService } from './modes/index.js';
import { VpcIpAllocator } from './modes/vpcIp/index.js';
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
  /** Plugin-reported events; default: the log. `kubeEventRecorder(kube)` from ./k8s fits. */
  events?: EventRecorder;
  /** Tells the pool's periodic GC which pods are gone (`createOwnerCheck` from ./k8s fits). */
  ownerCheck?: OwnerCheck;
  metrics?: DaemonMetrics;
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
export function pickVSwitches(config: DaemonConfig, md: Pick<InstanceMetadata, 'zoneId' | 'vSwitchId'>): { ids: string[]; fallback: boolean } {
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
    config: {
      minPoolSize: config.minPoolSize,
      maxPoolSize: config.maxPoolSize,
      idleIpReclaimAfterMs: config.idleIpReclaimAfterMs,
      idleIpReclaimIntervalMs: config.idleIpReclaimIntervalMs,
      idleIpReclaimBatchSize: config.idleIpReclaimBatchSize,
      minEni: config.minEni,
      maxEni: config.maxEni,
      eniSelectionPolicy: config.eniSelectionPolicy,
      vSwitchSelectionPolicy: config.vSwitchSelectionPolicy,
      ipCooldownMs: config.ipCooldownMs,
      statefulReserveMs: config.statefulIpReserveMs,
      allocDeadlineMs: config.allocTimeoutMs,
    },
    logger: poolLog,
    onEvent: (e) => (e.type === 'Warning' ? poolLog.warn : poolLog.info).call(poolLog, { event: true, ...e }, e.message),
  });
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps = {}): Promise<DaemonHandle> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const log = logger;
  if (config.daemonMode === 'VPCENI') throw new ModeNotImplementedError(config.daemonMode);
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

    let allocator = deps.allocator;
    if (!allocator) {
      if (!cloud) throw new Error('no cloud client');
      let store = deps.store;
      if (!store) {
        if (config.dbPath !== ':memory:') await mkdir(dirname(config.dbPath), { recursive: true, mode: 0o700 });
        const opened = openPoolStore(config.dbPath);
        cleanups.push(() => opened.close());
        store = opened;
      }
      allocator =
        config.daemonMode === 'VPCIP'
          ? new VpcIpAllocator({
              cloud,
              store,
              instanceId,
              podCidr: config.podCidr!,
              vSwitchId: md.vSwitchId,
              ipCooldownMs: config.ipCooldownMs,
              logger: logger.child({ component: 'vpcip' }),
            })
          : await createPool(config, cloud, store, instanceId, md, logger, deps.ownerCheck);
    }

    const driver =
      deps.driver ?? createDriver(config.driver, { vethPrefix: config.vethPrefix, hostNetnsPath: config.hostNetnsPath });
    const service = createNetworkService(config.daemonMode, { allocator, driver, mtu: config.mtu, logger });
    const metrics = deps.metrics ?? new DaemonMetrics();
    const pool = allocator;
    metrics.setSources({ poolStats: () => pool.stats(), cloudStats: cloud ? () => cloud.stats() : undefined });

    await service.start();
    cleanups.push(() => service.stop());

    let server: DaemonServer | undefined;
    const health = (): { ok: boolean; message: string } =>
      !server ? { ok: false, message: 'starting' } : server.isDraining ? { ok: false, message: 'shutting down' } : { ok: true, message: 'ok' };
    let metricsServer: MetricsServer | undefined;
    if (config.metricsListen) {
      metricsServer = await serveMetrics(metrics, config.metricsListen, { health });
      const ms = metricsServer;
      cleanups.push(() => ms.close());
    }

    const grpcServer = new DaemonServer({
      service,
      logger,
      metrics,
      events: deps.events ?? new LogEventRecorder(logger.child({ component: 'events' })),
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
        if (forced) log.warn({ pending, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'in-flight requests cancelled at the shutdown bound');
        await cleanup(); // reverse start order: metrics listener, then the pool, then the DB
        log.info({ tookMs: Date.now() - started }, 'stopped');
      })();
      return stopping;
    };

    const s = allocator.stats();
    log.info(
      { socketPath: config.socketPath, metrics: metricsServer?.address, mode: config.daemonMode, driver: driver.name, instanceId, free: s.free, total: s.total, enis: s.enis },
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
      stop,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
