// What the data-plane part of the demo needs from the machine, installed when it can be: the simulated
// VPC is built with iproute2 (`ip netns`, `ip -batch`), which a fresh Debian or Ubuntu container lacks.
// Reachability is checked with the demo's own UDP echo, so nothing else (no ping) is needed.
import { run } from '../sim/vpcsim/ip.js';
import type { Log } from './print.js';

async function works(cmd: string, args: string[]): Promise<boolean> {
  return run(cmd, args).then(
    (r) => r.code === 0,
    () => false,
  );
}

/**
 * As root, with apt-get and without `ip`: installs iproute2, saying so. When it cannot, the caller's kernel
 * probe still finds `ip` missing and the demo runs the allocation-only path with a NOTE naming it.
 */
export async function ensureIproute2(out: Log): Promise<void> {
  if (process.getuid?.() !== 0 || (await works('ip', ['-V']))) return;
  if (!(await works('apt-get', ['--version']))) return;
  out('  iproute2 (`ip`) is missing and the simulated VPC needs it: apt-get install iproute2 (--no-install skips this)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'iproute2'], { env, timeoutMs: 300_000 });
  if (r.code !== 0) {
    // A fresh image has no package lists yet.
    await run('apt-get', ['update', '-qq'], { env, timeoutMs: 300_000 });
    r = await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'iproute2'], { env, timeoutMs: 300_000 });
  }
  out(
    r.code === 0 ? '  iproute2 installed' : `  apt-get install iproute2 failed: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`}`,
  );
}
