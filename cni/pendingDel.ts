// Writes a pending-DEL record (proto/pendingDel.ts) when the daemon cannot take a DEL: temp file (O_EXCL, 0600),
// write, fsync, rename onto the record's name, fsync the directory. A crash at any step leaves either no record
// (maybe a temp file, which the daemon removes once it is old) or the whole record; a second DEL of the same pod
// key replaces its record. Synchronous, like the rest of the plugin's file I/O.
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import {
  encodeRecord,
  isRecordFileName,
  MAX_PENDING_DEL_BYTES,
  MAX_PENDING_DEL_RECORDS,
  recordFileName,
  tempFileName,
  type PendingDelRecord,
} from '../proto/pendingDel.js';

/** The steps of a write, in order; `onStep` sees each one done (the crash tests stop the process there). */
export type WriteStep = 'dir-ready' | 'temp-created' | 'temp-written' | 'temp-synced' | 'renamed' | 'dir-synced';

export type WriteOutcome =
  | { written: true; path: string }
  /** The directory holds MAX records already (and none for this key): nothing was written. */
  | { written: false; full: true; records: number };

export interface WriteOptions {
  onStep?: (step: WriteStep) => void;
  /** Default MAX_PENDING_DEL_RECORDS. */
  maxRecords?: number;
}

// No node:path: the plugin loads node:fs and node:net only (test/cni/plugin.test.ts); the directory is absolute.
const join = (dir: string, name: string): string => `${dir.replace(/\/+$/, '')}/${name}`;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Throws (errno-carrying) when the directory cannot be written; the caller decides what a DEL then does. */
export function writePendingDel(dir: string, record: PendingDelRecord, opts: WriteOptions = {}): WriteOutcome {
  const step = opts.onStep ?? (() => undefined);
  const name = recordFileName(record);
  const data = Buffer.from(encodeRecord(record), 'utf8');
  if (data.length > MAX_PENDING_DEL_BYTES) throw new Error(`pending-DEL record of ${data.length} bytes exceeds ${MAX_PENDING_DEL_BYTES}`);
  // Owned by the daemon (it creates it 0700 at start); made here too for a DEL before the daemon ever ran.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = readdirSync(dir);
  const records = names.filter(isRecordFileName);
  if (records.length >= (opts.maxRecords ?? MAX_PENDING_DEL_RECORDS) && !records.includes(name)) {
    return { written: false, full: true, records: records.length };
  }
  step('dir-ready');
  const tmp = join(dir, tempFileName(name, process.pid, Math.random().toString(16).slice(2, 10)));
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  let closed = false;
  let renamed = false;
  try {
    step('temp-created');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    step('temp-written');
    fsyncSync(fd);
    step('temp-synced');
    closeSync(fd);
    closed = true;
    renameSync(tmp, join(dir, name));
    renamed = true;
    step('renamed');
  } finally {
    if (!closed) closeSync(fd);
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        /* the daemon removes old temp files */
      }
    }
  }
  fsyncDir(dir);
  step('dir-synced');
  return { written: true, path: join(dir, name) };
}
