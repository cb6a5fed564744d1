// The controller's view of the cloud, batched across nodes: one VPC-wide DescribeNetworkInterfaces (100 a
// page) answers for every node at start-up and at each resync; nodes that join in between are listed one
// instance each, or all at once when enough of them wait that the full listing is cheaper. Also the facts
// every node shares: instance type limits (once per type) and vSwitch CIDRs (one DescribeVSwitches for all).
import type { Eni, InstanceTypeLimits } from '../pool/cloud.js';
import { VSwitchFactsCache } from '../pool/vSwitchFacts.js';
import type { ControllerCloud } from './ports.js';

export interface Listing {
  /** When the listing started: work touched after it is not judged by it. */
  startedAt: number;
  /** ENIs bound to each instance (any status). */
  byInstance: Map<string, Eni[]>;
  /** Every ENI listed. */
  all: Eni[];
}

export function groupByInstance(enis: readonly Eni[]): Map<string, Eni[]> {
  const by = new Map<string, Eni[]>();
  for (const e of enis) {
    if (!e.instanceId) continue;
    const list = by.get(e.instanceId) ?? [];
    list.push(e);
    by.set(e.instanceId, list);
  }
  return by;
}

export class CloudFacts {
  private readonly limits = new Map<string, Promise<InstanceTypeLimits>>();
  readonly vSwitches = new VSwitchFactsCache();

  constructor(
    private readonly cloud: ControllerCloud,
    private readonly vpcId: string,
    private readonly now: () => number,
  ) {}

  /** The whole VPC's ENIs. */
  async listAll(): Promise<Listing> {
    const startedAt = this.now();
    const all = await this.cloud.describeNetworkInterfaces({ vpcId: this.vpcId });
    return { startedAt, byInstance: groupByInstance(all), all };
  }

  /** One instance's ENIs. */
  async listInstance(instanceId: string): Promise<Listing> {
    const startedAt = this.now();
    const all = await this.cloud.describeNetworkInterfaces({ instanceId });
    return { startedAt, byInstance: groupByInstance(all), all };
  }

  /** ENIs per instance and IPv4 per ENI of an instance type (asked once per type; a failure is asked again next time). */
  limitsOf(instanceType: string): Promise<InstanceTypeLimits> {
    let p = this.limits.get(instanceType);
    if (!p) {
      p = this.cloud.describeInstanceTypeLimits(instanceType);
      this.limits.set(instanceType, p);
      p.catch(() => this.limits.delete(instanceType));
    }
    return p;
  }

  /** Reads the CIDRs of vSwitches not known yet, all in one call. */
  async loadVSwitches(ids: Iterable<string>): Promise<void> {
    await this.vSwitches.load(this.cloud, [...ids]);
  }

  /** A vSwitch's CIDR, read when not known yet. */
  async vSwitchCidr(id: string): Promise<string> {
    if (!this.vSwitches.has(id)) await this.loadVSwitches([id]);
    const f = this.vSwitches.get(id);
    if (!f) throw new Error(`vSwitch ${id} not found`);
    return f.cidr;
  }
}
