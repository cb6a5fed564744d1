// What the daemon does with the network config keys the plugin passes along with AllocIP (Terway's
// 10-terway.conf, NetConfOptions in eni.proto): `mtu` sets the pod interface's MTU; `eniip_virtual_type` and
// `veth_prefix` cannot differ per pod (the daemon's driver wires every pod; DEL, GC and the start-up repair find
// host veths by the daemon's prefix), so a different value is logged once; every other key the plugin accepted
// without acting on it is logged once. "Once" per value and per daemon process: a log line per ADD is noise.
import type { Logger } from 'pino';
import type { DriverName } from '../config/types.js';
import type { NetConfOptionsMsg } from './messages.js';

/** Which wiring an `eniip_virtual_type` asks for (Terway's datapathv2 is veth here, see eni_conf). */
function driverOf(virtualType: string): DriverName | undefined {
  if (virtualType === 'veth' || virtualType === 'datapathv2') return 'veth';
  if (virtualType === 'ipvlan') return 'ipvlan';
  return undefined;
}

export class PluginNetConf {
  private readonly said = new Set<string>();

  constructor(
    private readonly daemon: { driver: DriverName; vethPrefix: string },
    private readonly log: Logger,
  ) {}

  /** The pod's MTU when the config sets one (undefined: the daemon's eni_conf mtu); logs what it does not act on. */
  apply(nc: NetConfOptionsMsg | null | undefined): { mtu?: number } {
    if (!nc) return {};
    const vt = nc.eniip_virtual_type;
    // Only the shared-ENI drivers are a choice between veth and ipvlan (VPCENI moves the ENI itself).
    const choosing = this.daemon.driver === 'veth' || this.daemon.driver === 'ipvlan';
    if (vt && choosing && driverOf(vt) !== this.daemon.driver) {
      this.once(
        `eniip_virtual_type=${vt}`,
        { eniipVirtualType: vt, driver: this.daemon.driver },
        `network config eniip_virtual_type ${vt}: pods are wired by this daemon's ${this.daemon.driver} driver (set eni_conf eniip_virtual_type to change it)`,
      );
    }
    if (nc.veth_prefix && nc.veth_prefix !== this.daemon.vethPrefix) {
      this.once(
        `veth_prefix=${nc.veth_prefix}`,
        { vethPrefix: nc.veth_prefix, daemonVethPrefix: this.daemon.vethPrefix },
        `network config veth_prefix ${nc.veth_prefix}: host veths are named with eni_conf veth_prefix ${this.daemon.vethPrefix}`,
      );
    }
    for (const key of nc.ignored_keys) this.once(`ignored:${key}`, { key }, `network config key ${key} accepted and ignored`);
    return nc.mtu > 0 ? { mtu: nc.mtu } : {};
  }

  private once(id: string, fields: Record<string, unknown>, msg: string): void {
    if (this.said.has(id)) return;
    this.said.add(id);
    this.log.warn(fields, msg);
  }
}
