// The ECS (2014-05-26) and VPC (2016-04-28) actions: flat request params in, response body out
// (the response shapes follow the SDK's *ResponseBody models). Synchronous; the async half of
// attach/detach is handed to the Lifecycle.
import { errors } from './errors.js';
import { bool, int, list, required, str, tags, type Params } from './params.js';
import type { EniState, World } from './world.js';

export const ECS_VERSION = '2014-05-26';
export const VPC_VERSION = '2016-04-28';

/** What the actions need besides the world: completion of async attach/detach and events. */
export interface Lifecycle {
  attachStarted(eni: EniState): void;
  detachStarted(eni: EniState): void;
  deleteStarted(eni: EniState): void;
  emit(event: string, payload: unknown): void;
}

export interface ActionContext {
  world: World;
  life: Lifecycle;
}

export type Body = Record<string, unknown>;
export type ActionFn = (ctx: ActionContext, p: Params) => Body;

export interface ActionDef {
  product: 'ecs' | 'vpc';
  fn: ActionFn;
  /** Mutating actions that honour ClientToken. */
  idempotent?: boolean;
  /** Mutates the ENI named by NetworkInterfaceId (may answer Operation.Conflict while another is in progress). */
  mutatesEni?: boolean;
}

// ---- shared helpers -----------------------------------------------------------------------

function checkRegion(ctx: ActionContext, p: Params): void {
  const r = str(p, 'RegionId');
  if (r !== undefined && r !== ctx.world.regionId) throw errors.regionNotFound();
}

interface Page<T> {
  items: T[];
  body: { TotalCount: number; PageNumber?: number; PageSize?: number; NextToken: string };
}

/**
 * Paging the way ECS does it: NextToken/MaxResults when either is given, else PageNumber/PageSize.
 * The token is an opaque offset.
 */
function paginate<T>(
  all: T[],
  p: Params,
  opts: { maxResultsName?: string; defaultSize?: number; maxSize?: number; maxResults?: number } = {},
): Page<T> {
  const maxName = opts.maxResultsName ?? 'MaxResults';
  const defaultSize = opts.defaultSize ?? 10;
  const maxSize = opts.maxSize ?? 500;
  const token = str(p, 'NextToken');
  const maxResults = int(p, maxName, { min: 1 });
  if (token !== undefined || maxResults !== undefined) {
    let offset = 0;
    if (token !== undefined) {
      const m = /^mock-offset-(\d+)$/.exec(token);
      if (!m) throw errors.invalidParam('NextToken');
      offset = Number(m[1]);
    }
    const size = Math.min(maxResults ?? defaultSize, opts.maxResults ?? maxSize);
    const items = all.slice(offset, offset + size);
    const next = offset + size < all.length ? `mock-offset-${offset + size}` : '';
    return { items, body: { TotalCount: all.length, NextToken: next } };
  }
  const pageNumber = int(p, 'PageNumber', { min: 1 }) ?? 1;
  const pageSize = Math.min(int(p, 'PageSize', { min: 1 }) ?? defaultSize, opts.maxSize ?? 1000);
  const items = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return { items, body: { TotalCount: all.length, PageNumber: pageNumber, PageSize: pageSize, NextToken: '' } };
}

function tagMap(ts: { key: string; value?: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of ts) out[t.key] = t.value ?? '';
  return out;
}

function eniBody(e: EniState): Body {
  const attached = e.instanceId !== undefined && (e.status === 'InUse' || e.status === 'Detaching' || e.status === 'Attaching');
  return {
    NetworkInterfaceId: e.id,
    NetworkInterfaceName: e.name ?? '',
    Description: e.description ?? '',
    MacAddress: e.mac,
    Status: e.status,
    Type: e.type,
    InstanceId: e.instanceId ?? '',
    VSwitchId: e.vSwitchId,
    VpcId: e.vpcId,
    ZoneId: e.zoneId,
    OwnerId: '1234567890',
    ResourceGroupId: '',
    ServiceManaged: false,
    DeleteOnRelease: e.type === 'Primary',
    CreationTime: e.creationTime,
    SecurityGroupIds: { SecurityGroupId: [...e.securityGroupIds] },
    PrivateIpAddress: e.primaryIp,
    PrivateIpSets: {
      PrivateIpSet: [
        { PrivateIpAddress: e.primaryIp, Primary: true },
        ...e.secondaryIps.map((ip) => ({ PrivateIpAddress: ip, Primary: false })),
      ],
    },
    Ipv6Sets: { Ipv6Set: e.ipv6s.map((ip) => ({ Ipv6Address: ip })) },
    Ipv4PrefixSets: { Ipv4PrefixSet: [] },
    Ipv6PrefixSets: { Ipv6PrefixSet: [] },
    Tags: { Tag: Object.entries(e.tags).map(([k, v]) => ({ TagKey: k, TagValue: v })) },
    ...(attached ? { Attachment: { InstanceId: e.instanceId, DeviceIndex: e.deviceIndex ?? 0, NetworkCardIndex: 0 } } : {}),
  };
}

