// Pure IPv4 arithmetic over the node's pod CIDR (VPCIP mode).
import { intToIpv4, ipv4CidrContains, ipv4ToInt, parseIpv4Cidr, splitIpv4Cidr, type Ipv4Cidr } from '../../../lib/ipv4.js';

export interface PodCidr extends Ipv4Cidr {
  cidr: string;
  /** First and last address handed to pods (network, the first host and broadcast are kept back). */
  firstUsable: number;
  lastUsable: number;
  /** The first host: reserved as the node-side gateway, by convention (cni0 / cbr0). */
  gateway: string;
}

/** Parses "a.b.c.d/n" (n in 8..29: room for at least one pod). Throws RangeError with the reason. */
export function parsePodCidr(cidr: string): PodCidr {
  const { prefix } = splitIpv4Cidr(cidr);
  if (prefix < 8 || prefix > 29) throw new RangeError(`prefix /${prefix} out of range (8..29)`);
  const { network, size } = parseIpv4Cidr(cidr, { strict: true });
  return { cidr, network, prefix, size, firstUsable: network + 2, lastUsable: network + size - 2, gateway: intToIpv4(network + 1) };
}

export function usableCount(c: PodCidr): number {
  return c.lastUsable - c.firstUsable + 1;
}

export function contains(c: PodCidr, ip: string): boolean {
  return ipv4CidrContains(c, ip);
}

/**
 * Next free address after `cursor` (wrapping), skipping `taken`. Round-robin like host-local, so
 * a just-released address is the last to come back. Returns undefined when the CIDR is full.
 */
export function nextFree(c: PodCidr, taken: ReadonlySet<string>, cursor?: string): string | undefined {
  const total = usableCount(c);
  let start = cursor !== undefined && contains(c, cursor) ? ipv4ToInt(cursor) + 1 : c.firstUsable;
  if (start < c.firstUsable || start > c.lastUsable) start = c.firstUsable;
  for (let i = 0; i < total; i++) {
    const n = c.firstUsable + ((start - c.firstUsable + i) % total);
    const ip = intToIpv4(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
