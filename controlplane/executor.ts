// Runs one step of one node in the cloud, with the crash-safety rules of docs/ARCHITECTURE.md
// ("Centralized IPAM"):
//   - a create or an assign is recorded in the resource (status.cloudOperations, under its ClientToken)
//     before the call, and the result replaces the record in one write: a leader killed in between leaves
//     the record, and its successor re-issues the call with the same token, which the cloud answers with the
//     first result instead of allocating again;
//   - an IP is unassigned only after the node gave it up (`released`), is marked Deleting before the call and
//     leaves the resource only after the cloud confirmed (or answered "already gone");
//   - an ENI is marked Deleting (its IPs too) before the detach, and leaves the resource once deleted.
// The step's state changes that planning must see (ENI busy, call running) are made before the first await.
import { randomUUID } from 'node:crypto';
import { crTime, type CrCloudOperation, type CrIp, type CrNic } from '../daemon/k8s/nodeCr.js';
import { deferEni, errorCode, recordFailure, type BackoffConfig } from '../pool/backoff.js';
import { CloudError, CloudErrorCodes } from '../pool/cloud.js';
import type { PoolEvent } from '../pool/events.js';
import { newEniTags } from '../pool/ownership.js';
import { afterFailedUnassign } from '../pool/transitions.js';
import type { EniPoller } from './eniPoller.js';
import { stepApi, type Step } from './nodePlan.js';
import type { NodeState } from './nodeState.js';
import type { ControllerCloud } from './ports.js';
import type { StatusWriter } from './statusWriter.js';

export interface ExecutorDeps {
  cloud: ControllerCloud;
  writer: StatusWriter;
  poller: EniPoller;
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void };
  /** The dispatcher's token promise becomes this call. */
  spend(api: string): void;
  /** The node changed: plan again and look at the work. */
  changed(node: NodeState): void;
  vSwitchCidr(vSwitchId: string): Promise<string>;
  backoff: BackoffConfig;
  onEvent?(node: NodeState, e: PoolEvent): void;
}

/** Starts the step: marks what planning must see at once, and returns the promise of the rest. */
export function runStep(node: NodeState, step: Step, d: ExecutorDeps): Promise<void> {
  let paid = false;
  const pay = (): void => {
    if (!paid) {
      paid = true;
      d.spend(stepApi(step));
    }
  };
  let work: Promise<void>;
  switch (step.kind) {
    case 'createEni': {
      const token = randomUUID();
      const op: CrCloudOperation = {
        api: 'CreateNetworkInterface',
        vSwitchID: step.vSwitchId,
        count: step.secondaryCount,
        expectIps: step.expectIps,
        startedAt: crTime(d.now()),
      };
      node.runningOps.add(token);
      node.recentCreates.push(d.now());
      node.model!.cloudOperations[token] = op;
      node.touch();
      work = d.writer.commit(node).then(() => create(node, token, op, d, pay));
      break;
    }
    case 'assign': {
      const token = randomUUID();
      const op: CrCloudOperation = { api: 'AssignPrivateIpAddresses', eniID: step.eniId, count: step.count, startedAt: crTime(d.now()) };
      node.runningOps.add(token);
      node.busy.add(step.eniId);
      node.model!.cloudOperations[token] = op;
      node.touch();
      work = d.writer.commit(node).then(() => assign(node, token, op, d, pay));
      break;
    }
    case 'resumeOp':
      node.runningOps.add(step.token);
      if (step.op.api === 'AssignPrivateIpAddresses' && step.op.eniID) node.busy.add(step.op.eniID);
      work =
        step.op.api === 'CreateNetworkInterface' ? create(node, step.token, step.op, d, pay) : assign(node, step.token, step.op, d, pay);
      break;
    case 'attach':
      node.attaching.add(step.eniId);
      node.busy.add(step.eniId);
      work = attach(node, step.eniId, d, pay);
      break;
    case 'unassign':
      node.busy.add(step.eniId);
      work = unassign(node, step.eniId, step.ips, d, pay);
      break;
    case 'deleteEni':
      node.busy.add(step.eniId);
      work = deleteEni(node, step.eniId, d, pay);
      break;
  }
  node.dirty = true;
  return work
    .catch((err: unknown) => d.log.warn({ err: (err as Error).message, node: node.name, step: step.kind }, 'node step ended early'))
    .finally(() => {
      pay();
      d.changed(node);
    });
}

/** A failed create / assign left no doubt that nothing happened (a 4xx other than throttling): its record goes. */
function certainlyFailed(err: unknown): boolean {
  return err instanceof CloudError && !err.retryable;
}

