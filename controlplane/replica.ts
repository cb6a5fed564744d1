// One replica of the controller Deployment: it campaigns for the Lease and, each time it wins, builds a new
// Controller from the API objects and the cloud (nothing is carried over from an earlier term in memory).
// Losing the lease stops the controller at once (no more calls started, no more writes); main.ts then exits
// so the pod restarts clean, as client-go's leader-elected components do.
import type { Controller } from './controller.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';

export interface ReplicaOptions extends Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading'> {
  /** A new controller for a new term; `isLeader` fences its writes. */
  newController(isLeader: () => boolean): Controller;
  /** Leadership was lost (after the controller stopped). */
  onLost?(): void;
}

export class Replica {
  readonly elector: LeaderElector;
  /** The controller of the current term, if this replica leads. */
  controller: Controller | undefined;
  private starting: Promise<void> | undefined;

  constructor(o: ReplicaOptions) {
    this.elector = new LeaderElector({
      ...o,
      onStartedLeading: () => {
        const c = o.newController(() => this.elector.isLeader());
        this.controller = c;
        this.starting = c.start().catch((err: unknown) => o.log.warn({ err }, 'controller start-up failed'));
      },
      onStoppedLeading: () => {
        const c = this.controller;
        this.controller = undefined;
        c?.kill();
        o.onLost?.();
      },
    });
  }

  start(): void {
    this.elector.start();
  }

  /** Graceful: the controller finishes what it started, then the lease is released for the standby. */
  async stop(): Promise<void> {
    await this.starting;
    const c = this.controller;
    this.controller = undefined;
    await c?.stop();
    await this.elector.stop(true);
  }

  /** A crash (tests): the controller stops dead and the lease is left to run out. */
  async kill(): Promise<void> {
    this.controller?.kill();
    this.controller = undefined;
    await this.elector.stop(false);
  }
}
