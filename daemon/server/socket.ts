// Unix socket path housekeeping: create the parent directory, remove a stale socket left by a
// crashed daemon, but never steal the socket of a daemon that still answers.
import { mkdir, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';

export class SocketInUseError extends Error {
  constructor(readonly path: string) {
    super(`another process is serving on ${path}; refusing to remove its socket`);
    this.name = 'SocketInUseError';
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function prepareSocketPath(path: string): Promise<{ removedStale: boolean }> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removedStale: false };
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a unix socket; refusing to remove it`);
  if (await answers(path)) throw new SocketInUseError(path);
  await unlink(path);
  return { removedStale: true };
}

export async function removeSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.isSocket()) await unlink(path);
  } catch {
    // already gone
  }
}
