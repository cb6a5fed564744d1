// In-memory Cloud for pool unit tests: instance quotas, finite vSwitches, tags, call counters and
// injectable failures/latency. State changes are immediate (attach/detach resolve at once).

import {
  CloudError,
  type ApiStats,
  type Cloud,
  type CreateEniRequest,
  type DescribeEniFilter,
  type Eni,
  type EniMetadata,
  type InstanceMetadata,
  type InstanceTypeLimits,
  type RouteEntry,
  type VSwitch,
} from '../../daemon/cloud/types.js';
import { intToIpv4, ipv4ToInt, parseIpv4Cidr, vSwitchGateway } from '../../lib/ipv4.js';

interface FakeVSwitch {
  vSwitchId: string;
  cidr: string;
  /** Usable host numbers (network+1 .. broadcast-4, Alibaba keeps the last three). */
  used: Set<number>;
  limit?: number; // cap on addresses handed out, to simulate exhaustion
}

export interface FakeCloudOptions {
  instanceId?: string;
  eniQuantity?: number;
  ipv4PerEni?: number;
  vSwitches?: { id: string; cidr: string; limit?: number }[];
  latencyMs?: number;
}

export class FakeCloud implements Cloud {
  readonly instanceId: string;
  readonly limits: InstanceTypeLimits;
  readonly enis = new Map<string, Eni>();
  readonly vsw = new Map<string, FakeVSwitch>();
  readonly calls: Record<string, number> = {};
  latencyMs: number;
  /** Next call of `api` fails with this code (once per entry). */
  private failures: { api: string; code: string }[] = [];
  /** Next call of `api` takes effect in the cloud, then its reply is lost (the caller sees this code). */
  private lostReplies: { api: string; code: string }[] = [];
  /** Calls of these APIs wait here until the gate opens (a request still on the wire). */
  private readonly gates = new Map<string, Promise<void>>();
  /** Next describe of attached ENIs answers with this earlier view (eventual consistency). */
  staleDescribe: Eni[] | undefined;
  private seq = 0;

  constructor(opts: FakeCloudOptions = {}) {
    this.instanceId = opts.instanceId ?? 'i-fake-1';
    this.limits = { instanceTypeId: 'ecs.fake', eniQuantity: opts.eniQuantity ?? 4, ipv4PerEni: opts.ipv4PerEni ?? 6, ipv6PerEni: 0 };
    this.latencyMs = opts.latencyMs ?? 0;
    for (const v of opts.vSwitches ?? [
      { id: 'vsw-a', cidr: '10.0.0.0/24' },
      { id: 'vsw-b', cidr: '10.0.1.0/24' },
    ]) {
      this.vsw.set(v.id, { vSwitchId: v.id, cidr: v.cidr, used: new Set(), limit: v.limit });
    }
    const first = [...this.vsw.values()][0]!;
    const primary: Eni = this.makeEni(first.vSwitchId, 'Primary', {}, 0);
    primary.status = 'InUse';
    primary.instanceId = this.instanceId;
    this.enis.set(primary.eniId, primary);
  }

  primaryEni(): Eni {
    return [...this.enis.values()].find((e) => e.type === 'Primary')!;
  }

  failNext(api: string, code: string): void {
    this.failures.push({ api, code });
  }

  loseReplyNext(api: string, code: string): void {
    this.lostReplies.push({ api, code });
  }

  /** Holds every call of `api` (already made or to come) until the returned function is called. */
  gate(api: string): () => void {
    let open!: () => void;
    this.gates.set(api, new Promise<void>((r) => (open = r)));
    return () => {
      this.gates.delete(api);
      open();
    };
  }

  /** Throws the lost-reply error for `api` if one is queued (after the call took effect). */
  private lostReply(api: string): void {
    const i = this.lostReplies.findIndex((f) => f.api === api);
    if (i < 0) return;
    const f = this.lostReplies.splice(i, 1)[0]!;
    throw new CloudError({ api, code: f.code, message: 'reply lost (injected)', retryable: true });
  }

  setVSwitchLimit(id: string, limit: number): void {
    this.vsw.get(id)!.limit = limit;
  }

  /** Every secondary IP the cloud has on ENIs attached to the instance. */
  attachedSecondaryIps(): string[] {
    return [...this.enis.values()].filter((e) => e.instanceId === this.instanceId).flatMap((e) => e.secondaryIps);
  }

  /** Highest number of overlapping calls seen on any single ENI, and across different ENIs. */
  maxOverlapPerEni = 0;
  maxOverlapAcrossEnis = 0;
  private readonly busy = new Map<string, number>();

  /** Wraps a per-ENI call to record overlap (the pool must serialize work on one ENI). */
  private async onEni<T>(eniId: string, fn: () => Promise<T>): Promise<T> {
    const n = (this.busy.get(eniId) ?? 0) + 1;
    this.busy.set(eniId, n);
    this.maxOverlapPerEni = Math.max(this.maxOverlapPerEni, n);
    this.maxOverlapAcrossEnis = Math.max(this.maxOverlapAcrossEnis, [...this.busy.values()].filter((x) => x > 0).length);
    try {
      return await fn();
    } finally {
      this.busy.set(eniId, (this.busy.get(eniId) ?? 1) - 1);
    }
  }

