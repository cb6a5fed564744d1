// Work inside another network namespace without moving the whole process.
//
// setns(2) moves only the calling thread. We switch the main thread, do synchronous work only
// (create a netlink socket, write a /proc/sys file), and switch back before returning to the event
// loop. A netlink socket stays bound to the netns it was created in, so it can be used afterwards.
// Trap: libuv starts its thread pool lazily; a pool thread spawned inside the window would inherit
// the foreign netns forever. So the pool is warmed (one fs.promises.stat) before any switch, and
// nothing inside the window may await, start workers or spawn processes.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { DriverError } from './types.js';
import { Nl, errnoOf, loadNetlink } from './netlink.js';

const CLONE_NEWNET = 0x40000000;

type SetnsFn = (fd: number, nstype: number) => number;
let setnsFn: SetnsFn | undefined;
let errnoFn: (() => number) | undefined;
/** libc socket calls for the off-main-thread RTM_DELLINK (delLinkOffMainThread). */
interface RawNetlinkFns {
  socket: (domain: number, type: number, protocol: number) => number;
  send: ((fd: number, buf: Buffer, len: number, flags: number) => number) & {
    async(fd: number, buf: Buffer, len: number, flags: number, cb: (err: unknown, res: number) => void): void;
  };
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
}
let rawFns: RawNetlinkFns | undefined;
let homeFd: number | undefined;
let warmed: Promise<void> | undefined;

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 9: 'EBADF', 22: 'EINVAL', 12: 'ENOMEM' };

function loadSetns(): SetnsFn {
  if (!setnsFn) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    setnsFn = lib.func('int setns(int fd, int nstype)') as unknown as SetnsFn;
    errnoFn = () => koffi.errno();
  }
  return setnsFn;
}

/**
 * Starts libuv's thread pool (and records the home netns) before any namespace switch.
 * Call once at daemon start-up; every entry point here also awaits it.
 */
export function warmThreadPool(): Promise<void> {
  if (!warmed) {
    warmed = (async () => {
      // Opened while no switch has ever happened: this is the process's own netns.
      homeFd ??= fs.openSync('/proc/self/ns/net', 'r');
      await fs.promises.stat('/');
      loadSetns();
      loadNetlink();
    })();
  }
  return warmed;
}

