// eni_conf keys of the daemon process: its socket, pod DB and pending-DEL paths, logging, the metrics /
// introspection listener, and its time limits (AllocIP wait, shutdown drain, pending-DEL drain period).
import { dirname, join } from 'node:path';
import { DEFAULTS } from './defaults.js';
import { show, type Reader } from './reader.js';
import type { DaemonConfig, ListenAddress, LogLevel } from './types.js';

export type ProcessKeys = Pick<
  DaemonConfig,
  'socketPath' | 'dbPath' | 'pendingDelDir' | 'pendingDelIntervalMs' | 'logLevel' | 'metricsListen' | 'allocTimeoutMs' | 'shutdownTimeoutMs'
>;

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const UNIX_PATH_MAX = 107; // sun_path is 108 bytes including the NUL

/** "127.0.0.1:9100", ":9100", "[::1]:9100", "unix:///run/x.sock" or "/run/x.sock". */
export function parseListenAddress(s: string): ListenAddress | undefined {
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    return path.startsWith('/') ? { kind: 'unix', path } : undefined;
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] || '0.0.0.0');
  return { kind: 'tcp', host, port };
}

export function readProcessKeys(r: Reader): ProcessKeys {
  const socketPath = r.str('socket_path') ?? DEFAULTS.socketPath;
  if (Buffer.byteLength(socketPath) > UNIX_PATH_MAX) {
    r.fail('socket_path', `unix socket paths are limited to ${UNIX_PATH_MAX} bytes (got ${Buffer.byteLength(socketPath)})`);
  }
  const dbPath = r.str('db_path') ?? DEFAULTS.dbPath;
  // Beside the pod DB unless set (the default DB's folder gives the plugin's default, /var/lib/cni/eni-ipam/pending-del);
  // an in-memory DB has no folder, and no records directory unless one is set.
  let pendingDelDir = r.str('pending_del_dir');
  if (pendingDelDir !== undefined && !pendingDelDir.startsWith('/')) {
    r.fail('pending_del_dir', `must be an absolute path (got ${show('pending_del_dir', pendingDelDir)})`);
  }
  if (pendingDelDir === undefined && dbPath !== ':memory:') pendingDelDir = join(dirname(dbPath), 'pending-del');
  const logLevel = r.oneOf('log_level', LOG_LEVELS, DEFAULTS.logLevel);
  let metricsListen: ListenAddress | undefined;
  const ml = r.str('metrics_listen');
  if (ml !== undefined) {
    metricsListen = parseListenAddress(ml);
    if (!metricsListen) r.fail('metrics_listen', `must be host:port, :port or a unix socket path (got ${show('metrics_listen', ml)})`);
  }
  return {
    socketPath,
    dbPath,
    pendingDelDir,
    pendingDelIntervalMs: r.duration('pending_del_interval') ?? DEFAULTS.pendingDelIntervalMs,
    logLevel,
    metricsListen,
    allocTimeoutMs: r.duration('alloc_timeout') ?? DEFAULTS.allocTimeoutMs,
    shutdownTimeoutMs: r.duration('shutdown_timeout') ?? DEFAULTS.shutdownTimeoutMs,
  };
}
