// Test scaffolding: uniquely named network namespaces built with iproute2 (tests only; drivers use netlink).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { VethDriver } from '../../drivers/veth.js';
import type { PodNetworkSpec } from '../../drivers/types.js';
import { threadsOutsideHomeNetns, warmThreadPool } from '../../drivers/netns.js';

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
      .map((l) =>
        l
          .replace(/\\.*$/, '')
          .replace(/state \S+/, '')
          .replace(/<[^>]*>/, ''),
      )
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

/** An ENI link in a node's host netns, as VpcNode.addEni made it. */
export interface EniLink {
  name: string;
  mac: string;
  gateway: string;
  cidr: string;
  /** Its peer in the router netns. */
  rtrIf: string;
}

/**
 * A node ("host" netns) with one ENI link whose other end sits in a VPC-router netns holding the
 * vSwitch gateway. The router learns which pod IP lives behind which ENI MAC through permanent
 * neighbour entries, standing in for the VPC's SDN.
 */
export class VpcNode {
  readonly host: string;
  readonly router: string;
  readonly enis: (EniLink & { rtrIf: string })[] = [];

  constructor(
    readonly env: NsEnv,
    readonly id: string,
  ) {
    this.host = env.add(`drv-h-${id}`);
    this.router = env.add(`drv-r-${id}`);
  }

  /** Adds ENI link `name` in the host with MAC `mac`, gateway .1 of `prefix`.0/24 in the router. */
  addEni(name: string, prefix: string): EniLink {
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

/** One test's node: its VPC rig, a veth driver on its host netns and the secondary ENI eth1. */
export interface VethNode {
  node: VpcNode;
  driver: VethDriver;
  eth1: EniLink;
}

export interface VethRig {
  readonly env: NsEnv;
  /**
   * A fresh node for the running test. `primary` runs before eth1 is added (to add and wire ENIs
   * that come first on the node); eth1 sits in `<eth1Prefix>.0/24`.
   */
  setupNode(primary?: (node: VpcNode) => void): VethNode;
  /** Spec of pod netns `pod` with `podIp` on the current node's eth1 (secondary ENI 'eni-sec1'). */
  podSpec(pod: string, podIp: string, over?: Partial<PodNetworkSpec>): PodNetworkSpec;
}

/**
 * Veth driver suite scaffolding, called inside a describe: warms the netns thread pool once, and after
 * each test closes the last driver, removes every netns and checks no pool thread was left in a pod netns.
 */
export function useVethRig(o: { eth1Prefix: string; mtu: number }): VethRig {
  const env = new NsEnv();
  let current: VethNode | undefined;

  beforeAll(async () => {
    await warmThreadPool();
  });
  afterEach(async () => {
    await current?.driver.close();
    env.cleanup();
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });
  afterAll(() => env.cleanup());

  return {
    env,
    setupNode(primary) {
      const node = new VpcNode(env, uid());
      primary?.(node);
      const eth1 = node.addEni('eth1', o.eth1Prefix);
      current = { node, eth1, driver: new VethDriver({ hostNetnsPath: path(node.host) }) };
      return current;
    },
    podSpec(pod, podIp, over = {}) {
      if (!current) throw new Error('podSpec() before setupNode()');
      const { eth1 } = current;
      return {
        containerId: `ctr-${pod}`,
        netnsPath: path(pod),
        ifName: 'eth0',
        ip: podIp,
        eniId: 'eni-sec1',
        eniMac: eth1.mac,
        primaryEni: false,
        vSwitchCidr: eth1.cidr,
        gateway: eth1.gateway,
        mtu: o.mtu,
        ...over,
      };
    },
  };
}