async function create(node: NodeState, token: string, op: CrCloudOperation, d: ExecutorDeps, pay: () => void): Promise<void> {
  const m = node.model!;
  try {
    const vSwitchId = op.vSwitchID!;
    const cidr = await d.vSwitchCidr(vSwitchId);
    const sgs = node.cr.spec.eni.securityGroupIDs.length > 0 ? node.cr.spec.eni.securityGroupIDs : node.primarySecurityGroups;
    pay();
    const eni = await d.cloud.createNetworkInterface({
      vSwitchId,
      securityGroupIds: sgs,
      description: `eni-ipam ENI for ${node.instanceId}`,
      tags: newEniTags(node.instanceId, node.cr.spec.eni.tag, node.cr.spec.eni.tagFilter),
      secondaryIpCount: op.count > 0 ? op.count : undefined,
      clientToken: token,
    });
    const ipv4: Record<string, CrIp> = { [eni.primaryIp]: { ip: eni.primaryIp, primary: true, status: 'Valid' } };
    for (const ip of eni.secondaryIps) ipv4[ip] = { ip, primary: false, status: 'Valid' };
    const nic: CrNic = {
      id: eni.eniId,
      status: 'Attaching',
      macAddress: eni.mac,
      vSwitchID: vSwitchId,
      securityGroupIDs: eni.securityGroupIds,
      primaryIPAddress: eni.primaryIp,
      ipv4CIDR: cidr,
      networkInterfaceType: 'Secondary',
      creationTime: crTime(d.now()),
      ipv4,
    };
    // The ENI and "this create made it" in one write; the record goes once the ENI is InUse.
    m.networkInterfaces[eni.eniId] ??= nic;
    if (m.cloudOperations[token]) m.cloudOperations[token] = { ...op, eniID: eni.eniId };
    node.touch();
    d.onEvent?.(node, {
      type: 'Normal',
      reason: 'CreateENISucceed',
      message: `created ${eni.eniId} in ${vSwitchId} with ${eni.secondaryIps.length + 1} IPs`,
      eniId: eni.eniId,
    });
    await d.writer.commit(node);
  } catch (err) {
    failed(node, token, err, { vSwitchId: op.vSwitchID }, 'CreateNetworkInterface', d);
    await d.writer.commit(node);
  } finally {
    node.runningOps.delete(token);
  }
}

async function assign(node: NodeState, token: string, op: CrCloudOperation, d: ExecutorDeps, pay: () => void): Promise<void> {
  const m = node.model!;
  const eniId = op.eniID!;
  try {
    pay();
    const ips = await d.cloud.assignPrivateIpAddresses(eniId, op.count, { clientToken: token });
    const nic = m.networkInterfaces[eniId];
    if (nic) for (const ip of ips) nic.ipv4[ip] ??= { ip, primary: false, status: 'Valid' };
    delete m.cloudOperations[token];
    node.touch();
    await d.writer.commit(node);
  } catch (err) {
    failed(node, token, err, { eniId, vSwitchId: m.networkInterfaces[eniId]?.vSwitchID }, 'AssignPrivateIpAddresses', d);
    await d.writer.commit(node);
  } finally {
    node.runningOps.delete(token);
    node.busy.delete(eniId);
  }
}

/** A failed create / assign: back off as the pool does; the record stays unless the call certainly did nothing. */
function failed(
  node: NodeState,
  token: string,
  err: unknown,
  ctx: { eniId?: string; vSwitchId?: string },
  api: string,
  d: ExecutorDeps,
): void {
  const code = errorCode(err);
  node.backoffs = recordFailure(node.backoffs, code, ctx, d.now(), d.backoff);
  if (certainlyFailed(err)) delete node.model!.cloudOperations[token];
  node.touch();
  d.log.warn({ err: (err as Error).message, code, node: node.name, ...ctx }, `${api} failed`);
  d.onEvent?.(node, { type: 'Warning', reason: 'AllocIPFailed', message: `${api}: ${(err as Error).message}`, eniId: ctx.eniId });
}

