// VPCIP mode's IpAllocator: pods get addresses from the node's pod CIDR; the VPC route table
// carries that CIDR to this instance (route entry ensured at start). No ENI is involved: the IP
// is reachable through the node's primary ENI, so allocations say primaryEni=true.
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type PodRef, type PoolStats } from '../../../pool/types.js';
import { allocationOf, podRecordFor, type PodRecord, type PoolStore } from '../../../pool/store.js';
import type { Cloud } from '../../cloud/types.js';
import { contains, nextFree, parsePodCidr, usableCount, type PodCidr } from './podCidr.js';

export interface VpcIpAllocatorOptions {
  cloud: Cloud;
  store: PoolStore;
  instanceId: string;
  /** The node's pod CIDR (Kubernetes Node.spec.podCIDR; eni_conf `pod_cidr` here). */
  podCidr: string;
  /** The node's vSwitch: its VPC route table gets the pod CIDR route. */
  vSwitchId: string;
  /** Skip the DescribeVSwitches look-up. */
  routeTableId?: string;
  /** A released address is not handed out again for this long. */
  ipCooldownMs: number;
  now?: () => number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export class VpcIpAllocator implements IpAllocator {
  private readonly cidr: PodCidr;
  private readonly pods = new Map<string, PodRecord>();
  private readonly byIp = new Map<string, string>();
  /** Released address -> end of its cool-down (in memory: a restart ends cool-downs early). */
  private readonly cooling = new Map<string, number>();
  private cursor?: string;
  private started = false;
  private stopping = false;
  private readonly now: () => number;
  routeTableId?: string;

  constructor(private readonly opts: VpcIpAllocatorOptions) {
    this.cidr = parsePodCidr(opts.podCidr);
    this.now = opts.now ?? Date.now;
    this.routeTableId = opts.routeTableId;
  }

  async start(): Promise<void> {
    if (this.started) return;
    for (const p of this.opts.store.load().pods) {
      if (p.mode !== 'VPCIP') continue;
      if (!contains(this.cidr, p.ip)) {
        this.opts.logger?.warn(
          { podKey: p.podKey, ip: p.ip, podCidr: this.cidr.cidr },
          'stored VPCIP pod outside the pod CIDR: kept until released',
        );
      }
      this.pods.set(p.podKey, p);
      this.byIp.set(p.ip, p.podKey);
    }
    if (!this.routeTableId) {
      const [vsw] = await this.opts.cloud.describeVSwitches([this.opts.vSwitchId]);
      if (!vsw?.routeTableId) throw new PoolError('Internal', `vSwitch ${this.opts.vSwitchId}: no route table found`, { retryable: false });
      this.routeTableId = vsw.routeTableId;
    }
    await this.opts.cloud.ensureRouteEntry(this.routeTableId, this.cidr.cidr, this.opts.instanceId);
    this.opts.logger?.info(
      { routeTableId: this.routeTableId, podCidr: this.cidr.cidr, pods: this.pods.size },
      'VPCIP: pod CIDR routed to this instance',
    );
    this.started = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
  }

  private taken(): Set<string> {
    const t = new Set(this.byIp.keys());
    const now = this.now();
    for (const [ip, until] of this.cooling) {
      if (until > now) t.add(ip);
      else this.cooling.delete(ip);
    }
    return t;
  }

  async allocate(pod: PodRef): Promise<IpAllocation> {
    const key = podKeyOf(pod);
    const existing = this.pods.get(key);
    if (existing) return allocationOf(existing);
    if (this.stopping) throw new PoolError('ShuttingDown', 'allocator is stopping');
    if (!this.started) throw new PoolError('Internal', 'allocator not started', { retryable: true });
    const ip = nextFree(this.cidr, this.taken(), this.cursor);
    if (!ip) {
      const cooling = this.cooling.size;
      throw new PoolError(
        'Exhausted',
        `pod CIDR ${this.cidr.cidr} has no free address (${this.pods.size} assigned, ${cooling} cooling down)`,
      );
    }
    const now = this.now();
    const rec = podRecordFor(
      key,
      pod,
      'VPCIP',
      {
        ip,
        eniId: '',
        eniMac: '',
        primaryEni: true,
        vSwitchId: this.opts.vSwitchId,
        vSwitchCidr: this.cidr.cidr,
        gateway: this.cidr.gateway,
      },
      now,
    );
    this.opts.store.apply([{ op: 'putPod', pod: rec }]); // committed before we answer
    this.pods.set(key, rec);
    this.byIp.set(ip, key);
    this.cursor = ip;
    return allocationOf(rec);
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    const rec = this.pods.get(podKey);
    if (!rec) return undefined;
    this.opts.store.apply([{ op: 'deletePod', podKey }]);
    this.pods.delete(podKey);
    this.byIp.delete(rec.ip);
    if (this.opts.ipCooldownMs > 0) this.cooling.set(rec.ip, this.now() + this.opts.ipCooldownMs);
    return allocationOf(rec);
  }

  get(podKey: string): IpAllocation | undefined {
    const rec = this.pods.get(podKey);
    return rec ? allocationOf(rec) : undefined;
  }

  list(): IpAllocation[] {
    return [...this.pods.values()].map((p) => allocationOf(p));
  }

  stats(): PoolStats {
    const taken = this.taken();
    const total = usableCount(this.cidr);
    return {
      enis: 0,
      total,
      free: total - taken.size,
      assigned: this.pods.size,
      cooling: taken.size - this.byIp.size,
      reserved: 0,
      releasing: 0,
      pendingRequests: 0,
      minPoolSize: 0,
      maxPoolSize: 0,
    };
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    const gone = [...this.pods.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }
}
