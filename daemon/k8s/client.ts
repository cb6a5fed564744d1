// KubeClient over @kubernetes/client-node. The library (hundreds of ms to load) is imported lazily
// here, on the first createKubeClient call, so a daemon without Kubernetes never loads it.
import type { CoreV1Api, KubeConfig, RequestContext, V1Node } from '@kubernetes/client-node';
import { TokenBucket } from '../cloud/ratelimit.js';
import { KubeError, toKubeError } from './errors.js';
import { buildEventBody, EventCorrelator, type CorrelatorStats } from './events.js';
import { conditionPatch, extendedResourcePatch } from './nodeStatus.js';
import { toPodInfo } from './podInfo.js';
import { systemWallClock, type KubeClient, type KubeClientOptions, type KubeEvent, type NodeCondition, type PodInfo } from './types.js';

type ClientNode = typeof import('@kubernetes/client-node');

let loading: Promise<ClientNode> | undefined;

/** Loads client-node once (dynamic import; later calls share the module). */
export function loadClientNode(): Promise<ClientNode> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

const LIST_PAGE = 500;
/** A condition already saying the same thing is re-written (heartbeat only) at most this often. */
const CONDITION_HEARTBEAT_MS = 5 * 60_000;

export function buildKubeConfig(k8s: ClientNode, opts: KubeClientOptions): KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (opts.server) {
      // client-node refuses http:// unless TLS verification is off; it has no TLS to verify there anyway.
      const plain = opts.server.startsWith('http:');
      kc.loadFromClusterAndUser(
        { name: 'eni-ipam', server: opts.server, skipTLSVerify: plain, ...(opts.caFile ? { caFile: opts.caFile } : {}) },
        { name: 'eni-ipam', ...(opts.token ? { token: opts.token } : {}) },
      );
    } else if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
    } else if (opts.inCluster) {
      if (!process.env.KUBERNETES_SERVICE_HOST) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
      kc.loadFromCluster();
    } else {
      throw new KubeError(0, 'NotConfigured', 'kubernetes client: give server (+token), kubeconfig or inCluster');
    }
  } catch (err) {
    if (err instanceof KubeError) throw err;
    throw new KubeError(0, 'NotConfigured', `kubernetes client config: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new KubeError(0, 'NotConfigured', 'kubernetes client config: no current cluster');
  return kc;
}

export interface KubeClientWithStats extends KubeClient {
  /** Event folding counters (posted / folded / dropped). */
  eventStats(): CorrelatorStats;
}

/** The generated clients' configuration: the cluster's server, its auth, and a deadline on every request. */
export function apiConfiguration(k8s: ClientNode, kc: KubeConfig, timeoutMs: number): ReturnType<ClientNode['createConfiguration']> {
  return k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(kc.getCurrentCluster()!.server, {}),
    authMethods: { default: kc },
    // Abort each request past the deadline (node-fetch honours the signal).
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return ctx;
        },
        post: async (res) => res,
      },
    ],
  });
}

export async function createKubeClient(opts: KubeClientOptions): Promise<KubeClientWithStats> {
  const k8s = await loadClientNode();
  const kc = buildKubeConfig(k8s, opts);
  const config = apiConfiguration(k8s, kc, opts.requestTimeoutMs ?? 10_000);
  const core: CoreV1Api = new k8s.CoreV1Api(config);
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const strategicPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
  const limiter = new TokenBucket({ ratePerSec: opts.qps ?? 20, burst: opts.burst ?? 30 });
  const clock = opts.clock ?? systemWallClock;
  const correlator = new EventCorrelator(clock, { windowMs: opts.eventDedupeWindowMs });

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    await limiter.take();
    try {
      return await fn();
    } catch (err) {
      throw toKubeError(err, what);
    }
  }

  async function getPod(namespace: string, name: string): Promise<PodInfo | undefined> {
    try {
      return toPodInfo(await call(`get pod ${namespace}/${name}`, () => core.readNamespacedPod({ namespace, name })));
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function listNodePods(nodeName: string): Promise<PodInfo[]> {
    const out: PodInfo[] = [];
    let cont: string | undefined;
    do {
      const page = await call(`list pods on ${nodeName}`, () =>
        core.listPodForAllNamespaces({
          fieldSelector: `spec.nodeName=${nodeName}`,
          limit: LIST_PAGE,
          ...(cont ? { _continue: cont } : {}),
        }),
      );
      for (const p of page.items) out.push(toPodInfo(p));
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  async function recordEvent(ev: KubeEvent): Promise<void> {
    if (ev.target === 'Pod' && !ev.namespace)
      throw new KubeError(0, 'Invalid', `pod event ${ev.reason} for ${ev.name}: namespace is required`);
    const now = clock.now(); // the moment of the event, not of the write after the uid lookup
    const d = correlator.observe(ev);
    if (d.action !== 'post') return;
    try {
      let uid = ev.uid;
      if (ev.target === 'Pod' && !uid) uid = (await getPod(ev.namespace!, ev.name))?.uid;
      const body = buildEventBody(ev, { now, count: d.count, firstTimestamp: d.firstTimestamp, nodeName: opts.nodeName, uid });
      await call(`create event ${ev.reason} for ${ev.target} ${ev.name}`, () =>
        core.createNamespacedEvent({ namespace: body.metadata.namespace, body }),
      );
    } catch (err) {
      correlator.forget(d.key);
      throw toKubeError(err, `record event ${ev.reason}`);
    }
  }

  async function setNodeExtendedResource(nodeName: string, resource: string, quantity: number): Promise<void> {
    const body = extendedResourcePatch(resource, quantity);
    await call(`patch node ${nodeName} status (${resource})`, () => core.patchNodeStatus({ name: nodeName, body }, mergePatch));
  }

  // Read-modify-write of one condition: serialised so two updates cannot interleave.
  let conditionChain: Promise<unknown> = Promise.resolve();
  function setNodeCondition(nodeName: string, cond: NodeCondition): Promise<void> {
    const run = async (): Promise<void> => {
      const node: V1Node = await call(`get node ${nodeName}`, () => core.readNode({ name: nodeName }));
      const body = conditionPatch(node.status?.conditions, cond, clock.now(), CONDITION_HEARTBEAT_MS);
      if (!body) return;
      await call(`patch node ${nodeName} condition ${cond.type}`, () => core.patchNodeStatus({ name: nodeName, body }, strategicPatch));
    };
    const p = conditionChain.then(run, run);
    conditionChain = p.catch(() => undefined);
    return p;
  }

  return { getPod, listNodePods, recordEvent, setNodeExtendedResource, setNodeCondition, eventStats: () => correlator.stats() };
}
