// Structured JSON logs (pino). Pod, container and ENI go in fields, never in the message text,
// and secrets are redacted wherever they appear in a logged object.
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import type { LogRing } from './logRing.js';

export type { Logger };

export const REDACT_PATHS = [
  'access_key',
  'access_secret',
  'accessKey',
  'accessSecret',
  'securityToken',
  'security_token',
  '*.access_key',
  '*.access_secret',
  '*.accessKey',
  '*.accessSecret',
  '*.securityToken',
  '*.security_token',
  'config.accessKey',
  'config.accessSecret',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Default: stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
  /** Also keep every line in this ring (served at /v1/logs). */
  ring?: LogRing;
  base?: Record<string, unknown>;
  /** The logger's name in every line (default eni-daemon; the controller says eni-controlplane). */
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: true });
  // Streams take every level; the logger's own level filters.
  const stream = opts.ring
    ? pino.multistream([
        { level: 'trace', stream: dest },
        { level: 'trace', stream: opts.ring },
      ])
    : dest;
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name ?? 'eni-daemon',
      // `component` is left to child loggers (pool, grpc, cloud) so it never appears twice.
      base: { pid: process.pid, ...opts.base },
      redact: { paths: REDACT_PATHS, censor: '<redacted>' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** Fields that identify a pod interface in every log line about it. */
export interface PodLogFields {
  pod?: string; // namespace/name
  containerId?: string;
  ifName?: string;
  podKey?: string;
  eniId?: string;
  ip?: string;
}

export function podFields(p: { namespace?: string; name?: string; containerId?: string; ifName?: string; podKey?: string }): PodLogFields {
  return {
    pod: p.namespace || p.name ? `${p.namespace ?? ''}/${p.name ?? ''}` : undefined,
    containerId: p.containerId,
    ifName: p.ifName,
    podKey: p.podKey,
  };
}
