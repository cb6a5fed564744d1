// The verbs: turn a checked invocation into EniBackend calls and a CNI result or CniError.
// No process, socket or stdout access here: main.ts injects the backend and the printer.
import { boundText } from '../proto/identity.js';
import { PENDING_DEL_FORMAT, type PendingDelRecord } from '../proto/pendingDel.js';
import { API_VERSION } from '../proto/version.js';
import type { EniBackend } from './daemonClient.js';
import { DaemonUnreachableError, GrpcCode, GrpcStatusError } from './grpc.js';
import type { Logger } from './log.js';
import type { WriteOutcome } from './pendingDel.js';
import { buildAddResult, checkPrevResult, CniError, ErrCode, type CniEnv, type NetConf } from './spec.js';
import { EventTarget, EventType, FailureReason, WireError, type AllocIPReply, type PodRef } from './wire.js';

/** Per-verb deadlines (ms); `timeout_seconds` in the config overrides them all. */
export const DEFAULT_TIMEOUT_MS = { ADD: 120_000, DEL: 60_000, CHECK: 30_000, STATUS: 10_000, GC: 120_000 } as const;
/** DEL waits this long for a daemon that does not answer, then records the release (`del_wait_seconds`). */
export const DEFAULT_DEL_WAIT_MS = 5_000;
const EVENT_TIMEOUT_MS = 2_000;
const RELEASE_AFTER_FAILED_ADD_MS = 30_000;

export interface Invocation {
  env: CniEnv;
  conf: NetConf;
  cniArgs: Record<string, string>;
  pluginVersion: string;
}

export interface CommandIO {
  /** Writes the result to stdout; throws when it cannot (EPIPE, ...). */
  print(text: string): void;
  log: Logger;
  /** DEL: writes a pending-DEL record for the daemon (pending_del_dir); throws when the directory cannot be written. */
  recordPendingDel(record: PendingDelRecord): WriteOutcome;
}

function timeoutFor(inv: Invocation, verb: keyof typeof DEFAULT_TIMEOUT_MS): number {
  return inv.conf.timeoutSeconds !== undefined ? inv.conf.timeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS[verb];
}

/** The pod key is (CNI_CONTAINERID, CNI_IFNAME, network name), as the spec requires. */
export function podRef(inv: Invocation): PodRef {
  return {
    k8sPodName: inv.cniArgs.K8S_POD_NAME ?? '',
    k8sPodNamespace: inv.cniArgs.K8S_POD_NAMESPACE ?? '',
    // CNI_CONTAINERID, not K8S_POD_INFRA_CONTAINER_ID: GC's valid-attachments name containerIDs.
    k8sPodInfraContainerId: inv.env.containerId,
    netns: inv.env.netns,
    ifName: inv.env.ifName,
    networkName: inv.conf.name,
  };
}

const isUnreachable = (e: unknown): boolean =>
  e instanceof DaemonUnreachableError || (e instanceof GrpcStatusError && e.code === GrpcCode.UNAVAILABLE);

/** Maps a transport / gRPC / decoding failure to a CNI error for the verb. */
export function transportError(e: unknown, verb: string): CniError {
  if (e instanceof CniError) return e;
  if (isUnreachable(e)) {
    const m = (e as Error).message;
    if (verb === 'STATUS') return new CniError(ErrCode.NOT_AVAILABLE, 'ENI daemon unreachable', m);
    return new CniError(ErrCode.TRY_AGAIN_LATER, 'ENI daemon unreachable, try again later', m);
  }
  if (e instanceof GrpcStatusError) {
    switch (e.code) {
      case GrpcCode.DEADLINE_EXCEEDED:
        return verb === 'STATUS'
          ? new CniError(ErrCode.NOT_AVAILABLE, 'ENI daemon did not answer in time', e.details)
          : new CniError(ErrCode.TRY_AGAIN_LATER, `${verb} timed out waiting for the ENI daemon`, e.details);
      case GrpcCode.FAILED_PRECONDITION:
        return new CniError(
          verb === 'STATUS' ? ErrCode.NOT_AVAILABLE : ErrCode.API_MISMATCH,
          'plugin and ENI daemon API versions differ',
          `plugin speaks API ${API_VERSION}; daemon: ${e.details}`,
        );
      case GrpcCode.UNIMPLEMENTED:
        return new CniError(
          verb === 'STATUS' ? ErrCode.NOT_AVAILABLE : ErrCode.API_MISMATCH,
          'ENI daemon does not implement this call (plugin and daemon versions differ?)',
          e.details,
        );
      case GrpcCode.INVALID_ARGUMENT:
        return new CniError(ErrCode.INVALID_CONFIG, 'ENI daemon rejected the request', e.details);
      case GrpcCode.RESOURCE_EXHAUSTED:
        return new CniError(ErrCode.TRY_AGAIN_LATER, 'ENI daemon is out of resources, try again later', e.details);
      default:
        return new CniError(
          verb === 'STATUS' ? ErrCode.NOT_AVAILABLE : ErrCode.INTERNAL,
          'ENI daemon call failed',
          `gRPC ${e.code}: ${e.details}`,
        );
    }
  }
  if (e instanceof WireError) return new CniError(ErrCode.INTERNAL, 'cannot decode the ENI daemon reply', e.message);
  return new CniError(ErrCode.INTERNAL, 'internal error', e instanceof Error ? e.message : String(e));
}

