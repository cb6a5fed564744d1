// Process wiring, the same for every mode: config -> metadata -> Kubernetes (optional) -> cloud client and
// pod DB -> the mode's builder (build/: allocator, service, background parts) -> driver -> gRPC server ->
// metrics / introspection, and the stop order (the reverse). startDaemon() is what main.ts, the tests and
// the demo call; every part can be injected (deps).
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { IpAllocator, NodeCapacity, OwnerCheck, PoolStore } from '../pool/index.js';
import { publishMaxPods, type MaxPods } from './maxPods.js';
import { createDriver, DEFAULT_VETH_PREFIX } from '../drivers/index.js';
import type { Driver } from '../drivers/types.js';
import type { Cloud, InstanceMetadata } from './cloud/types.js';
import { openPoolStore } from './store/index.js';
import { redactConfig, type DaemonConfig } from './config/index.js';
import type { KubeClient } from './k8s/index.js';
import { createLogger } from './log.js';
import { DaemonMetrics, metricSources, serveMetrics, type MetricsServer } from './metrics.js';
import { LogRing } from './logRing.js';
import { Introspection } from './introspect.js';
import type { EventRecorder, NetworkService } from './modes/index.js';
import { KernelHygiene } from './modes/kernelHygiene.js';
import { modeBuilder, type BackgroundPart } from './build/index.js';
import { createCloud, readMetadata } from './build/cloud.js';
import { connectKube, eventSinks, podOwnerCheck, withKubernetes } from './build/kube.js';
import { applyNodeSettings, DEFAULT_DAEMON_NAMESPACE } from './build/nodeConfig.js';
import { PendingDels } from './pendingDel/index.js';
import { DaemonServer } from './server/server.js';
import type { NodeCrApi } from './modes/crd/nodeCrSource.js';
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
  /** Where `logger` also keeps its recent lines (GET /v1/logs); default: a new ring when no logger is given. */
  logRing?: LogRing;
  /** A ready Kubernetes client; null: run without Kubernetes whatever the config says. Default: from the config and env. */
  kube?: KubeClient | null;
  /** Environment read for NODE_NAME, POD_NAMESPACE and KUBERNETES_SERVICE_HOST (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The eni_conf object `config` was parsed from (ParseResult.source): a Node's `terway-config` ConfigMap is
   * merged over it. Without it that label is not applied (logged).
   */
  eniConfSource?: Record<string, unknown>;
  /** ipam_type crd: the node resource client (tests, the scale bench); default: built from the Kubernetes settings. */
  nodeCrs?: NodeCrApi;
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

type Cleanup = () => Promise<void> | void;

/** The Node's per-node settings (terway-config, exclusive ENI) over the config (build/nodeConfig.ts). */
async function nodeSettings(config: DaemonConfig, deps: DaemonDeps, k8s: { kube: KubeClient; nodeName: string }, log: Logger) {
  const env = deps.env ?? process.env;
  const namespace = env['POD_NAMESPACE']?.trim() || DEFAULT_DAEMON_NAMESPACE;
  const { config: effective, applied } = await applyNodeSettings({
    config,
    source: deps.eniConfSource,
    ...k8s,
    namespace,
    log,
  });
  if (applied.length > 0) log.info({ applied, mode: effective.daemonMode, config: redactConfig(effective) }, 'per-node settings applied');
  return effective;
}

/** The pod DB file (its directory created 0700), closed by the returned cleanup. */
async function openPodDb(config: DaemonConfig): Promise<{ store: PoolStore; close: Cleanup }> {
  if (config.dbPath !== ':memory:') await mkdir(dirname(config.dbPath), { recursive: true, mode: 0o700 });
  const store = openPoolStore(config.dbPath);
  return { store, close: () => store.close() };
}

