// The plugin-facing gRPC server (eni.proto EniBackend + grpc.health.v1.Health) on a unix socket.
// Transport only: version check, request validation, error mapping, metrics, draining. What an
// RPC does is the NetworkService's business.
import { chmod } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  boundText,
  containerIdProblem,
  ifNameProblem,
  namespaceProblem,
  netnsProblem,
  networkNameProblem,
  podNameProblem,
  quote,
} from '../../proto/identity.js';
import { API_VERSION } from '../../proto/version.js';
import type { PodRef } from '../../pool/types.js';
import type { DaemonMetrics } from '../metrics.js';
import { podFields } from '../log.js';
import { mapFailure, type MappedFailure } from '../modes/errors.js';
import type { EventRecorder, NetworkService, IpConfigOut } from '../modes/types.js';
import type * as M from './messages.js';
import { loadServices } from './proto.js';
import { PluginNetConf } from './netConf.js';
import type { DriverName } from '../config/types.js';
import { DEFAULT_VETH_PREFIX } from '../../drivers/index.js';
import { prepareSocketPath, removeSocket } from './socket.js';

/** A request the server rejects with a gRPC status instead of a reply. */
export class RpcStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcStatusError';
  }
}

export interface DaemonServerOptions {
  service: NetworkService;
  logger: Logger;
  metrics?: DaemonMetrics;
  events?: EventRecorder;
  /** AllocIP wait bound when the client sets no deadline. */
  allocTimeoutMs: number;
  /** The daemon's driver and host veth prefix, against which a network config's own are compared (netConf.ts). */
  wiring?: { driver: DriverName; vethPrefix: string };
}

/** Health service names answered (besides "" for the whole server). */
export const HEALTH_SERVICE_NAME = 'eniipam.v1.EniBackend';

export function checkApiVersion(v: number): void {
  if (v !== API_VERSION) {
    throw new RpcStatusError(
      grpc.status.FAILED_PRECONDITION,
      `API version mismatch: plugin speaks eni.proto API version ${v}, daemon speaks ${API_VERSION}; ` +
        'install the plugin and the daemon from the same release',
    );
  }
}

const invalid = (field: string, value: string, problem: string): RpcStatusError =>
  new RpcStatusError(grpc.status.INVALID_ARGUMENT, `${field} ${quote(value)} ${problem}`);

/**
 * The pod interface of a request, checked as the plugin checks it (proto/identity.ts): other clients reach this
 * socket, and what passes here is stored in the pod DB, logged, put in file names and served by /v1/pods.
 */
export function podRefOf(msg: M.PodRefMsg | null | undefined, opts: { needNetns?: boolean; needNetworkName?: boolean } = {}): PodRef {
  if (!msg) throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'pod is required');
  if (!msg.k8s_pod_infra_container_id)
    throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'pod.k8s_pod_infra_container_id (container id) is required');
  if (!msg.if_name) throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'pod.if_name (interface name) is required');
  if (opts.needNetns && !msg.netns) throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'pod.netns is required');
  // Part of the pod key: an allocation without it could never be matched by CNI GC (which is per network).
  if (opts.needNetworkName && !msg.network_name)
    throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'pod.network_name (the network config name) is required');
  const checks: [string, string, string | undefined][] = [
    ['pod.k8s_pod_infra_container_id (container id)', msg.k8s_pod_infra_container_id, containerIdProblem(msg.k8s_pod_infra_container_id)],
    ['pod.if_name (interface name)', msg.if_name, ifNameProblem(msg.if_name)],
    ['pod.network_name', msg.network_name, msg.network_name === '' ? undefined : networkNameProblem(msg.network_name)],
    ['pod.netns', msg.netns, netnsProblem(msg.netns, false)],
    ['pod.k8s_pod_name', msg.k8s_pod_name, podNameProblem(msg.k8s_pod_name)],
    ['pod.k8s_pod_namespace', msg.k8s_pod_namespace, namespaceProblem(msg.k8s_pod_namespace)],
  ];
  for (const [field, value, problem] of checks) if (problem) throw invalid(field, value, problem);
  return {
    namespace: msg.k8s_pod_namespace,
    name: msg.k8s_pod_name,
    containerId: msg.k8s_pod_infra_container_id,
    ifName: msg.if_name,
    networkName: msg.network_name,
    netns: msg.netns || undefined,
  };
}

const ipsMsg = (ips: IpConfigOut[]): M.IPConfigMsg[] => ips.map((i) => ({ address: i.address, gateway: i.gateway, family: i.family }));

