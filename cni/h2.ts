// A small HTTP/2 client (RFC 9113, cleartext with prior knowledge) over one unix-socket connection,
// enough for gRPC unary calls: HEADERS(+CONTINUATION) and DATA out with flow control, HEADERS/DATA in,
// SETTINGS/PING acknowledged, WINDOW_UPDATE, RST_STREAM and GOAWAY honoured. It exists because loading
// node:http2 and setting up its session costs more than the rest of the plugin together (see
// bench/cni.ts and the cni/ README); only node:net is needed here.
import * as net from 'node:net';
import { encodeHeaders, HpackDecoder, type HeaderList } from './hpack.js';

const T_DATA = 0x0;
const T_HEADERS = 0x1;
const T_RST_STREAM = 0x3;
const T_SETTINGS = 0x4;
const T_PUSH_PROMISE = 0x5;
const T_PING = 0x6;
const T_GOAWAY = 0x7;
const T_WINDOW_UPDATE = 0x8;
const T_CONTINUATION = 0x9;

const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

const S_HEADER_TABLE_SIZE = 0x1;
const S_ENABLE_PUSH = 0x2;
const S_INITIAL_WINDOW_SIZE = 0x4;
const S_MAX_FRAME_SIZE = 0x5;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65_535;
/** What we let the daemon send before we acknowledge consumption (per stream and connection). */
const RECV_WINDOW = 1 << 24;
const HEADER_TABLE_SIZE = 4096;

export const RST_CANCEL = 0x8;
export const RST_REFUSED_STREAM = 0x7;

export interface H2Response {
  headers: Map<string, string>;
  /** Undefined for a trailers-only response (status in `headers`). */
  trailers: Map<string, string> | undefined;
  data: Buffer;
}

export type H2ErrorKind = 'connect' | 'closed' | 'goaway' | 'reset' | 'protocol';

/** Why a stream did not complete. `gotResponse`: response headers had arrived (the server saw it). */
export class H2Error extends Error {
  override name = 'H2Error';
  constructor(
    message: string,
    readonly kind: H2ErrorKind,
    readonly errno: string | undefined = undefined,
    readonly gotResponse = false,
    readonly rstCode = 0,
  ) {
    super(message);
  }
}

interface Stream {
  id: number;
  headers?: Map<string, string>;
  trailers?: Map<string, string>;
  chunks: Buffer[];
  pending: Buffer;
  sendWindow: number;
  resolve(r: H2Response): void;
  reject(e: H2Error): void;
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.allocUnsafe(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream & 0x7fffffff, 5);
  b.set(payload, 9);
  return b;
}

function settings(entries: [number, number][]): Buffer {
  const p = Buffer.allocUnsafe(entries.length * 6);
  entries.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(T_SETTINGS, 0, 0, p);
}

function windowUpdate(stream: number, inc: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(inc, 0);
  return frame(T_WINDOW_UPDATE, 0, stream, p);
}

const toMap = (list: HeaderList): Map<string, string> => {
  const m = new Map<string, string>();
  for (const [k, v] of list) m.set(k, m.has(k) ? `${m.get(k)!},${v}` : v);
  return m;
};

export class H2Connection {
  private readonly sock: net.Socket;
  private readonly streams = new Map<number, Stream>();
  private readonly decoder = new HpackDecoder(HEADER_TABLE_SIZE);
  private nextId = 1;
  private inbuf: Buffer = Buffer.alloc(0);
  private connected = false;
  private dead: H2Error | undefined;
  private goawayLast = 0x7fffffff;
  private goaway = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private connSendWindow = DEFAULT_WINDOW;
  private recvConsumed = 0;
  // A header block spread over HEADERS + CONTINUATION frames.
  private blockStream = 0;
  private blockEndStream = false;
  private blockParts: Buffer[] = [];
  private preface: Buffer | undefined;