function securityGroupIdsParam(p: Params): string[] {
  const ids = list(p, 'SecurityGroupIds');
  const single = str(p, 'SecurityGroupId');
  if (single && !ids.includes(single)) ids.unshift(single);
  return ids;
}

// ---- ECS ----------------------------------------------------------------------------------

const createNetworkInterface: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const vSwitchId = required(p, 'VSwitchId');
  const sgs = securityGroupIdsParam(p);
  if (sgs.length === 0) throw errors.missing('SecurityGroupId');
  const explicit = list(p, 'PrivateIpAddress');
  const e = ctx.world.createEni({
    vSwitchId,
    securityGroupIds: sgs,
    primaryIp: str(p, 'PrimaryIpAddress'),
    secondaryIpCount: int(p, 'SecondaryPrivateIpAddressCount', { min: 0 }),
    secondaryIps: explicit,
    ipv6Count: int(p, 'Ipv6AddressCount', { min: 0 }),
    ipv6s: list(p, 'Ipv6Address'),
    tags: tagMap(tags(p)),
    name: str(p, 'NetworkInterfaceName'),
    description: str(p, 'Description'),
  });
  ctx.life.emit('eniCreated', {
    eniId: e.id,
    mac: e.mac,
    primaryIp: e.primaryIp,
    secondaryIps: [...e.secondaryIps],
    vSwitchId: e.vSwitchId,
  });
  const b = eniBody(e);
  delete b.Attachment;
  return b;
};

const deleteNetworkInterface: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  // Asynchronous, as in ECS: the ENI is Deleting until the lifecycle removes it.
  const e = ctx.world.beginDelete(required(p, 'NetworkInterfaceId'));
  ctx.life.deleteStarted(e);
  return {};
};

const attachNetworkInterface: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const e = ctx.world.beginAttach(required(p, 'NetworkInterfaceId'), required(p, 'InstanceId'));
  ctx.life.attachStarted(e);
  return {};
};

const detachNetworkInterface: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const e = ctx.world.beginDetach(required(p, 'NetworkInterfaceId'), required(p, 'InstanceId'));
  ctx.life.detachStarted(e);
  return {};
};

const assignPrivateIpAddresses: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const eniId = required(p, 'NetworkInterfaceId');
  const count = int(p, 'SecondaryPrivateIpAddressCount', { min: 0 });
  const ips = list(p, 'PrivateIpAddress');
  const got = ctx.world.assignIps(eniId, { count, ips });
  const e = ctx.world.eni(eniId);
  ctx.life.emit('ipsAssigned', { eniId, instanceId: e.instanceId, ips: [...got] });
  return {
    AssignedPrivateIpAddressesSet: {
      NetworkInterfaceId: eniId,
      PrivateIpSet: { PrivateIpAddress: got },
      Ipv4PrefixSet: { Ipv4Prefixes: [] },
    },
  };
};

const unassignPrivateIpAddresses: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const eniId = required(p, 'NetworkInterfaceId');
  const gone = ctx.world.unassignIps(eniId, list(p, 'PrivateIpAddress'));
  const e = ctx.world.eni(eniId);
  ctx.life.emit('ipsUnassigned', { eniId, instanceId: e.instanceId, ips: gone });
  return {};
};

const assignIpv6Addresses: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const eniId = required(p, 'NetworkInterfaceId');
  const got = ctx.world.assignIpv6s(eniId, { count: int(p, 'Ipv6AddressCount', { min: 0 }), ips: list(p, 'Ipv6Address') });
  const e = ctx.world.eni(eniId);
  ctx.life.emit('ipv6sAssigned', { eniId, instanceId: e.instanceId, ips: [...got] });
  return { NetworkInterfaceId: eniId, Ipv6Sets: { Ipv6Address: got }, Ipv6PrefixSets: { Ipv6Prefix: [] } };
};

