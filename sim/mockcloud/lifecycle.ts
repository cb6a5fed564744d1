// The asynchronous half of attach/detach/delete: after the configured delay (and the optional hooks a
// kernel backend installs) the ENI moves Attaching → InUse, Detaching → Available or Deleting → gone,
// and events fire.
import type { EventEmitter } from 'node:events';
import type { Lifecycle } from './actions.js';
import type { Faults } from './faults.js';
import type { EniAttachedEvent, EniDetachedEvent } from './types.js';
import type { EniState, World } from './world.js';

export type AttachHook = (ev: EniAttachedEvent) => Promise<void>;
export type DetachHook = (ev: EniDetachedEvent) => Promise<void>;

export class EniLifecycle implements Lifecycle {
  attachHook?: AttachHook;
  detachHook?: DetachHook;
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(
    private readonly world: World,
    private readonly faults: Faults,
    private readonly events: EventEmitter,
  ) {}

  emit(event: string, payload: unknown): void {
    // a throwing listener must not turn into an API error
    try {
      this.events.emit(event, payload);
    } catch (err) {
      process.stderr.write(`mockcloud: listener for ${event} threw: ${String(err)}\n`);
    }
  }

  attachedEvent(e: EniState): EniAttachedEvent {
    const v = this.world.vSwitch(e.vSwitchId);
    return {
      instanceId: e.instanceId ?? '',
      eniId: e.id,
      mac: e.mac,
      primaryIp: e.primaryIp,
      secondaryIps: [...e.secondaryIps],
      vSwitchId: e.vSwitchId,
      gateway: this.world.gateway(v),
      cidr: v.cidrText,
      ipv6s: [...e.ipv6s],
      ...(v.ipv6 ? { ipv6Cidr: v.ipv6.cidrText, ipv6Gateway: this.world.ipv6Gateway(v) } : {}),
    };
  }

  attachStarted(eni: EniState): void {
    const id = eni.id;
    this.track(async () => {
      await this.sleep(this.faults.attachDelayMs);
      const e = this.world.enis.get(id);
      if (this.closed || !e || e.status !== 'Attaching') return;
      if (this.attachHook) {
        try {
          await this.attachHook(this.attachedEvent(e));
        } catch (err) {
          this.world.failAttach(id);
          this.emit('eniAttachFailed', { eniId: id, error: String(err) });
          return;
        }
      }
      const done = this.world.completeAttach(id);
      if (done) this.emit('eniAttached', this.attachedEvent(done));
    });
  }

  detachStarted(eni: EniState): void {
    const id = eni.id;
    this.track(async () => {
      await this.sleep(this.faults.detachDelayMs);
      const e = this.world.enis.get(id);
      if (this.closed || !e || e.status !== 'Detaching' || !e.instanceId) return;
      const ev: EniDetachedEvent = {
        instanceId: e.instanceId,
        eniId: id,
        mac: e.mac,
        primaryIp: e.primaryIp,
        secondaryIps: [...e.secondaryIps],
        ipv6s: [...e.ipv6s],
      };
      if (this.detachHook) {
        try {
          await this.detachHook(ev);
        } catch (err) {
          // the cloud side still completes; the backend reported its own trouble
          this.emit('detachHookFailed', { eniId: id, error: String(err) });
        }
      }
      const done = this.world.completeDetach(id);
      if (done) this.emit('eniDetached', ev);
    });
  }

  deleteStarted(eni: EniState): void {
    const id = eni.id;
    this.track(async () => {
      await this.sleep(this.faults.deleteDelayMs);
      if (this.closed) return;
      if (this.world.completeDelete(id)) this.emit('eniDeleted', { eniId: id });
    });
  }

  /** Resolves when every attach/detach/delete in flight has completed. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.closed = true;
    for (const [t, wake] of this.timers) {
      clearTimeout(t);
      wake();
    }
    this.timers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  private track(fn: () => Promise<void>): void {
    const p = fn().catch((err: unknown) => {
      process.stderr.write(`mockcloud: lifecycle error: ${String(err)}\n`);
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
