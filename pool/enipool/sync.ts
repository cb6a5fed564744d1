// The ENI pool's reconcile and GC driving: the start-up restore (pod DB + cloud, restore.ts decides),
// the periodic cloud reconcile (reconcile.ts decides) and GC by pod existence. The verdicts are applied
// without awaiting in between, so no allocation or worker interleaves with them.

import type { PoolCloud } from '../cloud.js';
import type { Clock } from '../clock.js';
import { errorCode } from '../backoff.js';
import { classifyEni, ourTags } from '../ownership.js';
import { allocationOf, type StoreOp } from '../store.js';
import { PoolError, type IpAllocation, type OwnerCheck } from '../types.js';
import type { EniBooks } from './books.js';
import type { EniCloudOps } from './cloudOps.js';
import type { EniPoolConfig } from './config.js';
import type { EniPoolEvent, EniPoolLogger } from './events.js';
import { secondaryEniQuota } from '../capacity.js';
import type { EniSlot } from './planner.js';
import { eniRecord, ipRecord, type EniInfo } from './records.js';
import { ipv6Info, otherModeRows, planEniRestore } from './restore.js';
import { planEniReconcile, type EniReconcilePlan } from './reconcile.js';

export interface EniSyncDeps {
  cloud: PoolCloud;
  books: EniBooks;
  ops: EniCloudOps;
  instanceId: string;
  vSwitchIds: string[];
  config: EniPoolConfig;
  clock: Clock;
  log: EniPoolLogger;
  onEvent: (e: EniPoolEvent) => void;
  ownerCheck?: OwnerCheck;
  beforeRelease?: (alloc: IpAllocation, why: 'gc') => Promise<void>;
  release(podKey: string): Promise<unknown>;
  tick(): void;
  stopping(): boolean;
}

export class EniSync {
  /** ECS EniQuantity (primary included), known after restore(). */
  /** The instance type's EniQuantity (primary included). */
  quota = 0;
  /** Secondary ENIs attached here that are not ours (they hold quota slots). */
  foreign = 0;
  /** ENIs for pods on this node (quota − primary − foreign secondary ENIs, capped by max_eni). */
  capacity = 0;

  constructor(private readonly d: EniSyncDeps) {}

  /**
   * Start-up: rebuilds the books from the pod DB and the cloud (see restore.ts), commits the result,
   * then finishes interrupted attaches and deletes leftovers. Throws when the DB holds another mode's state.
   */
  async restore(eniQuantity: () => Promise<number>): Promise<void> {
    const { books, ops, cloud, instanceId, log } = this.d;
    const snap = books.store.load();
    const other = otherModeRows(snap);
    if (other) {
      // Another mode's rows: this pool would misread them. The node must be drained before switching mode.
      throw new PoolError(
        'Internal',
        `pod DB holds state of another daemon_mode (${other.pods} pods, ${other.multiIpEnis} multi-IP ENIs): drain the node and remove the DB before switching to VPCENI`,
        { retryable: false },
      );
    }
    const quota = await eniQuantity();
    const [attached, available] = await Promise.all([
      cloud.describeNetworkInterfaces({ instanceId }),
      cloud.describeNetworkInterfaces({ status: 'Available', tags: ourTags(instanceId) }),
    ]);
    const ours = attached.filter((e) => classifyEni(e, instanceId) === 'ours');
    await ops.loadVSwitchFacts([...ours.map((e) => e.vSwitchId), ...this.d.vSwitchIds]);

    const now = this.d.clock.now();
    const r = planEniRestore({
      instanceId,
      snapshot: snap,
      attached,
      available,
      vSwitchFacts: (id) => books.vSwitches.get(id),
      now,
      dual: this.d.config.ipStack === 'dual',
    });
    for (const e of r.unknownVSwitch)
      log.warn({ eniId: e.eniId, vSwitchId: e.vSwitchId }, 'vSwitch of an attached ENI unknown: ENI left alone');
    for (const e of r.adopted) log.info({ eniId: e.eniId, mac: e.mac }, 'adopted an attached ENI tagged as ours');
    for (const id of r.noIpv6) log.warn({ eniId: id }, 'idle ENI without an IPv6 address in dual stack: released to be replaced');
    for (const d of r.dropped) log.warn({ eniId: d.eniId, podKey: d.podKey }, 'stored ENI is no longer attached to this instance: dropped');
    books.write(r.ops);
    this.quota = quota;
    this.foreign = r.foreign;
    this.capacity = secondaryEniQuota(quota, this.d.config, r.foreign);
    for (const p of snap.pods) books.pods.set(p.podKey, p);
    for (const { info, slot } of r.held) {
      books.enis.set(info.eniId, info);
      books.slots.set(info.eniId, slot);
    }
    // A detach under way: give it the back-off's time to land before the ticker tries again.
    for (const id of r.detaching) ops.deferRelease(id, 'Detaching');
    log.info(
      {
        capacity: this.capacity,
        eniQuantity: quota,
        foreignEnis: r.foreign,
        enis: books.slots.size,
        pods: books.pods.size,
        leftovers: r.toDelete.length,
      },
      'ENI pool started',
    );
    for (const id of r.toAttach) ops.finishAttach(id);
    for (const id of r.toDelete) ops.deleteLeftover(id);
  }

