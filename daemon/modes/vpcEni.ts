// VPCENI mode (Terway's exclusive ENI): each pod interface gets a whole ENI from the ENI pool and the
// raw ENI driver moves that ENI's link into the pod netns. The AllocIP / ReleaseIP / Check / GC flow
// is EniMultiIpService's (per-pod-key lock, driver rollback, teardown before release); this wrapper
// only changes what the reply says: ipType VPC_ENI and the pod IP with the vSwitch prefix length
// (the pod sits on the vSwitch itself), not /32. Periodic GC by pod existence runs in the ENI pool,
// which calls back into teardownGone (through KernelHygiene) before an ENI goes back.
import type { Logger } from 'pino';
import { splitIpv4Cidr } from '../../lib/ipv4.js';
import { podKeyOf, type IpAllocation, type IpAllocator, type PodRef } from '../../pool/types.js';
import { EniMultiIpService, type EniMultiIpDeps } from './eniMultiIp.js';
import type {
  AllocOptions,
  AllocResult,
  GcAttachment,
  InfoResult,
  IpConfigOut,
  NetworkService,
  ReleaseResult,
  StatusResult,
} from './types.js';

/** Terway's device-plugin resource name for exclusive ENIs. */
export const ENI_RESOURCE_NAME = 'aliyun/eni';

function prefixLenOf(cidr: string): number {
  try {
    return splitIpv4Cidr(cidr).prefix;
  } catch {
    return 32;
  }
}

export class VpcEniService implements NetworkService {
  readonly ipType = 'VPC_ENI' as const;
  private readonly inner: EniMultiIpService;
  private readonly allocator: IpAllocator;
  private readonly log: Logger;

  constructor(deps: Omit<EniMultiIpDeps, 'ipType'>) {
    this.allocator = deps.allocator;
    this.log = deps.logger.child({ mode: 'VPCENI' });
    this.inner = new EniMultiIpService({ ...deps, logger: deps.logger.child({ vpcEni: true }) });
  }

  /** The pod's IPv4 address with its vSwitch prefix (the allocation knows the vSwitch CIDR); IPv6 stays /128 (rawEni). */
  private withPrefix(pod: PodRef, ips: IpConfigOut[]): IpConfigOut[] {
    const alloc = this.allocator.get(podKeyOf(pod));
    if (!alloc) return ips;
    const len = prefixLenOf(alloc.vSwitchCidr);
    return ips.map((c) =>
      c.family === 4 && c.address.split('/')[0] === alloc.ip ? { ...c, address: `${alloc.ip}/${len}`, gateway: alloc.gateway } : c,
    );
  }

  async allocIp(pod: PodRef, opts: AllocOptions): Promise<AllocResult> {
    const r = await this.inner.allocIp(pod, opts);
    const ips = this.withPrefix(pod, r.ips);
    const gw = ips[0]?.gateway ?? '';
    // The IPv4 default via the vSwitch gateway; dual stack keeps the driver's IPv6 default.
    const v6 = r.routes.filter((rt) => rt.dst === '::/0');
    return { ...r, ipType: this.ipType, ips, routes: gw ? [{ dst: '0.0.0.0/0', gw }, ...v6] : r.routes };
  }

  releaseIp(pod: PodRef, reason: string): Promise<ReleaseResult> {
    return this.inner.releaseIp(pod, reason);
  }

  async getIpInfo(pod: PodRef): Promise<InfoResult> {
    const r = await this.inner.getIpInfo(pod);
    return { ...r, ipType: this.ipType, ips: this.withPrefix(pod, r.ips) };
  }

  checkIp(pod: PodRef): Promise<void> {
    return this.inner.checkIp(pod);
  }

  /**
   * Pool GC hook (via KernelHygiene.beforeRelease): the pod behind `alloc` is gone. Under the pod key's
   * lock the raw ENI driver moves the ENI link back to the host under its original name; throws when
   * that fails, and the pool then keeps the ENI assigned. No-op when the key was released meanwhile.
   */
  teardownGone(alloc: IpAllocation): Promise<void> {
    return this.inner.teardownGone(alloc);
  }

  /**
   * Unlike the shared-ENI modes, the link must leave the stale pod's netns BEFORE the ENI goes back to
   * the pool, or the next pod could be handed an ENI whose link is still elsewhere. So each stale
   * allocation goes through ReleaseIP (teardown, then release); one whose teardown fails is kept.
   */
  async gc(networkName: string, valid: GcAttachment[]): Promise<string[]> {
    const keep = new Set(valid.map((a) => podKeyOf({ containerId: a.containerId, ifName: a.ifName, networkName })));
    const stale = this.allocator.list().filter((a) => a.networkName === networkName && !keep.has(a.podKey));
    const released: string[] = [];
    for (const a of stale) {
      const ref: PodRef = {
        namespace: a.namespace,
        name: a.name,
        containerId: a.containerId,
        ifName: a.ifName,
        networkName: a.networkName,
        netns: a.netns,
      };
      try {
        const r = await this.inner.releaseIp(ref, 'gc');
        if (r.releasedIp) released.push(a.podKey);
      } catch (e) {
        this.log.warn({ podKey: a.podKey, eniId: a.eniId, err: (e as Error).message }, 'GC: ENI kept, teardown failed');
      }
    }
    if (released.length > 0) this.log.info({ networkName, released }, 'GC released stale ENIs');
    return released;
  }

  status(): StatusResult {
    const r = this.inner.status();
    const s = this.allocator.stats();
    return { ...r, ipType: this.ipType, message: r.ready ? `${s.free} free of ${s.total} ENIs` : r.message };
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