/** Maps a reply's FailureReason to a CNI error. */
export function failureError(reason: number, message: string, cloudCode: string, verb: string): CniError {
  const details = cloudCode ? `${message} (cloud error ${cloudCode})` : message;
  switch (reason) {
    case FailureReason.POOL_EXHAUSTED:
      return new CniError(ErrCode.TRY_AGAIN_LATER, 'no address available now, try again later', details);
    case FailureReason.ALLOC_TIMEOUT:
      return new CniError(ErrCode.TRY_AGAIN_LATER, 'address allocation timed out, try again later', details);
    case FailureReason.SHUTTING_DOWN:
      return new CniError(ErrCode.TRY_AGAIN_LATER, 'ENI daemon is shutting down, try again later', details);
    case FailureReason.INVALID_REQUEST:
      return new CniError(ErrCode.INVALID_CONFIG, 'ENI daemon rejected the request', details);
    case FailureReason.DRIVER_FAILED:
      return new CniError(ErrCode.DRIVER_FAILED, 'netns wiring failed', details);
    case FailureReason.CHECK_FAILED:
    case FailureReason.NOT_FOUND:
      if (verb === 'CHECK') return new CniError(ErrCode.CHECK_FAILED, 'CHECK failed', details);
      return new CniError(ErrCode.INTERNAL, `${verb} failed: no allocation for this pod`, details);
    default:
      return new CniError(ErrCode.INTERNAL, `${verb} failed in the ENI daemon`, details || `failure reason ${reason}`);
  }
}

/** Throws unless a successful AllocIP reply can be turned into a result. */
function checkAllocReply(r: AllocIPReply, ifName: string): void {
  if (r.ips.length === 0) throw new CniError(ErrCode.INTERNAL, 'ENI daemon reply has no address');
  // The spec: the sandbox interface must carry CNI_IFNAME, or ADD must fail.
  if (r.interface?.name && r.interface.name !== ifName) {
    throw new CniError(ErrCode.INTERNAL, 'ENI daemon named the pod interface differently', `${r.interface.name}, want ${ifName}`);
  }
  for (const ip of r.ips) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(ip.address))
      throw new CniError(ErrCode.INTERNAL, 'ENI daemon reply has a malformed address', ip.address);
  }
}

async function recordFailure(backend: EniBackend, inv: Invocation, reason: string, message: string, io: CommandIO): Promise<void> {
  if (!inv.cniArgs.K8S_POD_NAME) return;
  try {
    await backend.recordEvent(
      {
        target: EventTarget.EVENT_TARGET_POD,
        k8sPodName: inv.cniArgs.K8S_POD_NAME,
        k8sPodNamespace: inv.cniArgs.K8S_POD_NAMESPACE ?? '',
        type: EventType.EVENT_TYPE_WARNING,
        reason,
        message,
      },
      EVENT_TIMEOUT_MS,
    );
  } catch (e) {
    io.log.warn(`RecordEvent failed: ${(e as Error).message}`);
  }
}

/**
 * After a failed AllocIP call: could the daemon have allocated anyway? Not when it was never
 * reached or refused the request up front (version, validation, size); otherwise it may have.
 */
function allocMayHaveHappened(e: unknown): boolean {
  if (e instanceof CniError || e instanceof DaemonUnreachableError) return false;
  if (e instanceof GrpcStatusError) {
    const c = e.code;
    return !(
      c === GrpcCode.FAILED_PRECONDITION ||
      c === GrpcCode.INVALID_ARGUMENT ||
      c === GrpcCode.UNIMPLEMENTED ||
      c === GrpcCode.RESOURCE_EXHAUSTED
    );
  }
  return true;
}

async function releaseAfterFailedAdd(backend: EniBackend, inv: Invocation, pod: PodRef, reason: string, io: CommandIO): Promise<void> {
  io.log.error(`ADD failed (${reason}); releasing`);
  try {
    await backend.releaseIP({ pod, apiVersion: API_VERSION, pluginVersion: inv.pluginVersion, reason }, RELEASE_AFTER_FAILED_ADD_MS);
  } catch (re) {
    io.log.error(`ReleaseIP after failed ADD failed: ${(re as Error).message}`);
  }
}