  private async enter(api: string): Promise<void> {
    this.calls[api] = (this.calls[api] ?? 0) + 1;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const gate = this.gates.get(api);
    if (gate) await gate;
    const i = this.failures.findIndex((f) => f.api === api);
    if (i >= 0) {
      const f = this.failures.splice(i, 1)[0]!;
      throw new CloudError({ api, code: f.code, message: 'injected', retryable: false });
    }
  }

  private takeIp(vSwitchId: string): string {
    const v = this.vsw.get(vSwitchId)!;
    const { network, size } = parseIpv4Cidr(v.cidr);
    if (v.limit !== undefined && v.used.size >= v.limit)
      throw new CloudError({
        api: 'AssignPrivateIpAddresses',
        code: 'InvalidVSwitchId.IpNotEnough',
        message: 'vSwitch full',
        retryable: false,
      });
    for (let h = 1; h < size - 3; h++) {
      if (!v.used.has(h)) {
        v.used.add(h);
        return intToIpv4(network + h);
      }
    }
    throw new CloudError({
      api: 'AssignPrivateIpAddresses',
      code: 'InvalidVSwitchId.IpNotEnough',
      message: 'vSwitch full',
      retryable: false,
    });
  }

  private giveBack(vSwitchId: string, ip: string): void {
    const v = this.vsw.get(vSwitchId)!;
    v.used.delete(ipv4ToInt(ip) - parseIpv4Cidr(v.cidr).network);
  }

  private makeEni(vSwitchId: string, type: 'Primary' | 'Secondary', tags: Record<string, string>, secondary: number): Eni {
    const n = ++this.seq;
    const eni: Eni = {
      eniId: `eni-fake-${n}`,
      mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
      type,
      status: 'Available',
      vSwitchId,
      zoneId: 'zone-a',
      vpcId: 'vpc-fake',
      securityGroupIds: ['sg-1'],
      primaryIp: this.takeIp(vSwitchId),
      secondaryIps: [],
      ipv6s: [],
      tags: { ...tags },
    };
    for (let i = 0; i < secondary; i++) eni.secondaryIps.push(this.takeIp(vSwitchId));
    return eni;
  }

  private eni(api: string, id: string): Eni {
    const e = this.enis.get(id);
    if (!e) throw new CloudError({ api, code: 'InvalidEniId.NotFound', message: id, retryable: false });
    return e;
  }

  async createNetworkInterface(req: CreateEniRequest): Promise<Eni> {
    await this.enter('CreateNetworkInterface');
    const count = req.secondaryIpCount ?? 0;
    if (count > this.limits.ipv4PerEni - 1)
      throw new CloudError({ api: 'CreateNetworkInterface', code: 'InvalidParameter', message: 'too many IPs', retryable: false });
    const e = this.makeEni(req.vSwitchId, 'Secondary', req.tags ?? {}, count);
    this.enis.set(e.eniId, e);
    return structuredClone(e);
  }

  async deleteNetworkInterface(eniId: string): Promise<void> {
    return this.onEni(eniId, async () => {
      await this.enter('DeleteNetworkInterface');
      const e = this.eni('DeleteNetworkInterface', eniId);
      if (e.status !== 'Available')
        throw new CloudError({
          api: 'DeleteNetworkInterface',
          code: 'InvalidOperation.InvalidEniState',
          message: e.status,
          retryable: false,
        });
      for (const ip of [e.primaryIp, ...e.secondaryIps]) this.giveBack(e.vSwitchId, ip);
      this.enis.delete(eniId);
    });
  }