  constructor(readonly socketPath: string) {
    this.sock = net.connect(socketPath);
    this.sock.setNoDelay?.(true);
    this.sock.on('connect', () => {
      this.connected = true;
    });
    this.sock.on('data', (d: Buffer) => {
      try {
        this.onData(d);
      } catch (e) {
        this.fail(e instanceof H2Error ? e : new H2Error(`protocol error: ${(e as Error).message}`, 'protocol'));
        this.sock.destroy();
      }
    });
    this.sock.on('error', (e: NodeJS.ErrnoException) => {
      this.fail(new H2Error(`daemon socket ${socketPath}: ${e.message}`, this.connected ? 'closed' : 'connect', e.code));
    });
    this.sock.on('close', () => {
      this.fail(new H2Error(`daemon at ${socketPath} closed the connection`, 'closed'));
    });
    // The client preface needs no wait for the server's (prior knowledge); it goes out in one write with
    // the first request (see out()).
    this.preface = Buffer.concat([
      PREFACE,
      settings([
        [S_ENABLE_PUSH, 0],
        [S_INITIAL_WINDOW_SIZE, RECV_WINDOW],
        [S_HEADER_TABLE_SIZE, HEADER_TABLE_SIZE],
      ]),
      windowUpdate(0, RECV_WINDOW - DEFAULT_WINDOW),
    ]);
  }

