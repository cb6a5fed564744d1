// Programmatic face of the mock cloud: start a real HTTP server that the unmodified
// @alicloud/ecs20140526 / @alicloud/vpc20160428 SDKs talk to.
import type { EventEmitter } from 'node:events';
import type { AttachHook, DetachHook } from './lifecycle.js';
import { MockCloudServer } from './server.js';
import type { FaultController, FaultSpec, WorldDump, WorldSpec } from './types.js';
import { resolveWorldSpec, type World } from './world.js';

export type { AttachHook, DetachHook } from './lifecycle.js';
export { MockErrorCodes } from './errors.js';
export { defaultWorldSpec, resolveWorldSpec, DEFAULT_RAM_ROLE } from './world.js';
export type { World, EniState, InstanceState, VSwitchState } from './world.js';
export type {
  EniAttachedEvent,
  EniCreatedEvent,
  EniDeletedEvent,
  EniDetachedEvent,
  EniDump,
  ErrorKind,
  FaultController,
  FaultSpec,
  FaultState,
  IpsChangedEvent,
  RouteEntryDump,
  WorldDump,
  WorldSpec,
} from './types.js';

export interface StartOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Partial specs are filled from defaultWorldSpec() field by field. */
  world?: Partial<WorldSpec>;
  faults?: FaultSpec;
  /** Attaching → InUse delay (default 100 ms). Detach uses the same unless detachDelayMs is set. */
  attachDelayMs?: number;
  detachDelayMs?: number;
  /** Deleting → gone (default: the detach delay). */
  deleteDelayMs?: number;
  /** One line per API call on stderr. */
  log?: boolean;
}

export interface MockCloudHandle {
  /** `http://host:port` */
  url: string;
  /** `host:port`, what the SDK's `endpoint` config wants. */
  endpoint: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** `${url}/admin` */
  adminUrl: string;
  /** `${url}/metadata/${instanceId}`: `${base}/latest/meta-data/instance-id` works. */
  metadataUrl(instanceId: string): string;
  /** Ready-made SDK config fields: new $OpenApiUtil.Config(handle.sdkConfig()). */
  sdkConfig(): { accessKeyId: string; accessKeySecret: string; endpoint: string; protocol: 'http'; regionId: string };
  faults: FaultController;
  counters(): Record<string, number>;
  resetCounters(): void;
  dump(): WorldDump;
  /** eniCreated, eniAttached, eniAttachFailed, eniDetached, ipsAssigned, ipsUnassigned, eniDeleted, routeCreated, routeDeleted. */
  events: EventEmitter;
  /** Awaited before an attaching ENI becomes InUse; a rejection fails the attach (ENI back to Available). */
  setAttachHook(hook: AttachHook | undefined): void;
  /** Awaited before a detaching ENI becomes Available. */
  setDetachHook(hook: DetachHook | undefined): void;
  /** Resolves once every attach/detach/delete in flight has completed. */
  settle(): Promise<void>;
  /** The live world (advanced: direct state access for tests; prefer the SDK). */
  world: World;
  close(): Promise<void>;
}

export async function startMockCloud(opts: StartOptions = {}): Promise<MockCloudHandle> {
  const spec = resolveWorldSpec(opts.world);
  if (spec.accessKeys.length === 0) throw new Error('world needs at least one access key');
  const server = new MockCloudServer({
    world: spec,
    faults: opts.faults,
    attachDelayMs: opts.attachDelayMs,
    detachDelayMs: opts.detachDelayMs,
    deleteDelayMs: opts.deleteDelayMs,
    log: opts.log,
  });
  const host = opts.host ?? '127.0.0.1';
  const addr = await server.listen(opts.port ?? 0, host);
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const endpoint = `${hostPart}:${addr.port}`;
  const url = `http://${endpoint}`;
  const key = spec.accessKeys[0];
  let closed = false;
  return {
    url,
    endpoint,
    regionId: spec.regionId,
    accessKeyId: key!.id,
    accessKeySecret: key!.secret,
    adminUrl: `${url}/admin`,
    metadataUrl: (instanceId) => `${url}/metadata/${instanceId}`,
    sdkConfig: () => ({ accessKeyId: key!.id, accessKeySecret: key!.secret, endpoint, protocol: 'http', regionId: spec.regionId }),
    faults: server.faults,
    counters: () => server.faults.counters(),
    resetCounters: () => server.faults.resetCounters(),
    dump: () => server.world.dump(),
    events: server.events,
    setAttachHook: (hook) => {
      server.life.attachHook = hook;
    },
    setDetachHook: (hook) => {
      server.life.detachHook = hook;
    },
    settle: () => server.life.settle(),
    world: server.world,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}
