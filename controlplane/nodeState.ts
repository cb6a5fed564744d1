// One node as the controller holds it while it leads: the latest resource (spec, the node's fields), the
// controller's own fields (its model: the authority for them, written back by the status writer), and what
// this process has under way for the node (calls running, back-offs, the create rate window). Everything
// else a new leader needs is in the resource and the cloud.
import { crTimeMs, type NodeCr } from '../daemon/k8s/nodeCr.js';
import { noBackoffs, type Backoffs } from '../pool/backoff.js';
import type { CapacityLimits } from '../pool/capacity.js';
import type { PoolConfig } from '../pool/config.js';
import { jitteredInterval } from '../pool/planner.js';
import { nodeFieldsOf, type ControllerStatus, type NodeIpFields } from './crModel.js';
import { planNode, poolConfigOf, type NodeInFlight, type NodePlan } from './nodePlan.js';

export class NodeState {
  cr: NodeCr;
  /** The controller's fields; undefined until the node is reconciled with the cloud under this leadership. */
  model: ControllerStatus | undefined;
  limits: CapacityLimits | undefined;
  /** Secondary ENIs on the instance that are not ours (quota slots). */
  foreign = 0;
  /** Security groups of the primary ENI, for a spec that names none. */
  primarySecurityGroups: string[] = [];
  readonly busy = new Set<string>();
  readonly runningOps = new Set<string>();
  readonly attaching = new Set<string>();
  backoffs: Backoffs = noBackoffs();
  recentCreates: number[] = [];
  /**
   * Idle reclaim, fed as the node-local pool feeds it: when the node last allocated or released an IP (seen as
   * a change in who holds what; from the first plan of this term on, as a pool starts counting at its start),
   * when the next batch is due, and this round's jittered interval.
   */
  lastModifiedAt: number | undefined;
  nextReclaimAt: number | undefined;
  reclaimIntervalMs: number | undefined;
  private holders: string | undefined;
  /** When each IP was first seen free (idle time before reclaim). */
  readonly freeSince = new Map<string, number>();
  /** Model changes; the status writer writes up to the latest. */
  version = 0;
  /** The last plan, refreshed whenever something changed (the dispatcher orders nodes by it). */
  plan: NodePlan | undefined;
  dirty = true;
  /** The spec's pool settings are invalid: the node is left alone (the reason is logged once). */
  specError: string | undefined;
  /** When work on each ENI last started or ended ('' for creates): a listing older than that does not judge it. */
  private readonly touched = new Map<string, number>();

  constructor(cr: NodeCr) {
    this.cr = cr;
  }

  get name(): string {
    return this.cr.metadata.name;
  }

  get instanceId(): string {
    return this.cr.spec.nodeMetadata.instanceID;
  }

  inFlight(): NodeInFlight {
    return { busy: this.busy, runningOps: this.runningOps, attaching: this.attaching };
  }

  /** A newer copy of the resource (watch event or our own write); an older one is ignored. */
  observe(cr: NodeCr): void {
    const a = Number(cr.metadata.resourceVersion);
    const b = Number(this.cr.metadata.resourceVersion);
    if (Number.isFinite(a) && Number.isFinite(b) && a < b) return;
    this.cr = cr;
    this.dirty = true;
  }

  /** The model changed: it must be written, and the node planned again. */
  touch(): void {
    this.version++;
    this.dirty = true;
  }

  /** Plans again (when something changed since); notes when IPs became free. */
  replan(now: number, random: () => number): NodePlan | undefined {
    if (!this.model || !this.limits || this.specError) return undefined;
    if (!this.dirty && this.plan) return this.plan;
    const node = nodeFieldsOf(this.cr);
    for (const nic of Object.values(this.model.networkInterfaces))
      for (const ip of Object.values(nic.ipv4)) {
        const free = ip.status === 'Valid' && !node.get(ip.ip)?.use;
        if (free && !this.freeSince.has(ip.ip)) this.freeSince.set(ip.ip, now);
        else if (!free) this.freeSince.delete(ip.ip);
      }
    const holders = holdersOf(node);
    if (holders !== this.holders || this.lastModifiedAt === undefined) {
      // An allocation or a release on the node: idle reclaim starts over (the pool's modified()).
      this.holders = holders;
      this.lastModifiedAt = now;
      this.nextReclaimAt = undefined;
    }
    let cfg: PoolConfig;
    try {
      cfg = poolConfigOf(this.cr.spec, this.limits);
    } catch (err) {
      this.specError = (err as Error).message;
      return undefined;
    }
    this.reclaimIntervalMs ??= jitteredInterval(cfg.idleIpReclaimIntervalMs, cfg.idleIpReclaimJitterFactor, random);
    this.plan = planNode({
      now,
      spec: this.cr.spec,
      model: this.model,
      node,
      waitingPods: this.cr.status?.demand?.waitingPods ?? 0,
      limits: this.limits,
      foreign: this.foreign,
      inFlight: this.inFlight(),
      backoffs: this.backoffs,
      recentCreates: this.recentCreates.filter((t) => now - t < 60_000),
      lastModifiedAt: this.lastModifiedAt,
      nextReclaimAt: this.nextReclaimAt,
      reclaimIntervalMs: this.reclaimIntervalMs,
      freeSince: this.freeSince,
      random,
    });
    this.nextReclaimAt = this.plan.nextReclaimAt;
    if (this.plan.reclaimIntervalUsed) this.reclaimIntervalMs = undefined;
    this.dirty = false;
    return this.plan;
  }

  noteTouched(eniId: string | undefined, at: number): void {
    this.touched.set(eniId ?? '', at);
  }

  /** ENIs whose work started or ended at or after `t`. */
  touchedSince(t: number): Set<string> {
    const out = new Set<string>();
    for (const [id, at] of this.touched) if (at >= t && id) out.add(id);
    return out;
  }

  /** A create is recorded without its ENI yet, or running. */
  creating(): boolean {
    return Object.entries(this.model?.cloudOperations ?? {}).some(
      ([token, op]) => op.api === 'CreateNetworkInterface' && (!op.eniID || this.runningOps.has(token)),
    );
  }

  /** How long the node's pods have waited (ms since the oldest started), for ordering; 0 when none wait. */
  waitingSince(): number {
    return crTimeMs(this.cr.status?.demand?.waitingSince) ?? Number.MAX_SAFE_INTEGER;
  }
}

/** Who holds which IP on the node (its allocations), as one comparable string. */
function holdersOf(node: ReadonlyMap<string, NodeIpFields>): string {
  const held: string[] = [];
  for (const [ip, f] of node) if (f.use === 'assigned') held.push(`${ip}=${f.podID ?? ''}`);
  return held.sort().join(',');
}
