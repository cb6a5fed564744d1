// IPv6 address and CIDR arithmetic shared by every folder (a leaf: it imports only lib/ipv4.ts), the
// twin of lib/ipv4.ts with the same shapes: addresses are unsigned 128-bit integers held in a bigint.
// Text out is always the canonical form of RFC 5952 (lower case, no leading zeros, the longest run of two
// or more zero groups as "::", the first such run on a tie; IPv4-mapped addresses as ::ffff:a.b.c.d), so
// two spellings of one address compare equal as strings once formatted.
import { intToIpv4, ipv4ToInt, isIpv4 } from './ipv4.js';

export const IPV6_BITS = 128;
const MAX = (1n << 128n) - 1n;

/** A CIDR block: its network address (host bits cleared), prefix length and number of addresses. */
export interface Ipv6Cidr {
  network: bigint;
  prefix: number;
  size: bigint;
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The eight 16-bit groups of `s`, or undefined when it is no IPv6 address (zone ids "%eth0" are refused). */
function groups(s: string): number[] | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let text = s;
  // An embedded dotted quad may end the address (::ffff:10.0.0.1, 64:ff9b::192.0.2.1): as two groups.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const quad = text.slice(lastColon + 1);
    if (!isIpv4(quad)) return undefined;
    const n = ipv4ToInt(quad);
    text = `${text.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!GROUP.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const rest = parse(halves[1]!);
  if (!rest) return undefined;
  const known = head.length + rest.length;
  if (known > 7) return undefined; // "::" stands for at least one zero group
  return [...head, ...Array<number>(8 - known).fill(0), ...rest];
}

export function isIpv6(s: string): boolean {
  return groups(s) !== undefined;
}

/** "fd00::1" → 0xfd00…01n. Throws RangeError on anything but an IPv6 address. */
export function ipv6ToBigInt(ip: string): bigint {
  const g = groups(ip);
  if (!g) throw new RangeError(`not an IPv6 address: ${ip}`);
  return g.reduce((n, x) => (n << 16n) | BigInt(x), 0n);
}

/** The canonical RFC 5952 text of an address value. */
export function bigIntToIpv6(n: bigint): string {
  if (n < 0n || n > MAX) throw new RangeError(`not an IPv6 address value: ${n}`);
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${intToIpv4(g[6]! * 65536 + g[7]!)}`;
  // The longest run of zero groups (two or more), the first on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Any spelling → the canonical text ("FD00:0:0::01" → "fd00::1"). */
export function canonicalIpv6(ip: string): string {
  return bigIntToIpv6(ipv6ToBigInt(ip));
}

/** Orders IPv6 addresses numerically; anything else sorts after them, as text. */
export function compareIpv6(a: string, b: string): number {
  const va = isIpv6(a) ? ipv6ToBigInt(a) : undefined;
  const vb = isIpv6(b) ? ipv6ToBigInt(b) : undefined;
  if (va !== undefined && vb !== undefined) return va < vb ? -1 : va > vb ? 1 : 0;
  if (va !== undefined) return -1;
  if (vb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "fd00::5/64" → { ip: "fd00::5", prefix: 64 }: both parts checked, host bits kept as written. */
export function splitIpv6Cidr(cidr: string): { ip: string; prefix: number } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m || Number(m[2]) > IPV6_BITS) throw new RangeError(`not an IPv6 CIDR: ${cidr}`);
  const ip = m[1]!;
  if (!isIpv6(ip)) throw new RangeError(`not an IPv6 address: ${ip}`);
  return { ip, prefix: Number(m[2]) };
}

export function ipv6BlockSize(prefix: number): bigint {
  return 1n << BigInt(IPV6_BITS - prefix);
}

/** "fd00::5/64" → the block fd00::/64; host bits cleared, or with `strict` refused. */
export function parseIpv6Cidr(cidr: string, opts: { strict?: boolean } = {}): Ipv6Cidr {
  const { ip, prefix } = splitIpv6Cidr(cidr);
  const size = ipv6BlockSize(prefix);
  const addr = ipv6ToBigInt(ip);
  const network = addr - (addr % size);
  if (opts.strict && network !== addr)
    throw new RangeError(`${cidr} has host bits set (network is ${formatIpv6Cidr({ network, prefix, size })})`);
  return { network, prefix, size };
}

export function formatIpv6Cidr(c: Ipv6Cidr): string {
  return `${bigIntToIpv6(c.network)}/${c.prefix}`;
}

/** Whether `ip` (text or value) lies in the block (a CIDR string or a parsed one). */
export function ipv6CidrContains(cidr: string | Ipv6Cidr, ip: string | bigint): boolean {
  const c = typeof cidr === 'string' ? parseIpv6Cidr(cidr) : cidr;
  const v = typeof ip === 'string' ? ipv6ToBigInt(ip) : ip;
  return v >= c.network && v < c.network + c.size;
}

export function ipv6CidrWithin(inner: Ipv6Cidr, outer: Ipv6Cidr): boolean {
  return inner.network >= outer.network && inner.network + inner.size <= outer.network + outer.size;
}

export function ipv6CidrsOverlap(a: Ipv6Cidr, b: Ipv6Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/**
 * What the mock cloud leaves of an IPv6 vSwitch for ENIs, by the IPv4 rule (lib/ipv4.ts vSwitchUsableRange):
 * the first address and the last three are reserved, the gateway is the third from last
 * (…:ffff:ffff:ffff:fffd of a /64). The public docs do not state the IPv6 reservations; see sim/mockcloud/README.md.
 */
export function vSwitchIpv6UsableRange(c: Ipv6Cidr): { first: bigint; last: bigint; gateway: bigint } {
  return { first: c.network + 1n, last: c.network + c.size - 4n, gateway: c.network + c.size - 3n };
}

/** The vSwitch IPv6 gateway of a CIDR (see vSwitchIpv6UsableRange). */
export function vSwitchIpv6Gateway(cidr: string): string {
  return bigIntToIpv6(vSwitchIpv6UsableRange(parseIpv6Cidr(cidr)).gateway);
}
