// The centralized IPAM controller (Terway's terway-controlplane multi-ip-node controller, in shape): it runs
// while its replica holds the Lease (leader.ts), and then owns every cloud call for the nodes in
// `ipam_type: crd`. Each node's Node resource is watched (reflector), reconciled with the cloud (cloudSync.ts,
// crReconcile.ts), planned with the pool's own decisions (nodePlan.ts), and its calls go through one
// cluster-wide dispatcher (dispatcher.ts: one token bucket per account, nodes with waiting pods first) into
// the executor (executor.ts: records before calls, ClientTokens, results written back by statusWriter.ts).
// A new leader starts from the resources and a cloud listing, never from memory.
import type { RateLimiter } from '../daemon/cloud/ratelimit.js';
import { crTime, type NodeCr } from '../daemon/k8s/nodeCr.js';
import { updateObject } from '../daemon/k8s/objectUpdate.js';
import { Reflector } from '../daemon/k8s/reflector.js';
import { defaultBackoff, type BackoffConfig } from '../pool/backoff.js';
import type { PoolEvent } from '../pool/events.js';
import { CloudFacts, type Listing } from './cloudSync.js';
import { controllerStatusOf, nodeFieldsOf } from './crModel.js';
import { reconcileNode } from './crReconcile.js';
import { Dispatcher, type Candidate } from './dispatcher.js';
import { EniPoller } from './eniPoller.js';
import { runStep, type ExecutorDeps } from './executor.js';
import { detachedOurs, leakedEnis, type LeakedEni } from './hygiene.js';
import { stepApi, stepEni } from './nodePlan.js';
import { NodeState } from './nodeState.js';
import type { ControllerCloud, NodeCrStore } from './ports.js';
import { StatusWriter } from './statusWriter.js';

export interface ControllerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ControllerOptions {
  nodes: NodeCrStore;
  cloud: ControllerCloud;
  /** The rate limiter the cloud client uses: the dispatcher starts work only when its tokens are there. */
  limiter: RateLimiter;
  /** The cluster's VPC: the full listing is of its ENIs. */
  vpcId: string;
  /** Whether this replica leads now (checked before every write and every start of work). */
  isLeader(): boolean;
  log: ControllerLogger;
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** ENIs in transit are asked about together this often. Default 1 s. */
  attachPollMs?: number;
  attachTimeoutMs?: number;
  /** Full cloud listing and reconcile of every node (and leaked-ENI hygiene). Default 10 min. */
  resyncPeriodMs?: number;
  /** A detached ENI of ours whose instance still exists is deleted after this long. Default 5 min. */
  leakedEniGraceMs?: number;
  /** Time-based decisions (idle reclaim, back-offs) are looked at this often. Default 2 s. */
  tickMs?: number;
  /** Nodes that joined are listed this often. Default 1 s. */
  newcomerMs?: number;
  backoff?: BackoffConfig;
  random?: () => number;
  onEvent?(node: string, e: PoolEvent): void;
  /** A status write went through after `conflicts` re-reads (metrics). */
  onWrite?(node: string, conflicts: number): void;
}

