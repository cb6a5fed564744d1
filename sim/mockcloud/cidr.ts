// IPv4 CIDR arithmetic for vSwitch address pools.

export interface Cidr {
  base: number; // network address as uint32
  prefix: number;
  size: number; // number of addresses in the block
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`bad IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new Error(`bad IPv4 address: ${ip}`);
    const v = Number(p);
    if (v > 255) throw new Error(`bad IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

export function parseCidr(cidr: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new Error(`bad CIDR: ${cidr}`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`bad CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const ip = ipToInt(m[1]!);
  const base = ip - (ip % size);
  return { base, prefix, size };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}

export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

export function netmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return intToIp(n);
}

export function cidrString(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/**
 * Alibaba Cloud keeps the first address and the last three addresses of every vSwitch for itself
 * (e.g. .0, .253, .254, .255 of a /24); the vSwitch gateway is the third-from-last (.253).
 */
export function usableRange(c: Cidr): { first: number; last: number; gateway: number } {
  return { first: c.base + 1, last: c.base + c.size - 4, gateway: c.base + c.size - 3 };
}
