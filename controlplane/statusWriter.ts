// Writes the controller's fields of each Node resource, one write in flight per node: every change bumps the
// node's version, and a write carries the model as it is when the write starts (so changes made meanwhile
// ride the next one). A conflict re-reads the resource and re-applies (objectUpdate.ts); any other failure is
// retried with a growing delay: a write is never dropped while this process leads. When it stops leading,
// nothing more is written and waiting callers are told so (fencing, as client-go's leader election gives).
import { KubeError } from '../daemon/k8s/errors.js';
import { updateObject } from '../daemon/k8s/objectUpdate.js';
import { withControllerStatus } from './crModel.js';
import type { NodeState } from './nodeState.js';
import type { NodeCrStore } from './ports.js';

export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: the controller stopped writing');
    this.name = 'NotLeaderError';
  }
}

interface Pending {
  version: number;
  resolve(): void;
  reject(err: Error): void;
}

export interface StatusWriterOptions {
  api: NodeCrStore;
  isLeader(): boolean;
  sleep(ms: number): Promise<void>;
  log: { warn(obj: object, msg?: string): void };
  /** First retry delay after a failed write; doubles up to 10 s. */
  retryMs?: number;
  /** A write went through (metrics). */
  onWrite?(node: string, conflicts: number): void;
}

export class StatusWriter {
  private readonly written = new Map<string, number>();
  private readonly waiting = new Map<string, Pending[]>();
  private readonly loops = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: StatusWriterOptions) {}

  /** Resolves once the node's model as it is now is in the resource (rejects with NotLeaderError when fenced). */
  commit(node: NodeState): Promise<void> {
    const version = node.version;
    if ((this.written.get(node.name) ?? -1) >= version) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const list = this.waiting.get(node.name) ?? [];
      list.push({ version, resolve, reject });
      this.waiting.set(node.name, list);
    });
    if (!this.loops.has(node.name))
      this.loops.set(
        node.name,
        this.loop(node).finally(() => this.loops.delete(node.name)),
      );
    return p;
  }

  /** Stops writing; everything waiting is rejected. */
  stop(): void {
    this.stopped = true;
    for (const [name, list] of this.waiting) {
      this.waiting.delete(name);
      for (const w of list) w.reject(new NotLeaderError());
    }
  }

  /** Forget a node (its resource was deleted). */
  forget(name: string): void {
    this.written.delete(name);
  }

  private async loop(node: NodeState): Promise<void> {
    let failures = 0;
    while ((this.waiting.get(node.name)?.length ?? 0) > 0) {
      if (this.stopped || !this.o.isLeader()) {
        this.stop();
        return;
      }
      const version = node.version;
      const model = node.model;
      if (!model) {
        this.settle(node.name, Infinity, new Error(`node ${node.name} has no model to write`));
        return;
      }
      let attempts = 0;
      try {
        const out = await updateObject(this.o.api, {
          name: node.name,
          target: 'status',
          current: node.cr,
          mutate: (cr) => {
            attempts++;
            return withControllerStatus(cr, model);
          },
        });
        node.observe(out);
        failures = 0;
        this.o.onWrite?.(node.name, attempts - 1);
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) {
          this.settle(node.name, Infinity, new KubeError(404, 'NotFound', `node resource ${node.name} is gone`));
          return;
        }
        const delay = Math.min(10_000, (this.o.retryMs ?? 200) * 2 ** Math.min(failures++, 10));
        this.o.log.warn({ err: (err as Error).message, node: node.name, retryInMs: delay }, 'writing the node resource failed; retrying');
        await this.o.sleep(delay);
        continue;
      }
      this.written.set(node.name, version);
      this.settle(node.name, version);
    }
  }

  private settle(name: string, upTo: number, err?: Error): void {
    const list = this.waiting.get(name) ?? [];
    const rest = list.filter((w) => w.version > upTo);
    for (const w of list) if (w.version <= upTo) err ? w.reject(err) : w.resolve();
    if (rest.length > 0) this.waiting.set(name, rest);
    else this.waiting.delete(name);
  }
}
