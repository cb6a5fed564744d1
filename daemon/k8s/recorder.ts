// Adapter from the daemon's EventRecorder shape (daemon/modes/types.ts: lower-case target, always a
// namespace) to KubeClient.recordEvent. Events are best effort: a failed write goes to onError and
// never fails the caller's RPC.
import type { KubeError } from './errors.js';
import { toKubeError } from './errors.js';
import type { KubeClient } from './types.js';

export interface DaemonEventRecord {
  target: 'pod' | 'node';
  namespace: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function kubeEventRecorder(
  kube: Pick<KubeClient, 'recordEvent'>,
  onError?: (err: KubeError, ev: DaemonEventRecord) => void,
): { record(ev: DaemonEventRecord): Promise<void> } {
  return {
    async record(ev: DaemonEventRecord): Promise<void> {
      try {
        await kube.recordEvent({
          target: ev.target === 'pod' ? 'Pod' : 'Node',
          ...(ev.target === 'pod' ? { namespace: ev.namespace } : {}),
          name: ev.name,
          type: ev.type,
          reason: ev.reason,
          message: ev.message,
        });
      } catch (err) {
        onError?.(toKubeError(err, 'record event'), ev);
      }
    },
  };
}
