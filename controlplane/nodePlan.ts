// Pure: what the controller does next for one node. The decisions are the pool's (pool/planner.ts plan():
// watermarks, batches of at most 10, ENI quota and create rate, reclaim, back-off), fed from the Node
// resource instead of a local DB: the controller's ENIs and IPs, the node's holders and waiting pods, and
// what is in flight. What the planner wants released is only *asked* of the node here (Reclaiming); the
// cloud call comes once the node gave the IP up (`released`), so an IP a pod holds is never unassigned.
// Pods use secondary ENIs only, every address of each (ADR 0007): a secondary ENI's own primary address is
// placed like its secondary IPs, is never unassigned, and is asked back only with its whole ENI.
import { parseGoDuration } from '../daemon/config/duration.js';
import { crTimeMs, podAddresses, type CrCloudOperation, type CrNic, type NodeCr } from '../daemon/k8s/nodeCr.js';
import { earliestEnd, isActive, type Backoffs } from '../pool/backoff.js';
import { withEffectivePoolSizes, type CapacityLimits } from '../pool/capacity.js';
import { resolvePoolConfig, type PoolConfig } from '../pool/config.js';
import { plan, type PlannerEni, type PlannerIp } from '../pool/planner.js';
import type { IpState } from '../pool/store.js';
import type { ControllerStatus, NodeIpFields } from './crModel.js';

export type Step =
  /** Re-issue a recorded create / assign with its ClientToken (a lost reply, a retryable failure, a new leader). */
  | { kind: 'resumeOp'; token: string; op: CrCloudOperation }
  | { kind: 'createEni'; vSwitchId: string; secondaryCount: number; expectIps: number }
  | { kind: 'assign'; eniId: string; count: number }
  /** An ENI recorded Attaching with no attach under way. */
  | { kind: 'attach'; eniId: string }
  /** IPs the node gave up (or already being unassigned). */
  | { kind: 'unassign'; eniId: string; ips: string[] }
  /** An ENI of ours whose every IP the node gave up, or one already Deleting. */
  | { kind: 'deleteEni'; eniId: string };

/** The API a step spends a token of first. */
export function stepApi(s: Step): string {
  switch (s.kind) {
    case 'resumeOp':
      return s.op.api;
    case 'createEni':
      return 'CreateNetworkInterface';
    case 'assign':
      return 'AssignPrivateIpAddresses';
    case 'attach':
      return 'AttachNetworkInterface';
    case 'unassign':
      return 'UnassignPrivateIpAddresses';
    case 'deleteEni':
      return 'DetachNetworkInterface';
  }
}

export function stepEni(s: Step): string | undefined {
  return s.kind === 'resumeOp' ? s.op.eniID : s.kind === 'createEni' ? undefined : s.eniId;
}

/** Priority class: 0 pods wait (and work already decided), 1 refill to the low watermark, 2 reclaim. */
export type PriorityClass = 0 | 1 | 2;

/** What this controller has under way for the node right now (the rest of what is in flight is in the resource). */
export interface NodeInFlight {
  /** ENIs with a cloud call running. */
  busy: ReadonlySet<string>;
  /** ClientTokens whose call is running now. */
  runningOps: ReadonlySet<string>;
  /** ENIs whose attach was sent (the poller waits for them). */
  attaching: ReadonlySet<string>;
}

/**
 * What is on its way, from the resource alone (so a new leader sees the same): a recorded create without an
 * ENI yet brings `expectIps`; once it has one, that ENI is to bring `expectIps` until it is InUse (its record
 * goes then); a recorded assign brings `count`; an Attaching ENI without a record brings what it carries.
 */
