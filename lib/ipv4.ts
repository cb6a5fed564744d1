// IPv4 address and CIDR arithmetic shared by every folder (a leaf: it imports nothing of the project).
// Every name carries the family (ipv4ToInt, parseIpv4Cidr, ...) so lib/ipv6.ts can sit beside it with the
// same shapes (ipv6ToBigInt, parseIpv6Cidr, ...) and a dual-stack caller imports both without renaming.
// Addresses are unsigned 32-bit integers held in a number (0 .. 2^32 - 1); no bitwise operators on them,
// since those work on signed 32-bit values.

export const IPV4_BITS = 32;

/** A CIDR block: its network address (host bits cleared), prefix length and number of addresses. */
export interface Ipv4Cidr {
  network: number;
  prefix: number;
  size: number;
}

const OCTET = /^\d{1,3}$/;

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p) && Number(p) <= 255);
}

/** "10.0.1.5" → 167772421. Throws RangeError on anything but a dotted quad. */
export function ipv4ToInt(ip: string): number {
  if (!isIpv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** IPV4_BITS) throw new RangeError(`not an IPv4 address value: ${n}`);
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Orders IPv4 addresses numerically; anything else sorts after them, as text. */
export function compareIpv4(a: string, b: string): number {
  const va = isIpv4(a) ? ipv4ToInt(a) : undefined;
  const vb = isIpv4(b) ? ipv4ToInt(b) : undefined;
  if (va !== undefined && vb !== undefined) return va - vb;
  if (va !== undefined) return -1;
  if (vb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "10.0.1.5/24" → { ip: "10.0.1.5", prefix: 24 }: both parts checked, host bits kept as written. */
export function splitIpv4Cidr(cidr: string): { ip: string; prefix: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > IPV4_BITS) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const ip = m[1]!;
  if (!isIpv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return { ip, prefix: Number(m[2]) };
}

export function ipv4BlockSize(prefix: number): number {
  return 2 ** (IPV4_BITS - prefix);
}

/**
 * "10.0.1.5/24" → the block 10.0.1.0/24. Host bits are cleared, or with `strict` refused (a pod CIDR or a
 * route destination written with host bits set is a typo worth reporting).
 */
export function parseIpv4Cidr(cidr: string, opts: { strict?: boolean } = {}): Ipv4Cidr {
  const { ip, prefix } = splitIpv4Cidr(cidr);
  const size = ipv4BlockSize(prefix);
  const addr = ipv4ToInt(ip);
  const network = addr - (addr % size);
  if (opts.strict && network !== addr)
    throw new RangeError(`${cidr} has host bits set (network is ${formatIpv4Cidr({ network, prefix, size })})`);
  return { network, prefix, size };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${intToIpv4(c.network)}/${c.prefix}`;
}

/** Whether `ip` (dotted or as a number) lies in the block (a CIDR string or a parsed one). */
export function ipv4CidrContains(cidr: string | Ipv4Cidr, ip: string | number): boolean {
  const c = typeof cidr === 'string' ? parseIpv4Cidr(cidr) : cidr;
  const v = typeof ip === 'string' ? ipv4ToInt(ip) : ip;
  return v >= c.network && v < c.network + c.size;
}

export function ipv4CidrWithin(inner: Ipv4Cidr, outer: Ipv4Cidr): boolean {
  return inner.network >= outer.network && inner.network + inner.size <= outer.network + outer.size;
}

export function ipv4CidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** 23 → "255.255.254.0". */
export function ipv4Netmask(prefix: number): string {
  return intToIpv4(2 ** IPV4_BITS - ipv4BlockSize(prefix));
}

/**
 * What Alibaba Cloud leaves of a vSwitch for ENIs: it keeps the first address and the last three
 * (.0, .253, .254, .255 of a /24); the gateway is the third from last (.253).
 */
export function vSwitchUsableRange(c: Ipv4Cidr): { first: number; last: number; gateway: number } {
  return { first: c.network + 1, last: c.network + c.size - 4, gateway: c.network + c.size - 3 };
}

/** The vSwitch gateway of a CIDR: x.x.x.253 for a /24. */
export function vSwitchGateway(cidr: string): string {
  return intToIpv4(vSwitchUsableRange(parseIpv4Cidr(cidr)).gateway);
}