const unassignIpv6Addresses: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const eniId = required(p, 'NetworkInterfaceId');
  const gone = ctx.world.unassignIpv6s(eniId, list(p, 'Ipv6Address'));
  const e = ctx.world.eni(eniId);
  ctx.life.emit('ipv6sUnassigned', { eniId, instanceId: e.instanceId, ips: gone });
  return {};
};

const describeNetworkInterfaces: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const status = str(p, 'Status');
  const matched = ctx.world.describeEnis({
    instanceId: str(p, 'InstanceId'),
    eniIds: list(p, 'NetworkInterfaceId'),
    status,
    vSwitchId: str(p, 'VSwitchId'),
    vpcId: str(p, 'VpcId'),
    type: str(p, 'Type'),
    tags: tags(p),
    primaryIp: str(p, 'PrimaryIpAddress'),
    privateIps: list(p, 'PrivateIpAddress'),
    ipv6s: list(p, 'Ipv6Address'),
    securityGroupId: str(p, 'SecurityGroupId'),
    name: str(p, 'NetworkInterfaceName'),
  });
  const page = paginate(matched, p, { defaultSize: 10, maxSize: 1000, maxResults: 500 });
  return { ...page.body, NetworkInterfaceSets: { NetworkInterfaceSet: page.items.map((e) => eniBody(e)) } };
};

const describeInstanceTypes: ActionFn = (ctx, p) => {
  const wanted = list(p, 'InstanceTypes');
  const all = [...ctx.world.instanceTypes.values()].filter((t) => wanted.length === 0 || wanted.includes(t.id));
  const page = paginate(all, p, { defaultSize: 100, maxSize: 1600 });
  return {
    NextToken: page.body.NextToken,
    InstanceTypes: {
      InstanceType: page.items.map((t) => ({
        InstanceTypeId: t.id,
        InstanceTypeFamily: t.id.split('.').slice(0, 2).join('.'),
        EniQuantity: t.eniQuantity,
        EniTotalQuantity: t.eniQuantity,
        EniPrivateIpAddressQuantity: t.ipv4PerEni,
        EniIpv6AddressQuantity: t.ipv6PerEni,
        EniTrunkSupported: false,
      })),
    },
  };
};

const describeInstances: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const ids = list(p, 'InstanceIds');
  const vpcId = str(p, 'VpcId');
  const vSwitchId = str(p, 'VSwitchId');
  const zoneId = str(p, 'ZoneId');
  const w = ctx.world;
  const all = [...w.instances.values()].filter(
    (i) =>
      (ids.length === 0 || ids.includes(i.id)) &&
      (!vpcId || vpcId === w.vpc.id) &&
      (!vSwitchId || i.vSwitchId === vSwitchId) &&
      (!zoneId || i.zoneId === zoneId),
  );
  const page = paginate(all, p, { defaultSize: 10, maxSize: 100 });
  return {
    ...page.body,
    Instances: {
      Instance: page.items.map((i) => {
        const primary = w.eni(i.primaryEniId);
        const enis = w.enisOf(i.id).filter((e) => e.status === 'InUse');
        return {
          InstanceId: i.id,
          InstanceName: i.id,
          HostName: i.id,
          InstanceType: i.instanceType,
          InstanceTypeFamily: i.instanceType.split('.').slice(0, 2).join('.'),
          RegionId: w.regionId,
          ZoneId: i.zoneId,
          Status: 'Running',
          InstanceNetworkType: 'vpc',
          CreationTime: i.creationTime,
          SecurityGroupIds: { SecurityGroupId: [...i.securityGroupIds] },
          VpcAttributes: {
            VpcId: w.vpc.id,
            VSwitchId: i.vSwitchId,
            PrivateIpAddress: { IpAddress: [primary.primaryIp] },
            NatIpAddress: '',
          },
          NetworkInterfaces: {
            NetworkInterface: enis.map((e) => ({
              NetworkInterfaceId: e.id,
              MacAddress: e.mac,
              PrimaryIpAddress: e.primaryIp,
              Type: e.type,
              PrivateIpSets: {
                PrivateIpSet: [
                  { PrivateIpAddress: e.primaryIp, Primary: true },
                  ...e.secondaryIps.map((ip) => ({ PrivateIpAddress: ip, Primary: false })),
                ],
              },
              Ipv6Sets: { Ipv6Set: e.ipv6s.map((ip) => ({ Ipv6Address: ip })) },
            })),
          },
          Tags: { Tag: [] },
        };
      }),
    },
  };
};

