// Pod-to-pod reachability with no tool installed: a UDP echo (RFC 862) between network namespaces.
// Node has no raw sockets (ICMP needs CAP_NET_RAW and SOCK_RAW), so each pod netns gets a UDP echo
// responder and the probe sends from inside another pod's netns. Both sockets are created inside the
// pod's netns through the product's setns helper (drivers/netns.ts runInNetnsSync: the main thread
// enters the netns, socket(2) runs, the thread comes back before anything awaits), then handed to
// Node's dgram by fd. A socket stays in the netns it was created in, so all I/O after is plain async.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { runInNetnsSync, warmThreadPool } from '../../drivers/netns.js';

/** The echo service's port (RFC 862). */
export const ECHO_PORT = 7;

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  close(fd: number): number;
  errno(): number;
}
let libc: Libc | undefined;

function loadLibc(): Libc {
  if (!libc) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    libc = {
      socket: lib.func('int socket(int domain, int type, int protocol)') as unknown as Libc['socket'],
      bind: lib.func('int bind(int fd, void *addr, uint32_t len)') as unknown as Libc['bind'],
      close: lib.func('int close(int fd)') as unknown as Libc['close'],
      errno: () => koffi.errno(),
    };
  }
  return libc;
}

/** struct sockaddr_in for 0.0.0.0:port, or struct sockaddr_in6 for [::]:port. */
function anyAddr(port: number, family: 4 | 6): Buffer {
  const b = Buffer.alloc(family === 6 ? 28 : 16);
  b.writeUInt16LE(family === 6 ? AF_INET6 : AF_INET, 0);
  b.writeUInt16BE(port, 2);
  return b;
}

/** Echo port for IPv6: a separate socket, so the IPv4 one keeps port 7 (a [::]:7 socket would also take IPv4). */
export const ECHO_PORT_V6 = 7007;

/**
 * A UDP socket living in the netns at `netnsPath`, bound to `port` (0: the kernel picks one when it first
 * sends). Only socket(2) runs inside the setns window; bind(2) acts on the fd, which keeps its netns.
 */
export async function udpSocketIn(netnsPath: string, port = 0, family: 4 | 6 = 4): Promise<dgram.Socket> {
  await warmThreadPool();
  const c = loadLibc();
  const fd = runInNetnsSync(netnsPath, 'udp socket', () => c.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) throw new Error(`socket() in ${netnsPath}: errno ${c.errno()}`);
  const addr = anyAddr(port, family);
  if (port !== 0 && c.bind(fd, addr, addr.length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw new Error(`bind(:${port}) in ${netnsPath}: errno ${errno}`);
  }
  const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ fd }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return sock;
}

/** Answers every datagram on ECHO_PORT inside the netns with the same bytes. */
export async function startEchoResponder(netnsPath: string, port = ECHO_PORT, family: 4 | 6 = 4): Promise<{ close(): Promise<void> }> {
  const sock = await udpSocketIn(netnsPath, port, family);
  sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
  sock.on('error', () => {}); // e.g. ICMP unreachable for a reply: nothing to do
  return { close: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

/**
 * Sends a random payload from inside `fromNetnsPath` to `ip`:`port` and waits for the same bytes back from
 * that address. True when an echo came back within `timeoutMs` in one of `attempts` tries.
 */
export async function udpEcho(
  fromNetnsPath: string,
  ip: string,
  opts: { port?: number; attempts?: number; timeoutMs?: number } = {},
): Promise<boolean> {
  const family = ip.includes(':') ? 6 : 4;
  const port = opts.port ?? (family === 6 ? ECHO_PORT_V6 : ECHO_PORT);
  const sock = await udpSocketIn(fromNetnsPath, 0, family);
  sock.on('error', () => {}); // an ICMP error surfaces as a socket error: it counts as no answer
  try {
    for (let i = 0; i < Math.max(1, opts.attempts ?? 1); i++) {
      const payload = randomBytes(16);
      const answered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          sock.off('message', onMessage);
          resolve(false);
        }, opts.timeoutMs ?? 1000);
        const onMessage = (msg: Buffer, from: dgram.RemoteInfo): void => {
          if (from.address !== ip || from.port !== port || !msg.equals(payload)) return;
          clearTimeout(timer);
          sock.off('message', onMessage);
          resolve(true);
        };
        sock.on('message', onMessage);
      });
      sock.send(payload, port, ip);
      if (await answered) return true;
    }
    return false;
  } finally {
    sock.close();
  }
}
