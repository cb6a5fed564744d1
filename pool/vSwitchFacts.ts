// What a pool must know of a vSwitch: its CIDR and gateway (read once), and how many IPs it has left
// (AvailableIpAddressCount, read again when older than the TTL; 'ordered' selection picks the most free).

import type { PoolCloud } from './cloud.js';
import { vSwitchGateway } from '../lib/ipv4.js';

export interface VSwitchFacts {
  cidr: string;
  gateway: string;
  /** Its IPv6 block and gateway, when IPv6 is turned on for it (DescribeVSwitches Ipv6CidrBlock, ENI metadata). */
  ipv6Cidr?: string;
  ipv6Gateway?: string;
}

/** How long a vSwitch's free-IP count is trusted (Terway's vSwitch cache: 10 minutes). */
export const VSWITCH_FREE_TTL_MS = 10 * 60_000;

export class VSwitchFactsCache {
  private readonly facts = new Map<string, VSwitchFacts>();
  private readonly free = new Map<string, { count: number; at: number }>();

  get(vSwitchId: string): VSwitchFacts | undefined {
    return this.facts.get(vSwitchId);
  }

  has(vSwitchId: string): boolean {
    return this.facts.has(vSwitchId);
  }

  /** Facts learnt elsewhere (the pod DB, ENI metadata when DescribeVSwitches is denied). */
  set(vSwitchId: string, f: VSwitchFacts): void {
    this.facts.set(vSwitchId, f);
  }

  /** AvailableIpAddressCount of each vSwitch read so far (the planner skips 0 and prefers the most). */
  freeIps(): Record<string, number> {
    return Object.fromEntries([...this.free].map(([id, f]) => [id, f.count]));
  }

  /**
   * Dual stack: the vSwitch's IPv6 gateway, which DescribeVSwitches does not give: read from an attached ENI's
   * metadata (`ipv6-gateway`) once and remembered for the vSwitch. Undefined when the metadata has none (yet: it
   * may lag a fresh ENI); rejects when the metadata cannot be read.
   */
  async ipv6Gateway(cloud: Pick<PoolCloud, 'getEniMetadata'>, vSwitchId: string, mac: string): Promise<string | undefined> {
    const facts = this.facts.get(vSwitchId);
    if (facts?.ipv6Gateway) return facts.ipv6Gateway;
    const md = await cloud.getEniMetadata(mac);
    if (!md.ipv6Gateway) return undefined;
    if (facts)
      this.facts.set(vSwitchId, { ...facts, ipv6Gateway: md.ipv6Gateway, ...(md.vSwitchIpv6Cidr ? { ipv6Cidr: md.vSwitchIpv6Cidr } : {}) });
    return md.ipv6Gateway;
  }

  /** Reads the vSwitches not known yet, in one DescribeVSwitches call (the gateway is the CIDR's, lib/ipv4). */
  async load(cloud: Pick<PoolCloud, 'describeVSwitches'>, ids: string[], now = 0): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.facts.has(id));
    if (missing.length > 0) await this.read(cloud, missing, now);
  }

  /** Reads the vSwitches whose free-IP count is unknown or older than `ttlMs`, in one call. */
  async refresh(cloud: Pick<PoolCloud, 'describeVSwitches'>, ids: string[], now: number, ttlMs = VSWITCH_FREE_TTL_MS): Promise<void> {
    const stale = [...new Set(ids)].filter((id) => {
      const f = this.free.get(id);
      return f === undefined || now - f.at >= ttlMs;
    });
    if (stale.length > 0) await this.read(cloud, stale, now);
  }

  private async read(cloud: Pick<PoolCloud, 'describeVSwitches'>, ids: string[], now: number): Promise<void> {
    for (const v of await cloud.describeVSwitches(ids)) {
      // The IPv6 gateway is not in DescribeVSwitches: it comes from the ENI metadata (ipv6-gateway) once an ENI is there.
      const known = this.facts.get(v.vSwitchId);
      this.facts.set(v.vSwitchId, {
        cidr: v.cidrBlock,
        gateway: vSwitchGateway(v.cidrBlock),
        ...(v.ipv6CidrBlock ? { ipv6Cidr: v.ipv6CidrBlock } : {}),
        ...(known?.ipv6Gateway ? { ipv6Gateway: known.ipv6Gateway } : {}),
      });
      this.free.set(v.vSwitchId, { count: v.availableIpAddressCount, at: now });
    }
  }
}
