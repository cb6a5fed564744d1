// ENIMultiIP mode: each pod interface gets one secondary IP of a shared ENI (from the pool) and
// a driver wires it into the pod netns. Calls for one pod key run one at a time (KeyedMutex).
// VPCIP runs the same flow over a pod-CIDR allocator (ipType VPC_IP): only the allocator differs.
import type { Logger } from 'pino';
import { podKeyOf, type IpAllocation, type IpAllocator, type PodRef } from '../../pool/types.js';
import type { Driver, PodNetworkResult, PodNetworkSpec, TeardownSpec } from '../../drivers/types.js';
import { podFields } from '../log.js';
import { mapFailure } from './errors.js';
import { KeyedMutex } from './keyedMutex.js';
import { lookupAllocation, RecentKeys, refOfAllocation } from './podLookup.js';

/** Released pod keys remembered against retried DELs (the newest ones; runtimes retry within minutes). */
const RECENT_RELEASES = 4096;
import {
  ServiceError,
  type AllocOptions,
  type AllocResult,
  type GcAttachment,
  type InfoResult,
  type NetworkService,
  type ReleaseResult,
  type StatusResult,
} from './types.js';

export interface EniMultiIpDeps {
  allocator: IpAllocator;
  driver: Driver;
  mtu: number;
  logger: Logger;
  now?: () => number;
  /** Default ENI_MULTI_IP. */
  ipType?: 'ENI_MULTI_IP' | 'VPC_IP';
}

function specOf(alloc: IpAllocation, netnsPath: string, mtu: number): PodNetworkSpec {
  return {
    containerId: alloc.containerId,
    netnsPath,
    ifName: alloc.ifName,
    ip: alloc.ip,
    eniId: alloc.eniId,
    eniMac: alloc.eniMac,
    ...(alloc.eniPrimaryIp ? { eniPrimaryIp: alloc.eniPrimaryIp } : {}),
    primaryEni: alloc.primaryEni,
    vSwitchCidr: alloc.vSwitchCidr,
    gateway: alloc.gateway,
    // Dual stack: the pair's IPv6 address and the ENI's vSwitch IPv6 gateway (its table's IPv6 default route).
    ...(alloc.ipv6 ? { ipv6: alloc.ipv6, ...(alloc.ipv6Gateway ? { ipv6Gateway: alloc.ipv6Gateway } : {}) } : {}),
    mtu,
  };
}

function teardownOf(alloc: IpAllocation, netnsPath?: string): TeardownSpec {
  return {
    containerId: alloc.containerId,
    netnsPath: netnsPath || alloc.netns || undefined,
    ifName: alloc.ifName,
    ip: alloc.ip,
    ...(alloc.ipv6 ? { ipv6: alloc.ipv6 } : {}),
    eniMac: alloc.eniMac,
    primaryEni: alloc.primaryEni,
  };
}

/** The pod's addresses as the CNI result lists them: IPv4 /32, and in dual stack IPv6 /128. */
function ipsOf(alloc: IpAllocation, gateway: string, gateway6: string): AllocResult['ips'] {
  const v4 = { address: `${alloc.ip}/32`, gateway, family: 4 as const };
  return alloc.ipv6 ? [v4, { address: `${alloc.ipv6}/128`, gateway: gateway6, family: 6 as const }] : [v4];
}

export class EniMultiIpService implements NetworkService {
  readonly ipType: 'ENI_MULTI_IP' | 'VPC_IP';
  private readonly allocator: IpAllocator;
  private readonly driver: Driver;
  private readonly mtu: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly locks = new KeyedMutex();
  /** What setup returned per pod key, so a repeated ADD can answer without re-wiring. */
  private readonly wired = new Map<string, PodNetworkResult>();
  /** Pod keys released by a DEL lately: a retried DEL of one is answered "nothing to do" (podLookup.ts). */
  private readonly recentlyReleased = new RecentKeys(RECENT_RELEASES);
  private started = false;
  private stopped = false;

