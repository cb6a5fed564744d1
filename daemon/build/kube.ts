// The daemon's optional Kubernetes side, the same for every mode: the client (or none), where events go,
// the owner check behind GC by pod existence, and the service wrapper for stateful pods, AllocIPFailed
// events and the node condition SufficientIP.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { podKeyOf, type IpAllocator, type OwnerCheck } from '../../pool/index.js';
import { nodeNameOf, resolveKubeSettings, type DaemonConfig } from '../config/index.js';
import { createKubeClient, createOwnerCheck, kubeEventRecorder, type KubeClient, type KubeClientOptions } from '../k8s/index.js';
import {
  createPodStatefulness,
  FanOutEventRecorder,
  IpConditionReporter,
  KubeAwareService,
  LogEventRecorder,
  onThisNode,
  type EventRecorder,
  type NetworkService,
} from '../modes/index.js';
import type { BackgroundPart, NodeWarning } from './types.js';

export interface KubeWiring {
  kube: KubeClient;
  nodeName?: string;
  /** How the client was made (with the token read): the crd mode builds its object client from the same. */
  clientOptions?: KubeClientOptions;
}

/** SufficientIP is re-checked this often, so it goes back to True without new pods (after Terway's hold). */
const SUFFICIENT_IP_CHECK_MS = 60_000;

/**
 * The Kubernetes client, or undefined when none is configured (Kubernetes is optional). `kube` null: run
 * without it whatever the config says; a client: use that one.
 */
export async function connectKube(
  config: DaemonConfig,
  opts: { kube?: KubeClient | null; env?: Readonly<Record<string, string | undefined>> },
  log: Logger,
): Promise<KubeWiring | undefined> {
  if (opts.kube === null) return undefined;
  const env = opts.env ?? process.env;
  const settings = resolveKubeSettings(config, env);
  const nodeName = nodeNameOf(config, env);
  let kube = opts.kube;
  let clientOptions: KubeClientOptions | undefined;
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
    clientOptions = { ...settings.clientOptions, ...(token ? { token } : {}) };
    try {
      kube = await createKubeClient(clientOptions);
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
  return { kube, nodeName, ...(clientOptions ? { clientOptions } : {}) };
}

/**
 * Where events go: the log, plus core/v1 Events with Kubernetes (`override` replaces both). `nodeWarning`
 * puts pool Warnings on this Node as Terway does (the pools log them themselves).
 */
export function eventSinks(
  logger: Logger,
  k8s: KubeWiring | undefined,
  override?: EventRecorder,
): { events: EventRecorder; nodeWarning?: (e: NodeWarning) => void } {
  const logEvents = new LogEventRecorder(logger.child({ component: 'events' }));
  if (!k8s) return { events: override ?? logEvents };
  const { kube, nodeName } = k8s;
  const kubeEvents = onThisNode(
    kubeEventRecorder(kube, (err, ev) =>
      logger.warn({ err: err.message, reason: ev.reason, target: ev.target, name: ev.name }, 'writing a Kubernetes event failed'),
    ),
    nodeName,
  );
  const nodeWarning = nodeName
    ? (e: NodeWarning): void => {
        if (e.type !== 'Warning') return;
        void kubeEvents.record({ target: 'node', namespace: '', name: nodeName, type: e.type, reason: e.reason, message: e.message });
      }
    : undefined;
  return { events: override ?? new FanOutEventRecorder(logEvents, kubeEvents), nodeWarning };
}

/** Tells pool GC which pods are gone (one LIST of the node's pods per round); needs a node name. */
export function podOwnerCheck(config: DaemonConfig, k8s: KubeWiring | undefined, log: Logger): OwnerCheck | undefined {
  if (!k8s?.nodeName) return undefined;
  return createOwnerCheck(k8s.kube, {
    nodeName: k8s.nodeName,
    graceMs: config.gcGraceMs,
    customStatefulKinds: config.customStatefulWorkloadKinds,
    onError: (err) => log.warn({ err: err.message }, 'pod GC skipped this round: the API server did not answer'),
    onGone: (a, verdict) =>
      log.info({ pod: `${a.namespace}/${a.name}`, podKey: a.podKey, ip: a.ip, verdict }, 'pod is gone: releasing its IP'),
  });
}

/**
 * The mode's service seen through Kubernetes: stateful pods keep their IP, failures become AllocIPFailed
 * events, and (with a node name) the node condition SufficientIP follows the pool; `background` re-checks
 * it every minute once the daemon serves.
 */
export function withKubernetes(
  inner: NetworkService,
  o: { k8s: KubeWiring; config: DaemonConfig; allocator: IpAllocator; events: EventRecorder; logger: Logger },
): { service: NetworkService; background: BackgroundPart[] } {
  const { kube, nodeName } = o.k8s;
  const log = o.logger;
  const ipCondition = nodeName
    ? new IpConditionReporter({
        write: (c) => kube.setNodeCondition(nodeName, c),
        onError: (err) => log.warn({ err: err.message }, 'updating node condition SufficientIP failed'),
      })
    : undefined;
  const service = new KubeAwareService({
    inner,
    hasAllocation: (p) => o.allocator.get(podKeyOf(p)) !== undefined,
    statefulness: createPodStatefulness({
      getPod: (ns, name) => kube.getPod(ns, name),
      customStatefulKinds: o.config.customStatefulWorkloadKinds,
      timeoutMs: o.config.podLookupTimeoutMs,
      onFallback: (ns, name, why) => log.warn({ pod: `${ns}/${name}` }, `${why}: the pod is treated as not stateful`),
    }),
    events: o.events,
    ipCondition,
    logger: log,
  });
  if (!ipCondition) return { service, background: [] };
  const watchSufficientIp: BackgroundPart = () => {
    const check = (): void => {
      if (o.allocator.stats().free > 0) void ipCondition.sufficient();
    };
    check();
    const t = setInterval(check, SUFFICIENT_IP_CHECK_MS);
    t.unref();
    return () => clearInterval(t);
  };
  return { service, background: [watchSufficientIp] };
}
