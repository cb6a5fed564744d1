// The mock cloud's state and the synchronous operations on it. No I/O, no timers: the HTTP layer
// and the lifecycle driver (lifecycle.ts) call in here and turn ApiError into wire errors. Time comes
// from the injected `now` (STS expiry, listing history, creation times).
import {
  formatIpv4Cidr,
  intToIpv4,
  ipv4CidrContains,
  ipv4CidrsOverlap,
  ipv4CidrWithin,
  ipv4Netmask,
  ipv4ToInt,
  isIpv4,
  parseIpv4Cidr,
  vSwitchUsableRange,
  type Ipv4Cidr,
} from '../../lib/ipv4.js';
import {
  bigIntToIpv6,
  formatIpv6Cidr,
  ipv6CidrContains,
  ipv6CidrsOverlap,
  ipv6CidrWithin,
  ipv6ToBigInt,
  isIpv6,
  parseIpv6Cidr,
  vSwitchIpv6UsableRange,
  type Ipv6Cidr,
} from '../../lib/ipv6.js';
import { errors } from './errors.js';
import { ListingHistory } from './history.js';
import { RamCredentials, type StsCredentials } from './ram.js';
import type { EniDump, EniStatus, RouteEntryDump, WorldDump, WorldSpec } from './types.js';

/** The RAM role an instance has unless its world entry says otherwise. */
export const DEFAULT_RAM_ROLE = 'eni-ipam-node';

export function defaultWorldSpec(): WorldSpec {
  return {
    regionId: 'cn-hangzhou',
    zones: ['cn-hangzhou-h', 'cn-hangzhou-i'],
    vpc: {
      id: 'vpc-mock-1',
      cidr: '10.0.0.0/16',
      ipv6Cidr: 'fd00:0:0:100::/56',
      routeTableId: 'vtb-mock-1',
      vRouterId: 'vrt-mock-1',
    },
    vSwitches: [
      { id: 'vsw-mock-a', zoneId: 'cn-hangzhou-h', cidr: '10.0.0.0/23', ipv6Cidr: 'fd00:0:0:100::/64' },
      { id: 'vsw-mock-b', zoneId: 'cn-hangzhou-h', cidr: '10.0.2.0/24', ipv6Cidr: 'fd00:0:0:102::/64' },
      { id: 'vsw-mock-c', zoneId: 'cn-hangzhou-i', cidr: '10.0.3.0/24', ipv6Cidr: 'fd00:0:0:103::/64' },
    ],
    securityGroups: ['sg-mock-1'],
    instanceTypes: [
      { id: 'ecs.g7.large', eniQuantity: 3, ipv4PerEni: 6, ipv6PerEni: 6 },
      { id: 'ecs.g7.xlarge', eniQuantity: 4, ipv4PerEni: 15, ipv6PerEni: 15 },
      { id: 'ecs.g7.4xlarge', eniQuantity: 8, ipv4PerEni: 20, ipv6PerEni: 20 },
    ],
    instances: [
      {
        id: 'i-mock-node-1',
        instanceType: 'ecs.g7.4xlarge',
        zoneId: 'cn-hangzhou-h',
        vSwitchId: 'vsw-mock-a',
        securityGroupId: 'sg-mock-1',
      },
      {
        id: 'i-mock-node-2',
        instanceType: 'ecs.g7.4xlarge',
        zoneId: 'cn-hangzhou-h',
        vSwitchId: 'vsw-mock-a',
        securityGroupId: 'sg-mock-1',
      },
    ],
    accessKeys: [{ id: 'LTAImockAccessKeyId01', secret: 'mockAccessKeySecret0123456789abcd' }],
    seed: 1,
    maxIpsUnattached: 50,
    stsTtlMs: 15 * 60_000,
    metadataHttpTokens: 'optional',
  };
}

/** Fills a partial world file with defaults, field by field. */
export function resolveWorldSpec(partial?: Partial<WorldSpec>): WorldSpec {
  const d = defaultWorldSpec();
  if (!partial) return d;
  return { ...d, ...partial, vpc: { ...d.vpc, ...(partial.vpc ?? {}) } };
}

export interface VSwitchState {
  id: string;
  zoneId: string;
  vpcId: string;
  cidr: Ipv4Cidr;
  cidrText: string;
  used: Set<number>;
  /** Its IPv6 block (IPv6 turned on) and the IPv6 addresses in use; absent: IPv4 only. */
  ipv6?: { cidr: Ipv6Cidr; cidrText: string; used: Set<bigint> };
  creationTime: string;
}

export interface EniState {
  id: string;
  mac: string;
  type: 'Primary' | 'Secondary';
  status: EniStatus;
  instanceId?: string;
  vSwitchId: string;
  zoneId: string;
  vpcId: string;
  securityGroupIds: string[];
  primaryIp: string;
  secondaryIps: string[];
  ipv6s: string[];
  tags: Record<string, string>;
  name?: string;
  description?: string;
  creationTime: string;
  /** Clock time (ms) when the ENI last became InUse (metadata lag is measured from here). */
  inUseSince?: number;
  /** Device index on its instance while attached. */
  deviceIndex?: number;
}

