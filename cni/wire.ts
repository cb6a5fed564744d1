// Hand-written protobuf (proto3) codec for exactly the messages of proto/eni.proto.
// The plugin must start fast, so it does not load protobufjs: a field table per message and
// ~150 lines of varint / length-delimited code do the job. Field numbers mirror eni.proto;
// test/cni/wire.test.ts proves byte compatibility against protobufjs on the same .proto.
// Names are the protobufjs camelCase of the proto names (k8s_pod_name -> k8sPodName).

/** IPType enum of eni.proto. */
export const IPType = { IP_TYPE_UNSPECIFIED: 0, VPC_IP: 1, VPC_ENI: 2, ENI_MULTI_IP: 3 } as const;
/** FailureReason enum of eni.proto. */
export const FailureReason = {
  FAILURE_NONE: 0,
  POOL_EXHAUSTED: 1,
  ALLOC_TIMEOUT: 2,
  INVALID_REQUEST: 3,
  DRIVER_FAILED: 4,
  NOT_FOUND: 5,
  SHUTTING_DOWN: 6,
  INTERNAL: 7,
  CHECK_FAILED: 8,
} as const;
export const EventTarget = { EVENT_TARGET_POD: 0, EVENT_TARGET_NODE: 1 } as const;
export const EventType = { EVENT_TYPE_NORMAL: 0, EVENT_TYPE_WARNING: 1 } as const;

export interface PodRef {
  k8sPodName: string;
  k8sPodNamespace: string;
  k8sPodInfraContainerId: string;
  netns: string;
  ifName: string;
  networkName: string;
}
export interface NetConfOptions {
  mtu: number;
  eniipVirtualType: string;
  vethPrefix: string;
  ignoredKeys: string[];
}
export interface AllocIPRequest {
  pod: PodRef | null;
  apiVersion: number;
  pluginVersion: string;
  /** Absent from older plugins (and from tools that only allocate). */
  netConf?: NetConfOptions | null;
}
export interface IPConfig {
  address: string;
  gateway: string;
  family: number;
}
export interface Route {
  dst: string;
  gw: string;
}
export interface PodInterface {
  name: string;
  mac: string;
  hostIfName: string;
  hostIfMac: string;
}
export interface AllocIPReply {
  success: boolean;
  failureReason: number;
  message: string;
  ipType: number;
  ips: IPConfig[];
  routes: Route[];
  interface: PodInterface | null;
  eniId: string;
  eniMac: string;
  vswitchId: string;
  cloudErrorCode: string;
}
export interface ReleaseIPRequest {
  pod: PodRef | null;
  apiVersion: number;
  pluginVersion: string;
  reason: string;
}
export interface ReleaseIPReply {
  success: boolean;
  failureReason: number;
  message: string;
  releasedIp: string;
}
export interface GetInfoRequest {
  pod: PodRef | null;
  apiVersion: number;
}
export interface GetInfoReply {
  success: boolean;
  failureReason: number;
  message: string;
  found: boolean;
  ipType: number;
  ips: IPConfig[];
  eniId: string;
  eniMac: string;
  netns: string;
}
export interface CheckIPRequest {
  pod: PodRef | null;
  apiVersion: number;
  pluginVersion: string;
}
export interface CheckIPReply {
  success: boolean;
  failureReason: number;
  message: string;
}
export interface EventRequest {
  target: number;
  k8sPodName: string;
  k8sPodNamespace: string;
  type: number;
  reason: string;
  message: string;
}
export interface EventReply {
  succeed: boolean;
  error: string;
}
export interface StatusRequest {
  apiVersion: number;
}
export interface StatusReply {
  ready: boolean;
  message: string;
  ipType: number;
  freeIps: number;
  totalIps: number;
  apiVersion: number;
}
export interface Attachment {
  containerId: string;
  ifName: string;
}
export interface GCRequest {
  networkName: string;
  validAttachments: Attachment[];
  apiVersion: number;
}
export interface GCReply {
  success: boolean;
  message: string;
  released: string[];
}

/** Thrown on bytes that are not a valid encoding of the expected message. */
export class WireError extends Error {
  override name = 'WireError';
}

// ---- schema ------------------------------------------------------------------------------

type Scalar = 'string' | 'uint32' | 'bool' | 'enum';
interface FieldDef {
  readonly no: number;
  readonly key: string;
  readonly kind: Scalar | Schema<object>;
  readonly repeated?: boolean;
}
/** A message's field table. T is only a type tag tying the table to its interface. */
export interface Schema<T extends object> {
  readonly name: string;
  readonly fields: readonly FieldDef[];
  readonly _t?: T;
}

