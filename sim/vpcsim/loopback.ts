// Makes a TCP service on this process's loopback (e.g. the mock cloud on 127.0.0.1:PORT) reachable at the SAME
// address from inside a netns, whose loopback is its own. Unix sockets are bound to the filesystem, not to a
// netns, so the bridge is: [netns] 127.0.0.1:PORT --(relay process)--> unix socket --(this process)--> 127.0.0.1:PORT.
// Only loopback is involved on either side. With it, a daemon spawned inside a node netns uses `mc.url` and
// `mc.metadataUrl(id)` unchanged.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnInNetns } from './netns.js';

// The relay that runs inside the netns: plain Node, no dependencies, so it starts in ~50 ms.
const RELAY = `
const net = require('node:net');
const [port, path] = process.argv.slice(1);
const srv = net.createServer((c) => {
  const u = net.connect(path);
  const end = () => { c.destroy(); u.destroy(); };
  c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
  c.pipe(u); u.pipe(c);
});
srv.on('error', (e) => { console.error(String(e)); process.exit(1); });
srv.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
`;

function pipeBoth(a: net.Socket, b: net.Socket): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
  a.pipe(b);
  b.pipe(a);
}

// A relay still running when this process exits (a test or demo torn down abruptly) is killed, never orphaned.
const liveRelays = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveRelays) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface LoopbackBridge {
  port: number;
  /** Netns names the port is exposed in. */
  netns(): string[];
  /** Exposes the port in one more netns (resolves when the relay listens). */
  exposeIn(netns: string): Promise<void>;
  /** Stops every relay and the unix listener. Idempotent. */
  close(): Promise<void>;
}

/** Bridges 127.0.0.1:`port` of this process into each netns in `netnsList` (more can be added with exposeIn). */
export async function bridgeLoopback(port: number, netnsList: string[] = []): Promise<LoopbackBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'vpcsim-lo-'));
  const sockPath = join(dir, `${port}.sock`);
  const open = new Set<net.Socket>();
  const server = net.createServer((c) => {
    open.add(c);
    c.on('close', () => open.delete(c));
    pipeBoth(c, net.connect(port, '127.0.0.1'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => resolve());
  });
  const relays = new Map<string, ChildProcess>();
  let closed = false;

  const exposeIn = async (ns: string): Promise<void> => {
    if (closed) throw new Error('loopback bridge closed');
    if (relays.has(ns)) return;
    const child = spawnInNetns(ns, process.execPath, ['-e', RELAY, String(port), sockPath], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    relays.set(ns, child);
    liveRelays.add(child);
    child.once('exit', () => liveRelays.delete(child));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.stdout?.setEncoding('utf8').once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`loopback relay in ${ns} exited ${code}: ${err.trim()}`)));
      child.once('error', reject);
    });
  };

  for (const ns of netnsList) await exposeIn(ns);

  return {
    port,
    netns: () => [...relays.keys()],
    exposeIn,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(
        [...relays.values()].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      relays.clear();
      for (const c of open) c.destroy(); // keep-alive connections would hold close() open
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