export function onTheirWay(model: ControllerStatus): { creating: number[]; incoming: Map<string, number> } {
  const creating: number[] = [];
  const incoming = new Map<string, number>();
  const add = (eni: string, n: number): void => void incoming.set(eni, (incoming.get(eni) ?? 0) + n);
  for (const op of Object.values(model.cloudOperations)) {
    if (op.api === 'CreateNetworkInterface') {
      if (op.eniID) add(op.eniID, op.expectIps ?? op.count);
      else creating.push(op.expectIps ?? op.count);
    } else if (op.eniID) add(op.eniID, op.count);
  }
  for (const nic of Object.values(model.networkInterfaces)) {
    if (nic.status !== 'Attaching' || incoming.has(nic.id)) continue;
    add(nic.id, podAddresses(nic).length);
  }
  return { creating, incoming };
}

export interface NodeView {
  now: number;
  spec: NodeCr['spec'];
  model: ControllerStatus;
  node: ReadonlyMap<string, NodeIpFields>;
  waitingPods: number;
  limits: CapacityLimits;
  /** Secondary ENIs on the instance that are not ours: they hold quota slots. */
  foreign: number;
  inFlight: NodeInFlight;
  backoffs: Backoffs;
  recentCreates: readonly number[];
  /** Idle reclaim as the node-local pool runs it (pool/planner.ts idleReclaim): when the node last allocated or released. */
  lastModifiedAt: number;
  /** Idle reclaim: when the next batch is due (undefined: not armed). */
  nextReclaimAt?: number;
  reclaimIntervalMs?: number;
  /** When the controller first saw each IP free (idle time for reclaim). */
  freeSince: ReadonlyMap<string, number>;
  random?: () => number;
}

export interface NodePlan {
  steps: Step[];
  /** IPs to ask back (Valid → Reclaiming) and asks to withdraw (Reclaiming → Valid: the node uses them). */
  reclaim: string[];
  cancel: string[];
  /** The node cannot be grown now and waiting will not help. */
  blocked?: { code?: string; message: string };
  /** Idle reclaim's timer after this plan, and whether this round's interval was used (draw the next). */
  nextReclaimAt?: number;
  reclaimIntervalUsed: boolean;
  /** Plan again at this time (a back-off, the create rate window or an idle reclaim batch is due). */
  wakeAt?: number;
  priority: PriorityClass;
}

