// What the ENI pool reports: the shared pool events, plus the pod an event is about.

import type { PoolEvent, PoolLogger } from '../events.js';

export type EniPoolLogger = Pick<PoolLogger, 'info' | 'warn' | 'error'>;

export const noopEniPoolLogger: EniPoolLogger = { info() {}, warn() {}, error() {} };

export type EniPoolEvent = Pick<PoolEvent, 'type' | 'reason' | 'message' | 'eniId' | 'podKey'> & {
  /** The pod the event is about (its record names it), so the daemon can put the event on the Pod too. */
  pod?: { namespace: string; name: string };
};
