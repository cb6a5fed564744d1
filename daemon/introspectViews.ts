// The /v1/pods and /v1/pool documents (pure): what the daemon holds, per pod and per ENI, sorted for diffing.
import { compareIpv4 } from '../lib/ipv4.js';
import type { DaemonMode } from './config/index.js';
import type { IpAllocation, PoolStats } from '../pool/types.js';
import type { EniRecord, IpRecord, IpState } from '../pool/store.js';

export const IP_STATES: readonly IpState[] = ['free', 'assigned', 'cooling', 'reserved', 'releasing'];

/** `namespace/name` filter from `?pod=`; a bare name matches any namespace. */
export interface PodFilter {
  namespace?: string;
  name: string;
}

export function parsePodFilter(s: string | null | undefined): PodFilter | undefined {
  if (!s) return undefined;
  const i = s.indexOf('/');
  return i < 0 ? { name: s } : { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

export function matches(f: PodFilter | undefined, a: Pick<IpAllocation, 'namespace' | 'name'>): boolean {
  return !f || (a.name === f.name && (f.namespace === undefined || a.namespace === f.namespace));
}

// ---------------------------------------------------------------- /v1/pods

export interface PodView {
  namespace: string;
  name: string;
  containerId: string;
  ifName: string;
  networkName: string;
  podKey: string;
  ip: string;
  eniId: string;
  eniMac: string;
  vSwitchId: string;
  netns: string;
  /** ISO 8601. */
  allocatedAt: string;
}

export function podsView(allocs: IpAllocation[], filter?: PodFilter): PodView[] {
  return allocs
    .filter((a) => matches(filter, a))
    .map((a) => ({
      namespace: a.namespace,
      name: a.name,
      containerId: a.containerId,
      ifName: a.ifName,
      networkName: a.networkName,
      podKey: a.podKey,
      ip: a.ip,
      eniId: a.eniId,
      eniMac: a.eniMac,
      vSwitchId: a.vSwitchId,
      netns: a.netns,
      allocatedAt: new Date(a.allocatedAt).toISOString(),
    }))
    .sort((x, y) => `${x.namespace}/${x.name}/${x.podKey}`.localeCompare(`${y.namespace}/${y.name}/${y.podKey}`));
}

// ---------------------------------------------------------------- /v1/pool

export interface EniView {
  eniId: string;
  mac: string;
  primary: boolean;
  /** Pool-side lifecycle: attaching / inuse / deleting. */
  state: EniRecord['state'];
  createdByUs: boolean;
  vSwitchId: string;
  vSwitchCidr: string;
  /** IPs the pool holds on this ENI, by pool state (sorted). */
  ips: Record<IpState, string[]>;
  /** ip -> podKey for the assigned ones. */
  assignedTo: Record<string, string>;
  /** ip -> `namespace/name` for the reserved ones (stateful pods). */
  reservedFor: Record<string, string>;
}

export interface PoolView {
  mode: DaemonMode;
  instanceId: string;
  /** Where the ENI / IP records came from: the live pool, the pod DB (VPCENI), or nowhere (VPCIP keeps none). */
  source: 'pool' | 'db' | 'none';
  stats: PoolStats;
  enis: EniView[];
}

export function poolView(input: {
  mode: DaemonMode;
  instanceId: string;
  stats: PoolStats;
  source: PoolView['source'];
  enis: EniRecord[];
  ips: IpRecord[];
  eniId?: string;
}): PoolView {
  const enis = input.enis
    .filter((e) => !input.eniId || e.eniId === input.eniId)
    .map((e): EniView => {
      const ips = Object.fromEntries(IP_STATES.map((s) => [s, [] as string[]])) as Record<IpState, string[]>;
      const assignedTo: Record<string, string> = {};
      const reservedFor: Record<string, string> = {};
      for (const r of input.ips) {
        if (r.eniId !== e.eniId) continue;
        ips[r.state].push(r.ip);
        if (r.state === 'assigned' && r.podKey) assignedTo[r.ip] = r.podKey;
        if (r.state === 'reserved' && r.reservedFor) reservedFor[r.ip] = r.reservedFor;
      }
      for (const s of IP_STATES) ips[s].sort(compareIpv4);
      return {
        eniId: e.eniId,
        mac: e.mac,
        primary: e.primary,
        state: e.state,
        createdByUs: e.createdByUs,
        vSwitchId: e.vSwitchId,
        vSwitchCidr: e.vSwitchCidr,
        ips,
        assignedTo,
        reservedFor,
      };
    })
    // Primary ENI first, then by id: stable output for diffing.
    .sort((a, b) => Number(b.primary) - Number(a.primary) || a.eniId.localeCompare(b.eniId));
  return { mode: input.mode, instanceId: input.instanceId, source: input.source, stats: input.stats, enis };
}