const sleepReal = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class Controller {
  readonly nodes = new Map<string, NodeState>();
  private readonly byInstance = new Map<string, NodeState>();
  readonly dispatcher: Dispatcher;
  readonly writer: StatusWriter;
  readonly poller: EniPoller;
  readonly facts: CloudFacts;
  private readonly reflector: Reflector<NodeCr>;
  private readonly exec: ExecutorDeps;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly newcomers = new Set<string>();
  private readonly cleanup: LeakedEni[] = [];
  private readonly cleaning = new Set<string>();
  private readonly firstSeenDetached = new Map<string, number>();
  /** Instances of nodes one resync found gone (the next one that agrees deletes the node's resource). */
  private readonly goneOnce = new Set<string>();
  private readonly steps = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly wakeTimers = new Map<string, NodeJS.Timeout>();
  private synced!: Promise<void>;
  private resolveSynced!: () => void;
  private running = false;
  private syncing = false;
  /** Counters for /metrics and the tests. */
  readonly counts = { listings: 0, instanceListings: 0, stepsStarted: 0, leakedDeleted: 0 };

  constructor(private readonly o: ControllerOptions) {
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? sleepReal;
    this.random = o.random ?? Math.random;
    this.facts = new CloudFacts(o.cloud, o.vpcId, this.now);
    this.writer = new StatusWriter({ api: o.nodes, isLeader: () => o.isLeader(), sleep: this.sleep, log: o.log, onWrite: o.onWrite });
    this.poller = new EniPoller({
      cloud: o.cloud,
      pollMs: o.attachPollMs ?? 1000,
      timeoutMs: o.attachTimeoutMs ?? 60_000,
      now: this.now,
      sleep: this.sleep,
      log: o.log,
    });
    this.dispatcher = new Dispatcher({
      limiter: o.limiter,
      candidates: () => this.candidates(),
      sleep: this.sleep,
      onError: (err) => o.log.error({ err }, 'dispatcher failed'),
    });
    this.exec = {
      cloud: o.cloud,
      writer: this.writer,
      poller: this.poller,
      now: this.now,
      log: o.log,
      spend: (api) => this.dispatcher.spend(api),
      changed: (n) => {
        n.dirty = true;
        this.dispatcher.wake();
      },
      vSwitchCidr: (id) => this.facts.vSwitchCidr(id),
      backoff: o.backoff ?? defaultBackoff,
      onEvent: (n, e) => this.event(n.name, e),
    };
    this.reflector = new Reflector(o.nodes, {
      handlers: {
        onUpsert: (cr) => this.onResource(cr),
        onDelete: (cr) => this.onResourceDeleted(cr),
        onSynced: () => this.resolveSynced(),
      },
      onError: (err, what) => o.log.warn({ err: err.message }, `node resources ${what} failed; retrying`),
    });
  }

  /** Lists the resources and the cloud, reconciles every node, then serves. Resolves once serving. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.synced = new Promise((r) => (this.resolveSynced = r));
    this.reflector.start();
    await this.synced;
    await this.resync().catch((err: unknown) => this.o.log.warn({ err }, 'start-up cloud listing failed; nodes are listed one by one'));
    this.dispatcher.start();
    this.every(this.o.tickMs ?? 2000, () => this.tick());
    this.every(this.o.newcomerMs ?? 1000, () => this.syncNewcomers());
    this.every(this.o.resyncPeriodMs ?? 10 * 60_000, () => this.resync());
    this.o.log.info({ nodes: this.nodes.size }, 'controller serving');
  }

  /** Stops starting work, lets running steps finish (their results are written while it still leads), stops. */
  async stop(): Promise<void> {
    this.halt();
    await this.dispatcher.stop();
    await Promise.allSettled([...this.steps]);
    this.writer.stop();
  }

  /** A crash, for tests: nothing more is started or written from this instant; calls on the wire may still land in the cloud. */
  kill(): void {
    this.halt();
    this.writer.stop();
    void this.dispatcher.stop();
  }

  private halt(): void {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.wakeTimers.values()) clearTimeout(t);
    this.wakeTimers.clear();
    this.reflector.stop();
    this.poller.stop();
  }

  private every(ms: number, fn: () => Promise<unknown> | void): void {
    const t = setInterval(() => {
      if (!this.running) return;
      void Promise.resolve()
        .then(fn)
        .catch((err: unknown) => this.o.log.warn({ err }, 'periodic controller work failed'));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  // ---------------------------------------------------------------- resources

  private onResource(cr: NodeCr): void {
    const name = cr.metadata.name;
    let s = this.nodes.get(name);
    if (!s) {
      s = new NodeState(cr);
      this.nodes.set(name, s);
      this.newcomers.add(name);
    } else s.observe(cr);
    if (s.instanceId) this.byInstance.set(s.instanceId, s);
    this.dispatcher.wake();
  }

  private onResourceDeleted(cr: NodeCr): void {
    const s = this.nodes.get(cr.metadata.name);
    if (!s) return;
    this.nodes.delete(s.name);
    this.newcomers.delete(s.name);
    if (this.byInstance.get(s.instanceId) === s) this.byInstance.delete(s.instanceId);
    this.writer.forget(s.name);
    this.o.log.info({ node: s.name }, 'node resource deleted; its ENIs are left to hygiene once its instance is gone');
  }

  // ---------------------------------------------------------------- cloud listings

  /** Full listing: every node reconciled with it, then the leaked-ENI hygiene. One at a time. */
  async resync(): Promise<void> {
    if (this.syncing || !this.o.isLeader()) return;
    this.syncing = true;
    try {
      const listing = await this.facts.listAll();
      this.counts.listings++;
      for (const s of this.nodes.values()) {
        // A node whose instance the listing does not show yet (it joined after): listed on its own.
        if (!listing.byInstance.get(s.instanceId)?.some((e) => e.type === 'Primary')) {
          this.newcomers.add(s.name);
          continue;
        }
        await this.syncNode(s, listing);
      }
      await this.hygiene(listing);
    } finally {
      this.syncing = false;
    }
  }

  /** Nodes not reconciled yet: one listing of their instance each, or the full listing when that is cheaper. */
  private async syncNewcomers(): Promise<void> {
    if (this.syncing || this.newcomers.size === 0 || !this.o.isLeader()) return;
    const pages = Math.max(
      1,
      Math.ceil([...this.nodes.values()].reduce((n, s) => n + Object.keys(s.model?.networkInterfaces ?? {}).length + 1, 0) / 100),
    );
    if (this.newcomers.size >= pages) return this.resync();
    this.syncing = true;
    try {
      for (const name of [...this.newcomers]) {
        const s = this.nodes.get(name);
        if (!s) continue;
        const listing = await this.facts.listInstance(s.instanceId);
        this.counts.instanceListings++;
        await this.syncNode(s, listing);
      }
    } finally {
      this.syncing = false;
    }
  }

  /** Reconciles one node's resource with a listing (and reads its instance type and vSwitches the first time). */
  private async syncNode(s: NodeState, listing: Listing): Promise<void> {
    if (!s.instanceId) return;
    try {
      if (!s.limits) {
        const l = await this.facts.limitsOf(s.cr.spec.nodeMetadata.instanceType);
        s.limits = { eniQuantity: l.eniQuantity, ipv4PerEni: l.ipv4PerEni, instanceTypeId: s.cr.spec.nodeMetadata.instanceType };
        void this.writeNodeCap(s);
      }
      const attached = listing.byInstance.get(s.instanceId) ?? [];
      await this.facts.loadVSwitches([...s.cr.spec.eni.vSwitchOptions, ...attached.map((e) => e.vSwitchId)]);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, node: s.name }, 'reading instance type / vSwitch facts failed; retried');
      this.newcomers.add(s.name);
      return;
    }
    s.model ??= controllerStatusOf(s.cr);
    const touched = s.touchedSince(listing.startedAt);
    const r = reconcileNode({
      now: this.now(),
      model: s.model,
      node: nodeFieldsOf(s.cr),
      instanceId: s.instanceId,
      tagFilter: s.cr.spec.eni.tagFilter ?? {},
      attached: listing.byInstance.get(s.instanceId) ?? [],
      vSwitchCidr: (id) => this.facts.vSwitches.get(id)?.cidr,
      busy: (id) => s.busy.has(id) || s.attaching.has(id) || touched.has(id),
    });
    for (const f of r.findings) if (f.kind !== 'skippedRecent') this.o.log.info({ node: s.name, ...f }, `reconcile: ${f.kind}`);
    s.model = r.model;
    s.foreign = r.foreign;
    s.primarySecurityGroups = r.primarySecurityGroups;
    s.model.lastSyncOpenAPITime = crTime(this.now());
    s.touch();
    this.newcomers.delete(s.name);
    void this.writer
      .commit(s)
      .catch((err: unknown) => this.o.log.warn({ err: (err as Error).message, node: s.name }, 'writing the reconciled node failed'));
    this.dispatcher.wake();
  }

  /** spec.nodeCap from DescribeInstanceTypes (the node holds no credentials to read it). */
  private async writeNodeCap(s: NodeState): Promise<void> {
    const l = s.limits!;
    const cap = { adapters: l.eniQuantity, ipv4PerAdapter: l.ipv4PerEni };
    if (s.cr.spec.nodeCap?.adapters === cap.adapters && s.cr.spec.nodeCap.ipv4PerAdapter === cap.ipv4PerAdapter) return;
    if (!this.o.isLeader()) return;
    try {
      const out = await updateObject(this.o.nodes, {
        name: s.name,
        target: 'main',
        current: s.cr,
        mutate: (cr) =>
          cr.spec.nodeCap?.adapters === cap.adapters && cr.spec.nodeCap.ipv4PerAdapter === cap.ipv4PerAdapter
            ? undefined
            : { ...cr, spec: { ...cr.spec, nodeCap: { ...cr.spec.nodeCap, ...cap } } },
      });
      s.observe(out);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, node: s.name }, 'writing spec.nodeCap failed');
    }
  }

  /**
   * Our detached ENIs whose instance is gone, or detached past the grace period: queued for deletion (lowest
   * priority). A Node resource whose instance two resyncs in a row found gone is deleted (its node is gone).
   */
  private async hygiene(listing: Listing): Promise<void> {
    const { instanceIds } = detachedOurs(listing.all);
    const asked = [...new Set([...instanceIds, ...this.byInstance.keys()])];
    let existing: Set<string> | undefined;
    if (asked.length > 0) {
      try {
        existing = await this.o.cloud.existingInstances(asked);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'DescribeInstances failed; only the grace rule applies this round');
      }
    }
    if (existing) await this.dropGoneNodes(existing);
    const leaked = leakedEnis({
      now: this.now(),
      listing: listing.all,
      nodesByInstance: new Map(
        [...this.byInstance].map(([id, s]) => [
          id,
          {
            knows: (e: string) => s.model?.networkInterfaces[e] !== undefined || s.cr.status?.networkInterfaces?.[e] !== undefined,
            creating: s.creating(),
          },
        ]),
      ),
      existing,
      firstSeen: this.firstSeenDetached,
      graceMs: this.o.leakedEniGraceMs ?? 5 * 60_000,
    });
    for (const l of leaked) if (!this.cleaning.has(l.eniId) && !this.cleanup.some((c) => c.eniId === l.eniId)) this.cleanup.push(l);
    if (leaked.length > 0) this.dispatcher.wake();
  }

  private async dropGoneNodes(existing: ReadonlySet<string>): Promise<void> {
    for (const [instanceId, s] of [...this.byInstance]) {
      if (existing.has(instanceId)) {
        this.goneOnce.delete(instanceId);
        continue;
      }
      if (!this.goneOnce.has(instanceId)) {
        this.goneOnce.add(instanceId);
        continue;
      }
      this.o.log.warn(
        { node: s.name, instanceId },
        'the instance of this node is gone: deleting its node resource (its detached ENIs go with the hygiene)',
      );
      try {
        await this.o.nodes.delete(s.name);
        this.goneOnce.delete(instanceId);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, node: s.name }, 'deleting the resource of a gone node failed');
      }
    }
  }

  private deleteLeaked(l: LeakedEni): void {
    this.cleaning.add(l.eniId);
    const p = (async () => {
      try {
        this.dispatcher.spend('DeleteNetworkInterface');
        await this.o.cloud.deleteNetworkInterface(l.eniId);
        this.counts.leakedDeleted++;
        this.o.log.info({ eniId: l.eniId, instanceId: l.instanceId, reason: l.reason }, 'deleted a leaked ENI');
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, eniId: l.eniId }, 'deleting a leaked ENI failed; the next resync retries');
      } finally {
        this.cleaning.delete(l.eniId);
      }
    })();
    this.track(p);
  }

  // ---------------------------------------------------------------- planning and dispatch

  private tick(): void {
    for (const s of this.nodes.values()) s.dirty = true;
    this.dispatcher.wake();
  }

  /** Plans a node again when it changed, applying what the plan asks of the resource (reclaim asks, blocked). */
  private refresh(s: NodeState): ReturnType<NodeState['replan']> {
    if (!s.dirty) return s.plan;
    const now = this.now();
    const hadError = s.specError;
    let p = s.replan(now, this.random);
    if (s.specError && !hadError) this.o.log.warn({ node: s.name, err: s.specError }, 'node spec is invalid; the node is left alone');
    if (!p || !s.model) return p;
    let changed = false;
    const m = s.model;
    const setStatus = (ip: string, from: string, to: 'Valid' | 'Reclaiming'): void => {
      for (const nic of Object.values(m.networkInterfaces)) {
        const rec = nic.ipv4[ip];
        if (rec && rec.status === from) {
          rec.status = to;
          changed = true;
        }
      }
    };
    for (const ip of p.reclaim) setStatus(ip, 'Valid', 'Reclaiming');
    for (const ip of p.cancel) setStatus(ip, 'Reclaiming', 'Valid');
    const blocked = p.blocked
      ? { blocked: true, ...(p.blocked.code ? { code: p.blocked.code } : {}), message: p.blocked.message }
      : undefined;
    if (JSON.stringify(blocked) !== JSON.stringify(m.allocation)) {
      if (blocked) m.allocation = blocked;
      else delete m.allocation;
      changed = true;
    }
    if (changed) {
      s.touch();
      void this.writer.commit(s).catch(() => {});
      p = s.replan(now, this.random);
    }
    if (p?.wakeAt !== undefined) this.wakeAt(s, p.wakeAt - now);
    return p;
  }

  private wakeAt(s: NodeState, inMs: number): void {
    if (this.wakeTimers.has(s.name)) return;
    const t = setTimeout(
      () => {
        this.wakeTimers.delete(s.name);
        s.dirty = true;
        this.dispatcher.wake();
      },
      Math.max(1, inMs),
    );
    t.unref();
    this.wakeTimers.set(s.name, t);
  }

  /** The work of every node, most urgent first, then the hygiene's deletions. */
  private *candidates(): Iterable<Candidate> {
    if (!this.running || !this.o.isLeader()) return;
    const ready: { s: NodeState; p: NonNullable<NodeState['plan']> }[] = [];
    for (const s of this.nodes.values()) {
      const p = this.refresh(s);
      if (p && p.steps.length > 0) ready.push({ s, p });
    }
    ready.sort((a, b) => a.p.priority - b.p.priority || a.s.waitingSince() - b.s.waitingSince() || (a.s.name < b.s.name ? -1 : 1));
    for (const { s, p } of ready) {
      for (const step of p.steps) {
        const eni = stepEni(step);
        if (eni && (s.busy.has(eni) || s.attaching.has(eni))) continue;
        yield {
          api: stepApi(step),
          launch: () => {
            // Planned against the state of this pass: a step launched for this node just now may have changed it.
            if (s.dirty) return false;
            this.counts.stepsStarted++;
            s.noteTouched(eni, this.now());
            this.track(runStep(s, step, this.exec).finally(() => s.noteTouched(eni, this.now())));
            return true;
          },
        };
      }
    }
    for (const l of this.cleanup) {
      yield {
        api: 'DeleteNetworkInterface',
        launch: () => {
          this.cleanup.splice(this.cleanup.indexOf(l), 1);
          this.deleteLeaked(l);
          return true;
        },
      };
    }
  }

  private track(p: Promise<void>): void {
    this.steps.add(p);
    void p.finally(() => this.steps.delete(p));
  }

  private event(node: string, e: PoolEvent): void {
    (e.type === 'Warning' ? this.o.log.warn : this.o.log.debug).call(this.o.log, { node, event: true, ...e }, e.message);
    this.o.onEvent?.(node, e);
  }
}
