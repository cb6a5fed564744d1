// How the ENI pool keeps its state in the shared PoolStore tables (one owner: in VPCENI mode this pool
// owns every row):
//   enis row  = the ENI (state attaching | inuse | deleting)
//   ips row   = the ENI's primary IP, carrying the slot state (free | assigned | cooling | releasing)
//   pods row  = the pod holding it (mode VPCENI)
// Dual stack: the ENI's IPv6 address is the partner of its primary IP (ips row `ipv6`), the vSwitch's IPv6
// block and gateway sit on the enis row, as in the multi-IP pool (schema v3: no new column).

import type { EniRecord, IpRecord } from '../store.js';
import type { EniSlot } from './planner.js';

/** What the pool knows of an ENI it owns. */
export interface EniInfo {
  eniId: string;
  mac: string;
  primaryIp: string;
  vSwitchId: string;
  vSwitchCidr: string;
  gateway: string;
  createdAt: number;
  /** Dual stack: the ENI's IPv6 address, its vSwitch's IPv6 block and gateway. */
  ipv6?: string;
  vSwitchIpv6Cidr?: string;
  ipv6Gateway?: string;
}

export function eniRecord(info: EniInfo, state: EniRecord['state']): EniRecord {
  return {
    eniId: info.eniId,
    mac: info.mac,
    vSwitchId: info.vSwitchId,
    vSwitchCidr: info.vSwitchCidr,
    gateway: info.gateway,
    primary: false,
    createdByUs: true,
    state,
    createdAt: info.createdAt,
    ...(info.vSwitchIpv6Cidr ? { vSwitchIpv6Cidr: info.vSwitchIpv6Cidr } : {}),
    ...(info.ipv6Gateway ? { ipv6Gateway: info.ipv6Gateway } : {}),
  };
}

export function ipRecord(info: EniInfo, slot: EniSlot, podKey?: string): IpRecord {
  // An attaching ENI has no usable IP yet; never written as such (only inuse ENIs get an ips row).
  const state = slot.state === 'attaching' ? 'releasing' : slot.state;
  return {
    ip: info.primaryIp,
    eniId: info.eniId,
    state,
    ...(state === 'assigned' ? { podKey } : {}),
    since: slot.since,
    ...(slot.coolUntil !== undefined ? { until: slot.coolUntil } : {}),
    ...(info.ipv6 ? { ipv6: info.ipv6 } : {}),
  };
}

/** The IPv6 part of an allocation from this ENI (nothing when it has no IPv6 address). */
export function ipv6Placement(info: EniInfo): Pick<EniInfo, 'ipv6' | 'vSwitchIpv6Cidr' | 'ipv6Gateway'> {
  if (!info.ipv6) return {};
  return {
    ipv6: info.ipv6,
    ...(info.vSwitchIpv6Cidr ? { vSwitchIpv6Cidr: info.vSwitchIpv6Cidr } : {}),
    ...(info.ipv6Gateway ? { ipv6Gateway: info.ipv6Gateway } : {}),
  };
}
