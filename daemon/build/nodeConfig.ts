// Per-node settings as Terway does them, read once at start (as Terway: a restart applies a change):
// - Node label `terway-config=<name>`: that ConfigMap's `eni_conf`, in the daemon's namespace (env POD_NAMESPACE,
//   else kube-system), is merged over the node's eni_conf as an RFC 7396 merge patch (null deletes a key). A
//   missing ConfigMap or key, or a read that fails, keeps eni-config and is logged (Terway falls back alike).
// - Node label `k8s.aliyun.com/exclusive-mode-eni-type=eniOnly`: the node runs exclusive ENIs, daemon_mode VPCENI
//   (driver rawEni unless eni_conf says `none`). Terway also forces `ipam_type: crd` there (its daemon runs
//   ENIOnly only with the controlplane). Here the node-local ENI pool serves it: the label is a patch of the
//   eni_conf like the ConfigMap's, so once a builder for centralized IPAM serves VPCENI (build/index.ts, listed
//   before vpcEniBuilder), adding `ipam_type: 'crd'` to this patch makes such nodes Terway's exactly.
// The Node itself must be readable: a node meant for exclusive ENIs must not start as ENIMultiIP because the API
// server was briefly away (its pod DB would then hold the wrong mode's state). A Node that does not exist (404)
// has no labels.
import type { Logger } from 'pino';
import { mergePatch, type Json } from '../../lib/mergePatch.js';
import { parseDaemonConfig, type DaemonConfig } from '../config/index.js';
import { exclusiveEniMode, LABEL_DYNAMIC_CONFIG, LABEL_EXCLUSIVE_ENI, type KubeClient, type NodeInfo } from '../k8s/index.js';

/** Terway's default namespace of the daemon when POD_NAMESPACE is not set. */
export const DEFAULT_DAEMON_NAMESPACE = 'kube-system';

export interface NodeConfigInput {
  config: DaemonConfig;
  /** The eni_conf object `config` was parsed from; without it the labels cannot be applied (logged). */
  source?: Record<string, unknown>;
  kube: Pick<KubeClient, 'getNode' | 'getConfigMapData'>;
  nodeName: string;
  namespace: string;
  log: Logger;
  /** Reads of the Node before giving up (default 3), and the pause between them. */
  attempts?: number;
  retryMs?: number;
}

export interface NodeConfigResult {
  config: DaemonConfig;
  /** What the node's labels changed, for the start-up log (empty: eni-config as it is). */
  applied: string[];
}

async function readNode(i: NodeConfigInput): Promise<NodeInfo | undefined> {
  const attempts = i.attempts ?? 3;
  for (let n = 1; ; n++) {
    try {
      return await i.kube.getNode(i.nodeName);
    } catch (e) {
      if (n >= attempts)
        throw new Error(`reading Node ${i.nodeName} for its per-node settings failed: ${(e as Error).message}`, { cause: e });
      i.log.warn({ err: (e as Error).message, attempt: n }, 'reading the Node failed; retrying');
      await new Promise((r) => setTimeout(r, i.retryMs ?? 2_000));
    }
  }
}

/** The dynamic config's eni_conf object, or undefined (logged) when it cannot be used. */
async function dynamicConfig(i: NodeConfigInput, name: string): Promise<Json | undefined> {
  const where = `ConfigMap ${i.namespace}/${name} (Node label ${LABEL_DYNAMIC_CONFIG})`;
  let data: Record<string, string> | undefined;
  try {
    data = await i.kube.getConfigMapData(i.namespace, name);
  } catch (e) {
    i.log.warn({ err: (e as Error).message }, `${where}: read failed; using eni-config alone`);
    return undefined;
  }
  const text = data?.['eni_conf'];
  if (text === undefined) {
    i.log.warn(`${where}: ${data ? 'has no eni_conf key' : 'not found'}; using eni-config alone`);
    return undefined;
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new Error(`${where}: eni_conf is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export async function applyNodeSettings(i: NodeConfigInput): Promise<NodeConfigResult> {
  const node = await readNode(i);
  if (!node) {
    i.log.warn({ nodeName: i.nodeName }, 'Node not found: no per-node settings');
    return { config: i.config, applied: [] };
  }
  const applied: string[] = [];
  if (!i.source) {
    if (node.labels[LABEL_DYNAMIC_CONFIG] || exclusiveEniMode(node.labels))
      i.log.warn({ labels: node.labels }, 'per-node labels not applied: the eni_conf they would change is not known to this caller');
    return { config: i.config, applied };
  }
  let source = i.source as Json;
  const dynName = node.labels[LABEL_DYNAMIC_CONFIG];
  if (dynName) {
    const patch = await dynamicConfig(i, dynName);
    if (patch !== undefined) {
      source = mergePatch(source, patch);
      applied.push(`${LABEL_DYNAMIC_CONFIG}=${dynName}: ConfigMap ${i.namespace}/${dynName} eni_conf merged over eni-config`);
    }
  }
  if (exclusiveEniMode(node.labels)) {
    const keepNone = (source as Record<string, Json>)['driver'] === 'none';
    source = mergePatch(source, { daemon_mode: 'VPCENI', driver: keepNone ? 'none' : null });
    applied.push(`${LABEL_EXCLUSIVE_ENI}=${node.labels[LABEL_EXCLUSIVE_ENI]}: daemon_mode VPCENI (exclusive ENI per pod)`);
  }
  if (applied.length === 0) return { config: i.config, applied };
  const { config, warnings } = parseDaemonConfig(source);
  for (const w of warnings) i.log.warn(w);
  return { config, applied };
}
