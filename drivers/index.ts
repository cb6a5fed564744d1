// The drivers folder's face. Importing it does not load netlink/koffi: they load on first kernel call.
import type { Driver } from './types.js';
import { VethDriver, type VethDriverOptions } from './veth.js';
import { IpvlanDriver } from './ipvlan.js';
import { RawEniDriver } from './rawEni.js';
import { NoneDriver } from './none.js';

export type DriverName = 'veth' | 'ipvlan' | 'rawEni' | 'none';

export interface DriverOptions extends VethDriverOptions {
  /** Netns holding the host side (ENI links, host routes/rules); default the daemon's own. */
  hostNetnsPath?: string;
}

export function createDriver(name: 'veth', opts?: DriverOptions): VethDriver;
export function createDriver(name: 'ipvlan', opts?: DriverOptions): IpvlanDriver;
export function createDriver(name: 'rawEni', opts?: DriverOptions): RawEniDriver;
export function createDriver(name: 'none', opts?: DriverOptions): NoneDriver;
export function createDriver(name: DriverName, opts?: DriverOptions): Driver;
export function createDriver(name: DriverName, opts: DriverOptions = {}): Driver {
  switch (name) {
    case 'veth':
      return new VethDriver(opts);
    case 'ipvlan':
      return new IpvlanDriver({ hostNetnsPath: opts.hostNetnsPath });
    case 'rawEni':
      return new RawEniDriver({ hostNetnsPath: opts.hostNetnsPath });
    case 'none':
      return new NoneDriver();
    default: {
      const n: never = name;
      throw new Error(`unknown driver ${String(n)}`);
    }
  }
}

export { DriverError } from './types.js';
export type { Driver, PodNetworkSpec, PodNetworkResult, TeardownSpec } from './types.js';
export { VethDriver, hostVethName, POD_GATEWAY, DEFAULT_VETH_PREFIX } from './veth.js';
export type { VethDriverOptions } from './veth.js';
export { TO_POD_RULE_PRIORITY, FROM_POD_RULE_PRIORITY, ENI_PRIMARY_IP_RULE_PRIORITY, ENI_TABLE_BASE, eniTableId } from './eniTable.js';
export type { EniLinkSpec, EniTable } from './eniTable.js';
export { IpvlanDriver, IPVLAN_MISSING, hostSlaveName } from './ipvlan.js';
export { RawEniDriver } from './rawEni.js';
export { NoneDriver } from './none.js';
export { warmThreadPool, threadsOutsideHomeNetns, netnsExists, writeSysctl, readSysctl } from './netns.js';