function schema<T extends object>(name: string, fields: FieldDef[]): Schema<T> {
  return { name, fields };
}

export const PodRefSchema = schema<PodRef>('PodRef', [
  { no: 1, key: 'k8sPodName', kind: 'string' },
  { no: 2, key: 'k8sPodNamespace', kind: 'string' },
  { no: 3, key: 'k8sPodInfraContainerId', kind: 'string' },
  { no: 4, key: 'netns', kind: 'string' },
  { no: 5, key: 'ifName', kind: 'string' },
  { no: 6, key: 'networkName', kind: 'string' },
]);
export const NetConfOptionsSchema = schema<NetConfOptions>('NetConfOptions', [
  { no: 1, key: 'mtu', kind: 'uint32' },
  { no: 2, key: 'eniipVirtualType', kind: 'string' },
  { no: 3, key: 'vethPrefix', kind: 'string' },
  { no: 4, key: 'ignoredKeys', kind: 'string', repeated: true },
]);
export const AllocIPRequestSchema = schema<AllocIPRequest>('AllocIPRequest', [
  { no: 1, key: 'pod', kind: PodRefSchema },
  { no: 2, key: 'apiVersion', kind: 'uint32' },
  { no: 3, key: 'pluginVersion', kind: 'string' },
  { no: 4, key: 'netConf', kind: NetConfOptionsSchema },
]);
export const IPConfigSchema = schema<IPConfig>('IPConfig', [
  { no: 1, key: 'address', kind: 'string' },
  { no: 2, key: 'gateway', kind: 'string' },
  { no: 3, key: 'family', kind: 'uint32' },
]);
export const RouteSchema = schema<Route>('Route', [
  { no: 1, key: 'dst', kind: 'string' },
  { no: 2, key: 'gw', kind: 'string' },
]);
export const PodInterfaceSchema = schema<PodInterface>('PodInterface', [
  { no: 1, key: 'name', kind: 'string' },
  { no: 2, key: 'mac', kind: 'string' },
  { no: 3, key: 'hostIfName', kind: 'string' },
  { no: 4, key: 'hostIfMac', kind: 'string' },
]);
export const AllocIPReplySchema = schema<AllocIPReply>('AllocIPReply', [
  { no: 1, key: 'success', kind: 'bool' },
  { no: 2, key: 'failureReason', kind: 'enum' },
  { no: 3, key: 'message', kind: 'string' },
  { no: 4, key: 'ipType', kind: 'enum' },
  { no: 5, key: 'ips', kind: IPConfigSchema, repeated: true },
  { no: 6, key: 'routes', kind: RouteSchema, repeated: true },
  { no: 7, key: 'interface', kind: PodInterfaceSchema },
  { no: 8, key: 'eniId', kind: 'string' },
  { no: 9, key: 'eniMac', kind: 'string' },
  { no: 10, key: 'vswitchId', kind: 'string' },
  { no: 11, key: 'cloudErrorCode', kind: 'string' },
]);
export const ReleaseIPRequestSchema = schema<ReleaseIPRequest>('ReleaseIPRequest', [
  { no: 1, key: 'pod', kind: PodRefSchema },
  { no: 2, key: 'apiVersion', kind: 'uint32' },
  { no: 3, key: 'pluginVersion', kind: 'string' },
  { no: 4, key: 'reason', kind: 'string' },
]);
export const ReleaseIPReplySchema = schema<ReleaseIPReply>('ReleaseIPReply', [
  { no: 1, key: 'success', kind: 'bool' },
  { no: 2, key: 'failureReason', kind: 'enum' },
  { no: 3, key: 'message', kind: 'string' },
  { no: 4, key: 'releasedIp', kind: 'string' },
]);
export const GetInfoRequestSchema = schema<GetInfoRequest>('GetInfoRequest', [
  { no: 1, key: 'pod', kind: PodRefSchema },
  { no: 2, key: 'apiVersion', kind: 'uint32' },
]);
export const GetInfoReplySchema = schema<GetInfoReply>('GetInfoReply', [
  { no: 1, key: 'success', kind: 'bool' },
  { no: 2, key: 'failureReason', kind: 'enum' },
  { no: 3, key: 'message', kind: 'string' },
  { no: 4, key: 'found', kind: 'bool' },
  { no: 5, key: 'ipType', kind: 'enum' },
  { no: 6, key: 'ips', kind: IPConfigSchema, repeated: true },
  { no: 7, key: 'eniId', kind: 'string' },
  { no: 8, key: 'eniMac', kind: 'string' },
  { no: 9, key: 'netns', kind: 'string' },
]);
export const CheckIPRequestSchema = schema<CheckIPRequest>('CheckIPRequest', [
  { no: 1, key: 'pod', kind: PodRefSchema },
  { no: 2, key: 'apiVersion', kind: 'uint32' },
  { no: 3, key: 'pluginVersion', kind: 'string' },
]);
export const CheckIPReplySchema = schema<CheckIPReply>('CheckIPReply', [
  { no: 1, key: 'success', kind: 'bool' },
  { no: 2, key: 'failureReason', kind: 'enum' },
  { no: 3, key: 'message', kind: 'string' },
]);
export const EventRequestSchema = schema<EventRequest>('EventRequest', [
  { no: 1, key: 'target', kind: 'enum' },
  { no: 2, key: 'k8sPodName', kind: 'string' },
  { no: 3, key: 'k8sPodNamespace', kind: 'string' },
  { no: 4, key: 'type', kind: 'enum' },
  { no: 5, key: 'reason', kind: 'string' },
  { no: 6, key: 'message', kind: 'string' },
]);
export const EventReplySchema = schema<EventReply>('EventReply', [
  { no: 1, key: 'succeed', kind: 'bool' },
  { no: 2, key: 'error', kind: 'string' },
]);
export const StatusRequestSchema = schema<StatusRequest>('StatusRequest', [{ no: 1, key: 'apiVersion', kind: 'uint32' }]);
export const StatusReplySchema = schema<StatusReply>('StatusReply', [
  { no: 1, key: 'ready', kind: 'bool' },
  { no: 2, key: 'message', kind: 'string' },
  { no: 3, key: 'ipType', kind: 'enum' },
  { no: 4, key: 'freeIps', kind: 'uint32' },
  { no: 5, key: 'totalIps', kind: 'uint32' },
  { no: 6, key: 'apiVersion', kind: 'uint32' },
]);
export const AttachmentSchema = schema<Attachment>('Attachment', [
  { no: 1, key: 'containerId', kind: 'string' },
  { no: 2, key: 'ifName', kind: 'string' },
]);
export const GCRequestSchema = schema<GCRequest>('GCRequest', [
  { no: 1, key: 'networkName', kind: 'string' },
  { no: 2, key: 'validAttachments', kind: AttachmentSchema, repeated: true },
  { no: 3, key: 'apiVersion', kind: 'uint32' },
]);
export const GCReplySchema = schema<GCReply>('GCReply', [
  { no: 1, key: 'success', kind: 'bool' },
  { no: 2, key: 'message', kind: 'string' },
  { no: 3, key: 'released', kind: 'string', repeated: true },
]);