async function attach(node: NodeState, eniId: string, d: ExecutorDeps, pay: () => void): Promise<void> {
  const m = node.model!;
  try {
    try {
      pay();
      await d.cloud.attachNetworkInterface(eniId, node.instanceId, { wait: false });
    } finally {
      node.busy.delete(eniId);
    }
    const outcome = await d.poller.wait(eniId, 'InUse', node.instanceId);
    // Settled: the ENI takes work again from the plan that sees it InUse (not only after the write below).
    node.attaching.delete(eniId);
    const nic = m.networkInterfaces[eniId];
    if (!nic) return;
    if (outcome === 'done') {
      nic.status = 'InUse';
      for (const [t, op] of Object.entries(m.cloudOperations))
        if (op.api === 'CreateNetworkInterface' && op.eniID === eniId) delete m.cloudOperations[t];
      node.touch();
      d.onEvent?.(node, { type: 'Normal', reason: 'AttachENISucceed', message: `attached ${eniId}`, eniId });
      await d.writer.commit(node);
      return;
    }
    if (outcome === 'timeout') return; // still on its way: the next plan attaches (or polls) again
    throw new CloudError({
      api: 'AttachNetworkInterface',
      code: outcome === 'gone' ? CloudErrorCodes.EniNotFound : 'AttachFailed',
      message: `${eniId}: attach ${outcome}`,
      retryable: false,
    });
  } catch (err) {
    const code = errorCode(err);
    if (err instanceof CloudError && err.retryable) {
      node.backoffs = deferEni(node.backoffs, eniId, code, d.now(), d.backoff);
      return;
    }
    // The attach cannot happen (quota, wrong state): the ENI goes, as the pool deletes a failed one.
    node.backoffs = recordFailure(node.backoffs, code, {}, d.now(), d.backoff);
    const nic = m.networkInterfaces[eniId];
    if (nic) markDeleting(nic);
    for (const [t, op] of Object.entries(m.cloudOperations)) if (op.eniID === eniId) delete m.cloudOperations[t];
    node.touch();
    d.log.warn({ err: (err as Error).message, code, node: node.name, eniId }, 'attach failed; the ENI is deleted');
    d.onEvent?.(node, { type: 'Warning', reason: 'AttachENIFailed', message: `attach ${eniId}: ${(err as Error).message}`, eniId });
    await d.writer.commit(node);
  } finally {
    node.attaching.delete(eniId);
  }
}

function markDeleting(nic: CrNic): void {
  nic.status = 'Deleting';
  for (const ip of Object.values(nic.ipv4)) ip.status = 'Deleting';
}

async function unassign(node: NodeState, eniId: string, ips: string[], d: ExecutorDeps, pay: () => void): Promise<void> {
  const m = node.model!;
  try {
    const nic = m.networkInterfaces[eniId];
    if (!nic) return;
    const mine = ips.filter((ip) => nic.ipv4[ip] && !nic.ipv4[ip]!.primary);
    if (mine.length === 0) return;
    if (mine.some((ip) => nic.ipv4[ip]!.status !== 'Deleting')) {
      for (const ip of mine) nic.ipv4[ip]!.status = 'Deleting';
      node.touch();
      await d.writer.commit(node); // Deleting is durable before the call: a successor finishes it, never hands it out
    }
    try {
      pay();
      await d.cloud.unassignPrivateIpAddresses(eniId, mine);
    } catch (err) {
      if (afterFailedUnassign(errorCode(err)) !== 'finished') throw err; // "already gone" is done (pool/transitions.ts)
    }
    for (const ip of mine) delete nic.ipv4[ip];
    node.touch();
    d.log.debug({ node: node.name, eniId, count: mine.length }, 'released IPs the node gave back');
    await d.writer.commit(node);
  } catch (err) {
    node.backoffs = deferEni(node.backoffs, eniId, errorCode(err), d.now(), d.backoff);
    d.onEvent?.(node, { type: 'Warning', reason: 'ReleaseIPFailed', message: `unassign from ${eniId}: ${(err as Error).message}`, eniId });
    throw err;
  } finally {
    node.busy.delete(eniId);
  }
}

async function deleteEni(node: NodeState, eniId: string, d: ExecutorDeps, pay: () => void): Promise<void> {
  const m = node.model!;
  try {
    const nic = m.networkInterfaces[eniId];
    if (!nic || nic.networkInterfaceType === 'Primary') return;
    if (nic.status !== 'Deleting') {
      markDeleting(nic);
      node.touch();
      await d.writer.commit(node);
    }
    try {
      pay();
      await d.cloud.detachNetworkInterface(eniId, node.instanceId, { wait: false });
      const outcome = await d.poller.wait(eniId, 'Available');
      if (outcome === 'timeout' || outcome === 'failed')
        throw new CloudError({
          api: 'DetachNetworkInterface',
          code: 'DetachFailed',
          message: `${eniId}: detach ${outcome}`,
          retryable: true,
        });
      if (outcome === 'done') await d.cloud.deleteNetworkInterface(eniId);
    } catch (err) {
      if (errorCode(err) !== CloudErrorCodes.EniNotFound) throw err;
    }
    delete m.networkInterfaces[eniId];
    node.touch();
    d.onEvent?.(node, { type: 'Normal', reason: 'DeleteENISucceed', message: `deleted ${eniId}`, eniId });
    await d.writer.commit(node);
  } catch (err) {
    node.backoffs = deferEni(node.backoffs, eniId, errorCode(err), d.now(), d.backoff);
    d.onEvent?.(node, { type: 'Warning', reason: 'DeleteENIFailed', message: `delete ${eniId}: ${(err as Error).message}`, eniId });
    throw err;
  } finally {
    node.busy.delete(eniId);
  }
}