export async function cmdAdd(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  const pod = podRef(inv);
  let reply: AllocIPReply;
  try {
    const o = inv.conf.daemonOptions;
    const netConf = {
      mtu: o.mtu ?? 0,
      eniipVirtualType: o.eniipVirtualType ?? '',
      vethPrefix: o.vethPrefix ?? '',
      ignoredKeys: o.ignoredKeys,
    };
    reply = await backend.allocIP({ pod, apiVersion: API_VERSION, pluginVersion: inv.pluginVersion, netConf }, timeoutFor(inv, 'ADD'));
  } catch (e) {
    const err = transportError(e, 'ADD');
    // The daemon may hold an allocation we never got word of (reply garbled, deadline passed while
    // it worked, handler crashed after allocating): give the pod key back; ReleaseIP is idempotent.
    if (allocMayHaveHappened(e)) await releaseAfterFailedAdd(backend, inv, pod, `AllocIP outcome unknown: ${err.message}`, io);
    throw err;
  }
  if (!reply.success) {
    const err = failureError(reply.failureReason, reply.message, reply.cloudErrorCode, 'ADD');
    if (err.code !== ErrCode.TRY_AGAIN_LATER) await recordFailure(backend, inv, 'AllocIPFailed', err.message, io);
    throw err;
  }
  let text: string;
  try {
    checkAllocReply(reply, inv.env.ifName);
    const iface = reply.interface;
    const result = buildAddResult(
      {
        ifName: inv.env.ifName,
        mac: iface?.mac ?? '',
        netns: inv.env.netns,
        hostIfName: iface?.hostIfName ?? '',
        hostIfMac: iface?.hostIfMac ?? '',
        ips: reply.ips,
        routes: reply.routes,
      },
      inv.conf.cniVersion,
      inv.conf.prevResult,
      inv.conf.dns,
    );
    text = JSON.stringify(result);
    io.print(text);
  } catch (e) {
    // We hold an allocation the runtime will never learn about: give it back now.
    const cause = e instanceof Error ? e.message : String(e);
    await releaseAfterFailedAdd(backend, inv, pod, `plugin failed after AllocIP: ${cause}`, io);
    throw e instanceof CniError ? e : new CniError(ErrCode.IO_FAILURE, 'cannot write the result', cause);
  }
  io.log.info(`ADD ok ${reply.ips.map((i) => i.address).join(',')} eni=${reply.eniId}`);
}

/** DEL's wait for the daemon: `del_wait_seconds`, else the DEL deadline but at most DEFAULT_DEL_WAIT_MS. */
function delWaitMs(inv: Invocation): number {
  if (inv.conf.delWaitSeconds !== undefined) return inv.conf.delWaitSeconds * 1000;
  return Math.min(timeoutFor(inv, 'DEL'), DEFAULT_DEL_WAIT_MS);
}

/**
 * DEL: ReleaseIP. When the daemon cannot take it (unreachable, shutting down, no answer within the DEL wait) the
 * release is recorded for the daemon, which applies it before it serves again (and on a timer), and DEL succeeds:
 * a runtime retries a failed DEL for ever, and a non-Kubernetes runtime may never send a CNI GC. It fails (so the
 * runtime retries) only when the daemon answered that it could not undo the pod's wiring (DRIVER_FAILED, INTERNAL).
 */
export async function cmdDel(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  const wait = delWaitMs(inv);
  let why: string;
  try {
    const r = await backend.releaseIP(
      { pod: podRef(inv), apiVersion: API_VERSION, pluginVersion: inv.pluginVersion, reason: 'cni DEL' },
      wait,
    );
    if (r.success || r.failureReason === FailureReason.NOT_FOUND) {
      io.log.info(`DEL ok ${r.releasedIp || '(nothing held)'}`);
      return;
    }
    if (r.failureReason !== FailureReason.SHUTTING_DOWN) throw failureError(r.failureReason, r.message, '', 'DEL');
    why = `daemon shutting down (${r.message})`;
  } catch (e) {
    if (e instanceof CniError) throw e;
    if (isUnreachable(e)) why = `daemon unreachable (${(e as Error).message})`;
    else if (e instanceof GrpcStatusError && e.code === GrpcCode.DEADLINE_EXCEEDED) why = `daemon did not answer within ${wait / 1000} s`;
    // The server cancelled the call: it is stopping (its drain bound passed).
    else if (e instanceof GrpcStatusError && e.code === GrpcCode.CANCELLED) why = `daemon cancelled the call (${e.details})`;
    else throw transportError(e, 'DEL');
  }
  recordRelease(inv, why, io);
}

