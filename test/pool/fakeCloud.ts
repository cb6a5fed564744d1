// The mock cloud's World in-process, behind the pool's cloud port: the pool tests get the very rules
// and error codes the mock cloud answers over HTTP (an ENI full → InvalidOperation.Ipv4CountExceeded,
// an unassign of an address the ENI does not hold → InvalidIp.IpUnassigned, ...), without HTTP, with
// control over timing: attach / detach / delete complete at once (or when the test says, through
// `world`), the World reads the test's clock (stale listings), and the fault helpers the crash tests
// need live here: a failing call, a lost reply, a call held on the wire.

import { classify } from '../../daemon/cloud/errors.js';
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
import { intToIpv4, vSwitchUsableRange } from '../../lib/ipv4.js';
import { ApiError, type WorldSpec } from '../../sim/mockcloud/types.js';
import { World, type EniState } from '../../sim/mockcloud/world.js';

export interface FakeCloudOptions {
  instanceId?: string;
  eniQuantity?: number;
  ipv4PerEni?: number;
  /** `limit`: addresses the vSwitch has at all (the rest are taken), to exhaust it; `ipv6Cidr`: IPv6 turned on. */
  vSwitches?: { id: string; cidr: string; limit?: number; ipv6Cidr?: string }[];
  /** Dual stack: the instance type's EniIpv6AddressQuantity (default 0: no IPv6), and IPv6 blocks on the default vSwitches. */
  ipv6PerEni?: number;
  latencyMs?: number;
  /** The World's clock (listing lag, creation times); default Date.now. */
  clock?: { now(): number };
}

const ZONE = 'zone-a';
const SECURITY_GROUP = 'sg-1';
const INSTANCE_TYPE = 'ecs.fake';

function worldSpec(o: FakeCloudOptions, instanceId: string): WorldSpec {
  const v6 = (o.ipv6PerEni ?? 0) > 0;
  const vSwitches = o.vSwitches ?? [
    { id: 'vsw-a', cidr: '10.0.0.0/24', ...(v6 ? { ipv6Cidr: 'fd00:0:0:100::/64' } : {}) },
    { id: 'vsw-b', cidr: '10.0.1.0/24', ...(v6 ? { ipv6Cidr: 'fd00:0:0:101::/64' } : {}) },
  ];
  return {
    regionId: 'cn-fake',
    zones: [ZONE],
    vpc: { id: 'vpc-fake', cidr: '10.0.0.0/8', ipv6Cidr: 'fd00:0:0:100::/56', routeTableId: 'vtb-fake', vRouterId: 'vrt-fake' },
    vSwitches: vSwitches.map((v) => ({ id: v.id, zoneId: ZONE, cidr: v.cidr, ...(v.ipv6Cidr ? { ipv6Cidr: v.ipv6Cidr } : {}) })),
    securityGroups: [SECURITY_GROUP],
    instanceTypes: [{ id: INSTANCE_TYPE, eniQuantity: o.eniQuantity ?? 4, ipv4PerEni: o.ipv4PerEni ?? 6, ipv6PerEni: o.ipv6PerEni ?? 0 }],
    instances: [
      {
        id: instanceId,
        instanceType: INSTANCE_TYPE,
        zoneId: ZONE,
        vSwitchId: vSwitches[0]!.id,
        securityGroupId: SECURITY_GROUP,
        ramRole: null,
      },
    ],
    accessKeys: [{ id: 'unused', secret: 'unused' }],
    seed: 1,
    maxIpsUnattached: 50,
  };
}

function toEni(e: EniState): Eni {
  return {
    eniId: e.id,
    mac: e.mac,
    type: e.type,
    status: e.status,
    ...(e.instanceId !== undefined ? { instanceId: e.instanceId } : {}),
    vSwitchId: e.vSwitchId,
    zoneId: e.zoneId,
    vpcId: e.vpcId,
    securityGroupIds: [...e.securityGroupIds],
    primaryIp: e.primaryIp,
    secondaryIps: [...e.secondaryIps],
    ipv6s: [...e.ipv6s],
    tags: { ...e.tags },
    creationTime: e.creationTime,
  };
}

/** What the SDK-backed client makes of the mock's answer: the code and status, retryable as it classifies them. */
function cloudError(api: string, err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const { retryable } = classify(err.code, err.httpStatus);
  return new CloudError({ api, code: err.code, message: err.message, httpStatus: err.httpStatus, retryable });
}

export class FakeCloud implements Cloud {
  readonly instanceId: string;
  readonly limits: InstanceTypeLimits;
  /** The live state: tests may look (`enis`) and act behind the pool's back (`world`). */
  readonly world: World;
  readonly calls: Record<string, number> = {};
  latencyMs: number;
  /** Next call of `api` fails with this code (once per entry). */
  private failures: { api: string; code: string }[] = [];
  /** Next call of `api` takes effect in the cloud, then its reply is lost (the caller sees this code). */
  private lostReplies: { api: string; code: string }[] = [];
  /** Calls of these APIs wait here until the gate opens (a request still on the wire). */
  private readonly gates = new Map<string, Promise<void>>();