  /** One reconcile with the cloud: drop what left behind our back, adopt ours, delete detached leftovers. Rejects when the cloud cannot be read. */
  async reconcileOnce(): Promise<void> {
    const { books, ops, cloud, instanceId } = this.d;
    const seqBefore = ops.workers.snapshot();
    const createSeqBefore = ops.createSeq;
    const creatingBefore = ops.creating;
    const [attached, available] = await Promise.all([
      cloud.describeNetworkInterfaces({ instanceId }),
      cloud.describeNetworkInterfaces({ status: 'Available', tags: ourTags(instanceId) }),
    ]);
    const unknownOurs = attached.filter(
      (e) => e.instanceId === instanceId && classifyEni(e, instanceId) === 'ours' && !books.enis.has(e.eniId),
    );
    await ops
      .loadVSwitchFacts(unknownOurs.map((e) => e.vSwitchId))
      .catch((err: Error) => this.d.log.warn({ err: err.message }, 'DescribeVSwitches failed: unknown ENIs are not adopted this round'));
    if (this.d.stopping()) return;
    // From here on nothing awaits: no allocation or worker interleaves with applying the verdict.
    const now = this.d.clock.now();
    ops.recentlyRemoved.prune(now);
    ops.recentlyAdded.prune(now);
    const plan = planEniReconcile({
      instanceId,
      known: [...books.slots.values()].map((s) => ({
        eniId: s.eniId,
        state: s.state,
        changed: ops.workers.changedSince(seqBefore, s.eniId),
      })),
      holders: new Map([...books.pods.values()].map((p) => [p.eniId, p.podKey] as const)),
      attached,
      available,
      isOurs: (e) => classifyEni(e, instanceId) === 'ours',
      recentlyRemoved: (id) => ops.recentlyRemoved.has(id),
      recentlyAdded: (id) => ops.recentlyAdded.has(id),
      vSwitchKnown: (id) => books.vSwitches.has(id),
      createsQuiet: creatingBefore === 0 && ops.creating === 0 && ops.createSeq === createSeqBefore,
    });
    this.apply(plan, now);
  }

  /**
   * GC by pod existence: allocations older than gcGraceMs whose pod the owner check reports gone are
   * unwired first (beforeRelease) and only then released; a failed unwire keeps the ENI assigned and
   * raises a Warning. Resolves to the released pod keys.
   */
  async collectGone(): Promise<string[]> {
    const { books, log, onEvent } = this.d;
    const released: string[] = [];
    const check = this.d.ownerCheck;
    if (!check) return released;
    const now = this.d.clock.now();
    const old = [...books.pods.values()].filter((p) => now - p.allocatedAt >= this.d.config.gcGraceMs).map((p) => allocationOf(p));
    const gone = old.length > 0 ? await check.goneOwners(old) : [];
    for (const a of gone) {
      if (this.d.stopping()) break;
      if (!books.holds(a)) continue; // a DEL got there first
      if (this.d.beforeRelease) {
        try {
          await this.d.beforeRelease(a, 'gc');
        } catch (err) {
          log.warn(
            { err: (err as Error).message, podKey: a.podKey, eniId: a.eniId },
            'GC: unwiring a gone pod failed; its ENI stays assigned until the next GC',
          );
          onEvent({
            type: 'Warning',
            reason: 'GCReleaseFailed',
            message: `kept ENI ${a.eniId} of gone pod ${a.namespace}/${a.name}: teardown failed: ${(err as Error).message}`,
            eniId: a.eniId,
            podKey: a.podKey,
            pod: { namespace: a.namespace, name: a.name },
          });
          continue;
        }
        if (!books.holds(a)) continue; // released or re-allocated while the hook ran
      }
      await this.d.release(a.podKey);
      released.push(a.podKey);
      log.info({ podKey: a.podKey, eniId: a.eniId, pod: `${a.namespace}/${a.name}` }, 'GC: released the ENI of a gone pod');
      onEvent({
        type: 'Normal',
        reason: 'GCReleasedENI',
        message: `released ENI ${a.eniId} (${a.ip}) of gone pod ${a.namespace}/${a.name}`,
        eniId: a.eniId,
        podKey: a.podKey,
      });
    }
    return released;
  }