/** Writes the pending-DEL record; DEL succeeds whatever this comes to, and the log says which. */
function recordRelease(inv: Invocation, why: string, io: CommandIO): void {
  const record: PendingDelRecord = {
    format: PENDING_DEL_FORMAT,
    containerId: inv.env.containerId,
    ifName: inv.env.ifName,
    networkName: inv.conf.name,
    netns: inv.env.netns,
    podNamespace: inv.cniArgs.K8S_POD_NAMESPACE ?? '',
    podName: inv.cniArgs.K8S_POD_NAME ?? '',
    // The host clock the daemon stamps allocations with: a record never releases an allocation made after it.
    time: Date.now(),
    pluginVersion: inv.pluginVersion,
    reason: boundText(why, 512),
  };
  const fallback = "the daemon's start-up check and GC are left to release it";
  try {
    const out = io.recordPendingDel(record);
    if (out.written) io.log.warn(`DEL: ${why}; succeeding: release recorded in ${out.path}, the daemon applies it before it serves`);
    else io.log.error(`DEL: ${why}; succeeding, but ${out.records} pending-DEL records are waiting (the cap): not recorded, ${fallback}`);
  } catch (e) {
    io.log.error(`DEL: ${why}; succeeding, but recording the release failed (${(e as Error).message}): ${fallback}`);
  }
}

export async function cmdCheck(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  const prev = inv.conf.prevResult;
  if (!prev) throw new CniError(ErrCode.INVALID_CONFIG, 'invalid network config', 'CHECK needs prevResult');
  const pod = podRef(inv);
  const timeout = timeoutFor(inv, 'CHECK');
  try {
    const info = await backend.getIPInfo({ pod, apiVersion: API_VERSION }, timeout);
    if (!info.success) throw failureError(info.failureReason, info.message, '', 'CHECK');
    if (!info.found) throw new CniError(ErrCode.CHECK_FAILED, 'CHECK failed', 'the ENI daemon holds no allocation for this pod');
    checkPrevResult(
      prev,
      inv.env.ifName,
      inv.env.netns,
      info.ips.map((i) => i.address),
    );
    const r = await backend.checkIP({ pod, apiVersion: API_VERSION, pluginVersion: inv.pluginVersion }, timeout);
    if (!r.success) throw failureError(r.failureReason || FailureReason.CHECK_FAILED, r.message, '', 'CHECK');
  } catch (e) {
    throw transportError(e, 'CHECK');
  }
  io.log.info('CHECK ok');
}

export async function cmdStatus(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  let r;
  try {
    r = await backend.status({ apiVersion: API_VERSION }, Math.min(timeoutFor(inv, 'STATUS'), DEFAULT_TIMEOUT_MS.STATUS));
  } catch (e) {
    throw transportError(e, 'STATUS');
  }
  if (r.apiVersion !== 0 && r.apiVersion !== API_VERSION) {
    throw new CniError(ErrCode.NOT_AVAILABLE, 'plugin and ENI daemon API versions differ', `plugin ${API_VERSION}, daemon ${r.apiVersion}`);
  }
  if (!r.ready)
    throw new CniError(ErrCode.NOT_AVAILABLE, 'ENI daemon cannot serve ADD now', r.message || `free ${r.freeIps} of ${r.totalIps}`);
  io.log.info(`STATUS ready, free ${r.freeIps}/${r.totalIps}`);
}

export async function cmdGc(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  const att = inv.conf.validAttachments;
  // Without the list every allocation would look stale: refuse rather than release them all.
  if (!att) throw new CniError(ErrCode.INVALID_CONFIG, 'invalid network config', 'GC needs "cni.dev/valid-attachments"');
  let r;
  try {
    r = await backend.gc(
      {
        networkName: inv.conf.name,
        validAttachments: att.map((a) => ({ containerId: a.containerID, ifName: a.ifname })),
        apiVersion: API_VERSION,
      },
      timeoutFor(inv, 'GC'),
    );
  } catch (e) {
    throw transportError(e, 'GC');
  }
  if (!r.success) throw new CniError(ErrCode.INTERNAL, 'GC failed in the ENI daemon', r.message);
  io.log.info(`GC ok, released ${r.released.length}: ${r.released.join(' ')}`);
}

/** Runs a verb other than VERSION. */
export function runCommand(inv: Invocation, backend: EniBackend, io: CommandIO): Promise<void> {
  switch (inv.env.command) {
    case 'ADD':
      return cmdAdd(inv, backend, io);
    case 'DEL':
      return cmdDel(inv, backend, io);
    case 'CHECK':
      return cmdCheck(inv, backend, io);
    case 'STATUS':
      return cmdStatus(inv, backend, io);
    case 'GC':
      return cmdGc(inv, backend, io);
    default:
      return Promise.reject(new CniError(ErrCode.INVALID_ENV, `unknown CNI_COMMAND: ${inv.env.command}`));
  }
}