function allocFailure(f: MappedFailure): M.AllocIPReplyMsg {
  return {
    success: false,
    failure_reason: f.reason,
    message: f.message,
    ip_type: 'IP_TYPE_UNSPECIFIED',
    ips: [],
    routes: [],
    interface: null,
    eni_id: '',
    eni_mac: '',
    vswitch_id: '',
    cloud_error_code: f.cloudCode ?? '',
  };
}

const SHUTTING_DOWN: MappedFailure = { reason: 'SHUTTING_DOWN', message: 'daemon is shutting down; try again later' };

type Handler<Req, Res> = (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

export class DaemonServer {
  private readonly grpcServer: grpc.Server;
  private readonly service: NetworkService;
  private readonly log: Logger;
  private readonly metrics?: DaemonMetrics;
  private readonly events?: EventRecorder;
  private readonly allocTimeoutMs: number;
  private readonly netConf: PluginNetConf;
  private readonly watchers = new Set<grpc.ServerWritableStream<M.HealthCheckRequestMsg, M.HealthCheckResponseMsg>>();
  private serving = false;
  private draining = false;
  private inFlight = 0;
  private boundPath?: string;

  constructor(opts: DaemonServerOptions) {
    this.service = opts.service;
    this.log = opts.logger.child({ component: 'grpc' });
    this.metrics = opts.metrics;
    this.events = opts.events;
    this.allocTimeoutMs = opts.allocTimeoutMs;
    this.netConf = new PluginNetConf(opts.wiring ?? { driver: 'veth', vethPrefix: DEFAULT_VETH_PREFIX }, this.log);
    const { eniBackend, health } = loadServices();
    this.grpcServer = new grpc.Server();
    this.grpcServer.addService(eniBackend, {
      AllocIP: this.unary('AllocIP', this.allocIp, (r: M.AllocIPReplyMsg) => (r.success ? '' : r.failure_reason)),
      ReleaseIP: this.unary('ReleaseIP', this.releaseIp, (r: M.ReleaseIPReplyMsg) => (r.success ? '' : r.failure_reason)),
      GetIPInfo: this.unary('GetIPInfo', this.getIpInfo, (r: M.GetInfoReplyMsg) => (r.success ? '' : r.failure_reason)),
      CheckIP: this.unary('CheckIP', this.checkIp, (r: M.CheckIPReplyMsg) => (r.success ? '' : r.failure_reason)),
      RecordEvent: this.unary('RecordEvent', this.recordEvent, (r: M.EventReplyMsg) => (r.succeed ? '' : 'INTERNAL')),
      Status: this.unary('Status', this.status, () => ''),
      GC: this.unary('GC', this.gc, (r: M.GCReplyMsg) => (r.success ? '' : 'INTERNAL')),
    });
    this.grpcServer.addService(health, {
      Check: (
        call: grpc.ServerUnaryCall<M.HealthCheckRequestMsg, M.HealthCheckResponseMsg>,
        cb: grpc.sendUnaryData<M.HealthCheckResponseMsg>,
      ) => {
        const status = this.healthOf(call.request.service);
        if (status === 'SERVICE_UNKNOWN')
          cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
        else cb(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<M.HealthCheckRequestMsg, M.HealthCheckResponseMsg>) => {
        call.write({ status: this.healthOf(call.request.service) });
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    });
  }

  /** Binds the unix socket (parent created, stale socket removed, mode 0600). */
  async listen(socketPath: string): Promise<void> {
    const { removedStale } = await prepareSocketPath(socketPath);
    if (removedStale) this.log.info({ socketPath }, 'removed a stale socket');
    await new Promise<void>((resolve, reject) => {
      this.grpcServer.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.boundPath = socketPath;
    // Root only: the socket hands out pod addresses and rewires netns.
    await chmod(socketPath, 0o600);
  }

  /** Health turns SERVING once the mode service has started. */
  setServing(serving: boolean): void {
    this.serving = serving;
    this.notifyWatchers();
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Stops accepting calls and waits for in-flight ones up to `timeoutMs`, then cancels the rest.
   * Removes the socket. Returns whether calls had to be cancelled.
   */
  async shutdown(timeoutMs: number): Promise<{ forced: boolean; pending: number }> {
    this.draining = true;
    this.notifyWatchers();
    for (const w of this.watchers) w.end();
    this.watchers.clear();
    const pending = this.inFlight;
    const forced = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve(true);
      }, timeoutMs);
      this.grpcServer.tryShutdown(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (this.boundPath) await removeSocket(this.boundPath);
    return { forced, pending };
  }

  private healthOf(service: string): M.HealthCheckResponseMsg['status'] {
    if (service !== '' && service !== HEALTH_SERVICE_NAME) return 'SERVICE_UNKNOWN';
    return this.serving && !this.draining ? 'SERVING' : 'NOT_SERVING';
  }

  private notifyWatchers(): void {
    for (const w of this.watchers) w.write({ status: this.healthOf(w.request.service) });
  }

  private unary<Req, Res>(method: string, fn: Handler<Req, Res>, failureOf: (res: Res) => string): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const done = this.metrics?.startRpc(method);
      this.inFlight++;
      // Response headers go out now, while the handler works: grpc-js would otherwise send them with
      // the reply, an event-loop turn before the message and trailers, on the plugin's critical path.
      try {
        call.sendMetadata(new grpc.Metadata());
      } catch {
        // cancelled meanwhile: grpc-js drops the reply below as well
      }
      fn.call(this, call.request, call)
        .then(
          (res) => {
            done?.(failureOf(res));
            callback(null, res);
          },
          (e: unknown) => {
            if (e instanceof RpcStatusError) {
              done?.(grpc.status[e.code] ?? String(e.code));
              this.log.warn({ method, code: grpc.status[e.code] }, e.message);
              callback({ code: e.code, details: e.message });
            } else {
              done?.('INTERNAL');
              this.log.error({ method, err: (e as Error)?.stack ?? String(e) }, 'RPC handler failed');
              callback({ code: grpc.status.INTERNAL, details: (e as Error)?.message ?? String(e) });
            }
          },
        )
        .finally(() => {
          this.inFlight--;
        });
    };
  }

  /** ms the pool may wait: the client's deadline (minus a margin for the reply) or the default. */
  private waitBudget(call: grpc.ServerUnaryCall<unknown, unknown>): number {
    const d = call.getDeadline();
    const at = d instanceof Date ? d.getTime() : d;
    if (!Number.isFinite(at)) return this.allocTimeoutMs;
    return Math.max(0, Math.min(this.allocTimeoutMs, at - Date.now() - 100));
  }

  private async allocIp(
    req: M.AllocIPRequestMsg,
    call: grpc.ServerUnaryCall<M.AllocIPRequestMsg, M.AllocIPReplyMsg>,
  ): Promise<M.AllocIPReplyMsg> {
    checkApiVersion(req.api_version);
    const pod = podRefOf(req.pod, { needNetns: true, needNetworkName: true });
    if (this.draining) return allocFailure(SHUTTING_DOWN);
    const { mtu } = this.netConf.apply(req.net_conf);
    try {
      const r = await this.service.allocIp(pod, { deadlineMs: this.waitBudget(call), ...(mtu ? { mtu } : {}) });
      return {
        success: true,
        failure_reason: 'FAILURE_NONE',
        message: '',
        ip_type: r.ipType,
        ips: ipsMsg(r.ips),
        routes: r.routes.map((x) => ({ dst: x.dst, gw: x.gw })),
        interface: {
          name: r.interface.name,
          mac: r.interface.mac,
          host_if_name: r.interface.hostIfName,
          host_if_mac: r.interface.hostIfMac,
        },
        eni_id: r.eniId,
        eni_mac: r.eniMac,
        vswitch_id: r.vSwitchId,
        cloud_error_code: '',
      };
    } catch (e) {
      const f = mapFailure(e);
      this.log.warn({ ...podFields(pod), reason: f.reason, cloudCode: f.cloudCode }, `AllocIP failed: ${f.message}`);
      return allocFailure(f);
    }
  }

  private async releaseIp(req: M.ReleaseIPRequestMsg): Promise<M.ReleaseIPReplyMsg> {
    checkApiVersion(req.api_version);
    const pod = podRefOf(req.pod);
    if (this.draining) return { success: false, failure_reason: SHUTTING_DOWN.reason, message: SHUTTING_DOWN.message, released_ip: '' };
    try {
      const r = await this.service.releaseIp(pod, boundText(req.reason, 256));
      return { success: true, failure_reason: 'FAILURE_NONE', message: '', released_ip: r.releasedIp };
    } catch (e) {
      const f = mapFailure(e);
      this.log.warn({ ...podFields(pod), reason: f.reason }, `ReleaseIP failed: ${f.message}`);
      return { success: false, failure_reason: f.reason, message: f.message, released_ip: '' };
    }
  }

  private async getIpInfo(req: M.GetInfoRequestMsg): Promise<M.GetInfoReplyMsg> {
    checkApiVersion(req.api_version);
    const pod = podRefOf(req.pod);
    try {
      const r = await this.service.getIpInfo(pod);
      return {
        success: true,
        failure_reason: r.found ? 'FAILURE_NONE' : 'NOT_FOUND',
        message: r.found ? '' : 'no allocation for this pod key',
        found: r.found,
        ip_type: r.ipType,
        ips: ipsMsg(r.ips),
        eni_id: r.eniId,
        eni_mac: r.eniMac,
        netns: r.netns,
      };
    } catch (e) {
      const f = mapFailure(e);
      return {
        success: false,
        failure_reason: f.reason,
        message: f.message,
        found: false,
        ip_type: 'IP_TYPE_UNSPECIFIED',
        ips: [],
        eni_id: '',
        eni_mac: '',
        netns: '',
      };
    }
  }

  private async checkIp(req: M.CheckIPRequestMsg): Promise<M.CheckIPReplyMsg> {
    checkApiVersion(req.api_version);
    const pod = podRefOf(req.pod);
    if (this.draining) return { success: false, failure_reason: SHUTTING_DOWN.reason, message: SHUTTING_DOWN.message };
    try {
      await this.service.checkIp(pod);
      return { success: true, failure_reason: 'FAILURE_NONE', message: '' };
    } catch (e) {
      const f = mapFailure(e);
      return { success: false, failure_reason: f.reason, message: f.message };
    }
  }

  private async recordEvent(req: M.EventRequestMsg): Promise<M.EventReplyMsg> {
    if (!req.reason) throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'reason is required');
    // Kubernetes' own bounds: an Event reason is a short CamelCase word, its note at most 1 KiB.
    if (!/^[A-Za-z0-9]{1,128}$/.test(req.reason)) throw invalid('reason', req.reason, 'must be 1-128 letters or digits');
    const nameProblem = podNameProblem(req.k8s_pod_name) ?? namespaceProblem(req.k8s_pod_namespace);
    if (nameProblem) throw invalid('pod', `${req.k8s_pod_namespace}/${req.k8s_pod_name}`, nameProblem);
    const type = req.type === 'EVENT_TYPE_WARNING' ? 'Warning' : 'Normal';
    this.metrics?.events.inc({ reason: req.reason, type });
    if (!this.events) return { succeed: false, error: 'no event recorder configured' };
    try {
      await this.events.record({
        target: req.target === 'EVENT_TARGET_NODE' ? 'node' : 'pod',
        namespace: req.k8s_pod_namespace,
        name: req.k8s_pod_name,
        type,
        reason: req.reason,
        message: boundText(req.message, 1024),
      });
      return { succeed: true, error: '' };
    } catch (e) {
      return { succeed: false, error: (e as Error).message };
    }
  }

  private async status(req: M.StatusRequestMsg): Promise<M.StatusReplyMsg> {
    checkApiVersion(req.api_version);
    const s = this.service.status();
    const draining = this.draining;
    return {
      ready: s.ready && !draining,
      message: draining ? SHUTTING_DOWN.message : s.message,
      ip_type: s.ipType,
      free_ips: s.freeIps,
      total_ips: s.totalIps,
      api_version: API_VERSION,
    };
  }

  private async gc(req: M.GCRequestMsg): Promise<M.GCReplyMsg> {
    checkApiVersion(req.api_version);
    if (!req.network_name) throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, 'network_name is required');
    const netProblem = networkNameProblem(req.network_name);
    if (netProblem) throw invalid('network_name', req.network_name, netProblem);
    const valid = req.valid_attachments.map((a, i) => {
      if (!a.container_id || !a.if_name) {
        throw new RpcStatusError(grpc.status.INVALID_ARGUMENT, `valid_attachments[${i}]: container_id and if_name are required`);
      }
      const p = containerIdProblem(a.container_id) ?? ifNameProblem(a.if_name);
      if (p) throw invalid(`valid_attachments[${i}]`, `${a.container_id}/${a.if_name}`, p);
      return { containerId: a.container_id, ifName: a.if_name };
    });
    if (this.draining) return { success: false, message: SHUTTING_DOWN.message, released: [] };
    try {
      const released = await this.service.gc(req.network_name, valid);
      return { success: true, message: `released ${released.length}`, released };
    } catch (e) {
      const f = mapFailure(e);
      this.log.warn({ networkName: req.network_name, reason: f.reason }, `GC failed: ${f.message}`);
      return { success: false, message: f.message, released: [] };
    }
  }
}