/** A decimal string of the spec (Terway keeps floats out of its CRDs) as a number; undefined when absent or not a number. */
function decimal(v: string | undefined): number | undefined {
  const n = v !== undefined ? Number(v) : undefined;
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

/**
 * The pool settings of the node's spec (Terway names) as the planner's config, with the pool sizes the
 * node-local pool derives from them and the instance type (capped by the capacity, min_eni → min_pool_size);
 * throws RangeError on nonsense.
 */
export function poolConfigOf(spec: NodeCr['spec'], limits: CapacityLimits): PoolConfig {
  const r = spec.pool.reclaim ?? {};
  const cfg = resolvePoolConfig({
    minPoolSize: spec.pool.minPoolSize,
    maxPoolSize: spec.pool.maxPoolSize,
    idleIpReclaimAfterMs: r.after !== undefined ? parseGoDuration(r.after) : undefined,
    idleIpReclaimIntervalMs: r.interval !== undefined ? parseGoDuration(r.interval) : undefined,
    idleIpReclaimBatchSize: r.batchSize,
    idleIpReclaimJitterFactor: decimal(r.jitterFactor),
    maxEni: spec.eni.maxENI,
    minEni: spec.eni.minENI,
    eniCapRatio: decimal(spec.eni.eniCapRatio),
    eniCapShift: spec.eni.eniCapShift,
    eniSelectionPolicy: spec.eni.eniSelectionPolicy,
    vSwitchSelectionPolicy: spec.eni.vSwitchSelectPolicy === 'random' ? 'random' : 'ordered',
    eniTagFilter: spec.eni.tagFilter ?? {},
  });
  return withEffectivePoolSizes(cfg, limits);
}

/** A recorded call waits out the back-off its failure set (pool/backoff.ts) before it is re-issued. */
function pausedOp(op: CrCloudOperation, b: Backoffs, now: number): boolean {
  if (isActive(b.all, now)) return true;
  if (op.api === 'AssignPrivateIpAddresses') return op.eniID !== undefined && isActive(b.enis[op.eniID], now);
  return isActive(b.create, now) || (op.vSwitchID !== undefined && isActive(b.vSwitches[op.vSwitchID], now));
}

/** The state the planner sees for one IP: the controller's status, the node's use. */
function ipState(status: string, f: NodeIpFields | undefined): IpState | undefined {
  if (status === 'Reclaiming' || status === 'Deleting') return 'releasing';
  if (f?.use === 'released') return 'releasing';
  if (f?.use === 'assigned' || f?.use === 'cooling' || f?.use === 'reserved') return f.use;
  return status === 'Valid' ? 'free' : undefined; // Invalid and not held: gone for the planner
}

export function plannerEnis(v: NodeView, incoming: ReadonlyMap<string, number>): PlannerEni[] {
  const out: PlannerEni[] = [];
  for (const nic of Object.values(v.model.networkInterfaces)) {
    const ips: PlannerIp[] = [];
    for (const ip of podAddresses(nic)) {
      const state = ipState(ip.status, v.node.get(ip.ip));
      if (state) ips.push({ ip: ip.ip, state, since: v.freeSince.get(ip.ip) ?? v.now });
    }
    out.push({
      eniId: nic.id,
      vSwitchId: nic.vSwitchID,
      primary: nic.networkInterfaceType === 'Primary',
      createdByUs: nic.networkInterfaceType !== 'Primary',
      state: nic.status === 'InUse' ? 'inuse' : nic.status === 'Attaching' ? 'attaching' : 'deleting',
      createdAt: crTimeMs(nic.creationTime) ?? 0,
      ...(nic.networkInterfaceType !== 'Primary' && nic.primaryIPAddress ? { primaryIp: nic.primaryIPAddress } : {}),
      ips,
      incoming: incoming.get(nic.id) ?? 0,
      busy: v.inFlight.busy.has(nic.id),
    });
  }
  return out;
}

/** The steps already decided (resume, attach, release what the node gave up) and the planner's growth and reclaim. */
export function planNode(v: NodeView): NodePlan {
  const cfg = poolConfigOf(v.spec, v.limits);
  const steps: Step[] = [];
  const reclaim: string[] = [];
  const cancel: string[] = [];

  for (const [token, op] of Object.entries(v.model.cloudOperations)) {
    const done = op.api === 'CreateNetworkInterface' && op.eniID !== undefined; // created: its ENI's attach is what remains
    if (done || v.inFlight.runningOps.has(token) || pausedOp(op, v.backoffs, v.now)) continue;
    steps.push({ kind: 'resumeOp', token, op });
  }

  for (const nic of Object.values(v.model.networkInterfaces)) {
    if (nic.status === 'Attaching' && !v.inFlight.attaching.has(nic.id) && !isActive(v.backoffs.enis[nic.id], v.now))
      steps.push({ kind: 'attach', eniId: nic.id });
  }

  const { creating, incoming } = onTheirWay(v.model);
  const enis = plannerEnis(v, incoming);
  const p = plan({
    now: v.now,
    config: cfg,
    limits: v.limits,
    foreignEnis: v.foreign,
    vSwitchIds: v.spec.eni.vSwitchOptions,
    enis,
    creating,
    pending: v.waitingPods,
    backoffs: v.backoffs,
    lastModifiedAt: v.lastModifiedAt,
    nextReclaimAt: v.nextReclaimAt,
    reclaimIntervalMs: v.reclaimIntervalMs,
    recentCreates: v.recentCreates,
    random: v.random,
  });
  const grow: Step[] = [];
  for (const a of p.actions) {
    if (a.kind === 'createEni')
      grow.unshift({ kind: 'createEni', vSwitchId: a.vSwitchId, secondaryCount: a.secondaryCount, expectIps: a.expectIps });
    else if (a.kind === 'assign') grow.push({ kind: 'assign', eniId: a.eniId, count: a.count });
    else if (a.kind === 'unassign') reclaim.push(...a.ips);
    else if (a.kind === 'deleteEni') {
      // The whole ENI, its own primary address included (it cannot be unassigned: it goes with the ENI).
      const nic = v.model.networkInterfaces[a.eniId];
      if (nic) for (const ip of podAddresses(nic)) if (ip.status === 'Valid') reclaim.push(ip.ip);
    }
  }
  steps.push(...grow);

  // What the node answered: give up what it released, withdraw the ask where it uses the IP.
  for (const nic of Object.values(v.model.networkInterfaces)) {
    if (isActive(v.backoffs.enis[nic.id], v.now) || v.inFlight.busy.has(nic.id)) continue;
    const a = answers(nic, v.node);
    cancel.push(...a.inUse);
    const oldEnough = v.now - (crTimeMs(nic.creationTime) ?? 0) >= cfg.minEniLifetimeMs;
    if (nic.status === 'Deleting' || (a.whole && oldEnough && grow.length === 0)) {
      steps.push({ kind: 'deleteEni', eniId: nic.id });
      continue;
    }
    // The ENI stays: its primary address, given up for a deletion that is not happening, is placed again.
    if (a.ownReleased && !a.unanswered) cancel.push(nic.primaryIPAddress);
    for (let i = 0; i < a.released.length; i += cfg.batchSize)
      steps.push({ kind: 'unassign', eniId: nic.id, ips: a.released.slice(i, i + cfg.batchSize) });
  }

  const blocked = p.shortfall > 0 && p.blocker?.exhausted ? { code: p.blocker.code, message: p.blocker.message } : undefined;
  const ends = [earliestEnd(v.backoffs), p.createsDeferredUntil, p.nextReclaimAt].filter((t): t is number => t !== undefined && t > v.now);
  const priority: PriorityClass =
    steps.some((s) => s.kind === 'resumeOp' || s.kind === 'attach') || (v.waitingPods > 0 && grow.length > 0) ? 0 : grow.length > 0 ? 1 : 2;
  return {
    steps,
    reclaim,
    cancel,
    ...(blocked ? { blocked } : {}),
    ...(p.nextReclaimAt !== undefined ? { nextReclaimAt: p.nextReclaimAt } : {}),
    reclaimIntervalUsed: p.reclaimIntervalUsed,
    ...(ends.length > 0 ? { wakeAt: Math.min(...ends) } : {}),
    priority,
  };
}

/**
 * The node's answers on one ENI's addresses: secondary IPs it released (to unassign; sorted), asks it refused
 * because it uses the address (to withdraw), whether every address is released (an ENI of ours may then go
 * whole), whether the ENI's own primary address is released (it is never unassigned) and whether an ask still
 * waits for an answer. A primary address put back to Valid that the node still reports released is on its
 * way back to the node, not released.
 */
function answers(
  nic: CrNic,
  node: NodeView['node'],
): { released: string[]; inUse: string[]; whole: boolean; ownReleased: boolean; unanswered: boolean } {
  const ours = nic.networkInterfaceType !== 'Primary';
  const addresses = podAddresses(nic);
  const released: string[] = [];
  const inUse: string[] = [];
  let ownReleased = false;
  let gone = 0;
  let unanswered = false;
  for (const ip of addresses) {
    const use = node.get(ip.ip)?.use;
    const own = ours && ip.ip === nic.primaryIPAddress;
    if (ip.status === 'Deleting' || (use === 'released' && !(own && ip.status === 'Valid'))) {
      gone++;
      if (own) ownReleased = true;
      else released.push(ip.ip);
    } else if (ip.status === 'Reclaiming') {
      if (use) inUse.push(ip.ip);
      else unanswered = true;
    }
  }
  const whole = ours && addresses.length > 0 && gone === addresses.length;
  return { released: released.sort(), inUse, whole, ownReleased, unanswered };
}