  /** Logs why a reconcile failed (GC goes on; the next GC retries). */
  reportFailure(err: unknown): void {
    this.d.log.warn({ err: (err as Error).message, code: errorCode(err) }, 'cloud reconcile failed; retried at the next GC');
    this.d.onEvent({ type: 'Warning', reason: 'ReconcileFailed', message: `ENI reconcile failed: ${(err as Error).message}` });
  }

  private apply(plan: EniReconcilePlan, now: number): void {
    const { books, ops, log, onEvent } = this.d;
    const writes: StoreOp[] = [];
    const adopted: { info: EniInfo; slot: EniSlot; podKey?: string }[] = [];
    for (const d of plan.drop) writes.push({ op: 'deleteEni', eniId: d.eniId }); // the pod row, if any, stays
    for (const a of plan.adopt) {
      const facts = books.vSwitches.get(a.eni.vSwitchId)!;
      const info: EniInfo = {
        eniId: a.eni.eniId,
        mac: a.eni.mac,
        primaryIp: a.eni.primaryIp,
        vSwitchId: a.eni.vSwitchId,
        vSwitchCidr: facts.cidr,
        gateway: facts.gateway,
        createdAt: now,
        ...ipv6Info(a.eni, facts, undefined),
      };
      const holder = a.podKey ? books.pods.get(a.podKey) : undefined;
      // Dual stack: an idle ENI without an IPv6 address cannot serve a pod; it is released (and replaced).
      const idle: EniSlot['state'] = this.d.config.ipStack === 'dual' && !info.ipv6 ? 'releasing' : 'free';
      const slot: EniSlot = holder
        ? { eniId: info.eniId, state: 'assigned', since: holder.allocatedAt }
        : { eniId: info.eniId, state: idle, since: now };
      adopted.push({ info, slot, podKey: holder?.podKey });
      writes.push(
        { op: 'putEni', eni: eniRecord(info, slot.state === 'releasing' ? 'deleting' : 'inuse') },
        { op: 'putIp', ip: ipRecord(info, slot, holder?.podKey) },
      );
    }
    if (writes.length > 0) books.write(writes); // committed before memory changes
    for (const d of plan.drop) {
      books.forget(d.eniId);
      const where = d.cloudStatus ? `is ${d.cloudStatus}` : 'is no longer attached to this instance';
      const holder = d.podKey ? books.pods.get(d.podKey) : undefined;
      if (holder) {
        log.error(
          { eniId: d.eniId, podKey: holder.podKey, cloudStatus: d.cloudStatus },
          'ENI of a live pod detached / deleted behind our back: pod record kept and flagged',
        );
        onEvent({
          type: 'Warning',
          reason: 'EniMissing',
          message: `ENI ${d.eniId} of pod ${holder.namespace}/${holder.name} ${where}: the pod has lost its network; the ENI will not be handed out`,
          eniId: d.eniId,
          podKey: holder.podKey,
          pod: { namespace: holder.namespace, name: holder.name },
        });
      } else {
        log.warn({ eniId: d.eniId, cloudStatus: d.cloudStatus }, 'idle ENI detached / deleted behind our back: dropped from the pool');
        onEvent({ type: 'Warning', reason: 'EniDropped', message: `idle ENI ${d.eniId} ${where}: dropped from the pool`, eniId: d.eniId });
      }
    }
    for (const { info, slot, podKey } of adopted) {
      books.enis.set(info.eniId, info);
      books.slots.set(info.eniId, slot);
      log.info(
        { eniId: info.eniId, mac: info.mac, podKey },
        podKey ? 'ENI of a flagged pod is attached again: restored to it' : 'adopted an attached ENI tagged as ours',
      );
      onEvent({
        type: 'Normal',
        reason: 'AdoptENI',
        message: podKey ? `ENI ${info.eniId} is back and stays with ${podKey}` : `adopted ENI ${info.eniId}`,
        eniId: info.eniId,
      });
    }
    this.foreign = plan.foreign;
    const cap = secondaryEniQuota(this.quota, this.d.config, plan.foreign);
    if (cap !== this.capacity) {
      log.info(
        { from: this.capacity, to: cap, foreignEnis: plan.foreign },
        'ENI capacity changed (secondary ENIs not ours attached / detached)',
      );
      this.capacity = cap;
    }
    for (const id of plan.deleteLeftovers) ops.deleteLeftover(id);
    if (plan.drop.length + plan.adopt.length + plan.deleteLeftovers.length > 0) {
      log.info(
        { dropped: plan.drop.length, adopted: plan.adopt.length, leftovers: plan.deleteLeftovers.length, skipped: plan.skipped.length },
        'ENI reconcile',
      );
    }
    this.d.tick();
  }
}
