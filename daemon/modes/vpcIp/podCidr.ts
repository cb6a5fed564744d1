// Pure IPv4 arithmetic over the node's pod CIDR (VPCIP mode).

export interface PodCidr {
  cidr: string;
  network: number; // as uint32
  prefix: number;
  /** First and last address handed to pods (network, the first host and broadcast are kept back). */
  firstUsable: number;
  lastUsable: number;
  /** The first host: reserved as the node-side gateway, by convention (cni0 / cbr0). */
  gateway: string;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new RangeError(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/n" (n in 8..29: room for at least one pod). Throws RangeError with the reason. */
export function parsePodCidr(cidr: string): PodCidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 29) throw new RangeError(`prefix /${prefix} out of range (8..29)`);
  const addr = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) throw new RangeError(`${cidr} has host bits set (network is ${intToIp(network)}/${prefix})`);
  return { cidr, network, prefix, firstUsable: network + 2, lastUsable: network + size - 2, gateway: intToIp(network + 1) };
}

export function usableCount(c: PodCidr): number {
  return c.lastUsable - c.firstUsable + 1;
}

export function contains(c: PodCidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= c.network && n < c.network + 2 ** (32 - c.prefix);
}

/**
 * Next free address after `cursor` (wrapping), skipping `taken`. Round-robin like host-local, so
 * a just-released address is the last to come back. Returns undefined when the CIDR is full.
 */
export function nextFree(c: PodCidr, taken: ReadonlySet<string>, cursor?: string): string | undefined {
  const total = usableCount(c);
  let start = cursor !== undefined && contains(c, cursor) ? ipToInt(cursor) + 1 : c.firstUsable;
  if (start < c.firstUsable || start > c.lastUsable) start = c.firstUsable;
  for (let i = 0; i < total; i++) {
    const n = c.firstUsable + ((start - c.firstUsable + i) % total);
    const ip = intToIp(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
