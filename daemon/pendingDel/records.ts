// The pending-DEL records directory, the daemon's side (the format: proto/pendingDel.ts): created 0700 and kept
// so, listed a bounded number of names at a time, each record read with a size bound, removed once applied, and
// temp files of plugins that died mid-write removed once they are old.
import { constants, existsSync, mkdirSync } from 'node:fs';
import { chmod, lstat, opendir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeRecord,
  isRecordFileName,
  isTempFileName,
  MAX_PENDING_DEL_BYTES,
  MAX_PENDING_DEL_RECORDS,
  recordFileName,
  type PendingDelRecord,
} from '../../proto/pendingDel.js';

export type ReadResult = { record: PendingDelRecord } | { malformed: string } | { gone: true };

export interface Listing {
  records: string[];
  temps: string[];
  /** More names than one pass reads: the rest wait for the next pass. */
  truncated: boolean;
}

export class RecordsDir {
  constructor(readonly dir: string) {}

  /** Creates the directory 0700 (and makes an existing one 0700): root only, like the socket. */
  async prepare(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }

  nameFor(key: { containerId: string; ifName: string; networkName: string }): string {
    return recordFileName(key);
  }

  /** Cheap, synchronous: checked on every AllocIP. */
  has(name: string): boolean {
    return existsSync(join(this.dir, name));
  }

  /** At most `max` names (records and temp files), so a directory someone flooded cannot stall a pass. */
  async list(max = MAX_PENDING_DEL_RECORDS * 2): Promise<Listing> {
    const out: Listing = { records: [], temps: [], truncated: false };
    let dir;
    try {
      dir = await opendir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw e;
    }
    let seen = 0;
    try {
      for await (const entry of dir) {
        if (seen++ >= max) {
          out.truncated = true;
          break;
        }
        if (isRecordFileName(entry.name)) out.records.push(entry.name);
        else if (isTempFileName(entry.name)) out.temps.push(entry.name);
      }
    } finally {
      await dir.close().catch(() => undefined);
    }
    out.records.sort();
    return out;
  }

  /** Reads one record: at most MAX_PENDING_DEL_BYTES, only regular files (no symlinks), decoded and checked. */
  async read(name: string): Promise<ReadResult> {
    let fh;
    try {
      fh = await open(join(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { gone: true };
      return { malformed: `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { malformed: 'not a regular file' };
      if (st.size > MAX_PENDING_DEL_BYTES) return { malformed: `${st.size} bytes, more than ${MAX_PENDING_DEL_BYTES}` };
      const buf = Buffer.alloc(MAX_PENDING_DEL_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const decoded = decodeRecord(buf.subarray(0, bytesRead).toString('utf8'));
      if (typeof decoded === 'string') return { malformed: decoded };
      if (recordFileName(decoded) !== name)
        return { malformed: `names pod key ${decoded.containerId}/${decoded.ifName}/${decoded.networkName}` };
      return { record: decoded };
    } finally {
      await fh.close();
    }
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.dir, name), { force: true });
  }

  /** Removes the temp files older than `maxAgeMs` (a plugin killed mid-write; a live writer renames in milliseconds). */
  async removeOldTemps(names: string[], maxAgeMs: number, now: number): Promise<string[]> {
    const removed: string[] = [];
    for (const name of names) {
      try {
        const st = await lstat(join(this.dir, name));
        if (now - st.mtimeMs < maxAgeMs) continue;
        await rm(join(this.dir, name), { force: true });
        removed.push(name);
      } catch {
        // gone meanwhile (renamed by its writer or removed): nothing to do
      }
    }
    return removed;
  }
}