// ---- VPC ----------------------------------------------------------------------------------

const describeVSwitches: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const w = ctx.world;
  const ids = list(p, 'VSwitchId');
  const vpcId = str(p, 'VpcId');
  const zoneId = str(p, 'ZoneId');
  const rt = [...w.routeTables.values()][0];
  const all = [...w.vSwitches.values()].filter(
    (v) => (ids.length === 0 || ids.includes(v.id)) && (!vpcId || v.vpcId === vpcId) && (!zoneId || v.zoneId === zoneId),
  );
  const page = paginate(all, p, { defaultSize: 10, maxSize: 50 });
  return {
    TotalCount: page.body.TotalCount,
    PageNumber: page.body.PageNumber ?? 1,
    PageSize: page.body.PageSize ?? page.items.length,
    VSwitches: {
      VSwitch: page.items.map((v) => ({
        VSwitchId: v.id,
        VSwitchName: v.id,
        VpcId: v.vpcId,
        ZoneId: v.zoneId,
        CidrBlock: v.cidrText,
        Ipv6CidrBlock: v.ipv6?.cidrText ?? '',
        AvailableIpAddressCount: w.availableIpCount(v),
        Status: 'Available',
        IsDefault: false,
        CreationTime: v.creationTime,
        Description: '',
        RouteTable: { RouteTableId: rt?.id ?? '', RouteTableType: 'System' },
        Tags: { Tag: [] },
      })),
    },
  };
};

function routeEntryBody(r: import('./types.js').RouteEntryDump): Body {
  return {
    RouteEntryId: r.routeEntryId,
    RouteTableId: r.routeTableId,
    DestinationCidrBlock: r.destinationCidrBlock,
    Type: r.type,
    Status: r.status,
    IpVersion: 'ipv4',
    Description: r.description ?? '',
    RouteEntryName: '',
    NextHops: {
      NextHop:
        r.type === 'System'
          ? []
          : [
              {
                NextHopType: r.nextHopType,
                NextHopId: r.nextHopId,
                Enabled: 1,
                Weight: 100,
                NextHopRelatedInfo: { InstanceId: r.nextHopId, InstanceType: 'Instance', RegionId: '' },
              },
            ],
    },
  };
}

const createRouteEntry: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const dry = bool(p, 'DryRun');
  const input = {
    routeTableId: required(p, 'RouteTableId'),
    destinationCidrBlock: required(p, 'DestinationCidrBlock'),
    nextHopType: str(p, 'NextHopType') ?? 'Instance',
    nextHopId: required(p, 'NextHopId'),
    description: str(p, 'Description'),
  };
  if (dry) {
    ctx.world.routeTable(input.routeTableId);
    return {};
  }
  const r = ctx.world.createRouteEntry(input);
  ctx.life.emit('routeCreated', { ...r });
  return { RouteEntryId: r.routeEntryId };
};

const deleteRouteEntry: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const routeEntryId = str(p, 'RouteEntryId');
  const dst = str(p, 'DestinationCidrBlock');
  if (!routeEntryId && !dst) throw errors.missing('DestinationCidrBlock');
  const r = ctx.world.deleteRouteEntry({
    routeTableId: str(p, 'RouteTableId'),
    routeEntryId,
    destinationCidrBlock: dst,
    nextHopId: str(p, 'NextHopId'),
  });
  ctx.life.emit('routeDeleted', { ...r });
  return {};
};

