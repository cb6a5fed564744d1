// A test double of the node daemon: a real @grpc/grpc-js server on proto/eni.proto over a unix
// socket that records every call and answers with canned (overridable) replies. It tests the
// plugin's side only: result shapes, error codes, what the plugin sends.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROTO_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../proto/eni.proto');

export type Method = 'AllocIP' | 'ReleaseIP' | 'GetIPInfo' | 'CheckIP' | 'RecordEvent' | 'Status' | 'GC';
export const METHODS: readonly Method[] = ['AllocIP', 'ReleaseIP', 'GetIPInfo', 'CheckIP', 'RecordEvent', 'Status', 'GC'];

/** A request as proto-loader decodes it (camelCase keys, enums as names, defaults filled). */
export type Msg = Record<string, unknown>;

export interface RecordedCall {
  method: Method;
  request: Msg;
  /** grpc-timeout the client sent, as the server saw it (ms until the deadline; Infinity if none). */
  deadlineMs: number;
}

/** A handler returns the reply object, or throws a {code, details} gRPC error. May be async. */
export type Handler = (req: Msg) => Msg | Promise<Msg>;

export class GrpcFault extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, arrays: true };

/** Canned replies: a warm pool handing out 10.0.0.5/32 through a veth, as in ENIMultiIP mode. */
export function defaultHandlers(): Record<Method, Handler> {
  return {
    AllocIP: () => ({
      success: true,
      ipType: 'ENI_MULTI_IP',
      ips: [{ address: '10.0.0.5/32', gateway: '169.254.1.1', family: 4 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      interface: { name: 'eth0', mac: '02:00:00:00:00:05', hostIfName: 'cali0123456789a', hostIfMac: 'ee:ee:ee:ee:ee:ee' },
      eniId: 'eni-fake0001',
      eniMac: '00:16:3e:00:00:01',
      vswitchId: 'vsw-fake',
    }),
    ReleaseIP: () => ({ success: true, releasedIp: '10.0.0.5' }),
    GetIPInfo: () => ({
      success: true,
      found: true,
      ipType: 'ENI_MULTI_IP',
      ips: [{ address: '10.0.0.5/32', gateway: '169.254.1.1', family: 4 }],
    }),
    CheckIP: () => ({ success: true }),
    RecordEvent: () => ({ succeed: true }),
    Status: () => ({ ready: true, ipType: 'ENI_MULTI_IP', freeIps: 5, totalIps: 10, apiVersion: 1 }),
    GC: () => ({ success: true, released: [] }),
  };
}

export interface FakeDaemon {
  readonly socketPath: string;
  readonly calls: RecordedCall[];
  /** Replaces one method's handler (until reset()). */
  on(method: Method, handler: Handler): void;
  /** Clears recorded calls and restores the default handlers. */
  reset(): void;
  callsOf(method: Method): RecordedCall[];
  stop(): Promise<void>;
}

export async function startFakeDaemon(opts: { socketPath?: string } = {}): Promise<FakeDaemon> {
  const dir = opts.socketPath ? undefined : mkdtempSync(join(tmpdir(), 'eni-fake-'));
  const socketPath = opts.socketPath ?? join(dir!, 'eni.socket');
  const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    eniipam: { v1: { EniBackend: grpc.ServiceClientConstructor } };
  };
  const service = pkg.eniipam.v1.EniBackend.service;
  const calls: RecordedCall[] = [];
  let handlers = defaultHandlers();

  const impl: grpc.UntypedServiceImplementation = {};
  for (const m of METHODS) {
    impl[m] = (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const deadline = call.getDeadline();
      const deadlineMs =
        deadline instanceof Date ? deadline.getTime() - Date.now() : deadline === Infinity ? Infinity : Number(deadline) - Date.now();
      calls.push({ method: m, request: call.request, deadlineMs });
      Promise.resolve()
        .then(() => handlers[m](call.request))
        .then(
          (reply) => cb(null, reply),
          (e: unknown) => {
            if (e instanceof GrpcFault) cb({ code: e.code, details: e.details, name: 'fault', message: e.details });
            else cb({ code: grpc.status.INTERNAL, details: String(e), name: 'fault', message: String(e) });
          },
        );
    };
  }
  const server = new grpc.Server();
  server.addService(service, impl);
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? rej(err) : res())),
  );

  return {
    socketPath,
    calls,
    on(method, handler) {
      handlers[method] = handler;
    },
    reset() {
      calls.length = 0;
      handlers = defaultHandlers();
    },
    callsOf: (method) => calls.filter((c) => c.method === method),
    stop: () =>
      new Promise<void>((res) => {
        server.tryShutdown(() => {
          if (dir) rmSync(dir, { recursive: true, force: true });
          res();
        });
        // In-flight slow handlers must not hold the suite.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}
