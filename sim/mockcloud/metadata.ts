// The ECS instance metadata service (100.100.100.200 in the real cloud) for one chosen instance:
// `/latest/meta-data/<path>` as plain text, listings one entry per line, directories ending in '/'.
// `ram/security-credentials/` lists the instance RAM role; `ram/security-credentials/<role>` is its
// STS credentials as JSON (AccessKeyId, AccessKeySecret, SecurityToken, Expiration, LastUpdated, Code).
import { stsMetadataBody } from './ram.js';
import type { EniState, World } from './world.js';

export interface MetadataAnswer {
  status: number;
  body: string;
}

const ROOT_LISTING = [
  'instance-id',
  'region-id',
  'zone-id',
  'hostname',
  'instance/',
  'vpc-id',
  'vpc-cidr-block',
  'vswitch-id',
  'vswitch-cidr-block',
  'mac',
  'private-ipv4',
  'network/',
  'ram/',
];

const ENI_KEYS = [
  'network-interface-id',
  'primary-ip-address',
  'private-ipv4s',
  'vswitch-id',
  'vswitch-cidr-block',
  'gateway',
  'netmask',
  'vpc-id',
  'vpc-cidr-block',
  'ipv6s',
  'ipv6-gateway',
  'vswitch-ipv6-cidr-block',
];

const notFound: MetadataAnswer = { status: 404, body: 'Not Found' };
const ok = (body: string): MetadataAnswer => ({ status: 200, body });

/** ENIs the instance sees: in use, and (for secondary ENIs) past the metadata lag. */
export function visibleEnis(world: World, instanceId: string, now: number, lagMs: number): EniState[] {
  return world
    .enisOf(instanceId)
    .filter((e) => e.status === 'InUse' && (e.type === 'Primary' || (e.inUseSince ?? 0) + lagMs <= now))
    .sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
}

export interface LookupOptions {
  now: number;
  /** A secondary ENI shows up this long after it became InUse. */
  lagMs: number;
  /** Serve the current STS credentials even once expired (no rotation). */
  ramFrozen?: boolean;
}

/** `path` is what follows `/latest/meta-data/` (may be empty). */
export function metadataLookup(world: World, instanceId: string, path: string, opts: LookupOptions): MetadataAnswer {
  const { now, lagMs } = opts;
  const inst = world.instances.get(instanceId);
  if (!inst) return notFound;
  const primary = world.enis.get(inst.primaryEniId);
  if (!primary) return notFound;
  const vsw = world.vSwitch(inst.vSwitchId);
  const p = path.replace(/^\/+/, '');
  switch (p) {
    case '':
      return ok(ROOT_LISTING.join('\n'));
    case 'instance-id':
      return ok(inst.id);
    case 'region-id':
      return ok(world.regionId);
    case 'zone-id':
      return ok(inst.zoneId);
    case 'hostname':
      return ok(inst.id);
    case 'instance':
    case 'instance/':
      return ok('instance-type');
    case 'instance/instance-type':
      return ok(inst.instanceType);
    case 'vpc-id':
      return ok(world.vpc.id);
    case 'vpc-cidr-block':
      return ok(world.vpc.cidrText);
    case 'vswitch-id':
      return ok(inst.vSwitchId);
    case 'vswitch-cidr-block':
      return ok(vsw.cidrText);
    case 'mac':
      return ok(primary.mac);
    case 'private-ipv4':
      return ok(primary.primaryIp);
    case 'network':
    case 'network/':
      return ok('interfaces/');
    case 'network/interfaces':
    case 'network/interfaces/':
      return ok('macs/');
    case 'ram':
    case 'ram/':
      return ok('security-credentials/');
    case 'ram/security-credentials':
    case 'ram/security-credentials/':
      return inst.ramRole ? ok(inst.ramRole) : notFound;
    case 'network/interfaces/macs':
    case 'network/interfaces/macs/':
      return ok(
        visibleEnis(world, instanceId, now, lagMs)
          .map((e) => `${e.mac}/`)
          .join('\n'),
      );
  }
  const role = /^ram\/security-credentials\/([^/]+)$/.exec(p);
  if (role) {
    if (!inst.ramRole || role[1] !== inst.ramRole) return notFound;
    return ok(stsMetadataBody(world.ram.forInstance(inst.id, inst.ramRole, now, opts.ramFrozen)));
  }
  const m = /^network\/interfaces\/macs\/([0-9a-fA-F:]{17})(?:\/(.*))?$/.exec(p);
  if (!m) return notFound;
  const mac = m[1]!.toLowerCase();
  const eni = visibleEnis(world, instanceId, now, lagMs).find((e) => e.mac === mac);
  if (!eni) return notFound;
  const v = world.vSwitch(eni.vSwitchId);
  switch (m[2] ?? '') {
    case '':
      return ok(ENI_KEYS.join('\n'));
    case 'network-interface-id':
      return ok(eni.id);
    case 'primary-ip-address':
      return ok(eni.primaryIp);
    case 'private-ipv4s':
      return ok(JSON.stringify([eni.primaryIp, ...eni.secondaryIps]));
    case 'vswitch-id':
      return ok(eni.vSwitchId);
    case 'vswitch-cidr-block':
      return ok(v.cidrText);
    case 'gateway':
      return ok(world.gateway(v));
    case 'netmask':
      return ok(world.netmask(v));
    case 'vpc-id':
      return ok(eni.vpcId);
    case 'vpc-cidr-block':
      return ok(world.vpc.cidrText);
    // ECS answers 404 while the ENI holds no IPv6 address (Terway's metadata client relies on it).
    case 'ipv6s':
      return eni.ipv6s.length > 0 ? ok(JSON.stringify(eni.ipv6s)) : notFound;
    case 'ipv6-gateway': {
      const gw = world.ipv6Gateway(v);
      return gw ? ok(gw) : notFound;
    }
    case 'vswitch-ipv6-cidr-block':
      return v.ipv6 ? ok(v.ipv6.cidrText) : notFound;
    default:
      return notFound;
  }
}
