// Plugin-reported events. No Kubernetes client exists yet, so they go to the daemon log as
// structured lines (event=true) instead of the API server.
import type { Logger } from 'pino';
import type { EventRecord, EventRecorder } from './types.js';

export class LogEventRecorder implements EventRecorder {
  constructor(private readonly log: Logger) {}
  async record(ev: EventRecord): Promise<void> {
    const fields = { event: true, target: ev.target, pod: ev.target === 'pod' ? `${ev.namespace}/${ev.name}` : undefined, reason: ev.reason, type: ev.type };
    if (ev.type === 'Warning') this.log.warn(fields, ev.message);
    else this.log.info(fields, ev.message);
  }
}