  async attachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    return this.onEni(eniId, async () => {
      await this.enter('AttachNetworkInterface');
      const e = this.eni('AttachNetworkInterface', eniId);
      const count = [...this.enis.values()].filter((x) => x.instanceId === instanceId).length;
      if (count >= this.limits.eniQuantity)
        throw new CloudError({
          api: 'AttachNetworkInterface',
          code: 'EniPerInstanceLimitExceeded',
          message: 'too many ENIs',
          retryable: false,
        });
      if (e.status !== 'Available')
        throw new CloudError({
          api: 'AttachNetworkInterface',
          code: 'InvalidOperation.InvalidEniState',
          message: e.status,
          retryable: false,
        });
      e.status = 'InUse';
      e.instanceId = instanceId;
    });
  }

  async detachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    return this.onEni(eniId, async () => {
      await this.enter('DetachNetworkInterface');
      const e = this.eni('DetachNetworkInterface', eniId);
      if (e.instanceId !== instanceId)
        throw new CloudError({
          api: 'DetachNetworkInterface',
          code: 'InvalidOperation.InvalidEniState',
          message: 'not attached',
          retryable: false,
        });
      e.status = 'Available';
      delete e.instanceId;
      this.lostReply('DetachNetworkInterface');
    });
  }

  async assignPrivateIpAddresses(eniId: string, count: number): Promise<string[]> {
    return this.onEni(eniId, async () => {
      await this.enter('AssignPrivateIpAddresses');
      const e = this.eni('AssignPrivateIpAddresses', eniId);
      if (count > 10)
        throw new CloudError({ api: 'AssignPrivateIpAddresses', code: 'InvalidParameter', message: 'count > 10', retryable: false });
      if (e.secondaryIps.length + count > this.limits.ipv4PerEni - 1)
        throw new CloudError({
          api: 'AssignPrivateIpAddresses',
          code: 'QuotaExceeded.PrivateIpAddress',
          message: 'ENI full',
          retryable: false,
        });
      const got: string[] = [];
      for (let i = 0; i < count; i++) got.push(this.takeIp(e.vSwitchId));
      e.secondaryIps.push(...got);
      return got;
    });
  }

  async unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void> {
    return this.onEni(eniId, async () => {
      await this.enter('UnassignPrivateIpAddresses');
      const e = this.eni('UnassignPrivateIpAddresses', eniId);
      for (const ip of ips) {
        if (!e.secondaryIps.includes(ip))
          throw new CloudError({ api: 'UnassignPrivateIpAddresses', code: 'InvalidIp.NotFound', message: ip, retryable: false });
      }
      e.secondaryIps = e.secondaryIps.filter((ip) => !ips.includes(ip));
      for (const ip of ips) this.giveBack(e.vSwitchId, ip);
      this.lostReply('UnassignPrivateIpAddresses');
    });
  }

  async describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]> {
    await this.enter('DescribeNetworkInterfaces');
    if (this.staleDescribe && filter.instanceId) {
      const stale = this.staleDescribe;
      this.staleDescribe = undefined;
      return structuredClone(stale);
    }
    return [...this.enis.values()]
      .filter((e) => !filter.instanceId || e.instanceId === filter.instanceId)
      .filter((e) => !filter.status || e.status === filter.status)
      .filter((e) => !filter.vSwitchId || e.vSwitchId === filter.vSwitchId)
      .filter((e) => !filter.eniIds || filter.eniIds.includes(e.eniId))
      .filter((e) => !filter.tags || Object.entries(filter.tags).every(([k, v]) => e.tags[k] === v))
      .map((e) => structuredClone(e));
  }

  async describeInstanceTypeLimits(): Promise<InstanceTypeLimits> {
    await this.enter('DescribeInstanceTypes');
    return { ...this.limits };
  }

  async describeVSwitches(ids: string[]): Promise<VSwitch[]> {
    await this.enter('DescribeVSwitches');
    return ids
      .map((id) => this.vsw.get(id))
      .filter((v): v is FakeVSwitch => v !== undefined)
      .map((v) => ({
        vSwitchId: v.vSwitchId,
        vpcId: 'vpc-fake',
        zoneId: 'zone-a',
        cidrBlock: v.cidr,
        availableIpAddressCount: parseIpv4Cidr(v.cidr).size - 4 - v.used.size,
      }));
  }

  async ensureRouteEntry(): Promise<void> {}
  async deleteRouteEntry(): Promise<void> {}
  async describeRouteEntries(): Promise<RouteEntry[]> {
    return [];
  }

  async getInstanceMetadata(): Promise<InstanceMetadata> {
    const p = this.primaryEni();
    return {
      instanceId: this.instanceId,
      regionId: 'cn-fake',
      zoneId: 'zone-a',
      instanceType: 'ecs.fake',
      vpcId: 'vpc-fake',
      vSwitchId: p.vSwitchId,
      primaryMac: p.mac,
      eniMacs: [...this.enis.values()].filter((e) => e.instanceId === this.instanceId).map((e) => e.mac),
    };
  }

  async getEniMetadata(mac: string): Promise<EniMetadata> {
    const e = [...this.enis.values()].find((x) => x.mac === mac)!;
    const cidr = this.vsw.get(e.vSwitchId)!.cidr;
    return {
      mac,
      eniId: e.eniId,
      primaryIp: e.primaryIp,
      privateIps: [e.primaryIp, ...e.secondaryIps],
      vSwitchId: e.vSwitchId,
      vSwitchCidr: cidr,
      gateway: vSwitchGateway(cidr),
    };
  }

  stats(): Record<string, ApiStats> {
    return Object.fromEntries(
      Object.entries(this.calls).map(([k, n]) => [
        k,
        { calls: n, errors: 0, throttled: 0, retries: 0, totalLatencyMs: 0, maxLatencyMs: 0 },
      ]),
    );
  }

  // ---- behind-the-daemon's-back helpers for reconcile tests
  assignBehindBack(eniId: string, count: number): string[] {
    const e = this.enis.get(eniId)!;
    const got: string[] = [];
    for (let i = 0; i < count; i++) got.push(this.takeIp(e.vSwitchId));
    e.secondaryIps.push(...got);
    return got;
  }

  unassignBehindBack(eniId: string, ips: string[]): void {
    const e = this.enis.get(eniId)!;
    e.secondaryIps = e.secondaryIps.filter((ip) => !ips.includes(ip));
    for (const ip of ips) this.giveBack(e.vSwitchId, ip);
  }
}
