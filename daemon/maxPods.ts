// How many pods this node holds in its mode, published for kubelet's --max-pods (as EKS users run
// max-pods-calculator.sh, Terway users its examples/maxpods tool): the Node annotation k8s.aliyun.com/max-pods
// (written at start and again when the number changes), GET /v1/capacity, and `eni-ipam-cli max-pods`.
//   ENIMultiIP  (EniQuantity − 1) × EniPrivateIpAddressQuantity   (pool/capacity.ts: eth0 is the node's)
//   VPCENI      EniQuantity − 1                                   (one secondary ENI per pod)
//   VPCIP       the usable addresses of the node's pod CIDR
// A running node also leaves out secondary ENIs attached that are not ours (another tool's hold quota slots).
import type { Logger } from 'pino';
import { exclusiveEniCapacity, multiIpCapacity, type CapacityLimits, type NodeCapacity } from '../pool/capacity.js';
import type { DaemonConfig, DaemonMode } from './config/types.js';
import { ANNOTATION_MAX_PODS, type KubeClient } from './k8s/index.js';
import { parsePodCidr, usableCount } from './modes/vpcIp/podCidr.js';

export interface MaxPods {
  mode: DaemonMode;
  pods: number;
  /** The arithmetic, e.g. "12 pods = (3 ENIs − 1) × 6 IPs (ecs.g7.large)". */
  explain: string;
}

type CapacityConfig = Pick<DaemonConfig, 'daemonMode' | 'podCidr' | 'maxEni' | 'eniCapRatio' | 'eniCapShift'>;

/** VPCIP: the pod CIDR's usable addresses (network, the gateway and broadcast kept back). */
export function podCidrCapacity(podCidr: string): NodeCapacity {
  const pods = usableCount(parsePodCidr(podCidr));
  return { pods, secondaryEnis: 0, perEni: 0, explain: `${pods} pods = the usable addresses of pod CIDR ${podCidr}` };
}

/** The node's capacity in `config`'s mode from the instance type's limits (no ENI of another tool counted). */
export function maxPodsFor(config: CapacityConfig, limits?: CapacityLimits): MaxPods {
  const mode = config.daemonMode;
  let c: NodeCapacity;
  if (mode === 'VPCIP') {
    if (!config.podCidr) throw new Error('VPCIP: eni_conf pod_cidr is not set');
    c = podCidrCapacity(config.podCidr);
  } else {
    if (!limits) throw new Error(`${mode}: the instance type's limits are needed`);
    c = mode === 'VPCENI' ? exclusiveEniCapacity(limits, config) : multiIpCapacity(limits, config);
  }
  return { mode, pods: c.pods, explain: c.explain };
}

/** How often the annotation is compared with the node's capacity (ENIs of other tools come and go). */
export const MAX_PODS_CHECK_MS = 60_000;

/**
 * Background part: writes the Node annotation once the pools know their ENIs, then again whenever the number
 * changes. Best effort: an API server that is down only delays it (logged); it never stops the daemon.
 */
export function publishMaxPods(
  o: { kube: Pick<KubeClient, 'annotateNode'>; nodeName: string; maxPods: () => MaxPods; log: Logger },
  intervalMs = MAX_PODS_CHECK_MS,
): () => void {
  let written: number | undefined;
  const check = (): void => {
    const m = o.maxPods();
    if (m.pods === written) return;
    void o.kube
      .annotateNode(o.nodeName, { [ANNOTATION_MAX_PODS]: String(m.pods) })
      .then(() => {
        written = m.pods;
        o.log.info({ annotation: ANNOTATION_MAX_PODS, maxPods: m.pods, explain: m.explain }, 'node max-pods annotated');
      })
      .catch((e: Error) => o.log.warn({ err: e.message, annotation: ANNOTATION_MAX_PODS }, 'annotating the node with its max-pods failed'));
  };
  check();
  const t = setInterval(check, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
