// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics (tools/leaderelection):
//   - try to acquire every retryPeriod (jittered ×1.2); a lease held by someone else counts as expired only
//     when leaseDuration has passed since *this* process last saw its record change (its own clock, never the
//     holder's renewTime: clocks of two replicas need not agree);
//   - once leading, renew every retryPeriod; when no renew has succeeded for renewDeadline, leadership is
//     lost (renewDeadline < leaseDuration, so the leader gives up before anyone else may take over);
//   - every write carries the lease's resourceVersion: two candidates cannot both win one round;
//   - a graceful stop releases the lease (holder cleared, duration 1 s) so the standby takes over at once.
import { KubeError } from '../daemon/k8s/errors.js';
import type { Lease, LeaseStore } from './ports.js';

export interface LeaderElectionOptions {
  leases: LeaseStore;
  name: string;
  namespace: string;
  /** This replica (the pod name). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Wall clock (ms) and sleep; tests pass a fake one. */
  now(): number;
  sleep(ms: number): Promise<void>;
  random?: () => number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** client-go's defaults (LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s). */
export const LEASE_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

const micro = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private inFlight: Promise<boolean> | undefined;
  /** The record as last seen, and when this process saw it change. */
  private observed: { key: string; at: number } | undefined;
  private lastRenew = 0;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.leaseDurationMs = o.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = o.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = o.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs * 1.2))
      throw new RangeError('leader election needs leaseDuration > renewDeadline > retryPeriod × 1.2');
  }

  /** True while this replica holds the lease and has renewed it within renewDeadline. */
  isLeader(): boolean {
    return this.leading && !this.stopped && this.o.now() - this.lastRenew < this.renewDeadlineMs;
  }

  start(): void {
    this.stopped = false;
    this.loop ??= this.run().finally(() => (this.loop = undefined));
  }

  /** Stops campaigning; a leader gives the lease up (release: true) so the standby need not wait it out. */
  async stop(release = true): Promise<void> {
    const wasLeading = this.leading;
    this.stopped = true;
    await this.inFlight; // a round on the wire; the loop itself ends when its sleep does
    if (wasLeading && release) await this.release();
    if (wasLeading) this.lose();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // Acquire.
      while (!this.stopped && !(await this.round())) await this.o.sleep(this.jittered());
      if (this.stopped) return;
      this.leading = true;
      this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became the leader');
      this.o.onStartedLeading();
      // Renew until a renew deadline passes without success.
      while (!this.stopped) {
        await this.o.sleep(this.retryPeriodMs);
        if (this.stopped) return;
        if (await this.round()) continue;
        if (this.o.now() - this.lastRenew >= this.renewDeadlineMs) {
          this.o.log.warn(
            { lease: this.o.name, identity: this.o.identity },
            'failed to renew the lease within the renew deadline: leadership lost',
          );
          this.lose();
          break;
        }
      }
    }
  }

  private lose(): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.onStoppedLeading();
  }

  private jittered(): number {
    return this.retryPeriodMs * (1 + 0.2 * (this.o.random ?? Math.random)());
  }

  private round(): Promise<boolean> {
    const p = this.tryAcquireOrRenew();
    this.inFlight = p;
    return p;
  }

  /** One round of client-go's tryAcquireOrRenew. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.now();
    const mine = (prev?: Lease['spec']): Lease['spec'] => ({
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === this.o.identity && prev.acquireTime ? prev.acquireTime : micro(now),
      renewTime: micro(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity && prev.holderIdentity !== this.o.identity ? 1 : 0),
    });
    let cur: Lease | undefined;
    try {
      cur = await this.o.leases.get(this.o.name, this.o.namespace);
      if (!cur) {
        await this.o.leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: mine(),
        });
        this.observe(undefined, now);
        this.lastRenew = now;
        return true;
      }
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) this.o.log.warn({ err: (err as Error).message }, 'reading the lease failed');
      return false;
    }
    const spec = cur.spec ?? {};
    this.observe(spec, now);
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? Math.round(this.leaseDurationMs / 1000)) * 1000;
    if (holder && holder !== this.o.identity && this.observed!.at + duration > now) return false;
    try {
      const out = await this.o.leases.replace({ ...cur, spec: mine(spec) });
      this.observe(out.spec, now);
      this.lastRenew = now;
      return true;
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) this.o.log.warn({ err: (err as Error).message }, 'writing the lease failed');
      return false;
    }
  }

  private observe(spec: Lease['spec'] | undefined, now: number): void {
    const key = JSON.stringify([spec?.holderIdentity, spec?.renewTime, spec?.leaseTransitions]);
    if (this.observed?.key !== key) this.observed = { key, at: now };
  }

  private async release(): Promise<void> {
    try {
      const cur = await this.o.leases.get(this.o.name, this.o.namespace);
      if (!cur || cur.spec?.holderIdentity !== this.o.identity) return;
      await this.o.leases.replace({
        ...cur,
        spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: micro(this.o.now()) },
      });
      this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'released the lease');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'releasing the lease failed (the standby waits it out)');
    }
  }
}