  constructor(opts: FakeCloudOptions = {}) {
    this.instanceId = opts.instanceId ?? 'i-fake-1';
    const spec = worldSpec(opts, this.instanceId);
    this.world = new World(spec, opts.clock ? () => opts.clock!.now() : Date.now);
    this.limits = {
      instanceTypeId: INSTANCE_TYPE,
      eniQuantity: spec.instanceTypes[0]!.eniQuantity,
      ipv4PerEni: spec.instanceTypes[0]!.ipv4PerEni,
      ipv6PerEni: spec.instanceTypes[0]!.ipv6PerEni,
    };
    this.latencyMs = opts.latencyMs ?? 0;
    for (const v of opts.vSwitches ?? []) {
      if (v.limit === undefined) continue;
      // A vSwitch with only `limit` addresses: the ones above them are taken.
      const vs = this.world.vSwitch(v.id);
      const r = vSwitchUsableRange(vs.cidr);
      for (let n = r.first + v.limit; n <= r.last; n++) vs.used.add(n);
    }
  }

  /** The ENIs of the cloud by id (the World's own records). */
  get enis(): ReadonlyMap<string, EniState> {
    return this.world.enis;
  }

  primaryEni(): Eni {
    return toEni(this.world.eni(this.world.instance(this.instanceId).primaryEniId));
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

  /** DescribeNetworkInterfaces answers with the state of `ms` ago (by the World's clock) from now on. */
  staleListings(ms: number): void {
    this.world.setListingLag(ms);
  }

  /** Every secondary IP the cloud has on ENIs attached to the instance. */
  attachedSecondaryIps(): string[] {
    return this.world.enisOf(this.instanceId).flatMap((e) => e.secondaryIps);
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

  /** One API call: counted, delayed, held at a gate, failed by injection; then `act` on the World; then maybe the reply is lost. */
  private async run<T>(api: string, act: () => T): Promise<T> {
    this.calls[api] = (this.calls[api] ?? 0) + 1;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const gate = this.gates.get(api);
    if (gate) await gate;
    const i = this.failures.findIndex((f) => f.api === api);
    if (i >= 0) {
      const f = this.failures.splice(i, 1)[0]!;
      throw new CloudError({ api, code: f.code, message: 'injected', retryable: classify(f.code, undefined).retryable });
    }
    let out: T;
    try {
      out = act();
    } catch (err) {
      throw cloudError(api, err);
    }
    const lost = this.lostReplies.findIndex((f) => f.api === api);
    if (lost >= 0) {
      const f = this.lostReplies.splice(lost, 1)[0]!;
      throw new CloudError({ api, code: f.code, message: 'reply lost (injected)', retryable: true });
    }
    return out;
  }

  async createNetworkInterface(req: CreateEniRequest): Promise<Eni> {
    return this.run('CreateNetworkInterface', () =>
      toEni(
        this.world.createEni({
          vSwitchId: req.vSwitchId,
          securityGroupIds: req.securityGroupIds,
          secondaryIpCount: req.secondaryIpCount,
          ipv6Count: req.ipv6Count,
          tags: req.tags,
          description: req.description,
        }),
      ),
    );
  }

  /** As the SDK-backed client: resolves once the ENI is gone; one already gone counts as deleted. */
  async deleteNetworkInterface(eniId: string): Promise<void> {
    return this.onEni(eniId, () =>
      this.run('DeleteNetworkInterface', () => {
        if (!this.world.enis.has(eniId)) return;
        this.world.beginDelete(eniId);
        this.world.completeDelete(eniId);
      }),
    );
  }

  /** Resolves once InUse (the attach completes at once; a test wanting it in flight calls world.beginAttach itself). */
  async attachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    return this.onEni(eniId, () =>
      this.run('AttachNetworkInterface', () => {
        this.world.beginAttach(eniId, instanceId);
        this.world.completeAttach(eniId);
      }),
    );
  }

  async detachNetworkInterface(eniId: string, instanceId: string): Promise<void> {
    return this.onEni(eniId, () =>
      this.run('DetachNetworkInterface', () => {
        this.world.beginDetach(eniId, instanceId);
        this.world.completeDetach(eniId);
      }),
    );
  }

  async assignPrivateIpAddresses(eniId: string, count: number, opts: { ips?: string[] } = {}): Promise<string[]> {
    return this.onEni(eniId, () =>
      this.run('AssignPrivateIpAddresses', () => this.world.assignIps(eniId, opts.ips !== undefined ? { ips: opts.ips } : { count })),
    );
  }

  async unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void> {
    return this.onEni(eniId, () => this.run('UnassignPrivateIpAddresses', () => void this.world.unassignIps(eniId, ips)));
  }

  async assignIpv6Addresses(eniId: string, count: number, opts: { ips?: string[] } = {}): Promise<string[]> {
    return this.onEni(eniId, () =>
      this.run('AssignIpv6Addresses', () => this.world.assignIpv6s(eniId, opts.ips !== undefined ? { ips: opts.ips } : { count })),
    );
  }

  async unassignIpv6Addresses(eniId: string, ips: string[]): Promise<void> {
    return this.onEni(eniId, () => this.run('UnassignIpv6Addresses', () => void this.world.unassignIpv6s(eniId, ips)));
  }

  async describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]> {
    return this.run('DescribeNetworkInterfaces', () => {
      if (filter.eniIds !== undefined && filter.eniIds.length === 0) return [];
      return this.world
        .describeEnis({
          instanceId: filter.instanceId,
          eniIds: filter.eniIds,
          status: filter.status,
          vSwitchId: filter.vSwitchId,
          tags: Object.entries(filter.tags ?? {}).map(([key, value]) => ({ key, value })),
        })
        .map(toEni);
    });
  }