/** True when the netns path can be opened (the pod's netns may already be gone at DEL time). */
export function netnsExists(path: string): boolean {
  try {
    fs.accessSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Opens a netns file (/var/run/netns/NAME, /proc/PID/ns/net); errors name the netns and operation. */
export function openNetnsFd(path: string, op: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (e) {
    throw new DriverError(op, `cannot open netns: ${(e as Error).message}`, { errno: errnoOf(e), netns: path, cause: e });
  }
}

export function closeFd(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** An fd for the process's own (home) netns, e.g. to move a link back. Caller closes it. */
export function openHomeNetnsFd(): number {
  if (homeFd === undefined) throw new DriverError('open home netns', 'warmThreadPool() has not run');
  return fs.openSync(`/proc/self/fd/${homeFd}`, 'r');
}

function loadRawNetlink(): RawNetlinkFns {
  if (!rawFns) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    rawFns = {
      socket: lib.func('int socket(int domain, int type, int protocol)') as unknown as RawNetlinkFns['socket'],
      send: lib.func('long send(int fd, void *buf, size_t len, int flags)') as unknown as RawNetlinkFns['send'],
      recv: lib.func('long recv(int fd, void *buf, size_t len, int flags)') as unknown as RawNetlinkFns['recv'],
      close: lib.func('int close(int fd)') as unknown as RawNetlinkFns['close'],
    };
    errnoFn ??= () => koffi.errno();
  }
  return rawFns;
}

function errnoName(n: number): string | undefined {
  return Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0];
}

const AF_NETLINK = 16;
const SOCK_RAW_CLOEXEC = 3 | 0x80000;
const NETLINK_ROUTE = 0;
const RTM_DELLINK = 17;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST_ACK = 0x1 | 0x4;
const MSG_DONTWAIT = 0x40;

/** RTM_DELLINK for ifindex `index`: nlmsghdr + ifinfomsg (AF_UNSPEC). Pure; exported for tests. */
export function delLinkRequest(index: number, seq: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(32, 0);
  b.writeUInt16LE(RTM_DELLINK, 4);
  b.writeUInt16LE(NLM_F_REQUEST_ACK, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeInt32LE(index, 20);
  return b;
}

/** The errno of a netlink ACK (0 = success); undefined when `b` is not an NLMSG_ERROR for `seq`. Pure; exported for tests. */
export function ackErrno(b: Buffer, seq: number): number | undefined {
  if (b.length < 20 || b.readUInt16LE(4) !== NLMSG_ERROR || b.readUInt32LE(8) !== seq >>> 0) return undefined;
  const e = b.readInt32LE(16);
  return e === 0 ? 0 : -e;
}

let delSeq = 1;

/**
 * Deletes link `index` in the netns at `path` (undefined = home), with the request sent from a libuv
 * pool thread. rtnetlink runs a request inside the sender's sendmsg(), and unregistering a veth waits
 * for RCU (15-40 ms here): sent from the main thread (the netlink package's uv_poll socket) it would
 * stall the whole event loop. The socket is opened on the main thread (in the netns, synchronously)
 * and used only for this one request; the ACK is queued before send() returns. A missing link is fine.
 */
export async function delLinkOffMainThread(path: string | undefined, index: number, op: string): Promise<void> {
  await warmThreadPool();
  const fns = loadRawNetlink();
  const open = (): number => fns.socket(AF_NETLINK, SOCK_RAW_CLOEXEC, NETLINK_ROUTE);
  const fd = path ? runInNetnsSync(path, op, open) : open();
  const fail = (what: string, n: number | undefined): DriverError =>
    new DriverError(op, `${what}: ${n !== undefined ? (errnoName(n) ?? `errno ${n}`) : 'no reply'}`, {
      errno: n !== undefined ? errnoName(n) : undefined,
      netns: path,
    });
  if (fd < 0) throw fail('netlink socket', errnoFn?.());
  try {
    const seq = delSeq++;
    const req = delLinkRequest(index, seq);
    const sent = await new Promise<number>((resolve, reject) => {
      try {
        fns.send.async(fd, req, req.length, 0, (err, res) => (err ? reject(err) : resolve(res)));
      } catch {
        // koffi's queue of async calls is full (256): send from here, blocking the loop this once.
        resolve(fns.send(fd, req, req.length, 0));
      }
    });
    if (sent !== req.length) throw fail('send', undefined);
    const ack = Buffer.alloc(1024);
    const n = fns.recv(fd, ack, ack.length, MSG_DONTWAIT);
    if (n < 0) throw fail('recv', errnoFn?.());
    const err = ackErrno(ack.subarray(0, n), seq);
    if (err === undefined) throw fail('unexpected reply', undefined);
    if (err !== 0 && errnoName(err) !== 'ENODEV') throw fail('rejected', err);
  } finally {
    fns.close(fd);
  }
}

function setnsOrThrow(fd: number, op: string, netns: string): void {
  const rc = loadSetns()(fd, CLONE_NEWNET);
  if (rc !== 0) {
    const n = errnoFn ? errnoFn() : 0;
    const name = ERRNO_NAMES[n] ?? `errno ${n}`;
    throw new DriverError(op, `setns failed: ${name}`, { errno: ERRNO_NAMES[n], netns });
  }
}

/**
 * Runs `fn` synchronously with the main thread inside the netns at `path`, then switches back.
 * `fn` must be synchronous and must not start threads; the pool must already be warm
 * (use the async wrappers below, which guarantee it).
 */
export function runInNetnsSync<T>(path: string, op: string, fn: () => T): T {
  if (homeFd === undefined) throw new DriverError(op, 'warmThreadPool() has not run', { netns: path });
  const fd = openNetnsFd(path, op);
  try {
    setnsOrThrow(fd, op, path);
    try {
      return fn();
    } finally {
      // Failing to come home would leave the main thread in the pod's netns: nothing sane can follow.
      const rc = loadSetns()(homeFd, CLONE_NEWNET);
      if (rc !== 0) {
        process.stderr.write(`fatal: setns back to home netns failed after ${op} in ${path}\n`);
        process.abort();
      }
    }
  } finally {
    closeFd(fd);
  }
}

/** A netlink socket bound inside the netns at `path` (undefined path = home netns). Caller closes it. */
export async function openNetlinkIn(path: string | undefined, op: string): Promise<Nl> {
  await warmThreadPool();
  const { createRtNetlink } = loadNetlink();
  if (!path) return new Nl(createRtNetlink(), 'host');
  return new Nl(
    runInNetnsSync(path, op, () => createRtNetlink()),
    path,
  );
}

/**
 * Where sysctls are written. A container without privileges has /proc/sys read-only; the daemon then gets the
 * host's /proc/sys/net bind-mounted elsewhere (as Cilium does), and its net.* files still show the netns of the
 * thread that opens them, so a setns'd write lands in the right namespace.
 */
export const PROC_SYS = '/proc/sys';

/** /proc/sys file for a dotted key (net.ipv4.ip_forward) or a slash path (net/ipv4/conf/eth0.100/rp_filter). */
export function sysctlFile(key: string, root = PROC_SYS): string {
  return `${root}/${key.includes('/') ? key : key.replace(/\./g, '/')}`;
}

/** Writes a sysctl inside a netns (undefined = home); key as in sysctlFile; root instead of /proc/sys. */
export async function writeSysctl(path: string | undefined, key: string, value: string, root = PROC_SYS): Promise<void> {
  await warmThreadPool();
  const file = sysctlFile(key, root);
  const op = `sysctl ${key}=${value}`;
  const write = (): void => {
    try {
      fs.writeFileSync(file, value);
    } catch (e) {
      throw new DriverError(op, (e as Error).message, { errno: errnoOf(e), netns: path, cause: e });
    }
  };
  if (path) runInNetnsSync(path, op, write);
  else write();
}

/** Reads a sysctl inside a netns (undefined = home). */
export async function readSysctl(path: string | undefined, key: string): Promise<string> {
  await warmThreadPool();
  const file = sysctlFile(key);
  const read = (): string => fs.readFileSync(file, 'utf8').trim();
  return path ? runInNetnsSync(path, `read sysctl ${key}`, read) : read();
}

/** Thread ids of this process whose netns differs from the main thread's (should always be empty). */
export function threadsOutsideHomeNetns(): string[] {
  const home = fs.readlinkSync('/proc/self/ns/net');
  const out: string[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readlinkSync(`/proc/self/task/${tid}/ns/net`) !== home) out.push(tid);
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}
