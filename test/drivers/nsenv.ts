// Test scaffolding: uniquely named network namespaces built with iproute2 (tests only; drivers use netlink).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const rootSkipReason = 'needs root (network namespaces, veth, ip rule)';

export function ip(args: string[], netns?: string): string {
  const full = netns ? ['netns', 'exec', netns, 'ip', ...args] : args;
  return execFileSync(netns ? 'ip' : 'ip', full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function inNs(netns: string, cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

export function ping(netns: string, target: string): boolean {
  return inNs(netns, ['ping', '-c', '1', '-W', '1', '-q', target]).ok;
}

/** Random short id: names stay under IFNAMSIZ and never collide across parallel test files. */
export function uid(): string {
  return randomBytes(3).toString('hex');
}

export class NsEnv {
  readonly created: string[] = [];

  add(name: string): string {
    execFileSync('ip', ['netns', 'add', name]);
    this.created.push(name);
    ip(['link', 'set', 'lo', 'up'], name);
    return name;
  }

  del(name: string): void {
    spawnSync('ip', ['netns', 'del', name]);
  }

  cleanup(): void {
    for (const n of this.created.reverse()) this.del(n);
    this.created.length = 0;
  }
}

export function path(netns: string): string {
  return `/var/run/netns/${netns}`;
}

/**
 * Kernel state of a netns as iproute2 prints it, minus volatile parts (link stats/neighbour ages).
 * Used to prove teardown leaves nothing behind.
 */
export function snapshot(netns: string): { links: string; rules: string; routes: string; neigh: string; addrs: string } {
  return {
    links: ip(['-o', 'link', 'show'], netns)
      .split('\n')
      .map((l) => l.replace(/\\.*$/, '').replace(/state \S+/, '').replace(/<[^>]*>/, ''))
      .join('\n'),
    rules: ip(['-4', 'rule', 'show'], netns),
    routes: ip(['-4', 'route', 'show', 'table', 'all'], netns),
    neigh: ip(['neigh', 'show', 'nud', 'permanent'], netns),
    addrs: ip(['-o', '-4', 'addr', 'show'], netns),
  };
}

/** Random locally administered unicast MAC. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * A node ("host" netns) with one ENI link whose other end sits in a VPC-router netns holding the
 * vSwitch gateway. The router learns which pod IP lives behind which ENI MAC through permanent
 * neighbour entries, standing in for the VPC's SDN.
 */
export class VpcNode {
  readonly host: string;
  readonly router: string;
  readonly enis: { name: string; mac: string; rtrIf: string; gateway: string; cidr: string }[] = [];

  constructor(
    readonly env: NsEnv,
    readonly id: string,
  ) {
    this.host = env.add(`drv-h-${id}`);
    this.router = env.add(`drv-r-${id}`);
  }

  /** Adds ENI link `name` in the host with MAC `mac`, gateway .1 of `prefix`.0/24 in the router. */
  addEni(name: string, prefix: string): { name: string; mac: string; gateway: string; cidr: string } {
    const mac = randomMac();
    const rtrIf = `r${this.enis.length}${this.id}`;
    ip(['link', 'add', name, 'netns', this.host, 'address', mac, 'type', 'veth', 'peer', 'name', rtrIf, 'netns', this.router]);
    const gateway = `${prefix}.1`;
    ip(['addr', 'add', `${gateway}/24`, 'dev', rtrIf], this.router);
    ip(['link', 'set', rtrIf, 'up'], this.router);
    const eni = { name, mac, rtrIf, gateway, cidr: `${prefix}.0/24` };
    this.enis.push(eni);
    return eni;
  }

  /** The VPC routes `podIp` to the ENI with MAC `mac`. */
  vpcRoute(podIp: string, eniName: string): void {
    const eni = this.enis.find((e) => e.name === eniName)!;
    ip(['neigh', 'replace', podIp, 'lladdr', eni.mac, 'dev', eni.rtrIf, 'nud', 'permanent'], this.router);
  }
}
