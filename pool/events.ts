// What both pools report besides their answers: structured logs and Terway-style events (the daemon
// turns events into Kubernetes Events and metrics).

/** pino-compatible subset. */
export interface PoolLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const noopLogger: PoolLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface PoolEvent {
  type: 'Normal' | 'Warning';
  /** Terway-style reason, e.g. CreateENISucceed, AllocIPFailed, IpMissingInCloud. */
  reason: string;
  message: string;
  eniId?: string;
  ip?: string;
  podKey?: string;
}
