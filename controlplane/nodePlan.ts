// Pure: what the controller does next for one node. The decisions are the pool's (pool/planner.ts plan():
// watermarks, batches of at most 10, ENI quota and create rate, reclaim, back-off), fed from the Node
// resource instead of a local DB: the controller's ENIs and IPs, the node's holders and waiting pods, and
// what is in flight. What the planner wants released is only *asked* of the node here (Reclaiming); the
// cloud call comes once the node gave the IP up (`released`), so an IP a pod holds is never unassigned.
import { parseGoDuration } from '../daemon/config/duration.js';
import { crTimeMs, type CrCloudOperation, type NodeCr } from '../daemon/k8s/nodeCr.js';
import { earliestEnd, isActive, type Backoffs } from '../pool/backoff.js';
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
    add(nic.id, Object.values(nic.ipv4).filter((ip) => !ip.primary).length);
  }
  return { creating, incoming };
}

export interface NodeView {
  now: number;
  spec: NodeCr['spec'];
  model: ControllerStatus;
  node: ReadonlyMap<string, NodeIpFields>;
  waitingPods: number;
  limits: { eniQuantity: number; ipv4PerEni: number };
  /** Secondary ENIs on the instance that are not ours: they hold quota slots. */
  foreign: number;
  inFlight: NodeInFlight;
  backoffs: Backoffs;
  recentCreates: readonly number[];
  lastReclaimAt: number;
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
  reclaimed: boolean;
  /** Plan again at this time (a back-off or the create rate window ends). */
  wakeAt?: number;
  priority: PriorityClass;
}

/** The pool settings of the node's spec (Terway names) as the planner's config; throws RangeError on nonsense. */
export function poolConfigOf(spec: NodeCr['spec']): PoolConfig {
  const r = spec.pool.reclaim ?? {};
  const jitter = r.jitterFactor !== undefined ? Number(r.jitterFactor) : undefined;
  return resolvePoolConfig({
    minPoolSize: spec.pool.minPoolSize,
    maxPoolSize: spec.pool.maxPoolSize,
    idleIpReclaimAfterMs: r.after !== undefined ? parseGoDuration(r.after) : undefined,
    idleIpReclaimIntervalMs: r.interval !== undefined ? parseGoDuration(r.interval) : undefined,
    idleIpReclaimBatchSize: r.batchSize,
    idleIpReclaimJitterFactor: jitter !== undefined && Number.isFinite(jitter) ? jitter : undefined,
    maxEni: spec.eni.maxENI,
    minEni: spec.eni.minENI,
    eniSelectionPolicy: spec.eni.eniSelectionPolicy,
    vSwitchSelectionPolicy: spec.eni.vSwitchSelectPolicy === 'random' ? 'random' : 'ordered',
    eniTagFilter: spec.eni.tagFilter ?? {},
  });
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
    for (const ip of Object.values(nic.ipv4)) {
      if (ip.primary) continue; // an ENI's own address serves no pod (pool/planner.ts secondaryPerEni)
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
      ips,
      incoming: incoming.get(nic.id) ?? 0,
      busy: v.inFlight.busy.has(nic.id),
    });
  }
  return out;
}

/** The steps already decided (resume, attach, release what the node gave up) and the planner's growth and reclaim. */
export function planNode(v: NodeView): NodePlan {
  const cfg = poolConfigOf(v.spec);
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
    limits: { ...v.limits, eniQuantity: Math.max(1, v.limits.eniQuantity - v.foreign) },
    vSwitchIds: v.spec.eni.vSwitchOptions,
    enis,
    creating,
    pending: v.waitingPods,
    backoffs: v.backoffs,
    lastReclaimAt: v.lastReclaimAt,
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
      const nic = v.model.networkInterfaces[a.eniId];
      for (const ip of Object.values(nic?.ipv4 ?? {})) if (!ip.primary && ip.status === 'Valid') reclaim.push(ip.ip);
    }
  }
  steps.push(...grow);

  // What the node answered: give up what it released, withdraw the ask where it uses the IP.
  for (const nic of Object.values(v.model.networkInterfaces)) {
    if (isActive(v.backoffs.enis[nic.id], v.now) || v.inFlight.busy.has(nic.id)) continue;
    const secondary = Object.values(nic.ipv4).filter((ip) => !ip.primary);
    const released: string[] = [];
    for (const ip of secondary) {
      const f = v.node.get(ip.ip);
      if (ip.status === 'Deleting' || f?.use === 'released') released.push(ip.ip);
      else if (ip.status === 'Reclaiming' && f?.use) cancel.push(ip.ip);
    }
    const ours = nic.networkInterfaceType !== 'Primary';
    const allGone = released.length === secondary.length;
    const oldEnough = v.now - (crTimeMs(nic.creationTime) ?? 0) >= cfg.minEniLifetimeMs;
    if (nic.status === 'Deleting' || (ours && allGone && secondary.length > 0 && oldEnough && grow.length === 0))
      steps.push({ kind: 'deleteEni', eniId: nic.id });
    else if (released.length > 0) {
      const sorted = released.sort();
      for (let i = 0; i < sorted.length; i += cfg.batchSize)
        steps.push({ kind: 'unassign', eniId: nic.id, ips: sorted.slice(i, i + cfg.batchSize) });
    }
  }

  const blocked = p.shortfall > 0 && p.blocker?.exhausted ? { code: p.blocker.code, message: p.blocker.message } : undefined;
  const ends = [earliestEnd(v.backoffs), p.createsDeferredUntil].filter((t): t is number => t !== undefined && t > v.now);
  const priority: PriorityClass =
    steps.some((s) => s.kind === 'resumeOp' || s.kind === 'attach') || (v.waitingPods > 0 && grow.length > 0) ? 0 : grow.length > 0 ? 1 : 2;
  return {
    steps,
    reclaim,
    cancel,
    ...(blocked ? { blocked } : {}),
    reclaimed: p.reclaimed,
    ...(ends.length > 0 ? { wakeAt: Math.min(...ends) } : {}),
    priority,
  };
}