const describeRouteEntryList: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const rt = ctx.world.routeTable(required(p, 'RouteTableId'));
  const dst = str(p, 'DestinationCidrBlock');
  const type = str(p, 'RouteEntryType');
  const nextHop = str(p, 'NextHopId');
  const entryId = str(p, 'RouteEntryId');
  const dstList = list(p, 'DestCidrBlockList');
  const all = rt.entries.filter(
    (r) =>
      (!dst || r.destinationCidrBlock === dst) &&
      (dstList.length === 0 || dstList.includes(r.destinationCidrBlock)) &&
      (!type || r.type === type) &&
      (!nextHop || r.nextHopId === nextHop) &&
      (!entryId || r.routeEntryId === entryId),
  );
  const page = paginate(all, { ...p, MaxResults: p.MaxResult ?? '' }, { defaultSize: 10, maxSize: 100 });
  return { NextToken: page.body.NextToken, TotalCount: all.length, RouteEntrys: { RouteEntry: page.items.map(routeEntryBody) } };
};

const describeRouteTableList: ActionFn = (ctx, p) => {
  checkRegion(ctx, p);
  const w = ctx.world;
  const id = str(p, 'RouteTableId');
  const vpcId = str(p, 'VpcId');
  const all = [...w.routeTables.values()].filter((rt) => (!id || rt.id === id) && (!vpcId || rt.vpcId === vpcId));
  const page = paginate(all, p, { defaultSize: 10, maxSize: 50 });
  return {
    TotalCount: all.length,
    PageNumber: page.body.PageNumber ?? 1,
    PageSize: page.body.PageSize ?? page.items.length,
    RouterTableList: {
      RouterTableListType: page.items.map((rt) => ({
        RouteTableId: rt.id,
        RouteTableName: '',
        RouteTableType: 'System',
        RouterId: rt.vRouterId,
        RouterType: 'VRouter',
        VpcId: rt.vpcId,
        Status: 'Available',
        Description: '',
        CreationTime: '',
        VSwitchIds: { VSwitchId: [...w.vSwitches.keys()] },
        Tags: { Tag: [] },
      })),
    },
  };
};

const ECS_ACTIONS: Record<string, ActionDef> = {
  CreateNetworkInterface: { product: 'ecs', fn: createNetworkInterface, idempotent: true },
  DeleteNetworkInterface: { product: 'ecs', fn: deleteNetworkInterface, mutatesEni: true },
  AttachNetworkInterface: { product: 'ecs', fn: attachNetworkInterface, mutatesEni: true },
  DetachNetworkInterface: { product: 'ecs', fn: detachNetworkInterface, mutatesEni: true },
  AssignPrivateIpAddresses: { product: 'ecs', fn: assignPrivateIpAddresses, idempotent: true, mutatesEni: true },
  UnassignPrivateIpAddresses: { product: 'ecs', fn: unassignPrivateIpAddresses, mutatesEni: true },
  AssignIpv6Addresses: { product: 'ecs', fn: assignIpv6Addresses, idempotent: true, mutatesEni: true },
  UnassignIpv6Addresses: { product: 'ecs', fn: unassignIpv6Addresses, mutatesEni: true },
  DescribeNetworkInterfaces: { product: 'ecs', fn: describeNetworkInterfaces },
  DescribeInstanceTypes: { product: 'ecs', fn: describeInstanceTypes },
  DescribeInstances: { product: 'ecs', fn: describeInstances },
};

const VPC_ACTIONS: Record<string, ActionDef> = {
  DescribeVSwitches: { product: 'vpc', fn: describeVSwitches },
  CreateRouteEntry: { product: 'vpc', fn: createRouteEntry, idempotent: true },
  DeleteRouteEntry: { product: 'vpc', fn: deleteRouteEntry },
  DescribeRouteEntryList: { product: 'vpc', fn: describeRouteEntryList },
  DescribeRouteTableList: { product: 'vpc', fn: describeRouteTableList },
};

/** Resolves (version, action) → handler; the real gateway's errors when either is unknown. */
export function lookupAction(version: string | undefined, action: string | undefined): ActionDef {
  if (!action) throw errors.missing('Action');
  if (!version) throw errors.missing('Version');
  const table = version === ECS_VERSION ? ECS_ACTIONS : version === VPC_VERSION ? VPC_ACTIONS : undefined;
  if (!table) throw errors.invalidVersion();
  const def = Object.prototype.hasOwnProperty.call(table, action) ? table[action] : undefined;
  if (!def) throw errors.actionNotFound();
  return def;
}

export const SUPPORTED_ACTIONS = { ecs: Object.keys(ECS_ACTIONS), vpc: Object.keys(VPC_ACTIONS) };
