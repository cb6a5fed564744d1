// IPv4 address arithmetic shared by every folder (a leaf: it imports nothing of the project).

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new RangeError(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(cidr: string): { network: number; prefix: number } {
  const [addr, len] = cidr.split('/');
  const prefix = Number(len);
  if (addr === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new RangeError(`bad CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  return { network: Math.floor(ipv4ToInt(addr) / size) * size, prefix };
}

/** Alibaba Cloud vSwitch gateway: the CIDR's broadcast address minus 2 (x.x.x.253 for a /24). */
export function vSwitchGateway(cidr: string): string {
  const { network, prefix } = parseCidr(cidr);
  return intToIpv4(network + 2 ** (32 - prefix) - 3);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { network, prefix } = parseCidr(cidr);
  const size = 2 ** (32 - prefix);
  const v = ipv4ToInt(ip);
  return v >= network && v < network + size;
}