  async describeInstanceTypeLimits(): Promise<InstanceTypeLimits> {
    return this.run('DescribeInstanceTypes', () => ({ ...this.limits }));
  }

  async describeVSwitches(ids: string[]): Promise<VSwitch[]> {
    return this.run('DescribeVSwitches', () =>
      ids
        .map((id) => this.world.vSwitches.get(id))
        .filter((v) => v !== undefined)
        .map((v) => ({
          vSwitchId: v.id,
          vpcId: v.vpcId,
          zoneId: v.zoneId,
          cidrBlock: v.cidrText,
          availableIpAddressCount: this.world.availableIpCount(v),
          ...(v.ipv6 ? { ipv6CidrBlock: v.ipv6.cidrText } : {}),
        })),
    );
  }

  async ensureRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    const rt = this.world.routeTable(routeTableId);
    if (rt.entries.some((r) => r.destinationCidrBlock === destinationCidrBlock && r.nextHopId === nextHopInstanceId)) return;
    this.world.createRouteEntry({ routeTableId, destinationCidrBlock, nextHopType: 'Instance', nextHopId: nextHopInstanceId });
  }

  async deleteRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    try {
      this.world.deleteRouteEntry({ routeTableId, destinationCidrBlock, nextHopId: nextHopInstanceId });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'InvalidRouteEntry.NotFound')) throw cloudError('DeleteRouteEntry', err);
    }
  }

  async describeRouteEntries(routeTableId: string): Promise<RouteEntry[]> {
    return this.world.routeTable(routeTableId).entries.map((r) => ({
      routeTableId: r.routeTableId,
      destinationCidrBlock: r.destinationCidrBlock,
      nextHopType: r.nextHopType,
      nextHopId: r.nextHopId,
      status: r.status,
    }));
  }

  async getInstanceMetadata(): Promise<InstanceMetadata> {
    const inst = this.world.instance(this.instanceId);
    const p = this.world.eni(inst.primaryEniId);
    return {
      instanceId: this.instanceId,
      regionId: this.world.regionId,
      zoneId: inst.zoneId,
      instanceType: inst.instanceType,
      vpcId: this.world.vpc.id,
      vSwitchId: inst.vSwitchId,
      primaryMac: p.mac,
      eniMacs: this.world
        .enisOf(this.instanceId)
        .filter((e) => e.status === 'InUse')
        .map((e) => e.mac),
    };
  }

  async getEniMetadata(mac: string): Promise<EniMetadata> {
    const e = this.world.enisOf(this.instanceId).find((x) => x.mac === mac && x.status === 'InUse');
    if (!e)
      throw new CloudError({ api: 'Metadata', code: 'MetadataNotFound', message: `no ENI ${mac}`, httpStatus: 404, retryable: false });
    const v = this.world.vSwitch(e.vSwitchId);
    return {
      mac,
      eniId: e.id,
      primaryIp: e.primaryIp,
      privateIps: [e.primaryIp, ...e.secondaryIps],
      vSwitchId: e.vSwitchId,
      vSwitchCidr: v.cidrText,
      gateway: intToIpv4(vSwitchUsableRange(v.cidr).gateway),
      ...(v.ipv6 ? { vSwitchIpv6Cidr: v.ipv6.cidrText, ipv6Gateway: this.world.ipv6Gateway(v)!, ipv6s: [...e.ipv6s] } : {}),
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
    return this.world.assignIps(eniId, { count });
  }

  unassignBehindBack(eniId: string, ips: string[]): void {
    this.world.unassignIps(eniId, ips);
  }
}
