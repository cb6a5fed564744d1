// How the ENI pool keeps its state in the shared PoolStore tables (one owner: in VPCENI mode this pool
// owns every row):
//   enis row  = the ENI (state attaching | inuse | deleting)
//   ips row   = the ENI's primary IP, carrying the slot state (free | assigned | cooling | releasing)
//   pods row  = the pod holding it (mode VPCENI)

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
  };
}
