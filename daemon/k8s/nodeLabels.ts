// The Node labels and annotation Terway reads and this daemon writes (types/k8s.go, pkg/k8s/k8s.go).

/** Node label naming a ConfigMap (in the daemon's namespace) whose `eni_conf` is merged over eni-config (RFC 7396). */
export const LABEL_DYNAMIC_CONFIG = 'terway-config';
/** Node label: `eniOnly` (any case) runs the node in exclusive-ENI mode (VPCENI here). */
export const LABEL_EXCLUSIVE_ENI = 'k8s.aliyun.com/exclusive-mode-eni-type';
/**
 * Node annotation the daemon writes: how many pods this node holds in its mode (ENIMultiIP: secondary ENIs × IPs
 * per ENI; VPCENI: secondary ENIs; VPCIP: usable pod-CIDR addresses), for kubelet's --max-pods. Terway publishes
 * no such value (its examples/maxpods tool prints it); the name follows Terway's `k8s.aliyun.com/` annotations.
 */
export const ANNOTATION_MAX_PODS = 'k8s.aliyun.com/max-pods';

/** Terway's NodeExclusiveENIMode: the label's value compared case-insensitively with `eniOnly`. */
export function exclusiveEniMode(labels: Readonly<Record<string, string>>): boolean {
  return (labels[LABEL_EXCLUSIVE_ENI] ?? '').toLowerCase() === 'enionly';
}
