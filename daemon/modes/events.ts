// Plugin-reported and daemon events. They always go to the daemon log as structured lines
// (event=true); with a Kubernetes client they also become core/v1 Events (FanOutEventRecorder).
import type { Logger } from 'pino';
import type { EventRecord, EventRecorder } from './types.js';

export class LogEventRecorder implements EventRecorder {
  constructor(private readonly log: Logger) {}
  async record(ev: EventRecord): Promise<void> {
    const fields = {
      event: true,
      target: ev.target,
      pod: ev.target === 'pod' ? `${ev.namespace}/${ev.name}` : undefined,
      reason: ev.reason,
      type: ev.type,
    };
    if (ev.type === 'Warning') this.log.warn(fields, ev.message);
    else this.log.info(fields, ev.message);
  }
}

/** Hands each event to every recorder; one failing does not stop the others. */
export class FanOutEventRecorder implements EventRecorder {
  private readonly recorders: EventRecorder[];
  constructor(...recorders: EventRecorder[]) {
    this.recorders = recorders;
  }
  async record(ev: EventRecord): Promise<void> {
    const results = await Promise.allSettled(this.recorders.map((r) => r.record(ev)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Node events name this node: the plugin sends an empty name (it knows only its pod), and pool
 * events are about this node anyway. Without a node name they stay in the log only.
 */
export function onThisNode(recorder: EventRecorder, nodeName: string | undefined): EventRecorder {
  return {
    async record(ev: EventRecord): Promise<void> {
      if (ev.target !== 'node') return recorder.record(ev);
      if (!nodeName) return;
      return recorder.record({ ...ev, namespace: '', name: nodeName });
    },
  };
}