export interface InstanceState {
  id: string;
  instanceType: string;
  zoneId: string;
  vSwitchId: string;
  securityGroupIds: string[];
  primaryEniId: string;
  creationTime: string;
  /** The instance RAM role (absent: none attached). */
  ramRole?: string;
}

export interface RouteTableState {
  id: string;
  vRouterId: string;
  vpcId: string;
  entries: RouteEntryDump[];
}

export interface InstanceTypeState {
  id: string;
  eniQuantity: number;
  ipv4PerEni: number;
  ipv6PerEni: number;
}

export interface CreateEniInput {
  vSwitchId: string;
  securityGroupIds: string[];
  primaryIp?: string;
  secondaryIpCount?: number;
  secondaryIps?: string[];
  /** CreateNetworkInterface Ipv6AddressCount / Ipv6Address.N. */
  ipv6Count?: number;
  ipv6s?: string[];
  tags?: Record<string, string>;
  name?: string;
  description?: string;
}

export interface EniFilter {
  instanceId?: string;
  eniIds?: string[];
  status?: string;
  vSwitchId?: string;
  vpcId?: string;
  type?: string;
  tags?: { key: string; value?: string }[];
  primaryIp?: string;
  privateIps?: string[];
  ipv6s?: string[];
  securityGroupId?: string;
  name?: string;
}

