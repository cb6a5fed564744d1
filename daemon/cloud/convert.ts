// SDK response models → the contract's plain types. Pure functions, no I/O.
import type * as $Ecs from '@alicloud/ecs20140526';
import type * as $Vpc from '@alicloud/vpc20160428';
import { canonicalIpv6, isIpv6 } from '../../lib/ipv6.js';
import type { CreateEniRequest, Eni, EniStatus, InstanceTypeLimits, RouteEntry, VSwitch } from './types.js';

type EniSet = $Ecs.DescribeNetworkInterfacesResponseBodyNetworkInterfaceSetsNetworkInterfaceSet;
type CreateBody = $Ecs.CreateNetworkInterfaceResponseBody;
type InstanceTypeModel = $Ecs.DescribeInstanceTypesResponseBodyInstanceTypesInstanceType;
type VSwitchModel = $Vpc.DescribeVSwitchesResponseBodyVSwitchesVSwitch;
type RouteEntryModel = $Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry;

const STATUSES: ReadonlySet<string> = new Set<EniStatus>(['Available', 'Attaching', 'InUse', 'Detaching', 'Deleting', 'Creating']);

/** Unknown statuses (e.g. CreateFailed) read as 'Creating': "not usable yet", never as Available. */
export function toEniStatus(s: string | undefined): EniStatus {
  return s !== undefined && STATUSES.has(s) ? (s as EniStatus) : 'Creating';
}

export function normalizeMacAddress(mac: string | undefined): string {
  return (mac ?? '').trim().toLowerCase().replace(/-/g, ':');
}

function tagsOf(list: { tagKey?: string; tagValue?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) if (t.tagKey !== undefined) out[t.tagKey] = t.tagValue ?? '';
  return out;
}

/** IPv6 addresses in canonical text (one spelling for comparisons and the pod DB); anything else dropped. */
export function ipv6sOf(list: (string | undefined)[]): string[] {
  return list.filter((x): x is string => x !== undefined && isIpv6(x)).map(canonicalIpv6);
}

function ipsOf(list: { primary?: boolean; privateIpAddress?: string }[] | undefined, primaryIp: string): string[] {
  const out: string[] = [];
  for (const p of list ?? []) {
    if (!p.privateIpAddress || p.primary || p.privateIpAddress === primaryIp) continue;
    out.push(p.privateIpAddress);
  }
  return out;
}

/** One DescribeNetworkInterfaces entry; undefined when it has no id. */
export function toEni(s: EniSet): Eni | undefined {
  if (!s.networkInterfaceId) return undefined;
  const primaryIp = s.privateIpAddress ?? s.privateIpSets?.privateIpSet?.find((p) => p.primary)?.privateIpAddress ?? '';
  const instanceId = s.instanceId || s.attachment?.instanceId || undefined;
  return {
    eniId: s.networkInterfaceId,
    mac: normalizeMacAddress(s.macAddress),
    type: s.type === 'Primary' ? 'Primary' : 'Secondary',
    status: toEniStatus(s.status),
    ...(instanceId ? { instanceId } : {}),
    vSwitchId: s.vSwitchId ?? '',
    zoneId: s.zoneId ?? '',
    vpcId: s.vpcId ?? '',
    securityGroupIds: s.securityGroupIds?.securityGroupId ?? [],
    primaryIp,
    secondaryIps: ipsOf(s.privateIpSets?.privateIpSet, primaryIp),
    ipv6s: ipv6sOf((s.ipv6Sets?.ipv6Set ?? []).map((x) => x.ipv6Address)),
    tags: tagsOf(s.tags?.tag),
    ...(s.creationTime ? { creationTime: s.creationTime } : {}),
  };
}

/** The CreateNetworkInterface reply (fields it lacks come from the request). */
export function toEniFromCreate(b: CreateBody, req: CreateEniRequest): Eni {
  const primaryIp = b.privateIpAddress ?? b.privateIpSets?.privateIpSet?.find((p) => p.primary)?.privateIpAddress ?? '';
  const tags = tagsOf(b.tags?.tag);
  return {
    eniId: b.networkInterfaceId ?? '',
    mac: normalizeMacAddress(b.macAddress),
    type: b.type === 'Primary' ? 'Primary' : 'Secondary',
    status: b.status ? toEniStatus(b.status) : 'Available',
    vSwitchId: b.vSwitchId ?? req.vSwitchId,
    zoneId: b.zoneId ?? '',
    vpcId: b.vpcId ?? '',
    securityGroupIds: b.securityGroupIds?.securityGroupId ?? [...req.securityGroupIds],
    primaryIp,
    secondaryIps: ipsOf(b.privateIpSets?.privateIpSet, primaryIp),
    ipv6s: ipv6sOf((b.ipv6Sets?.ipv6Set ?? []).map((x) => x.ipv6Address)),
    tags: Object.keys(tags).length > 0 ? tags : { ...(req.tags ?? {}) },
  };
}

export function toInstanceTypeLimits(t: InstanceTypeModel): InstanceTypeLimits {
  return {
    instanceTypeId: t.instanceTypeId ?? '',
    eniQuantity: t.eniQuantity ?? 0,
    ipv4PerEni: t.eniPrivateIpAddressQuantity ?? 0,
    ipv6PerEni: t.eniIpv6AddressQuantity ?? 0,
  };
}

export function toVSwitch(v: VSwitchModel): VSwitch {
  return {
    vSwitchId: v.vSwitchId ?? '',
    vpcId: v.vpcId ?? '',
    zoneId: v.zoneId ?? '',
    cidrBlock: v.cidrBlock ?? '',
    availableIpAddressCount: v.availableIpAddressCount ?? 0,
    ...(v.routeTable?.routeTableId ? { routeTableId: v.routeTable.routeTableId } : {}),
    ...(v.ipv6CidrBlock ? { ipv6CidrBlock: v.ipv6CidrBlock } : {}),
  };
}

/** A route entry with N next hops (ECMP) becomes N RouteEntry rows; one with none becomes one row. */
export function toRouteEntry(e: RouteEntryModel, routeTableId: string): RouteEntry[] {
  const base = { routeTableId: e.routeTableId ?? routeTableId, destinationCidrBlock: e.destinationCidrBlock ?? '', status: e.status ?? '' };
  const hops = e.nextHops?.nextHop ?? [];
  if (hops.length === 0) return [{ ...base, nextHopType: '', nextHopId: '' }];
  return hops.map((h) => ({ ...base, nextHopType: h.nextHopType ?? '', nextHopId: h.nextHopId ?? '' }));
}
