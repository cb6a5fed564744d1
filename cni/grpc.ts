// A minimal gRPC unary client over a unix socket, on the plugin's own HTTP/2 client (h2.ts): loading
// @grpc/grpc-js costs ~2x a bare node start and node:http2 alone ~+30-100%; this costs node:net plus
// one round trip. Wire format per
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md: POST /pkg.Service/Method,
// content-type application/grpc, te: trailers, body = 1 flag byte + 4-byte big-endian length +
// message; status in the trailers (or in the headers of a trailers-only response).
import { H2Connection, H2Error, RST_CANCEL, RST_REFUSED_STREAM, type H2Response } from './h2.js';

/** gRPC status codes used by the plugin. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The daemon answered with a non-OK gRPC status (or the call hit its deadline). */
export class GrpcStatusError extends Error {
  override name = 'GrpcStatusError';
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`gRPC status ${code}: ${details}`);
  }
}

/**
 * No answer from the daemon: the socket is missing or refuses, or the connection broke before a
 * response arrived. `errno` carries the system code (ENOENT, ECONNREFUSED, ...), when there is one.
 */
export class DaemonUnreachableError extends Error {
  override name = 'DaemonUnreachableError';
  constructor(
    message: string,
    readonly errno: string | undefined,
  ) {
    super(message);
  }
}

export interface UnaryClient {
  /** Sends one request message and resolves with the single reply message's bytes. */
  unary(path: string, message: Uint8Array, timeoutMs: number): Promise<Buffer>;
  close(): void;
}

/** Frames one message as a gRPC length-prefixed message (uncompressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Splits a response body into its messages. Throws on compression or truncation. */
export function unframeMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + 5 > body.length) throw new GrpcStatusError(GrpcCode.INTERNAL, 'truncated gRPC frame header');
    const flag = body[pos]!;
    const len = body.readUInt32BE(pos + 1);
    if (flag !== 0) throw new GrpcStatusError(GrpcCode.INTERNAL, 'compressed gRPC message not accepted');
    if (pos + 5 + len > body.length) throw new GrpcStatusError(GrpcCode.INTERNAL, 'truncated gRPC message');
    out.push(body.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

/** grpc-timeout header value: at most 8 digits, in milliseconds (or seconds beyond that). */
export function grpcTimeout(ms: number): string {
  const v = Math.max(1, Math.ceil(ms));
  return v < 1e8 ? `${v}m` : `${Math.min(99_999_999, Math.ceil(v / 1000))}S`;
}

function decodeGrpcMessage(v: unknown): string {
  if (typeof v !== 'string') return '';
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

// HTTP status -> gRPC code when a response carries no grpc-status (PROTOCOL-HTTP2.md mapping).
function httpToGrpc(status: number): number {
  switch (status) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
    case 403:
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** Opens (lazily) one HTTP/2 connection to the daemon's unix socket; a broken one is replaced. */
export function connectUnix(socketPath: string): UnaryClient {
  let conn: H2Connection | undefined;
  return {
    async unary(path, message, timeoutMs) {
      if (!conn || conn.unusable) {
        conn?.close();
        conn = new H2Connection(socketPath);
      }
      const c = conn;
      const { id, response } = c.request(
        [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', path],
          [':authority', 'localhost'],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ['grpc-timeout', grpcTimeout(timeoutMs)],
          ['grpc-accept-encoding', 'identity'],
          ['user-agent', 'eni-cni-plugin'],
        ],
        frameMessage(message),
      );
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          c.cancel(id);
          reject(new GrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      let res: H2Response;
      try {
        res = await Promise.race([response, deadline]);
      } catch (e) {
        throw e instanceof H2Error ? grpcErrorOf(e, socketPath) : e;
      } finally {
        clearTimeout(timer);
      }
      return replyOf(res);
    },
    close() {
      conn?.close();
      conn = undefined;
    },
  };
}

/** Maps a failed HTTP/2 stream to the error the plugin acts on. */
function grpcErrorOf(e: H2Error, socketPath: string): Error {
  if (e.kind === 'connect' || e.kind === 'goaway' || (e.kind === 'closed' && !e.gotResponse)) {
    return new DaemonUnreachableError(e.kind === 'goaway' ? `daemon at ${socketPath}: ${e.message}` : e.message, e.errno);
  }
  if (e.kind === 'reset') {
    if (e.rstCode === RST_REFUSED_STREAM) return new DaemonUnreachableError(`daemon at ${socketPath} refused the stream`, undefined);
    return new GrpcStatusError(e.rstCode === RST_CANCEL ? GrpcCode.CANCELLED : GrpcCode.INTERNAL, e.message);
  }
  return new GrpcStatusError(e.kind === 'closed' ? GrpcCode.UNAVAILABLE : GrpcCode.INTERNAL, e.message);
}

/** Status from the trailers (or a trailers-only response), then the single reply message. */
function replyOf(res: H2Response): Buffer {
  const httpStatus = Number(res.headers.get(':status') ?? 0);
  const rawStatus = res.trailers?.get('grpc-status') ?? res.headers.get('grpc-status');
  const rawMessage = res.trailers?.get('grpc-message') ?? res.headers.get('grpc-message');
  if (rawStatus === undefined) {
    const code = httpStatus === 200 ? GrpcCode.UNAVAILABLE : httpToGrpc(httpStatus);
    throw new GrpcStatusError(code, `no grpc-status in the reply (HTTP ${httpStatus})`);
  }
  const code = Number(rawStatus);
  if (code !== GrpcCode.OK) throw new GrpcStatusError(Number.isInteger(code) ? code : GrpcCode.UNKNOWN, decodeGrpcMessage(rawMessage));
  const msgs = unframeMessages(res.data);
  if (msgs.length !== 1) throw new GrpcStatusError(GrpcCode.INTERNAL, `unary reply carried ${msgs.length} messages`);
  return msgs[0]!;
}
