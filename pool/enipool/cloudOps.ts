// The ENI pool's cloud executor: creates and attaches warm ENIs, detaches and deletes the ones that
// leave, one operation at a time per ENI (EniWorkers), and writes the back-offs after failures with the
// shared rules (pool/backoff.ts). Every outcome is committed through the books.

import { randomUUID } from 'node:crypto';
import { CloudError, CloudErrorCodes, type Eni, type PoolCloud } from '../cloud.js';
import type { Clock } from '../clock.js';
import {
  EXHAUSTION_CODES,
  backoffFor,
  creationBlocker,
  deferEni,
  errorCode,
  isActive,
  noBackoffs,
  pickVSwitch,
  recordFailure,
  type Backoffs,
} from '../backoff.js';
import { EniWorkers } from '../eniWorkers.js';
import { RecentlyAdded, RecentlyRemoved } from '../recentlyRemoved.js';
import { PoolError } from '../types.js';
import type { EniBooks } from './books.js';
import type { EniPoolConfig } from './config.js';
import type { EniPoolEvent, EniPoolLogger } from './events.js';
import { releaseSteps, type EniSlot } from './planner.js';
import { eniRecord, ipRecord, type EniInfo } from './records.js';

export interface EniCloudOpsDeps {
  cloud: PoolCloud;
  books: EniBooks;
  instanceId: string;
  vSwitchIds: string[];
  securityGroupIds: string[];
  /** Tags for the ENIs this pool creates. */
  tags: Record<string, string>;
  config: EniPoolConfig;
  clock: Clock;
  log: EniPoolLogger;
  onEvent: (e: EniPoolEvent) => void;
  random?: () => number;
  /** A warm ENI is ready: serve waiting requests. */
  drain(): void;
  /** Plan again (watermarks, retries). */
  tick(): void;
  /** Nothing can be created now (exhaustion): fail every waiting request. */
  failWaiters(err: () => PoolError): void;
}

