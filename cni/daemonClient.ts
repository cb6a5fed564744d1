// Typed EniBackend calls: wire.ts encoding over a UnaryClient. The command logic (commands.ts)
// depends on the EniBackend interface only, so unit tests can hand it an in-memory double.
import { SERVICE_PATH } from '../proto/version.js';
import type { UnaryClient } from './grpc.js';
import {
  AllocIPReplySchema,
  AllocIPRequestSchema,
  CheckIPReplySchema,
  CheckIPRequestSchema,
  decode,
  encode,
  EventReplySchema,
  EventRequestSchema,
  GCReplySchema,
  GCRequestSchema,
  GetInfoReplySchema,
  GetInfoRequestSchema,
  ReleaseIPReplySchema,
  ReleaseIPRequestSchema,
  StatusReplySchema,
  StatusRequestSchema,
  type AllocIPReply,
  type AllocIPRequest,
  type CheckIPReply,
  type CheckIPRequest,
  type EventReply,
  type EventRequest,
  type GCReply,
  type GCRequest,
  type GetInfoReply,
  type GetInfoRequest,
  type ReleaseIPReply,
  type ReleaseIPRequest,
  type Schema,
  type StatusReply,
  type StatusRequest,
} from './wire.js';

/** The daemon's EniBackend service as the plugin sees it; every call takes a deadline in ms. */
export interface EniBackend {
  allocIP(req: AllocIPRequest, timeoutMs: number): Promise<AllocIPReply>;
  releaseIP(req: ReleaseIPRequest, timeoutMs: number): Promise<ReleaseIPReply>;
  getIPInfo(req: GetInfoRequest, timeoutMs: number): Promise<GetInfoReply>;
  checkIP(req: CheckIPRequest, timeoutMs: number): Promise<CheckIPReply>;
  recordEvent(req: EventRequest, timeoutMs: number): Promise<EventReply>;
  status(req: StatusRequest, timeoutMs: number): Promise<StatusReply>;
  gc(req: GCRequest, timeoutMs: number): Promise<GCReply>;
}

export function eniBackend(client: UnaryClient): EniBackend {
  const call = async <Q extends object, R extends object>(
    method: string,
    reqSchema: Schema<Q>,
    repSchema: Schema<R>,
    req: Q,
    timeoutMs: number,
  ): Promise<R> => decode(repSchema, await client.unary(`${SERVICE_PATH}/${method}`, encode(reqSchema, req), timeoutMs));
  return {
    allocIP: (r, t) => call('AllocIP', AllocIPRequestSchema, AllocIPReplySchema, r, t),
    releaseIP: (r, t) => call('ReleaseIP', ReleaseIPRequestSchema, ReleaseIPReplySchema, r, t),
    getIPInfo: (r, t) => call('GetIPInfo', GetInfoRequestSchema, GetInfoReplySchema, r, t),
    checkIP: (r, t) => call('CheckIP', CheckIPRequestSchema, CheckIPReplySchema, r, t),
    recordEvent: (r, t) => call('RecordEvent', EventRequestSchema, EventReplySchema, r, t),
    status: (r, t) => call('Status', StatusRequestSchema, StatusReplySchema, r, t),
    gc: (r, t) => call('GC', GCRequestSchema, GCReplySchema, r, t),
  };
}
