// Pending-DEL records: the plugin's half of a DEL the daemon could not take (down, restarting, hung), and the
// daemon's input when it is back. One small JSON file per pod key in a directory the daemon owns (0700, root),
// written by temp file + fsync + rename (+ directory fsync), so a reader sees a whole record or none. The plugin
// writes (cni/pendingDel.ts), the daemon drains (daemon/pendingDel/): for each record ReleaseIP's logic unless the
// key was allocated again after the record's time, then unlink. Both sides bound what they write and read.
import {
  containerIdProblem,
  ifNameProblem,
  MAX_TEXT,
  namespaceProblem,
  netnsProblem,
  networkNameProblem,
  podNameProblem,
} from './identity.js';

/** Where records go unless the conflist (`pending_del_dir`) and eni_conf (`pending_del_dir`) say otherwise. */
export const DEFAULT_PENDING_DEL_DIR = '/var/lib/cni/eni-ipam/pending-del';
/** At most this many records: far more pod keys than a node holds addresses. The plugin writes none beyond it. */
export const MAX_PENDING_DEL_RECORDS = 1024;
/** A record's size bound (the fields' own bounds add up to about 5 KiB). */
export const MAX_PENDING_DEL_BYTES = 8192;
export const PENDING_DEL_FORMAT = 1;

export interface PendingDelRecord {
  format: number;
  containerId: string;
  ifName: string;
  networkName: string;
  /** May be empty: DEL may come without CNI_NETNS. */
  netns: string;
  podNamespace: string;
  podName: string;
  /** When the plugin gave up on the daemon, ms since the epoch (the same host clock as allocation times). */
  time: number;
  pluginVersion: string;
  /** Why the daemon could not take the DEL (unreachable, deadline, shutting down). */
  reason: string;
}

// File names: `<container id>+<interface name, %-escaped>+<network name>.json`. Container ids and network names
// only hold [A-Za-z0-9_.-] and the interface name is escaped to those plus '%', so '+' separates and the name is
// one-to-one with the pod key. Longer than READABLE_MAX (ids up to 255 bytes): `<first 64 of the id>+h<64-bit
// hash of the key>.json` (one '+', so never equal to a readable name). Temp files start with '.' (never a record).
const READABLE_MAX = 200;
const RECORD_SUFFIX = '.json';
const TEMP_MARK = '.tmp-';

function escapeIfName(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.-]/.test(c) ? c : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

/** FNV-1a, 64 bits as two 32-bit lanes with different offsets: 16 hex characters. */
function hash64(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const byte of Buffer.from(s, 'utf8')) {
    a = Math.imul(a ^ byte, 0x01000193) >>> 0;
    b = Math.imul(b ^ byte, 0x01000193) >>> 0;
    b = (b ^ (a >>> 7)) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

export function recordFileName(key: { containerId: string; ifName: string; networkName: string }): string {
  const readable = `${key.containerId}+${escapeIfName(key.ifName)}+${key.networkName}${RECORD_SUFFIX}`;
  if (readable.length <= READABLE_MAX) return readable;
  return `${key.containerId.slice(0, 64)}+h${hash64(`${key.containerId}/${key.ifName}/${key.networkName}`)}${RECORD_SUFFIX}`;
}

/** The temp file a writer renames onto `recordName` (unique per process and attempt). */
export function tempFileName(recordName: string, pid: number, nonce: string): string {
  return `.${recordName}${TEMP_MARK}${pid}-${nonce}`;
}

export function isRecordFileName(name: string): boolean {
  return !name.startsWith('.') && name.endsWith(RECORD_SUFFIX);
}

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

export function encodeRecord(r: PendingDelRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** Parses and checks a record (the same identity rules as a gRPC request); a string says what is wrong. */
export function decodeRecord(text: string): PendingDelRecord | string {
  if (Buffer.byteLength(text, 'utf8') > MAX_PENDING_DEL_BYTES) return `larger than ${MAX_PENDING_DEL_BYTES} bytes`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const o = raw as Record<string, unknown>;
  if (o.format !== PENDING_DEL_FORMAT) return `format ${JSON.stringify(o.format)}, want ${PENDING_DEL_FORMAT}`;
  const strings = ['containerId', 'ifName', 'networkName', 'netns', 'podNamespace', 'podName', 'pluginVersion', 'reason'] as const;
  for (const k of strings) if (typeof o[k] !== 'string') return `${k} must be a string`;
  if (typeof o.time !== 'number' || !Number.isFinite(o.time) || o.time <= 0) return 'time must be a positive number';
  const r = o as unknown as PendingDelRecord;
  const problem =
    field('containerId', containerIdProblem(r.containerId)) ??
    field('ifName', ifNameProblem(r.ifName)) ??
    field('networkName', networkNameProblem(r.networkName)) ??
    field('netns', netnsProblem(r.netns, false)) ??
    field('podNamespace', namespaceProblem(r.podNamespace)) ??
    field('podName', podNameProblem(r.podName)) ??
    (r.pluginVersion.length > MAX_TEXT || r.reason.length > MAX_TEXT ? 'pluginVersion / reason too long' : undefined);
  if (problem) return problem;
  return {
    format: r.format,
    containerId: r.containerId,
    ifName: r.ifName,
    networkName: r.networkName,
    netns: r.netns,
    podNamespace: r.podNamespace,
    podName: r.podName,
    time: r.time,
    pluginVersion: r.pluginVersion,
    reason: r.reason,
  };
}

const field = (name: string, problem: string | undefined): string | undefined => (problem ? `${name} ${problem}` : undefined);