/** At most this many private IPs per AssignPrivateIpAddresses call, or explicit ones (PrivateIpAddress.N) per create. */
export const MAX_IPS_PER_CALL = 10;
/** CreateNetworkInterface SecondaryPrivateIpAddressCount: 1 to 49 (ECS API reference). */
export const MAX_SECONDARY_ON_CREATE = 49;
/** IPv6 addresses per AssignIpv6Addresses / CreateNetworkInterface call, and on an ENI that is not attached (API reference). */
export const MAX_IPV6_PER_CALL = 10;
export const MAX_IPV6_UNATTACHED = 10;

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class World {
  readonly regionId: string;
  readonly zones: string[];
  readonly vpc: { id: string; cidr: Ipv4Cidr; cidrText: string; ipv6?: { cidr: Ipv6Cidr; cidrText: string } };
  readonly vSwitches = new Map<string, VSwitchState>();
  readonly securityGroups = new Set<string>();
  readonly instanceTypes = new Map<string, InstanceTypeState>();
  readonly instances = new Map<string, InstanceState>();
  readonly enis = new Map<string, EniState>();
  readonly routeTables = new Map<string, RouteTableState>();
  readonly accessKeys = new Map<string, string>();
  readonly maxIpsUnattached: number;
  /** STS credentials of the instances' RAM roles. */
  readonly ram: RamCredentials;
  /** ECS HttpTokens of the metadata service (`required`: hardened-only mode). Settable at run time. */
  metadataHttpTokens: 'optional' | 'required';
  /** What a lagged DescribeNetworkInterfaces sees (see history.ts). */
  private readonly listings = new ListingHistory();
  private readonly macs = new Set<string>();
  private readonly ids = new Set<string>();
  private rngState: number;

  constructor(
    spec: WorldSpec,
    readonly now: () => number = Date.now,
  ) {
    this.rngState = (spec.seed ?? 1) >>> 0 || 1;
    this.regionId = spec.regionId;
    this.zones = [...spec.zones];
    this.maxIpsUnattached = spec.maxIpsUnattached ?? 50;
    this.ram = new RamCredentials(spec.stsTtlMs ?? 15 * 60_000);
    this.metadataHttpTokens = spec.metadataHttpTokens ?? 'optional';
    const vpcCidr = parseIpv4Cidr(spec.vpc.cidr);
    const vpcV6 = spec.vpc.ipv6Cidr !== undefined ? parseIpv6Cidr(spec.vpc.ipv6Cidr) : undefined;
    if (vpcV6 && vpcV6.prefix !== 56) throw new Error(`world: the VPC IPv6 block must be a /56 (${spec.vpc.ipv6Cidr})`);
    this.vpc = {
      id: spec.vpc.id,
      cidr: vpcCidr,
      cidrText: formatIpv4Cidr(vpcCidr),
      ...(vpcV6 ? { ipv6: { cidr: vpcV6, cidrText: formatIpv6Cidr(vpcV6) } } : {}),
    };
    const created = isoSeconds(this.now());
    for (const k of spec.accessKeys) this.accessKeys.set(k.id, k.secret);
    for (const sg of spec.securityGroups) this.securityGroups.add(sg);
    for (const t of spec.instanceTypes) this.instanceTypes.set(t.id, { ...t });
    for (const v of spec.vSwitches) {
      if (!this.zones.includes(v.zoneId)) throw new Error(`world: vSwitch ${v.id} is in unknown zone ${v.zoneId}`);
      const c = parseIpv4Cidr(v.cidr);
      if (!ipv4CidrWithin(c, vpcCidr)) throw new Error(`world: vSwitch ${v.id} ${v.cidr} is outside the VPC ${spec.vpc.cidr}`);
      for (const other of this.vSwitches.values()) {
        if (ipv4CidrsOverlap(c, other.cidr)) throw new Error(`world: vSwitch ${v.id} overlaps ${other.id}`);
      }
      if (c.prefix > 29) throw new Error(`world: vSwitch ${v.id} must be /29 or larger`);
      this.vSwitches.set(v.id, {
        id: v.id,
        zoneId: v.zoneId,
        vpcId: spec.vpc.id,
        cidr: c,
        cidrText: formatIpv4Cidr(c),
        used: new Set(),
        ...(v.ipv6Cidr !== undefined ? { ipv6: this.vSwitchIpv6(v.id, v.ipv6Cidr) } : {}),
        creationTime: created,
      });
    }
    const rt: RouteTableState = {
      id: spec.vpc.routeTableId ?? 'vtb-mock-1',
      vRouterId: spec.vpc.vRouterId ?? 'vrt-mock-1',
      vpcId: spec.vpc.id,
      entries: [],
    };
    for (const v of this.vSwitches.values()) {
      rt.entries.push({
        routeEntryId: `rte-sys-${v.id}`,
        routeTableId: rt.id,
        destinationCidrBlock: v.cidrText,
        nextHopType: 'local',
        nextHopId: '',
        type: 'System',
        status: 'Available',
      });
    }
    this.routeTables.set(rt.id, rt);
    for (const inst of spec.instances) {
      const type = this.instanceTypes.get(inst.instanceType);
      if (!type) throw new Error(`world: instance ${inst.id} has unknown type ${inst.instanceType}`);
      const vsw = this.vSwitches.get(inst.vSwitchId);
      if (!vsw) throw new Error(`world: instance ${inst.id} has unknown vSwitch ${inst.vSwitchId}`);
      if (vsw.zoneId !== inst.zoneId) throw new Error(`world: instance ${inst.id} zone differs from its vSwitch's`);
      if (!this.securityGroups.has(inst.securityGroupId)) throw new Error(`world: instance ${inst.id} has unknown security group`);
      const eni = this.newEni({ vSwitchId: inst.vSwitchId, securityGroupIds: [inst.securityGroupId] }, 'Primary');
      eni.status = 'InUse';
      eni.instanceId = inst.id;
      eni.deviceIndex = 0;
      eni.inUseSince = 0;
      this.instances.set(inst.id, {
        id: inst.id,
        instanceType: inst.instanceType,
        zoneId: inst.zoneId,
        vSwitchId: inst.vSwitchId,
        securityGroupIds: [inst.securityGroupId],
        primaryEniId: eni.id,
        creationTime: created,
        ...(inst.ramRole === null || inst.ramRole === '' ? {} : { ramRole: inst.ramRole ?? DEFAULT_RAM_ROLE }),
      });
    }
  }

  /** A vSwitch's IPv6 block: a /64 inside the VPC's /56, overlapping no other vSwitch's. */
  private vSwitchIpv6(id: string, cidr: string): NonNullable<VSwitchState['ipv6']> {
    const c = parseIpv6Cidr(cidr, { strict: true });
    if (!this.vpc.ipv6) throw new Error(`world: vSwitch ${id} has an IPv6 block but the VPC has none`);
    if (c.prefix !== 64 || !ipv6CidrWithin(c, this.vpc.ipv6.cidr))
      throw new Error(`world: vSwitch ${id} IPv6 block ${cidr} must be a /64 of the VPC's ${this.vpc.ipv6.cidrText}`);
    for (const other of this.vSwitches.values())
      if (other.ipv6 && ipv6CidrsOverlap(c, other.ipv6.cidr)) throw new Error(`world: vSwitch ${id} IPv6 block overlaps ${other.id}`);
    return { cidr: c, cidrText: formatIpv6Cidr(c), used: new Set() };
  }

  // ---- credentials and listings --------------------------------------------------------------

  /** The secret of an access key, permanent or STS (with what was issued alongside it). */
  lookupKey(accessKeyId: string): { secret: string; sts?: StsCredentials } | undefined {
    const secret = this.accessKeys.get(accessKeyId);
    if (secret !== undefined) return { secret };
    const sts = this.ram.lookup(accessKeyId);
    return sts ? { secret: sts.accessKeySecret, sts } : undefined;
  }

  /** DescribeNetworkInterfaces answers with the ENIs as they were `ms` ago from now on (0: current). */
  setListingLag(ms: number): void {
    this.listings.setLag(ms, this.now(), this.enis.values());
  }

  /** Every ENI change ends here (the lagged listing's history). */
  private changed(): void {
    this.listings.record(this.now(), this.enis.values());
  }

  // ---- ids and addresses -------------------------------------------------------------------

  private rand(): number {
    // mulberry32: small, seedable, good enough for ids
    let t = (this.rngState = (this.rngState + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  newId(prefix: string): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (;;) {
      let s = `${prefix}-bp1`;
      for (let i = 0; i < 17; i++) s += alphabet[Math.floor(this.rand() * alphabet.length)];
      if (!this.ids.has(s)) {
        this.ids.add(s);
        return s;
      }
    }
  }

  private newMac(): string {
    for (;;) {
      const b = [0, 0, 0].map(() =>
        Math.floor(this.rand() * 256)
          .toString(16)
          .padStart(2, '0'),
      );
      const mac = `00:16:3e:${b.join(':')}`;
      if (!this.macs.has(mac)) {
        this.macs.add(mac);
        return mac;
      }
    }
  }

  vSwitch(id: string): VSwitchState {
    const v = this.vSwitches.get(id);
    if (!v) throw errors.vSwitchNotFound(id);
    return v;
  }

  availableIpCount(v: VSwitchState): number {
    const r = vSwitchUsableRange(v.cidr);
    return r.last - r.first + 1 - v.used.size;
  }

  gateway(v: VSwitchState): string {
    return intToIpv4(vSwitchUsableRange(v.cidr).gateway);
  }

  netmask(v: VSwitchState): string {
    return ipv4Netmask(v.cidr.prefix);
  }

  /** Allocates `count` free addresses, lowest first; all or nothing. */
  private allocate(v: VSwitchState, count: number): string[] {
    if (count === 0) return [];
    if (this.availableIpCount(v) < count) throw errors.vSwitchIpNotEnough(v.id);
    const r = vSwitchUsableRange(v.cidr);
    const out: number[] = [];
    for (let n = r.first; n <= r.last && out.length < count; n++) if (!v.used.has(n)) out.push(n);
    for (const n of out) v.used.add(n);
    return out.map(intToIpv4);
  }

  /** Checks that explicit addresses are usable and free (without taking them). */
  private checkExplicit(v: VSwitchState, ips: string[]): number[] {
    const r = vSwitchUsableRange(v.cidr);
    const seen = new Set<number>();
    const out: number[] = [];
    for (const ip of ips) {
      if (!isIpv4(ip)) throw errors.vSwitchIpInvalid(ip);
      const n = ipv4ToInt(ip);
      if (!ipv4CidrContains(v.cidr, n) || n < r.first || n > r.last) throw errors.vSwitchIpInvalid(ip);
      if (seen.has(n)) throw errors.ipRepeated(ip);
      if (v.used.has(n)) throw errors.ipAssigned(ip);
      seen.add(n);
      out.push(n);
    }
    return out;
  }

  private release(v: VSwitchState, ips: string[]): void {
    for (const ip of ips) v.used.delete(ipv4ToInt(ip));
  }

  // IPv6: a /64 never runs out here, so no IpNotEnough; addresses are handed out lowest free first
  // (the real cloud picks them at random), stored in canonical RFC 5952 text.

  ipv6Gateway(v: VSwitchState): string | undefined {
    return v.ipv6 ? bigIntToIpv6(vSwitchIpv6UsableRange(v.ipv6.cidr).gateway) : undefined;
  }

  /** The vSwitch's IPv6 block, or InvalidVSwitch.Ipv6NotTurnOn. */
  private ipv6Of(v: VSwitchState): NonNullable<VSwitchState['ipv6']> {
    if (!v.ipv6) throw errors.ipv6NotTurnOn(v.id);
    return v.ipv6;
  }

  /** Checks and takes `count` new or the explicit IPv6 addresses; all or nothing. */
  private takeIpv6s(v: VSwitchState, count: number, explicit: string[]): string[] {
    const six = this.ipv6Of(v);
    const r = vSwitchIpv6UsableRange(six.cidr);
    const want: bigint[] = [];
    for (const ip of explicit) {
      if (!isIpv6(ip)) throw errors.ipAddressInvalid(ip);
      const n = ipv6ToBigInt(ip);
      if (!ipv6CidrContains(six.cidr, n) || n < r.first || n > r.last) throw errors.ipAddressInvalid(ip);
      if (want.includes(n)) throw errors.ipRepeated(ip);
      if (six.used.has(n)) throw errors.ipAssigned(ip);
      want.push(n);
    }
    for (let n = r.first; want.length < explicit.length + count; n++) if (!six.used.has(n)) want.push(n);
    for (const n of want) six.used.add(n);
    return want.map(bigIntToIpv6);
  }

  private releaseIpv6s(v: VSwitchState, ips: string[]): void {
    for (const ip of ips) v.ipv6?.used.delete(ipv6ToBigInt(ip));
  }

  /** Checks an IPv6 count request: one of count / explicit, 1 to 10 (API reference). */
  private checkIpv6Request(count: number, ips: string[]): number {
    if (count > 0 && ips.length > 0) throw errors.invalidParam('Ipv6AddressCount', 'cannot be used together with Ipv6Address.N');
    if (count < 0) throw errors.invalidParam('Ipv6AddressCount');
    if (count > MAX_IPV6_PER_CALL || ips.length > MAX_IPV6_PER_CALL)
      throw errors.invalidParam(count > 0 ? 'Ipv6AddressCount' : 'Ipv6Address.N', `must be at most ${MAX_IPV6_PER_CALL}`);
    return count || ips.length;
  }

  // ---- ENIs ------------------------------------------------------------------------------

  eni(id: string): EniState {
    const e = this.enis.get(id);
    if (!e) throw errors.eniNotFound(id);
    return e;
  }

  instance(id: string): InstanceState {
    const i = this.instances.get(id);
    if (!i) throw errors.instanceNotFound(id);
    return i;
  }

  instanceType(id: string): InstanceTypeState {
    const t = this.instanceTypes.get(id);
    if (!t) throw errors.instanceType(id);
    return t;
  }

  /** ENIs bound to the instance in any state (attaching, in use, detaching). */
  enisOf(instanceId: string): EniState[] {
    return [...this.enis.values()].filter((e) => e.instanceId === instanceId);
  }

  /** Max private IPv4 addresses (primary included) the ENI may hold in its current binding. */
  ipv4Limit(e: EniState): number {
    if (e.instanceId) return this.instanceType(this.instance(e.instanceId).instanceType).ipv4PerEni;
    return this.maxIpsUnattached;
  }

  /** Max IPv6 addresses the ENI may hold in its current binding (instance type's EniIpv6AddressQuantity, or 10 unattached). */
  ipv6Limit(e: EniState): { limit: number; instanceType?: string } {
    if (!e.instanceId) return { limit: MAX_IPV6_UNATTACHED };
    const t = this.instanceType(this.instance(e.instanceId).instanceType);
    return { limit: t.ipv6PerEni, instanceType: t.id };
  }

  private newEni(input: CreateEniInput, type: 'Primary' | 'Secondary'): EniState {
    const v = this.vSwitch(input.vSwitchId);
    if (input.securityGroupIds.length === 0) throw errors.missing('SecurityGroupId');
    for (const sg of input.securityGroupIds) if (!this.securityGroups.has(sg)) throw errors.securityGroupNotFound(sg);
    const secondaryCount = input.secondaryIpCount ?? 0;
    const explicit = input.secondaryIps ?? [];
    if (secondaryCount > 0 && explicit.length > 0)
      throw errors.invalidParam('SecondaryPrivateIpAddressCount', 'cannot be used together with PrivateIpAddress.N');
    if (secondaryCount > MAX_SECONDARY_ON_CREATE)
      throw errors.invalidParam('SecondaryPrivateIpAddressCount', `must be at most ${MAX_SECONDARY_ON_CREATE}`);
    if (explicit.length > MAX_IPS_PER_CALL) throw errors.ipCountPerCall();
    if (type === 'Secondary' && 1 + secondaryCount + explicit.length > this.maxIpsUnattached)
      throw errors.ipv4CountExceeded(this.maxIpsUnattached);
    const explicitAll = input.primaryIp ? [input.primaryIp, ...explicit] : explicit;
    const explicitNums = this.checkExplicit(v, explicitAll);
    const autoCount = (input.primaryIp ? 0 : 1) + secondaryCount;
    if (this.availableIpCount(v) < autoCount + explicitNums.length) throw errors.vSwitchIpNotEnough(v.id);
    const v6Count = input.ipv6Count ?? 0;
    const v6Explicit = input.ipv6s ?? [];
    const v6Want = this.checkIpv6Request(v6Count, v6Explicit);
    if (v6Want > MAX_IPV6_UNATTACHED) throw errors.ipv6CountExceeded('(new)', MAX_IPV6_UNATTACHED, '', 0, v6Want);
    // IPv6 first: it is the half that can still refuse (vSwitch without IPv6, a bad address) before IPv4 is taken.
    const ipv6s = v6Want > 0 ? this.takeIpv6s(v, v6Count, v6Explicit) : [];
    for (const n of explicitNums) v.used.add(n);
    const auto = this.allocate(v, autoCount);
    const primaryIp = input.primaryIp ?? auto.shift()!;
    const secondaryIps = [...explicit, ...auto];
    const eni: EniState = {
      id: this.newId('eni'),
      mac: this.newMac(),
      type,
      status: 'Available',
      vSwitchId: v.id,
      zoneId: v.zoneId,
      vpcId: v.vpcId,
      securityGroupIds: [...input.securityGroupIds],
      primaryIp,
      secondaryIps,
      ipv6s,
      tags: { ...(input.tags ?? {}) },
      name: input.name,
      description: input.description,
      creationTime: isoSeconds(this.now()),
    };
    this.enis.set(eni.id, eni);
    return eni;
  }

  createEni(input: CreateEniInput): EniState {
    const e = this.newEni(input, 'Secondary');
    this.changed();
    return e;
  }

  /** Available → Deleting; the caller completes it later (its addresses stay taken until then). */
  beginDelete(id: string): EniState {
    const e = this.eni(id);
    if (e.type === 'Primary') throw errors.eniType();
    if (e.status !== 'Available') throw errors.eniState(id, e.status);
    e.status = 'Deleting';
    this.changed();
    return e;
  }

  /** Deleting → gone, its addresses back to the vSwitch. Undefined when it is not deleting. */
  completeDelete(id: string): EniState | undefined {
    const e = this.enis.get(id);
    if (!e || e.status !== 'Deleting') return undefined;
    const v = this.vSwitch(e.vSwitchId);
    this.release(v, [e.primaryIp, ...e.secondaryIps]);
    this.releaseIpv6s(v, e.ipv6s);
    this.enis.delete(id);
    this.changed();
    return e;
  }

  /** Both steps at once. */
  deleteEni(id: string): EniState {
    this.beginDelete(id);
    return this.completeDelete(id)!;
  }

  /** Validates and moves the ENI to Attaching; the caller completes it later. */
  beginAttach(eniId: string, instanceId: string): EniState {
    const e = this.eni(eniId);
    const inst = this.instance(instanceId);
    if (e.type === 'Primary') throw errors.eniType();
    if (e.status !== 'Available') throw errors.eniState(eniId, e.status);
    if (e.zoneId !== inst.zoneId) throw errors.zoneMismatch();
    const type = this.instanceType(inst.instanceType);
    const bound = this.enisOf(instanceId);
    if (bound.length >= type.eniQuantity) throw errors.eniPerInstance(type.id, type.eniQuantity);
    if (1 + e.secondaryIps.length > type.ipv4PerEni) throw errors.ipv4CountExceeded(type.ipv4PerEni);
    if (e.ipv6s.length > 0 && type.ipv6PerEni === 0) throw errors.ipv6NotSupport(type.id);
    if (e.ipv6s.length > type.ipv6PerEni) throw errors.ipv6CountExceeded(e.id, type.ipv6PerEni, type.id, e.ipv6s.length, 0);
    const usedIdx = new Set(bound.map((b) => b.deviceIndex));
    let idx = 1;
    while (usedIdx.has(idx)) idx++;
    e.status = 'Attaching';
    e.instanceId = instanceId;
    e.deviceIndex = idx;
    this.changed();
    return e;
  }

  /** Attaching → InUse. Returns undefined when the ENI is gone or no longer attaching. */
  completeAttach(eniId: string): EniState | undefined {
    const e = this.enis.get(eniId);
    if (!e || e.status !== 'Attaching') return undefined;
    e.status = 'InUse';
    e.inUseSince = this.now();
    this.changed();
    return e;
  }

  /** Attaching → Available (a failed attach, as the real state machine shows it). */
  failAttach(eniId: string): void {
    const e = this.enis.get(eniId);
    if (!e || e.status !== 'Attaching') return;
    e.status = 'Available';
    e.instanceId = undefined;
    e.deviceIndex = undefined;
    this.changed();
  }

  beginDetach(eniId: string, instanceId: string): EniState {
    const e = this.eni(eniId);
    this.instance(instanceId);
    if (e.type === 'Primary') throw errors.detachPrimary();
    if (e.status !== 'InUse' || e.instanceId !== instanceId)
      throw errors.eniState(eniId, e.instanceId === instanceId ? e.status : `${e.status} (not on ${instanceId})`);
    e.status = 'Detaching';
    this.changed();
    return e;
  }

  completeDetach(eniId: string): { eni: EniState; instanceId: string } | undefined {
    const e = this.enis.get(eniId);
    if (!e || e.status !== 'Detaching' || !e.instanceId) return undefined;
    const instanceId = e.instanceId;
    e.status = 'Available';
    e.instanceId = undefined;
    e.deviceIndex = undefined;
    e.inUseSince = undefined;
    this.changed();
    return { eni: e, instanceId };
  }

  /**
   * The instance is released (deleted), as ECS does it: its primary ENI goes with it, its secondary ENIs are
   * detached and kept (Available), which is how ENIs leak when nobody cleans up after a node.
   */
  releaseInstance(instanceId: string): void {
    this.instance(instanceId);
    for (const e of this.enisOf(instanceId)) {
      if (e.type === 'Primary') {
        this.release(this.vSwitch(e.vSwitchId), [e.primaryIp, ...e.secondaryIps]);
        this.enis.delete(e.id);
      } else {
        e.status = 'Available';
        e.instanceId = undefined;
        e.deviceIndex = undefined;
        e.inUseSince = undefined;
      }
    }
    this.instances.delete(instanceId);
  }

  assignIps(eniId: string, opts: { count?: number; ips?: string[] }): string[] {
    const e = this.eni(eniId);
    const count = opts.count ?? 0;
    const ips = opts.ips ?? [];
    if (count > 0 && ips.length > 0)
      throw errors.invalidParam('SecondaryPrivateIpAddressCount', 'cannot be used together with PrivateIpAddress.N');
    if (count === 0 && ips.length === 0) throw errors.missing('SecondaryPrivateIpAddressCount');
    if (count < 0) throw errors.invalidParam('SecondaryPrivateIpAddressCount');
    if (count > MAX_IPS_PER_CALL || ips.length > MAX_IPS_PER_CALL) throw errors.ipCountPerCall();
    if (e.status !== 'Available' && e.status !== 'InUse') throw errors.eniState(eniId, e.status, true);
    const want = count || ips.length;
    const limit = this.ipv4Limit(e);
    if (1 + e.secondaryIps.length + want > limit) throw errors.ipv4CountExceeded(limit);
    const v = this.vSwitch(e.vSwitchId);
    let got: string[];
    if (ips.length > 0) {
      const nums = this.checkExplicit(v, ips);
      for (const n of nums) v.used.add(n);
      got = [...ips];
    } else {
      got = this.allocate(v, count);
    }
    e.secondaryIps.push(...got);
    this.changed();
    return got;
  }

  unassignIps(eniId: string, ips: string[]): string[] {
    const e = this.eni(eniId);
    if (ips.length === 0) throw errors.missing('PrivateIpAddress.1');
    if (e.status !== 'Available' && e.status !== 'InUse') throw errors.eniState(eniId, e.status, true);
    for (const ip of ips) {
      if (ip === e.primaryIp) throw errors.invalidParam('PrivateIpAddress', `${ip} is the primary address of the ENI`);
      if (!e.secondaryIps.includes(ip)) throw errors.ipUnassigned(ip);
    }
    const drop = new Set(ips);
    e.secondaryIps = e.secondaryIps.filter((ip) => !drop.has(ip));
    this.release(this.vSwitch(e.vSwitchId), [...drop]);
    this.changed();
    return [...drop];
  }

  /** AssignIpv6Addresses: `count` new ones or the explicit ones, within the ENI's IPv6 quota. */
  assignIpv6s(eniId: string, opts: { count?: number; ips?: string[] }): string[] {
    const e = this.eni(eniId);
    const count = opts.count ?? 0;
    const ips = opts.ips ?? [];
    if (count === 0 && ips.length === 0) throw errors.missing('Ipv6AddressCount');
    const want = this.checkIpv6Request(count, ips);
    if (e.status !== 'Available' && e.status !== 'InUse') throw errors.eniState(eniId, e.status, true);
    const v = this.vSwitch(e.vSwitchId);
    this.ipv6Of(v);
    const { limit, instanceType } = this.ipv6Limit(e);
    if (instanceType !== undefined && limit === 0) throw errors.ipv6NotSupport(instanceType);
    if (e.ipv6s.length + want > limit) throw errors.ipv6CountExceeded(eniId, limit, instanceType ?? '', e.ipv6s.length, want);
    const got = this.takeIpv6s(v, count, ips);
    e.ipv6s.push(...got);
    this.changed();
    return got;
  }

  /** UnassignIpv6Addresses: all or nothing, as its IPv4 twin (an address the ENI does not hold refuses the call). */
  unassignIpv6s(eniId: string, ips: string[]): string[] {
    const e = this.eni(eniId);
    if (ips.length === 0) throw errors.missing('Ipv6Address.1');
    if (e.status !== 'Available' && e.status !== 'InUse') throw errors.eniState(eniId, e.status, true);
    const drop = new Set<string>();
    for (const ip of ips) {
      const canonical = isIpv6(ip) ? bigIntToIpv6(ipv6ToBigInt(ip)) : undefined;
      if (canonical === undefined) throw errors.ipAddressInvalid(ip);
      if (!e.ipv6s.includes(canonical)) throw errors.ipUnassigned(ip);
      drop.add(canonical);
    }
    e.ipv6s = e.ipv6s.filter((ip) => !drop.has(ip));
    this.releaseIpv6s(this.vSwitch(e.vSwitchId), [...drop]);
    this.changed();
    return [...drop];
  }

  /** The ENIs matching the filter, as a listing sees them now (maybe a moment ago: setListingLag). */
  describeEnis(f: EniFilter): EniState[] {
    const seen = this.listings.asSeenAt(this.now()) ?? [...this.enis.values()];
    return seen.filter((e) => {
      if (f.instanceId && e.instanceId !== f.instanceId) return false;
      if (f.eniIds && f.eniIds.length > 0 && !f.eniIds.includes(e.id)) return false;
      if (f.status && e.status !== f.status) return false;
      if (f.vSwitchId && e.vSwitchId !== f.vSwitchId) return false;
      if (f.vpcId && e.vpcId !== f.vpcId) return false;
      if (f.type && e.type !== f.type) return false;
      if (f.primaryIp && e.primaryIp !== f.primaryIp) return false;
      if (f.securityGroupId && !e.securityGroupIds.includes(f.securityGroupId)) return false;
      if (f.name && e.name !== f.name) return false;
      if (f.privateIps && f.privateIps.length > 0) {
        const all = new Set([e.primaryIp, ...e.secondaryIps]);
        if (!f.privateIps.some((ip) => all.has(ip))) return false;
      }
      if (f.ipv6s && f.ipv6s.length > 0) {
        const held = new Set(e.ipv6s);
        if (!f.ipv6s.some((ip) => isIpv6(ip) && held.has(bigIntToIpv6(ipv6ToBigInt(ip))))) return false;
      }
      for (const t of f.tags ?? []) {
        if (!(t.key in e.tags)) return false;
        if (t.value !== undefined && t.value !== '' && e.tags[t.key] !== t.value) return false;
      }
      return true;
    });
  }

  // ---- routes ----------------------------------------------------------------------------

  routeTable(id: string): RouteTableState {
    const rt = this.routeTables.get(id);
    if (!rt) throw errors.routeTableNotFound(id);
    return rt;
  }

  createRouteEntry(input: {
    routeTableId: string;
    destinationCidrBlock: string;
    nextHopType: string;
    nextHopId: string;
    description?: string;
  }): RouteEntryDump {
    const rt = this.routeTable(input.routeTableId);
    let dst: string;
    try {
      dst = formatIpv4Cidr(parseIpv4Cidr(input.destinationCidrBlock));
    } catch {
      throw errors.invalidParam('DestinationCidrBlock');
    }
    if (dst !== input.destinationCidrBlock) throw errors.invalidParam('DestinationCidrBlock', 'is not a network address');
    if (input.nextHopType !== 'Instance') throw errors.invalidParam('NextHopType', 'is not supported by the mock (only Instance)');
    if (!this.instances.has(input.nextHopId)) throw errors.nextHopNotFound(input.nextHopId);
    if (rt.entries.some((r) => r.destinationCidrBlock === dst)) throw errors.cidrDuplicate(dst);
    const entry: RouteEntryDump = {
      routeEntryId: this.newId('rte'),
      routeTableId: rt.id,
      destinationCidrBlock: dst,
      nextHopType: input.nextHopType,
      nextHopId: input.nextHopId,
      type: 'Custom',
      status: 'Available',
      description: input.description,
    };
    rt.entries.push(entry);
    return entry;
  }

  deleteRouteEntry(input: {
    routeTableId?: string;
    routeEntryId?: string;
    destinationCidrBlock?: string;
    nextHopId?: string;
  }): RouteEntryDump {
    const tables = input.routeTableId ? [this.routeTable(input.routeTableId)] : [...this.routeTables.values()];
    for (const rt of tables) {
      const i = rt.entries.findIndex(
        (r) =>
          r.type === 'Custom' &&
          (input.routeEntryId ? r.routeEntryId === input.routeEntryId : r.destinationCidrBlock === input.destinationCidrBlock) &&
          (!input.nextHopId || r.nextHopId === input.nextHopId),
      );
      if (i >= 0) return rt.entries.splice(i, 1)[0]!;
    }
    throw errors.routeEntryNotFound();
  }

  // ---- dump ------------------------------------------------------------------------------

  eniDump(e: EniState): EniDump {
    return {
      eniId: e.id,
      mac: e.mac,
      type: e.type,
      status: e.status,
      instanceId: e.instanceId,
      vSwitchId: e.vSwitchId,
      vpcId: e.vpcId,
      zoneId: e.zoneId,
      securityGroupIds: [...e.securityGroupIds],
      primaryIp: e.primaryIp,
      secondaryIps: [...e.secondaryIps],
      ipv6s: [...e.ipv6s],
      tags: { ...e.tags },
      description: e.description,
      creationTime: e.creationTime,
    };
  }

  dump(): WorldDump {
    const rt0 = [...this.routeTables.values()][0];
    return {
      regionId: this.regionId,
      zones: [...this.zones],
      vpc: {
        id: this.vpc.id,
        cidr: this.vpc.cidrText,
        ...(this.vpc.ipv6 ? { ipv6Cidr: this.vpc.ipv6.cidrText } : {}),
        routeTableId: rt0?.id ?? '',
        vRouterId: rt0?.vRouterId ?? '',
      },
      vSwitches: [...this.vSwitches.values()].map((v) => ({
        vSwitchId: v.id,
        zoneId: v.zoneId,
        cidr: v.cidrText,
        gateway: this.gateway(v),
        availableIpAddressCount: this.availableIpCount(v),
        usedIps: [...v.used].sort((a, b) => a - b).map(intToIpv4),
        ...(v.ipv6 ? { ipv6Cidr: v.ipv6.cidrText, ipv6Gateway: this.ipv6Gateway(v) } : {}),
        usedIpv6s: [...(v.ipv6?.used ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(bigIntToIpv6),
      })),
      securityGroups: [...this.securityGroups],
      instanceTypes: [...this.instanceTypes.values()].map((t) => ({ ...t })),
      instances: [...this.instances.values()].map((i) => ({
        instanceId: i.id,
        instanceType: i.instanceType,
        zoneId: i.zoneId,
        vSwitchId: i.vSwitchId,
        securityGroupIds: [...i.securityGroupIds],
        primaryEniId: i.primaryEniId,
        eniIds: this.enisOf(i.id).map((e) => e.id),
      })),
      enis: [...this.enis.values()].map((e) => this.eniDump(e)),
      routeTables: [...this.routeTables.values()].map((rt) => ({
        routeTableId: rt.id,
        vpcId: rt.vpcId,
        entries: rt.entries.map((r) => ({ ...r })),
      })),
    };
  }
}