  constructor(deps: EniMultiIpDeps) {
    this.allocator = deps.allocator;
    this.driver = deps.driver;
    this.mtu = deps.mtu;
    this.ipType = deps.ipType ?? 'ENI_MULTI_IP';
    this.log = deps.logger.child({ mode: this.ipType === 'VPC_IP' ? 'VPCIP' : 'ENIMultiIP' });
    this.now = deps.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.allocator.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.started) await this.allocator.stop();
    // Drivers that finish deletes in the background (veth) complete them before the process exits;
    // one cut short is repaired by the start-up reconcile.
    const settle = (this.driver as Driver & { settle?: () => Promise<void> }).settle;
    if (settle) {
      await settle
        .call(this.driver)
        .catch((e: Error) => this.log.warn({ err: e.message }, 'background driver cleanup failed; start-up reconcile will repair it'));
    }
  }

  allocIp(pod: PodRef, opts: AllocOptions): Promise<AllocResult> {
    const key = podKeyOf(pod);
    return this.locks.run(key, async () => {
      if (this.stopped) throw new ServiceError('SHUTTING_DOWN', 'daemon is shutting down');
      const log = this.log.child(podFields({ ...pod, podKey: key }));
      const existed = this.allocator.get(key) !== undefined;
      const alloc = await this.allocator.allocate(pod, { deadlineMs: opts.deadlineMs });
      const netns = pod.netns || alloc.netns;
      const spec = specOf(alloc, netns, opts.mtu ?? this.mtu);
      const cached = this.wired.get(key);
      if (existed && cached) {
        // Repeated ADD: answer from the first one while the netns still has its wiring.
        try {
          await this.driver.check(spec);
          log.info({ eniId: alloc.eniId, ip: alloc.ip }, 'AllocIP repeated: already wired');
          return this.reply(alloc, cached);
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'AllocIP repeated: wiring is gone, re-wiring');
        }
      }
      if (existed) await this.teardownQuietly(teardownOf(alloc, netns), log);
      let result: PodNetworkResult;
      try {
        result = await this.driver.setup(spec);
      } catch (e) {
        this.wired.delete(key);
        const f = mapFailure(e);
        if (!(await this.teardownQuietly(teardownOf(alloc, netns), log))) {
          // As in ReleaseIP: an IP whose partial wiring may remain is not handed to another pod; the
          // runtime's DEL after the failed ADD (or GC) retries the teardown and then releases it.
          log.warn({ eniId: alloc.eniId, ip: alloc.ip, err: f.message }, 'driver setup failed and so did its teardown; IP kept until DEL');
          throw new ServiceError(
            'DRIVER_FAILED',
            `${this.driver.name} driver: ${f.message} (cleanup failed too: IP ${alloc.ip} kept until DEL)`,
            { cause: e },
          );
        }
        try {
          await this.allocator.release(key);
        } catch (re) {
          log.error({ err: (re as Error).message, ip: alloc.ip }, 'releasing the allocation after a driver failure failed');
        }
        log.warn({ eniId: alloc.eniId, ip: alloc.ip, err: f.message }, 'driver setup failed; allocation released');
        throw new ServiceError('DRIVER_FAILED', `${this.driver.name} driver: ${f.message}`, { cause: e });
      }
      const still = this.allocator.get(key);
      if (!still || still.ip !== alloc.ip || still.allocatedAt !== alloc.allocatedAt) {
        // Pool GC released it while we wired (its hook ran before this ADD took the lock): do not
        // leave a pod wired to an IP the pool may hand to another pod.
        this.wired.delete(key);
        await this.teardownQuietly(teardownOf(alloc, netns), log);
        log.warn({ eniId: alloc.eniId, ip: alloc.ip }, 'allocation released by GC during setup; wiring removed');
        throw new ServiceError('INTERNAL', `allocation of ${alloc.ip} was released by GC during setup; retry`);
      }
      this.wired.set(key, result);
      log.info({ eniId: alloc.eniId, ip: alloc.ip }, 'AllocIP done');
      return this.reply(alloc, result);
    });
  }

  /**
   * The pod ref of the allocation a DEL names: its own key, or, when the conflist's network name changed since
   * ADD, the one allocation of that container id and interface (podLookup.ts). Not for a key this daemon just
   * released (a retried DEL): that must not reach an allocation of the same interface on another network.
   */
  private resolveForRelease(pod: PodRef): PodRef {
    if (this.recentlyReleased.has(podKeyOf(pod))) return pod;
    const found = lookupAllocation(this.allocator, pod);
    if (found.kind === 'renamed')
      this.log.info(
        { ...podFields(pod), networkName: pod.networkName, allocatedUnder: found.alloc.networkName },
        'network name changed since ADD: found the allocation by container id and interface',
      );
    else if (found.kind === 'ambiguous')
      this.log.warn(
        { ...podFields(pod), podKeys: found.allocs.map((a) => a.podKey) },
        'several allocations of this container id and interface under other network names: none picked (GC settles them)',
      );
    return refOfAllocation(pod, found);
  }

  releaseIp(asked: PodRef, reason: string): Promise<ReleaseResult> {
    const pod = this.resolveForRelease(asked);
    const key = podKeyOf(pod);
    return this.locks.run(key, async () => {
      const log = this.log.child(podFields({ ...pod, podKey: key }));
      const alloc = this.allocator.get(key);
      if (!alloc) {
        // Nothing in our books; still remove any wiring a crashed ADD may have left.
        await this.teardownQuietly({ containerId: pod.containerId, netnsPath: pod.netns || undefined, ifName: pod.ifName }, log);
        this.wired.delete(key);
        log.info({ reason }, 'ReleaseIP: no allocation, nothing to do');
        return { releasedIp: '' };
      }
      try {
        await this.driver.teardown(teardownOf(alloc, pod.netns));
      } catch (e) {
        // Keep the IP: handing it out while its old routes remain would misroute the next pod.
        const f = mapFailure(e);
        log.warn({ eniId: alloc.eniId, ip: alloc.ip, err: f.message }, 'ReleaseIP: teardown failed; IP kept');
        throw new ServiceError('DRIVER_FAILED', `teardown failed, IP ${alloc.ip} kept until a retry succeeds: ${f.message}`, { cause: e });
      }
      const released = await this.allocator.release(key);
      this.wired.delete(key);
      this.recentlyReleased.add(key);
      log.info({ eniId: alloc.eniId, ip: alloc.ip, reason }, 'ReleaseIP done');
      return { releasedIp: released?.ip ?? alloc.ip };
    });
  }

  /**
   * Pool GC hook (beforeRelease): the owner of `alloc` is gone; tear its wiring down and forget the cached
   * reply, under the pod key's lock so no ADD/DEL of that key runs meanwhile. Throws when teardown fails
   * (the pool then keeps the IP). Nothing to do when the key was released or re-allocated meanwhile.
   */
  teardownGone(alloc: IpAllocation): Promise<void> {
    return this.locks.run(alloc.podKey, async () => {
      const cur = this.allocator.get(alloc.podKey);
      if (!cur || cur.allocatedAt !== alloc.allocatedAt || cur.ip !== alloc.ip) return;
      await this.driver.teardown(teardownOf(cur));
      this.wired.delete(alloc.podKey);
      this.log.info({ ...podFields(alloc), eniId: alloc.eniId, ip: alloc.ip }, 'GC: gone pod unwired');
    });
  }

  async getIpInfo(pod: PodRef): Promise<InfoResult> {
    const alloc = this.allocator.get(podKeyOf(pod));
    if (!alloc) return { found: false, ipType: this.ipType, ips: [], eniId: '', eniMac: '', netns: '' };
    return {
      found: true,
      ipType: this.ipType,
      ips: ipsOf(alloc, alloc.gateway, alloc.ipv6Gateway ?? ''),
      eniId: alloc.eniId,
      eniMac: alloc.eniMac,
      netns: alloc.netns,
    };
  }

  checkIp(pod: PodRef): Promise<void> {
    const key = podKeyOf(pod);
    return this.locks.run(key, async () => {
      const alloc = this.allocator.get(key);
      if (!alloc) throw new ServiceError('NOT_FOUND', `no allocation for pod key ${key}`);
      try {
        await this.driver.check(specOf(alloc, pod.netns || alloc.netns, this.mtu));
      } catch (e) {
        throw new ServiceError('CHECK_FAILED', mapFailure(e).message, { cause: e });
      }
    });
  }

  async gc(networkName: string, valid: GcAttachment[]): Promise<string[]> {
    const before = new Map(this.allocator.list().map((a) => [a.podKey, a] as const));
    const keep = new Set(valid.map((a) => podKeyOf({ containerId: a.containerId, ifName: a.ifName, networkName })));
    // GC is per network: other networks' allocations are not ours to judge here.
    for (const a of before.values()) if (a.networkName !== networkName) keep.add(a.podKey);
    const released = await this.allocator.gcExcept(keep);
    // Teardown after the release: the IP sits in cool-down, and the pool's GC grace decides
    // what is really stale (a young allocation it keeps must not lose its wiring).
    for (const key of released) {
      await this.locks.run(key, async () => {
        this.wired.delete(key);
        const alloc = before.get(key);
        if (!alloc || this.allocator.get(key)) return; // re-allocated meanwhile: its wiring is live
        await this.teardownQuietly(teardownOf(alloc), this.log.child(podFields(alloc)));
      });
    }
    if (released.length > 0) this.log.info({ networkName, released }, 'GC released stale allocations');
    return released;
  }

  status(): StatusResult {
    const s = this.allocator.stats();
    const base = { ipType: this.ipType, freeIps: s.free, totalIps: s.total };
    if (this.stopped) return { ...base, ready: false, message: 'daemon is shutting down' };
    if (!this.started) return { ...base, ready: false, message: 'pool is starting' };
    const backingOff = s.backoffUntil !== undefined && s.backoffUntil > this.now();
    if (backingOff && s.free === 0) {
      const left = Math.ceil((s.backoffUntil! - this.now()) / 1000);
      return { ...base, ready: false, message: `no free IP and allocation paused for ${left}s: ${s.backoffReason ?? 'backoff'}` };
    }
    return { ...base, ready: true, message: `${s.free} free of ${s.total} IPs` };
  }

  private reply(alloc: IpAllocation, wired: PodNetworkResult): AllocResult {
    const gateway = wired.podGateway || alloc.gateway;
    const gateway6 = wired.podGatewayV6 || alloc.ipv6Gateway || '';
    return {
      ipType: this.ipType,
      ips: ipsOf(alloc, gateway, gateway6),
      routes: [{ dst: '0.0.0.0/0', gw: gateway }, ...(alloc.ipv6 ? [{ dst: '::/0', gw: gateway6 }] : [])],
      interface: { name: alloc.ifName, mac: wired.podIfMac, hostIfName: wired.hostIfName ?? '', hostIfMac: wired.hostIfMac ?? '' },
      eniId: alloc.eniId,
      eniMac: alloc.eniMac,
      vSwitchId: alloc.vSwitchId,
    };
  }

  /** Tears down, logging a failure instead of throwing; says whether it succeeded. */
  private async teardownQuietly(spec: TeardownSpec, log: Logger): Promise<boolean> {
    try {
      await this.driver.teardown(spec);
      return true;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'teardown failed');
      return false;
    }
  }
}
