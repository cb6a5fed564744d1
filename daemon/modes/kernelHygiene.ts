// Keeps the kernel in step with the pool so nothing leaks (docs/ARCHITECTURE.md, "State and crash safety"):
// - pool GC of a gone pod first unwires it (beforeRelease → the service's teardownGone, under the
//   pod key's lock); a failed teardown keeps the IP;
// - an ENI leaving the node loses its table, rules and primary IP (onEniRemoved → driver.removeEniTable);
// - at start-up, host wiring no live allocation owns is removed (driver.reconcile), and allocations
//   of pods deleted while the daemon was down (their DEL never reached us) are released (driver.orphaned).
// The pool is built before the driver and the service, so the hooks are bound afterwards (bind()).
import type { Logger } from 'pino';
import type { RemovedEni } from '../../pool/eniMultiIpPool.js';
import type { IpAllocation } from '../../pool/types.js';
import type { Driver } from '../../drivers/types.js';

export interface KernelHygieneBinding {
  driver: Driver;
  /** Releases one allocation through the pod service (lock, teardown, pool release); ReleaseIP's path. */
  release?: (alloc: IpAllocation, reason: string) => Promise<unknown>;
  /** Unwires a gone pod under its pod key's lock (EniMultiIpService.teardownGone); throws when teardown fails. */
  teardownGone?: (alloc: IpAllocation) => Promise<void>;
}

export class KernelHygiene {
  private bound?: KernelHygieneBinding;

  constructor(private readonly log: Logger) {}

  bind(b: KernelHygieneBinding): void {
    this.bound = b;
  }

  /** Pool option `beforeRelease`. Unbound (no service yet): throws, so the pool keeps the IP for the next GC. */
  readonly beforeRelease = async (alloc: IpAllocation, why: 'gc'): Promise<void> => {
    const gone = this.bound?.teardownGone;
    if (!gone) throw new Error(`no pod service to unwire ${alloc.podKey} (${why})`);
    await gone(alloc);
  };

  /** Pool option `onEniRemoved`: drivers with per-ENI tables drop the ENI's table, rules and primary IP. */
  readonly onEniRemoved = async (eni: RemovedEni): Promise<void> => {
    const driver = this.bound?.driver;
    if (!driver?.removeEniTable) return;
    await driver.removeEniTable({ mac: eni.mac, primaryIp: eni.primaryIp, vSwitchCidr: eni.vSwitchCidr });
    this.log.info({ eniId: eni.eniId, mac: eni.mac }, 'ENI table removed');
  };

  /**
   * Start-up repair: removes host wiring no live allocation owns. Run after the allocator has loaded
   * its allocations and before the first CNI call. Failures are logged, never fatal: a leftover veth
   * is a leak, not a reason to stop serving.
   */
  /**
   * Start-up repair of DELs the daemon never saw: a DEL while it was down exits 0 in the plugin, and the
   * pod's netns and veth are gone by now. Releases those allocations; keeps everything when unsure.
   */
  async releaseOrphans(live: IpAllocation[]): Promise<string[]> {
    const driver = this.bound?.driver;
    const release = this.bound?.release;
    if (!driver?.orphaned || !release || live.length === 0) return [];
    const released: string[] = [];
    try {
      const gone = await driver.orphaned(live.map((a) => ({ containerId: a.containerId, ifName: a.ifName, ip: a.ip, netnsPath: a.netns })));
      const byKey = new Map(live.map((a) => [`${a.containerId}/${a.ifName}/${a.ip}`, a]));
      for (const p of gone) {
        const alloc = byKey.get(`${p.containerId}/${p.ifName}/${p.ip}`);
        if (!alloc) continue;
        await release(alloc, 'pod gone while the daemon was down');
        released.push(alloc.podKey);
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'releasing allocations of pods deleted while the daemon was down failed; GC will retry');
    }
    if (released.length > 0) this.log.warn({ released }, 'released allocations of pods deleted while the daemon was down');
    return released;
  }

  async reconcile(live: IpAllocation[]): Promise<string[]> {
    const driver = this.bound?.driver;
    if (!driver?.reconcile) return [];
    try {
      const { removed } = await driver.reconcile(
        live.map((a) => ({ containerId: a.containerId, ifName: a.ifName, ip: a.ip, ...(a.ipv6 ? { ipv6: a.ipv6 } : {}) })),
      );
      if (removed.length > 0) this.log.warn({ removed }, 'start-up kernel reconcile removed wiring no pod owns');
      else this.log.info({ live: live.length }, 'start-up kernel reconcile: nothing stale');
      return removed;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'start-up kernel reconcile failed; stale wiring may remain');
      return [];
    }
  }
}
