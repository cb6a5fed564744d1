// eni_conf keys of the mode and the pod network: daemon_mode (and VPCIP's pod_cidr), the address family,
// the service CIDR, and the driver that wires the pod netns with its plugin-side options.
import { isIP } from 'node:net';
import { parsePodCidr } from '../modes/vpcIp/podCidr.js';
import { DEFAULTS } from './defaults.js';
import { show, type Reader } from './reader.js';
import type { DaemonConfig, DaemonMode, DriverName } from './types.js';

export type DriverKeys = Pick<
  DaemonConfig,
  | 'ipStack'
  | 'serviceCidrs'
  | 'daemonMode'
  | 'podCidr'
  | 'eniipVirtualType'
  | 'mtu'
  | 'driver'
  | 'vethPrefix'
  | 'hostNetnsPath'
  | 'procSysPath'
>;

function isCidr(s: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const fam = isIP(m[1]!);
  const len = Number(m[2]);
  return (fam === 4 && len <= 32) || (fam === 6 && len <= 128);
}

function readServiceCidr(r: Reader): string[] {
  const s = r.str('service_cidr');
  if (s === undefined) return [];
  const parts = s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = parts.find((p) => !isCidr(p));
  if (bad !== undefined) {
    r.fail('service_cidr', `must be a CIDR or a comma-separated list of CIDRs (got ${show('service_cidr', s)})`);
    return [];
  }
  return parts;
}

/** The driver a mode wires with when `driver` is not set. */
function defaultDriver(mode: DaemonMode, virtualType: 'veth' | 'ipvlan'): DriverName {
  if (mode === 'VPCENI') return 'rawEni';
  if (mode === 'VPCIP') return 'veth';
  return virtualType;
}

export function readDriverKeys(r: Reader): DriverKeys {
  const serviceCidrs = readServiceCidr(r);
  const askedStack = r.oneOf('ip_stack', ['ipv4', 'dual', 'ipv6'] as const, DEFAULTS.ipStack);
  // Terway's Validate() accepts "", ipv4 and dual only: pods always keep an IPv4 address.
  if (askedStack === 'ipv6') r.fail('ip_stack', '"ipv6" alone is not supported (as in Terway): use ipv4 or dual');

  const daemonMode = r.oneOf('daemon_mode', ['ENIMultiIP', 'VPCENI', 'VPCIP'] as const, DEFAULTS.daemonMode);
  let ipStack: 'ipv4' | 'dual' = askedStack === 'dual' ? 'dual' : 'ipv4';
  if (ipStack === 'dual' && daemonMode === 'VPCIP') {
    // VPCIP routes a node's IPv4 pod CIDR through the VPC route table; there is no IPv6 pod CIDR to route.
    r.warnings.push('eni_conf.ip_stack: dual is ignored in daemon_mode VPCIP: its pods get IPv4 addresses only');
    ipStack = 'ipv4';
  }
  // Case-insensitive as Terway compares it (strings.ToLower). Terway's `datapathv2` (eBPF on veth) is wired here
  // as plain veth + policy routing: same addresses and routes, without the eBPF fast path.
  const virtualType = r.oneOfIgnoreCase('eniip_virtual_type', ['veth', 'ipvlan', 'datapathv2'] as const, DEFAULTS.eniipVirtualType);
  if (virtualType === 'datapathv2') r.warnings.push('eni_conf.eniip_virtual_type: datapathv2 (eBPF) is wired as veth + policy routing');
  const eniipVirtualType = virtualType === 'datapathv2' ? 'veth' : virtualType;
  const podCidr = r.str('pod_cidr');
  if (podCidr !== undefined) {
    try {
      parsePodCidr(podCidr);
    } catch (e) {
      r.fail('pod_cidr', `must be an IPv4 CIDR with a /8../29 prefix and no host bits: ${(e as Error).message}`);
    }
  } else if (daemonMode === 'VPCIP') {
    r.fail('pod_cidr', 'is required when daemon_mode is VPCIP (the node\'s pod CIDR, e.g. "172.20.1.0/24")');
  }
  const mtu = r.int('mtu', DEFAULTS.mtu);

  const driverOverride = r.oneOf<DriverName | ''>('driver', ['veth', 'ipvlan', 'rawEni', 'none'] as const, '');
  const driver: DriverName = driverOverride || defaultDriver(daemonMode, eniipVirtualType);
  if (driver === 'rawEni' && daemonMode !== 'VPCENI') r.fail('driver', `rawEni needs daemon_mode VPCENI (daemon_mode is ${daemonMode})`);
  if (daemonMode === 'VPCIP' && driver === 'ipvlan') r.fail('driver', 'daemon_mode VPCIP is wired with veth (or none) (got ipvlan)');
  if (daemonMode === 'VPCENI' && (driver === 'veth' || driver === 'ipvlan')) {
    r.fail('driver', `daemon_mode VPCENI moves a whole ENI into the pod: use rawEni or none (got ${driver})`);
  }
  const vethPrefix = r.str('veth_prefix');
  if (vethPrefix !== undefined && !/^[a-zA-Z][a-zA-Z0-9_-]{0,6}$/.test(vethPrefix)) {
    r.fail('veth_prefix', `must be 1-7 letters, digits, "_" or "-", starting with a letter (got ${show('veth_prefix', vethPrefix)})`);
  }
  const procSysPath = r.str('proc_sys_path');
  if (procSysPath !== undefined && !procSysPath.startsWith('/'))
    r.fail('proc_sys_path', `must be an absolute path (got ${show('proc_sys_path', procSysPath)})`);
  return {
    ipStack,
    serviceCidrs,
    daemonMode,
    podCidr,
    eniipVirtualType,
    mtu,
    driver,
    vethPrefix,
    hostNetnsPath: r.str('host_netns_path'),
    procSysPath,
  };
}