export class EniCloudOps {
  readonly workers: EniWorkers;
  /** ENIs released / deleted by us: a listing of one within the reconcile cooldown is taken as stale. */
  readonly recentlyRemoved = new RecentlyRemoved();
  /** ENIs attached by us: a listing that does not show one InUse within the reconcile cooldown is taken as stale. */
  readonly recentlyAdded = new RecentlyAdded();
  backoffs: Backoffs = noBackoffs();
  /** The last create / attach failed with this (cleared by the next attach that works). */
  lastFailure?: { code: string; message: string };
  /** Create + attach calls under way whose ENI id is not known yet. */
  creating = 0;
  /** Bumped at every create start: a reconcile that saw it change leaves Available ENIs alone. */
  createSeq = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly d: EniCloudOpsDeps) {
    this.workers = new EniWorkers((err, eniId) => this.d.log.error({ err: (err as Error).message, eniId }, 'ENI worker failed'));
  }

  /** Tracks cloud work so idle() / stop() can wait for it. */
  track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once no create / attach / delete is under way. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs `fn` on the ENI's worker, tracked. */
  runOn(eniId: string, fn: () => Promise<void>): void {
    this.track(this.workers.run(eniId, fn));
  }

  /** CreateNetworkInterface + AttachNetworkInterface of one more warm ENI. */
  startCreate(): void {
    this.creating++;
    this.createSeq++;
    let placeholder = true;
    // The placeholder counts as an attaching ENI until the real one has a slot.
    const dropPlaceholder = (): void => {
      if (placeholder) this.creating--;
      placeholder = false;
    };
    const p = this.createOne(dropPlaceholder).finally(dropPlaceholder);
    this.track(p.then(() => this.d.tick()));
  }

  /** Start-up: an ENI found Attaching to this instance. */
  finishAttach(eniId: string): void {
    this.runOn(eniId, async () => {
      try {
        await this.attachAndFree(eniId);
      } catch (err) {
        this.onCreateFailure(err, this.d.books.enis.get(eniId)?.vSwitchId, undefined);
        this.abandon(eniId);
      }
    });
  }

  /** Detach (when attached) and delete an ENI whose slot is `releasing`, unless that is under way. */
  startRelease(eniId: string): void {
    if (this.workers.busy(eniId)) return;
    this.runOn(eniId, () => this.detachAndDelete(eniId));
  }

  /** The next try to take this ENI out waits the back-off (`code`: why). */
  deferRelease(eniId: string, code: string): void {
    this.backoffs = deferEni(this.backoffs, eniId, code, this.d.clock.now(), this.d.config.backoff);
  }

  /** Delete a detached ENI of ours the pool does not hold (a leftover), unless work on it is under way. */
  deleteLeftover(eniId: string): void {
    if (this.workers.busy(eniId)) return;
    this.runOn(eniId, () => this.deleteDetached(eniId));
  }

  loadVSwitchFacts(ids: string[]): Promise<void> {
    return this.d.books.vSwitches.load(this.d.cloud, ids);
  }

  /**
   * Reads the vSwitches' free-IP counts when older than Terway's cache TTL; one known to be empty is paused as
   * after InvalidVSwitchId.IpNotEnough (Terway blocks it the same way). A failed read keeps what is known.
   */
  private async refreshVSwitchFree(): Promise<void> {
    const { books, clock } = this.d;
    try {
      await books.vSwitches.refresh(this.d.cloud, this.d.vSwitchIds, clock.now());
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message }, 'DescribeVSwitches failed; vSwitch free-IP counts unknown');
      return;
    }
    const free = books.vSwitches.freeIps();
    for (const id of this.d.vSwitchIds) {
      if (free[id] !== 0 || isActive(this.backoffs.vSwitches[id], clock.now())) continue;
      const err = new CloudError({
        api: 'DescribeVSwitches',
        code: CloudErrorCodes.VSwitchIpNotEnough,
        message: `vSwitch ${id} has no free IP (AvailableIpAddressCount 0)`,
        retryable: false,
      });
      this.onCreateFailure(err, id, undefined);
    }
  }

  private async createOne(dropPlaceholder: () => void): Promise<void> {
    const { books, clock } = this.d;
    await this.refreshVSwitchFree();
    const vSwitchId = pickVSwitch(this.d.vSwitchIds, this.backoffs.vSwitches, clock.now(), {
      random: this.d.config.vSwitchSelectionPolicy === 'random' ? (this.d.random ?? Math.random) : undefined,
      free: this.d.books.vSwitches.freeIps(),
    });
    if (!vSwitchId) return;
    let eni: Eni | undefined;
    try {
      eni = await this.d.cloud.createNetworkInterface({
        vSwitchId,
        securityGroupIds: this.d.securityGroupIds,
        description: `eni-ipam VPCENI ${this.d.instanceId}`,
        tags: this.d.tags,
        clientToken: randomUUID(),
        // Dual stack: the pod's IPv6 address comes with the ENI (Ipv6AddressCount 1), as Terway's exclusive ENI.
        ...(this.dual ? { ipv6Count: 1 } : {}),
      });
      await this.loadVSwitchFacts([vSwitchId]);
      const facts = books.vSwitches.get(vSwitchId);
      if (!facts) throw new PoolError('Internal', `vSwitch ${vSwitchId}: CIDR unknown`);
      const info: EniInfo = {
        eniId: eni.eniId,
        mac: eni.mac,
        primaryIp: eni.primaryIp,
        vSwitchId,
        vSwitchCidr: facts.cidr,
        gateway: facts.gateway,
        createdAt: clock.now(),
        ...(this.dual ? await this.ipv6Of(eni, facts.ipv6Cidr) : {}),
      };
      // Recorded before the attach: a crash leaves a row that start-up reconciles.
      books.enis.set(info.eniId, info);
      books.slots.set(info.eniId, { eniId: info.eniId, state: 'attaching', since: clock.now() });
      dropPlaceholder();
      books.write([{ op: 'putEni', eni: eniRecord(info, 'attaching') }]);
      const id = info.eniId;
      let failed: unknown;
      await this.workers.run(id, async () => {
        try {
          await this.attachAndFree(id);
        } catch (e) {
          failed = e;
        }
      });
      if (failed) throw failed;
    } catch (err) {
      this.onCreateFailure(err, vSwitchId, eni);
      // Created but never recorded (its vSwitch facts could not be read): nothing else knows it, delete it now.
      if (eni && !books.enis.has(eni.eniId)) {
        const id = eni.eniId;
        this.runOn(id, () => this.deleteDetached(id));
      }
    }
  }

  /**
   * Dual stack: the new ENI's IPv6 address (one AssignIpv6Addresses when the create did not bring one) and its
   * vSwitch's IPv6 block. A failure is a create failure: the ENI is deleted, no IPv4-only ENI enters a dual pool.
   */
  private async ipv6Of(eni: Eni, vSwitchIpv6Cidr: string | undefined): Promise<Pick<EniInfo, 'ipv6' | 'vSwitchIpv6Cidr'>> {
    const ipv6 = eni.ipv6s[0] ?? (await this.d.cloud.assignIpv6Addresses(eni.eniId, 1))[0];
    if (!ipv6) throw new PoolError('Internal', `ENI ${eni.eniId}: AssignIpv6Addresses returned no address`);
    return { ipv6, ...(vSwitchIpv6Cidr ? { vSwitchIpv6Cidr } : {}) };
  }

  private get dual(): boolean {
    return this.d.config.ipStack === 'dual';
  }

  /** Dual stack: the vSwitch's IPv6 gateway from the attached ENI's metadata, best effort (a later ENI tries again). */
  private async withIpv6Gateway(info: EniInfo): Promise<EniInfo> {
    if (!info.ipv6 || info.ipv6Gateway) return info;
    try {
      const gw = await this.d.books.vSwitches.ipv6Gateway(this.d.cloud, info.vSwitchId, info.mac);
      return gw ? { ...info, ipv6Gateway: gw } : info;
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, eniId: info.eniId }, 'reading the IPv6 gateway from the ENI metadata failed');
      return info;
    }
  }

  private async attachAndFree(eniId: string): Promise<void> {
    const { books } = this.d;
    await this.d.cloud.attachNetworkInterface(eniId, this.d.instanceId);
    const attached = books.enis.get(eniId);
    if (!attached) return;
    const info = await this.withIpv6Gateway(attached);
    const slot: EniSlot = { eniId, state: 'free', since: this.d.clock.now() };
    books.write([
      { op: 'putEni', eni: eniRecord(info, 'inuse') },
      { op: 'putIp', ip: ipRecord(info, slot) },
    ]);
    books.enis.set(eniId, info);
    books.slots.set(eniId, slot);
    this.recentlyAdded.note([eniId], this.d.clock.now() + this.d.config.reconcileCooldownMs);
    this.lastFailure = undefined;
    this.d.log.info({ eniId, mac: info.mac, ip: info.primaryIp, ipv6: info.ipv6, vSwitchId: info.vSwitchId }, 'ENI attached: warm');
    this.d.drain();
  }

  private onCreateFailure(err: unknown, vSwitchId: string | undefined, eni: Eni | undefined): void {
    const code = errorCode(err);
    const now = this.d.clock.now();
    this.backoffs = recordFailure(this.backoffs, code, { vSwitchId }, now, this.d.config.backoff);
    this.lastFailure = { code, message: (err as Error).message };
    this.d.log.warn(
      {
        err: (err as Error).message,
        code,
        vSwitchId,
        eniId: eni?.eniId,
        pausedUntil: backoffFor(code, now, this.d.config.backoff).until,
      },
      'creating / attaching an ENI failed',
    );
    this.d.onEvent({ type: 'Warning', reason: 'AllocEniFailed', message: `create/attach ENI failed: ${(err as Error).message}` });
    if (eni) this.abandon(eni.eniId);
    // Fail the waiters only when nothing can be created now (another vSwitch may still have room).
    if (EXHAUSTION_CODES.has(code) && creationBlocker(this.backoffs, this.d.vSwitchIds, now)) {
      this.d.failWaiters(
        () => new PoolError('Exhausted', `no ENI can be attached now: ${code}`, { cloudCode: code, retryable: true, cause: err }),
      );
    }
  }

  /** A created ENI that did not make it into the pool: record the intent, then detach + delete it. */
  private abandon(eniId: string): void {
    const info = this.d.books.enis.get(eniId);
    if (!info) return;
    this.d.books.slots.set(eniId, { eniId, state: 'releasing', since: this.d.clock.now() });
    this.d.books.write([{ op: 'putEni', eni: eniRecord(info, 'deleting') }]);
    this.startRelease(eniId);
  }

  /** Detach (when attached) then delete; on failure the slot stays `releasing` and is retried after the ENI's back-off. */
  private async detachAndDelete(eniId: string): Promise<void> {
    const { cloud, books, instanceId } = this.d;
    try {
      const [eni] = await cloud.describeNetworkInterfaces({ eniIds: [eniId] });
      const steps = releaseSteps(eni, instanceId);
      if (steps.detach) await cloud.detachNetworkInterface(eniId, instanceId);
      if (steps.delete) await cloud.deleteNetworkInterface(eniId);
      books.write([{ op: 'deleteEni', eniId }]);
      books.forget(eniId);
      this.markRemoved(eniId);
      this.d.log.info({ eniId }, 'ENI detached and deleted');
    } catch (err) {
      const code = errorCode(err);
      this.deferRelease(eniId, code);
      this.d.log.warn({ eniId, err: (err as Error).message, code }, 'detaching / deleting an ENI failed: retried later');
    }
  }

  /** Leftovers: ours, not attached, not held. */
  private async deleteDetached(eniId: string): Promise<void> {
    try {
      await this.d.cloud.deleteNetworkInterface(eniId);
      this.markRemoved(eniId);
      this.d.log.info({ eniId }, 'deleted a detached ENI of ours that the pool does not hold');
    } catch (err) {
      this.d.log.warn({ eniId, err: (err as Error).message }, 'deleting a leftover ENI failed (next start retries)');
    }
  }

  private markRemoved(eniId: string): void {
    this.recentlyAdded.forget([eniId]);
    this.recentlyRemoved.note([eniId], this.d.clock.now() + this.d.config.reconcileCooldownMs);
  }
}
