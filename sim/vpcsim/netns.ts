// Named network namespaces (`ip netns`), the helpers tests use around them, and the capability probe.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execIn, ipBatch, IpCommandError, run } from './ip.js';

export const NETNS_DIR = '/var/run/netns';

/** Path of a named netns, as CNI_NETNS expects it. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export async function listNetns(): Promise<string[]> {
  const res = await run('ip', ['netns', 'list']);
  if (res.code !== 0) throw new IpCommandError({ code: res.code, stderr: res.stderr, lines: ['netns list'], what: 'ip netns list' });
  // Lines look like "name" or "name (id: 3)".
  return res.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Creates a netns (and brings its loopback up). Fails when it already exists. */
export async function createNetns(name: string): Promise<void> {
  const res = await run('ip', ['netns', 'add', name]);
  if (res.code !== 0) throw new IpCommandError({ code: res.code, stderr: res.stderr, lines: [`netns add ${name}`], what: 'ip netns add' });
  await ipBatch(name, ['link set lo up']);
}

/** Deletes a netns; a missing one is fine. Links inside it go with it. */
export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  const res = await run('ip', ['netns', 'del', name]);
  if (res.code !== 0 && existsSync(netnsPath(name))) {
    throw new IpCommandError({ code: res.code, stderr: res.stderr, lines: [`netns del ${name}`], what: 'ip netns del' });
  }
}

/** Removes every netns whose name is `prefix` or starts with `prefix-` (leftovers of a crashed run). Returns them. */
export async function cleanupStale(prefix: string): Promise<string[]> {
  if (!prefix) throw new Error('cleanupStale: empty prefix');
  const stale = (await listNetns()).filter((n) => n === prefix || n.startsWith(`${prefix}-`));
  for (const name of stale) await deleteNetns(name);
  return stale;
}

/**
 * A short prefix unique to this process (netns names; keep them short, they show up in every command):
 * `<tag><pid base 36>_<random>`, so reapDeadRuns(tag) can tell a crashed run's leftovers from a live run's.
 */
export function uniquePrefix(tag = 'vs'): string {
  return `${tag}${process.pid.toString(36)}_${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the netns of earlier runs made with uniquePrefix(tag) whose process is gone (a crashed or killed
 * run), never those of a run still going (another suite, another checkout's test run). Returns them.
 */
export async function reapDeadRuns(tag: string): Promise<string[]> {
  const re = new RegExp(`^${tag}([0-9a-z]+)_[0-9a-z]+(-|$)`);
  const dead = (await listNetns()).filter((n) => {
    const m = re.exec(n);
    return m !== null && !alive(parseInt(m[1]!, 36));
  });
  for (const name of dead) await deleteNetns(name);
  return dead;
}

/** The name a test should give a pod netns: `<prefix>-pod-<name>` (so cleanupStale(prefix) finds it). */
export function podNetnsName(prefix: string, name: string): string {
  return `${prefix}-pod-${name}`;
}

/** Creates a throwaway pod netns (loopback up) and returns its name and path. */
export async function createPodNetns(prefix: string, name: string): Promise<{ name: string; path: string }> {
  const ns = podNetnsName(prefix, name);
  await createNetns(ns);
  return { name: ns, path: netnsPath(ns) };
}

/**
 * `ping -c1 -W1 ip` from inside a netns. True when a reply came back. `attempts` > 1 retries a lost probe (a busy
 * machine can drop the very first one while ARP resolves); keep 1 when asserting that an address is unreachable.
 */
export async function ping(fromNetns: string, ip: string, opts: { attempts?: number; waitSec?: number } = {}): Promise<boolean> {
  const attempts = Math.max(1, opts.attempts ?? 1);
  for (let i = 0; i < attempts; i++) {
    const res = await execIn(fromNetns, ['ping', '-n', '-q', '-c', '1', '-W', String(opts.waitSec ?? 1), ip]);
    if (res.code === 0) return true;
  }
  return false;
}

/**
 * Starts a long-running process inside a netns (e.g. a daemon for one test node). `ip netns exec` execs the
 * command in place, so the returned child's pid is the process itself: kill it by that pid.
 */
export function spawnInNetns(netns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface KernelSupport {
  ok: boolean;
  /** What is missing, for a skip message. */
  missing: string[];
}

/**
 * Checks what the kernel backend needs: root, iproute2, netns + veth, and `ping` unless `ping: false`
 * (the demo probes with its own UDP echo, udpEcho.ts; tests that call ping() need it).
 */
export async function probeKernelSupport(opts: { ping?: boolean } = {}): Promise<KernelSupport> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (uid 0)');
  const ipVer = await run('ip', ['-V']).catch(() => undefined);
  if (!ipVer || ipVer.code !== 0) missing.push('iproute2 (`ip`)');
  if (opts.ping !== false) {
    const pingVer = await run('ping', ['-V']).catch(() => undefined);
    if (!pingVer || pingVer.code !== 0) missing.push('ping (iputils-ping)');
  }
  if (missing.length > 0) return { ok: false, missing };
  const ns = `${uniquePrefix('probe')}-a`;
  try {
    await createNetns(ns);
    await ipBatch(ns, ['link add p0 type veth peer name p1']);
  } catch (err) {
    missing.push(`netns + veth (${(err as Error).message.split('\n')[0]})`);
  } finally {
    await deleteNetns(ns).catch(() => undefined);
  }
  return { ok: missing.length === 0, missing };
}
