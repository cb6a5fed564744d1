// The delegated pool's PlacementSource over this node's custom resource (ipam_type: crd). It
//   - creates the resource if it is missing and keeps the node's spec fields (eni_conf, metadata) in it;
//   - watches it (its own object only: a field selector on the name) and hands each placement to the pool;
//   - writes the pool's usage into the node's status fields, coalesced: one write in flight, the next one
//     carries whatever changed meanwhile; a conflict re-reads and re-applies (objectUpdate.ts); a failure
//     (API server down) is retried with a growing delay. The pool never waits for any of this: its pod DB
//     is the node's record, so pods keep starting on warm IPs while the API server is away.
import type { Logger } from 'pino';
import type { NodeUsage, Placement, PlacementSource } from '../../../pool/delegated/index.js';
import { KubeError } from '../../k8s/errors.js';
import { newNodeCr, type NodeCr, type NodeCrSpec } from '../../k8s/nodeCr.js';
import { updateObject } from '../../k8s/objectUpdate.js';
import { nameSelector, type ObjectApi } from '../../k8s/objects.js';
import { Reflector } from '../../k8s/reflector.js';
import { placementOf, withNodeSpec, withUsage } from './nodeCrView.js';

/** What the node needs of the API server for its own resource (the daemon's port; client-node or the rig implements it). */
export type NodeCrApi = Pick<ObjectApi<NodeCr>, 'list' | 'watch' | 'get' | 'create' | 'replace' | 'replaceStatus'>;

export interface NodeCrSourceOptions {
  api: NodeCrApi;
  nodeName: string;
  /** The node's spec fields (nodeMetadata, eni, pool). */
  spec: NodeCrSpec;
  log: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** First retry delay after a failed write or watch; doubles up to 30 s. Default 1 s. */
  retryMs?: number;
}

const MAX_RETRY_MS = 30_000;

export class NodeCrSource implements PlacementSource {
  private reflector: Reflector<NodeCr> | undefined;
  private onPlacement: ((p: Placement) => void) | undefined;
  private usage: (() => NodeUsage) | undefined;
  private specWritten = false;
  private dirty = false;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** Usage writes that went through (tests, metrics). */
  writes = 0;

  constructor(private readonly o: NodeCrSourceOptions) {}

  start(onPlacement: (p: Placement) => void, usage: () => NodeUsage): void {
    this.onPlacement = onPlacement;
    this.usage = usage;
    this.stopped = false;
    this.reflector = new Reflector(this.o.api, {
      fieldSelector: nameSelector(this.o.nodeName),
      retryMs: this.o.retryMs ?? 1000,
      handlers: {
        onUpsert: (cr) => {
          const p = placementOf(cr);
          if (p) this.onPlacement?.(p);
        },
        onDelete: () => {
          // Removed behind our back: write it again (the controller re-adopts the ENIs from the cloud).
          this.specWritten = false;
          this.kick();
        },
      },
      onError: (err, what) => this.o.log.warn({ err: err.message, node: this.o.nodeName }, `node resource ${what} failed; retrying`),
    });
    this.reflector.start();
    this.kick();
  }

  usageChanged(): void {
    this.dirty = true;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reflector?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  /** One write loop: the spec first (once), then the usage while it is dirty; failures wait out a growing delay. */
  private kick(): void {
    if (this.writing || this.timer || this.stopped) return;
    this.writing = this.flush()
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          const delay = Math.min(MAX_RETRY_MS, (this.o.retryMs ?? 1000) * 2 ** Math.min(this.failures++, 10));
          this.o.log.warn({ err: (err as Error).message, node: this.o.nodeName, retryInMs: delay }, 'writing the node resource failed');
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.kick();
          }, delay);
          this.timer.unref();
        },
      )
      .finally(() => {
        this.writing = undefined;
        if (this.dirty || !this.specWritten) this.kick();
      });
  }

  private async flush(): Promise<void> {
    if (!this.specWritten) {
      await this.writeSpec();
      this.specWritten = true;
    }
    if (!this.dirty || !this.usage) return;
    this.dirty = false;
    const usage = this.usage;
    try {
      await updateObject(this.o.api, {
        name: this.o.nodeName,
        target: 'status',
        current: this.reflector?.get(this.o.nodeName),
        mutate: (cr) => withUsage(cr, usage()),
      });
      this.writes++;
    } catch (err) {
      this.dirty = true;
      if (err instanceof KubeError && err.status === 404) this.specWritten = false;
      throw err;
    }
  }

  private async writeSpec(): Promise<void> {
    const { api, nodeName, spec } = this.o;
    const cur = await api.get(nodeName);
    if (!cur) {
      try {
        await api.create(newNodeCr(nodeName, spec));
        this.o.log.info({ node: nodeName }, 'node resource created');
      } catch (err) {
        if (!(err instanceof KubeError) || err.status !== 409) throw err;
        await this.writeSpec(); // created in between (a restart racing its predecessor): update that one
      }
      return;
    }
    await updateObject(api, { name: nodeName, target: 'main', current: cur, mutate: (c) => withNodeSpec(c, spec) });
  }
}