  /**
   * Writes frames, the preface first if it has not gone out yet: a unary call is one socket write
   * (each net.Socket write costs a cold plugin process more than the bytes do).
   */
  private out(frames: Buffer[]): void {
    if (this.preface) {
      frames.unshift(this.preface);
      this.preface = undefined;
    }
    if (frames.length > 0) this.sock.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** True once the connection failed or got a GOAWAY: open a new one for further requests. */
  get unusable(): boolean {
    return this.dead !== undefined || this.goaway;
  }

  /** Sends one request (headers + body, END_STREAM on the last DATA frame). */
  request(fields: readonly (readonly [string, string])[], body: Buffer): { id: number; response: Promise<H2Response> } {
    const id = this.nextId;
    this.nextId += 2;
    const response = new Promise<H2Response>((resolve, reject) => {
      if (this.dead) {
        reject(this.dead);
        return;
      }
      const s: Stream = { id, chunks: [], pending: body, sendWindow: this.peerInitialWindow, resolve, reject };
      this.streams.set(id, s);
      const block = encodeHeaders(fields);
      const out: Buffer[] = [];
      for (let off = 0; off === 0 || off < block.length; off += this.peerMaxFrame) {
        const part = block.subarray(off, off + this.peerMaxFrame);
        const last = off + this.peerMaxFrame >= block.length;
        out.push(frame(off === 0 ? T_HEADERS : T_CONTINUATION, last ? F_END_HEADERS : 0, id, part));
      }
      this.flush(s, out);
      this.out(out);
    });
    return { id, response };
  }

  /** Abandons a stream (RST_STREAM CANCEL); its promise is left to the caller. */
  cancel(id: number): void {
    if (!this.streams.delete(id) || this.dead) return;
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(RST_CANCEL, 0);
    this.out([frame(T_RST_STREAM, 0, id, p)]);
  }

  close(): void {
    this.sock.destroy();
  }

  private fail(e: H2Error): void {
    if (!this.dead) this.dead = e;
    for (const s of this.streams.values()) {
      s.reject(new H2Error(e.message, e.kind, e.errno, s.headers !== undefined, e.rstCode));
    }
    this.streams.clear();
  }

  /** Sends what the windows allow of the stream's body; into `batch` when given (written by the caller). */
  private flush(s: Stream, batch?: Buffer[]): void {
    while (s.pending.length > 0 && this.streams.has(s.id)) {
      const n = Math.min(s.pending.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (n <= 0) return; // wait for WINDOW_UPDATE / SETTINGS
      const chunk = s.pending.subarray(0, n);
      s.pending = s.pending.subarray(n);
      s.sendWindow -= n;
      this.connSendWindow -= n;
      const f = frame(T_DATA, s.pending.length === 0 ? F_END_STREAM : 0, s.id, chunk);
      if (batch) batch.push(f);
      else this.out([f]);
    }
  }

  private onData(d: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? d : Buffer.concat([this.inbuf, d]);
    let pos = 0;
    while (pos + 9 <= this.inbuf.length) {
      const len = this.inbuf.readUIntBE(pos, 3);
      if (pos + 9 + len > this.inbuf.length) break;
      const type = this.inbuf[pos + 3]!;
      const flags = this.inbuf[pos + 4]!;
      const sid = this.inbuf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = this.inbuf.subarray(pos + 9, pos + 9 + len);
      pos += 9 + len;
      this.onFrame(type, flags, sid, payload);
    }
    this.inbuf = pos === this.inbuf.length ? Buffer.alloc(0) : this.inbuf.subarray(pos);
  }

  private onFrame(type: number, flags: number, sid: number, p: Buffer): void {
    if (this.blockStream !== 0 && (type !== T_CONTINUATION || sid !== this.blockStream)) {
      throw new H2Error('expected CONTINUATION', 'protocol');
    }
    switch (type) {
      case T_SETTINGS: {
        if (flags & F_ACK) return;
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const id = p.readUInt16BE(i);
          const v = p.readUInt32BE(i + 2);
          if (id === S_INITIAL_WINDOW_SIZE) {
            const delta = v - this.peerInitialWindow;
            this.peerInitialWindow = v;
            for (const s of this.streams.values()) s.sendWindow += delta;
          } else if (id === S_MAX_FRAME_SIZE) {
            this.peerMaxFrame = v;
          }
        }
        this.out([frame(T_SETTINGS, F_ACK, 0)]);
        for (const s of this.streams.values()) this.flush(s);
        return;
      }
      case T_PING:
        if (!(flags & F_ACK)) this.out([frame(T_PING, F_ACK, 0, p)]);
        return;
      case T_WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (sid === 0) this.connSendWindow += inc;
        else {
          const s = this.streams.get(sid);
          if (s) s.sendWindow += inc;
        }
        for (const s of this.streams.values()) this.flush(s);
        return;
      }
      case T_GOAWAY: {
        // A graceful shutdown may first announce 2^31-1 (finish everything), then the real last id.
        this.goaway = true;
        this.goawayLast = p.readUInt32BE(0) & 0x7fffffff;
        const code = p.readUInt32BE(4);
        for (const s of [...this.streams.values()]) {
          if (s.id > this.goawayLast) {
            this.streams.delete(s.id);
            s.reject(new H2Error(`daemon refused the stream (GOAWAY, code ${code})`, 'goaway', undefined, false));
          }
        }
        return;
      }
      case T_RST_STREAM: {
        const s = this.streams.get(sid);
        if (!s) return;
        this.streams.delete(sid);
        const code = p.readUInt32BE(0);
        s.reject(new H2Error(`daemon reset the stream (code ${code})`, 'reset', undefined, s.headers !== undefined, code));
        return;
      }
      case T_HEADERS: {
        let q = p;
        if (flags & F_PADDED) q = q.subarray(1, q.length - q[0]!);
        if (flags & F_PRIORITY) q = q.subarray(5);
        this.blockEndStream = (flags & F_END_STREAM) !== 0;
        this.blockParts = [q];
        if (flags & F_END_HEADERS) this.endBlock(sid);
        else this.blockStream = sid;
        return;
      }
      case T_CONTINUATION:
        this.blockParts.push(p);
        if (flags & F_END_HEADERS) {
          this.blockStream = 0;
          this.endBlock(sid);
        }
        return;
      case T_DATA: {
        let q = p;
        if (flags & F_PADDED) q = q.subarray(1, q.length - q[0]!);
        this.recvConsumed += p.length;
        if (this.recvConsumed > RECV_WINDOW / 2) {
          // Return the credit on the connection (and the stream) before the daemon stalls.
          this.out([windowUpdate(0, this.recvConsumed), ...(sid && this.streams.has(sid) ? [windowUpdate(sid, this.recvConsumed)] : [])]);
          this.recvConsumed = 0;
        }
        const s = this.streams.get(sid);
        if (!s) return;
        s.chunks.push(Buffer.from(q));
        if (flags & F_END_STREAM) this.complete(s);
        return;
      }
      case T_PUSH_PROMISE:
        throw new H2Error('PUSH_PROMISE although push is disabled', 'protocol');
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private endBlock(sid: number): void {
    // Decode every block, even for streams we dropped: the HPACK table must stay in step.
    const fields = toMap(this.decoder.decode(this.blockParts.length === 1 ? this.blockParts[0]! : Buffer.concat(this.blockParts)));
    this.blockParts = [];
    const s = this.streams.get(sid);
    if (!s) return;
    if (s.headers === undefined) s.headers = fields;
    else s.trailers = fields;
    if (this.blockEndStream) this.complete(s);
  }

  private complete(s: Stream): void {
    this.streams.delete(s.id);
    if (!s.headers) {
      s.reject(new H2Error('stream ended without headers', 'protocol'));
      return;
    }
    s.resolve({ headers: s.headers, trailers: s.trailers, data: s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks) });
  }
}
