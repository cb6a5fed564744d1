// KubeClient: the daemon's seven Kubernetes calls (pods, events, the Node and its status, a ConfigMap) over a KubeApi: plain HTTPS for the
// service account and kube_api_server (restApi.ts), @kubernetes/client-node only for a kubeconfig file
// (clientNodeApi.ts, loaded on demand). Flow control, error mapping, paging and event folding live here, once.
import { readFileSync } from 'node:fs';
import { TokenBucket } from '../cloud/ratelimit.js';
import type { KubeApi } from './api.js';
import { clientNodeApi } from './clientNodeApi.js';
import { KubeError, toKubeError } from './errors.js';
import { buildEventBody, EventCorrelator, type CorrelatorStats } from './events.js';
import { conditionPatch, extendedResourcePatch } from './nodeStatus.js';
import { toPodInfo } from './podInfo.js';
import { inClusterTarget, restApi } from './restApi.js';
import {
  systemWallClock,
  type KubeClient,
  type KubeClientOptions,
  type KubeEvent,
  type NodeCondition,
  type NodeInfo,
  type PodInfo,
} from './types.js';

export { loadClientNode } from './clientNodeApi.js';

const LIST_PAGE = 500;
/** A condition already saying the same thing is re-written (heartbeat only) at most this often. */
const CONDITION_HEARTBEAT_MS = 5 * 60_000;

/** The transport for the options: kube_api_server (+ token, CA), a kubeconfig file, or the pod's service account. */
async function apiFor(opts: KubeClientOptions, timeoutMs: number): Promise<KubeApi> {
  if (opts.server) {
    let ca: Buffer | undefined;
    if (opts.caFile) {
      try {
        ca = readFileSync(opts.caFile);
      } catch (e) {
        throw new KubeError(
          0,
          'NotConfigured',
          `kubernetes client config: CA ${opts.caFile}: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`,
        );
      }
    }
    const token = opts.token;
    return restApi({ server: opts.server, token: () => token, ...(ca ? { ca } : {}) }, timeoutMs);
  }
  if (opts.kubeconfig) return clientNodeApi(opts.kubeconfig, timeoutMs);
  if (opts.inCluster) return restApi(inClusterTarget(process.env), timeoutMs);
  throw new KubeError(0, 'NotConfigured', 'kubernetes client: give server (+token), kubeconfig or inCluster');
}

export interface KubeClientWithStats extends KubeClient {
  /** Event folding counters (posted / folded / dropped). */
  eventStats(): CorrelatorStats;
}

export async function createKubeClient(opts: KubeClientOptions): Promise<KubeClientWithStats> {
  return kubeClientOver(await apiFor(opts, opts.requestTimeoutMs ?? 10_000), opts);
}

/** The client's logic over any transport (tests pass their own KubeApi). */
export function kubeClientOver(
  api: KubeApi,
  opts: Omit<KubeClientOptions, 'kubeconfig' | 'server' | 'token' | 'inCluster'>,
): KubeClientWithStats {
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
      return toPodInfo(await call(`get pod ${namespace}/${name}`, () => api.readPod(namespace, name)));
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function listNodePods(nodeName: string): Promise<PodInfo[]> {
    const out: PodInfo[] = [];
    let cont: string | undefined;
    do {
      const page = await call(`list pods on ${nodeName}`, () => api.listPods(`spec.nodeName=${nodeName}`, LIST_PAGE, cont));
      for (const p of page.items) out.push(toPodInfo(p));
      cont = page.continue;
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
      await call(`create event ${ev.reason} for ${ev.target} ${ev.name}`, () => api.createEvent(body.metadata.namespace, body));
    } catch (err) {
      correlator.forget(d.key);
      throw toKubeError(err, `record event ${ev.reason}`);
    }
  }

  async function setNodeExtendedResource(nodeName: string, resource: string, quantity: number): Promise<void> {
    const body = extendedResourcePatch(resource, quantity);
    await call(`patch node ${nodeName} status (${resource})`, () => api.patchNodeStatus(nodeName, body, 'merge'));
  }

  // Read-modify-write of one condition: serialised so two updates cannot interleave.
  let conditionChain: Promise<unknown> = Promise.resolve();
  function setNodeCondition(nodeName: string, cond: NodeCondition): Promise<void> {
    const run = async (): Promise<void> => {
      const node = await call(`get node ${nodeName}`, () => api.readNode(nodeName));
      const body = conditionPatch(node.status?.conditions, cond, clock.now(), CONDITION_HEARTBEAT_MS);
      if (!body) return;
      await call(`patch node ${nodeName} condition ${cond.type}`, () => api.patchNodeStatus(nodeName, body, 'strategic'));
    };
    const p = conditionChain.then(run, run);
    conditionChain = p.catch(() => undefined);
    return p;
  }

  async function getNode(nodeName: string): Promise<NodeInfo | undefined> {
    try {
      const n = await call(`get node ${nodeName}`, () => api.readNode(nodeName));
      return { name: nodeName, labels: { ...(n.metadata?.labels ?? {}) }, annotations: { ...(n.metadata?.annotations ?? {}) } };
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function annotateNode(nodeName: string, annotations: Record<string, string | null>): Promise<void> {
    const body = { metadata: { annotations } };
    await call(`annotate node ${nodeName}`, () => api.patchNode(nodeName, body, 'merge'));
  }

  async function getConfigMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const cm = await call(`get configmap ${namespace}/${name}`, () => api.readConfigMap(namespace, name));
      return { ...(cm.data ?? {}) };
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  return {
    getPod,
    listNodePods,
    recordEvent,
    setNodeExtendedResource,
    setNodeCondition,
    getNode,
    annotateNode,
    getConfigMapData,
    eventStats: () => correlator.stats(),
  };
}