export async function startDaemon(baseConfig: DaemonConfig, deps: DaemonDeps = {}): Promise<DaemonHandle> {
  let config = baseConfig;
  const logRing = deps.logRing ?? (deps.logger ? undefined : new LogRing());
  logRing?.redactValues([config.accessKey, config.accessSecret]);
  const logger = deps.logger ?? createLogger({ level: config.logLevel, ring: logRing });
  const log = logger;
  log.info({ config: redactConfig(config) }, 'starting');

  // Refuse early if another daemon answers on our socket: two daemons must not share the pod DB.
  if ((await prepareSocketPath(config.socketPath)).removedStale) log.info({ socketPath: config.socketPath }, 'removed a stale socket');

  // Run in reverse at stop (or when start-up fails half-way): what started last stops first.
  const cleanups: Cleanup[] = [];
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
    const metrics = deps.metrics ?? new DaemonMetrics();
    const observer = metrics.terway.cloudObserver;
    const md = deps.metadata ?? (await readMetadata(config, deps.cloud, observer));
    const instanceId = config.instanceId ?? md.instanceId;
    let cloud = deps.cloud;

    const k8s = await connectKube(config, deps, log);
    if (k8s?.nodeName) config = await nodeSettings(config, deps, { kube: k8s.kube, nodeName: k8s.nodeName }, log);
    const builder = modeBuilder(config);
    const { events, nodeWarning } = eventSinks(logger, k8s, deps.events);
    const ownerCheck = deps.ownerCheck ?? (builder.podGc ? podOwnerCheck(config, k8s, log) : undefined);
    if (k8s && !builder.podGc) log.warn({ mode: config.daemonMode }, 'GC by pod existence is not implemented in this mode');

    // Unwires gone pods before pool GC frees their IP, drops tables of ENIs that leave, repairs the kernel at start.
    const hygiene = new KernelHygiene(logger.child({ component: 'kernel' }));
    const background: BackgroundPart[] = [];
    let allocator = deps.allocator;
    let podDb: PoolStore | undefined; // read by introspection (/v1/mapping cross-checks it)
    let capacity: (() => NodeCapacity) | undefined; // the node's max pods, as the mode's allocator counts them
    if (!allocator) {
      // Centralized IPAM (ipam_type crd) makes no cloud call: no client, no credentials.
      if (!cloud && builder.usesCloud) {
        const own = await createCloud(config, md, logger, observer);
        cleanups.push(() => own.close());
        cloud = own;
      }
      podDb = deps.store;
      if (!podDb) {
        const db = await openPodDb(config);
        cleanups.push(db.close);
        podDb = db.store;
      }
      const parts = await builder.build({
        config,
        cloud,
        store: metrics.terway.tapStore(podDb), // counts allocations and disposals for Terway's pool metrics
        instanceId,
        metadata: md,
        logger,
        ownerCheck,
        hygiene,
        events,
        nodeWarning,
        kube: k8s?.kube,
        nodeName: k8s?.nodeName,
        kubeOptions: k8s?.clientOptions,
        nodeCrs: deps.nodeCrs,
      });
      allocator = parts.allocator;
      background.push(...(parts.background ?? []));
      capacity = parts.capacity;
    }
    const cap = capacity;
    const maxPods =
      cap &&
      ((): MaxPods => {
        const c = cap();
        return { mode: config.daemonMode, pods: c.pods, explain: c.explain };
      });
    if (maxPods && k8s?.nodeName) {
      const { kube, nodeName } = k8s;
      background.push(() => publishMaxPods({ kube, nodeName, maxPods, log: logger }));
    }
    const pool = allocator;

    const driver =
      deps.driver ??
      createDriver(config.driver, {
        vethPrefix: config.vethPrefix,
        hostNetnsPath: config.hostNetnsPath,
        procSysPath: config.procSysPath,
      });
    const modeService = builder.service({ allocator, driver, mtu: config.mtu, logger });
    hygiene.bind({
      driver,
      teardownGone: modeService.teardownGone?.bind(modeService),
      release: ({ namespace, name, containerId, ifName, networkName, netns }, reason) =>
        modeService.releaseIp({ namespace, name, containerId, ifName, networkName, netns: netns || undefined }, reason),
    });
    let service: NetworkService = modeService;
    if (k8s) {
      const wrapped = withKubernetes(modeService, { k8s, config, allocator, events, logger });
      service = wrapped.service;
      background.unshift(...wrapped.background);
    }
    // Outermost: DELs the plugin recorded while we could not take them apply before any call of their pod key.
    const pendingDels = config.pendingDelDir
      ? new PendingDels({ dir: config.pendingDelDir, inner: service, allocation: (key) => pool.get(key), logger })
      : undefined;
    if (pendingDels) service = pendingDels;
    metrics.setSources(metricSources({ allocator: pool, cloud, config, instanceType: md.instanceType }));

    await service.start();
    // Allocations are loaded (DB + cloud): apply the DELs recorded while we were down (the figure that matters:
    // their addresses are free when we report ready), release those of pods deleted without a record, then
    // remove host wiring none of the rest owns, before any CNI call.
    // A directory it cannot read is logged, not fatal: the timer retries, GC and the kernel check still run.
    if (pendingDels) await pendingDels.drain().catch((e: Error) => log.error({ err: e.message }, 'pending-DEL drain failed at start'));
    await hygiene.releaseOrphans(pool.list());
    await hygiene.reconcile(pool.list());
    const startedService = service;
    cleanups.push(() => startedService.stop());
    for (const start of background) {
      const stop = start();
      if (stop) cleanups.push(stop);
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
      const limitsCloud = cloud;
      const introspection = new Introspection({
        instanceId,
        config,
        allocator,
        cloud,
        loadDb: db ? () => db.load() : undefined,
        logs: logRing,
        maxPods,
        instanceType: md.instanceType,
        limitsOf: limitsCloud ? (t) => limitsCloud.describeInstanceTypeLimits(t) : undefined,
      });
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
      wiring: { driver: driver.name, vethPrefix: config.vethPrefix ?? DEFAULT_VETH_PREFIX },
    });
    await grpcServer.listen(config.socketPath);
    grpcServer.setServing(true);
    server = grpcServer;
    // A hung-then-recovered daemon, or a DEL that timed out while we were busy: their records wait for this.
    pendingDels?.startTimer(config.pendingDelIntervalMs);

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        const started = Date.now();
        log.info({ inFlight: grpcServer.inFlightCount }, 'stopping: draining in-flight requests');
        const { forced, pending } = await grpcServer.shutdown(config.shutdownTimeoutMs);
        if (forced)
          log.warn({ pending, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'in-flight requests cancelled at the shutdown bound');
        await cleanup(); // reverse start order: metrics listener, background parts, the pool, the DB, the cloud client
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
      kube: k8s?.kube,
      nodeName: k8s?.nodeName,
      stop,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
