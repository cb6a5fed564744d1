// Which pods keep their IP across re-creation (Terway: StatefulSet pods, the kinds listed in
// `custom_stateful_workload_kinds`, and pods annotated k8s.aliyun.com/pod-ip-reservation: "true").
import type { PodInfo } from './types.js';

export const ANNOTATION_POD_IP_RESERVATION = 'k8s.aliyun.com/pod-ip-reservation';

// Go's strconv.ParseBool true set, which is how Terway reads boolean annotations.
const TRUE_VALUES = new Set(['1', 't', 'T', 'true', 'True', 'TRUE']);

export function isStatefulPod(pod: PodInfo, customStatefulKinds: readonly string[] = []): boolean {
  const reservation = pod.annotations[ANNOTATION_POD_IP_RESERVATION];
  if (reservation !== undefined && TRUE_VALUES.has(reservation.trim())) return true;
  if (!pod.ownerKind) return false;
  // Kinds compare case-insensitively: config files spell them by hand.
  const kind = pod.ownerKind.toLowerCase();
  if (kind === 'statefulset') return true;
  return customStatefulKinds.some((k) => k.trim().toLowerCase() === kind);
}