// ---- encoding ----------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Writer {
  buf: Buffer = Buffer.allocUnsafe(128);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(v: number): void {
    // Values here are uint32 (or enums >= 0); negative int32 would need 10 bytes, not used.
    this.ensure(5);
    let x = v >>> 0;
    while (x > 0x7f) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }
  tag(no: number, wire: number): void {
    this.varint((no << 3) | wire);
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function writeScalar(w: Writer, no: number, kind: Scalar, v: unknown, always: boolean): void {
  switch (kind) {
    case 'string': {
      const s = typeof v === 'string' ? v : '';
      if (s === '' && !always) return;
      w.tag(no, WIRE_LEN);
      w.string(s);
      return;
    }
    case 'bool': {
      if (v !== true && !always) return;
      w.tag(no, WIRE_VARINT);
      w.varint(v === true ? 1 : 0);
      return;
    }
    case 'uint32':
    case 'enum': {
      const n = typeof v === 'number' && Number.isFinite(v) ? v : 0;
      if (n === 0 && !always) return;
      if (n < 0 || n > 0xffffffff || !Number.isInteger(n)) throw new WireError(`field ${no}: ${n} is not a uint32`);
      w.tag(no, WIRE_VARINT);
      w.varint(n);
      return;
    }
  }
}

function encodeInto(w: Writer, s: Schema<object>, msg: object): void {
  const rec = msg as Record<string, unknown>;
  for (const f of s.fields) {
    const v = rec[f.key];
    if (v === undefined || v === null) continue;
    if (typeof f.kind === 'string') {
      if (f.repeated) {
        if (!Array.isArray(v)) throw new WireError(`${s.name}.${f.key} must be an array`);
        // Repeated elements are always written, default values included (proto3 semantics).
        for (const e of v) writeScalar(w, f.no, f.kind, e, true);
      } else {
        // proto3: fields equal to their default are not written.
        writeScalar(w, f.no, f.kind, v, false);
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new WireError(`${s.name}.${f.key} must be an array`);
      for (const e of v) {
        w.tag(f.no, WIRE_LEN);
        w.bytes(encode(f.kind, e as object));
      }
    } else {
      w.tag(f.no, WIRE_LEN);
      w.bytes(encode(f.kind, v as object));
    }
  }
}

/** Encodes a message. Absent (undefined/null) and default-valued singular fields are omitted. */
export function encode<T extends object>(s: Schema<T>, msg: Partial<T>): Buffer {
  const w = new Writer();
  encodeInto(w, s as Schema<object>, msg);
  return w.finish();
}

// ---- decoding ----------------------------------------------------------------------------

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    // Returns the low 32 bits as an unsigned number; consumes up to 10 bytes (uint64 on the wire).
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new WireError('varint longer than 10 bytes');
  }
  lenDelimited(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (start + n > this.end) throw new WireError('truncated length-delimited field');
    this.pos = start + n;
    return [start, start + n];
  }
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.lenDelimited();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
  }
  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError('truncated fixed field');
    this.pos += n;
  }
}

