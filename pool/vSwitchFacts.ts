// What a pool must know of a vSwitch to hand out its addresses: its CIDR and gateway, read once.

import type { PoolCloud } from './cloud.js';
import { vSwitchGateway } from '../lib/ipv4.js';

export interface VSwitchFacts {
  cidr: string;
  gateway: string;
}

export class VSwitchFactsCache {
  private readonly facts = new Map<string, VSwitchFacts>();

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

  /** Reads the vSwitches not known yet, in one DescribeVSwitches call (the gateway is the CIDR's, lib/ipv4). */
  async load(cloud: Pick<PoolCloud, 'describeVSwitches'>, ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.facts.has(id));
    if (missing.length === 0) return;
    for (const v of await cloud.describeVSwitches(missing))
      this.facts.set(v.vSwitchId, { cidr: v.cidrBlock, gateway: vSwitchGateway(v.cidrBlock) });
  }
}