function defaults(s: Schema<object>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of s.fields) {
    if (f.repeated) o[f.key] = [];
    else if (typeof f.kind !== 'string') o[f.key] = null;
    else if (f.kind === 'string') o[f.key] = '';
    else if (f.kind === 'bool') o[f.key] = false;
    else o[f.key] = 0;
  }
  return o;
}

function readScalar(r: Reader, kind: Scalar, wire: number, where: string): unknown {
  if (kind === 'string') {
    if (wire !== WIRE_LEN) throw new WireError(`${where}: wire type ${wire}, want length-delimited`);
    const [a, b] = r.lenDelimited();
    return r.buf.toString('utf8', a, b);
  }
  if (wire !== WIRE_VARINT) throw new WireError(`${where}: wire type ${wire}, want varint`);
  const v = r.varint();
  if (kind === 'bool') return v !== 0;
  if (kind === 'enum') return v | 0; // enums are int32
  return v;
}

function decodeRange(s: Schema<object>, buf: Buffer, start: number, end: number, into?: Record<string, unknown>): Record<string, unknown> {
  const out = into ?? defaults(s);
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no === 0) throw new WireError(`${s.name}: field number 0`);
    const f = s.fields.find((x) => x.no === no);
    if (!f) {
      r.skip(wire); // unknown field: a newer peer; proto3 says ignore
      continue;
    }
    const where = `${s.name}.${f.key}`;
    if (typeof f.kind === 'string') {
      if (f.repeated && f.kind !== 'string' && wire === WIRE_LEN) {
        // packed repeated scalars
        const [a, b] = r.lenDelimited();
        const sub = new Reader(buf, a, b);
        const arr = out[f.key] as unknown[];
        while (sub.pos < b) arr.push(readScalar(sub, f.kind, WIRE_VARINT, where));
        continue;
      }
      const v = readScalar(r, f.kind, wire, where);
      if (f.repeated) (out[f.key] as unknown[]).push(v);
      else out[f.key] = v;
    } else {
      if (wire !== WIRE_LEN) throw new WireError(`${where}: wire type ${wire}, want length-delimited`);
      const [a, b] = r.lenDelimited();
      if (f.repeated) {
        (out[f.key] as unknown[]).push(decodeRange(f.kind, buf, a, b));
      } else {
        // A repeated occurrence of a singular message merges into the earlier one.
        const prev = out[f.key] as Record<string, unknown> | null;
        out[f.key] = decodeRange(f.kind, buf, a, b, prev ?? undefined);
      }
    }
  }
  if (r.pos !== end) throw new WireError(`${s.name}: trailing bytes`);
  return out;
}

/** Decodes a message; absent fields get their proto3 defaults ('' / 0 / false / [] / null). */
export function decode<T extends object>(s: Schema<T>, buf: Uint8Array): T {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return decodeRange(s as Schema<object>, b, 0, b.length) as T;
}
