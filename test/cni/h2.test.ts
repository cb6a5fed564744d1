// cni/h2.ts against a scripted raw HTTP/2 server, for what a grpc-js server rarely does: CONTINUATION,
// padding, PING, trailers-only replies, RST_STREAM, GOAWAY.
import * as net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectUnix, DaemonUnreachableError, frameMessage, GrpcCode, GrpcStatusError } from '../../cni/grpc.js';
import { encodeHeaders, HpackDecoder } from '../../cni/hpack.js';
import { tempDir } from '../support/tmp.js';

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  payload.copy(b, 9);
  return b;
}
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
};

type Scenario = (sid: number, send: (b: Buffer) => void) => void;
const reply = Buffer.from([0x08, 0x01]); // StatusReply{ready: true}

const scenarios: Record<string, Scenario> = {
  // PING first; response headers split over HEADERS(PADDED|PRIORITY) + CONTINUATION; padded DATA; trailers
  '/eniipam.v1.EniBackend/Status': (sid, send) => {
    send(frame(6, 0, 0, Buffer.from('pingpong')));
    const block = encodeHeaders([
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['x-pad', 'p'.repeat(50)],
    ]);
    const first = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), block.subarray(0, 10), Buffer.alloc(3)]);
    send(frame(1, 0x8 | 0x20, sid, first));
    send(frame(9, 0x4, sid, block.subarray(10)));
    const msg = frameMessage(reply);
    send(frame(0, 0x8, sid, Buffer.concat([Buffer.from([4]), msg, Buffer.alloc(4)])));
    send(frame(1, 0x4 | 0x1, sid, encodeHeaders([['grpc-status', '0']])));
  },
  '/eniipam.v1.EniBackend/GetIPInfo': (sid, send) => {
    send(
      frame(
        1,
        0x4 | 0x1,
        sid,
        encodeHeaders([
          [':status', '200'],
          ['content-type', 'application/grpc'],
          ['grpc-status', '5'],
          ['grpc-message', 'no%20such%20pod'],
        ]),
      ),
    );
  },
  '/eniipam.v1.EniBackend/CheckIP': (sid, send) => send(frame(3, 0, sid, u32(2))), // INTERNAL_ERROR
  '/eniipam.v1.EniBackend/GC': (sid, send) => send(frame(3, 0, sid, u32(7))), // REFUSED_STREAM
  '/eniipam.v1.EniBackend/ReleaseIP': (_sid, send) => send(frame(7, 0, 0, Buffer.concat([u32(0), u32(0)]))), // GOAWAY last=0
  '/eniipam.v1.EniBackend/AllocIP': (sid, send) => {
    // HTTP error without grpc-status
    send(frame(1, 0x4 | 0x1, sid, encodeHeaders([[':status', '503']])));
  },
};

let sockPath: string;
let server: net.Server;
let connections = 0;
const pingAcks: Buffer[] = [];

beforeAll(async () => {
  sockPath = join(tempDir('h2-'), 's');
  server = net.createServer((s) => {
    connections++;
    const dec = new HpackDecoder();
    let buf = Buffer.alloc(0);
    let preface = false;
    s.write(frame(4, 0, 0)); // server SETTINGS
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = true;
      }
      let p = 0;
      while (p + 9 <= buf.length) {
        const len = buf.readUIntBE(p, 3);
        if (p + 9 + len > buf.length) break;
        const type = buf[p + 3]!;
        const flags = buf[p + 4]!;
        const sid = buf.readUInt32BE(p + 5) & 0x7fffffff;
        const pl = buf.subarray(p + 9, p + 9 + len);
        p += 9 + len;
        if (type === 6 && flags & 1) pingAcks.push(Buffer.from(pl));
        if (type === 1) {
          const path = new Map(dec.decode(pl)).get(':path')!;
          scenarios[path]!(sid, (b) => s.write(b));
        }
      }
      buf = buf.subarray(p);
    });
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const call = (method: string) => {
  const c = connectUnix(sockPath);
  return c
    .unary(`/eniipam.v1.EniBackend/${method}`, Buffer.from([0x08, 0x01]), 5000)
    .then(
      (v) => ({ ok: v as Buffer | undefined, err: undefined as unknown }),
      (e: unknown) => ({ ok: undefined, err: e }),
    )
    .finally(() => c.close());
};

describe('HTTP/2 client details', () => {
  it('reassembles CONTINUATION, strips padding and priority, answers PING', async () => {
    const r = await call('Status');
    expect(r.err).toBeUndefined();
    expect([...r.ok!]).toEqual([...reply]);
    // the ACK was written before the reply completed; the server reads it asynchronously
    await vi.waitFor(() => expect(pingAcks.map((b) => b.toString())).toContain('pingpong'));
  });

  it('reads status and message from a trailers-only reply', async () => {
    const r = await call('GetIPInfo');
    expect(r.err).toBeInstanceOf(GrpcStatusError);
    expect(r.err).toMatchObject({ code: GrpcCode.NOT_FOUND, details: 'no such pod' });
  });

  it('maps RST_STREAM INTERNAL_ERROR to INTERNAL, REFUSED_STREAM to unreachable', async () => {
    expect((await call('CheckIP')).err).toMatchObject({ code: GrpcCode.INTERNAL });
    expect((await call('GC')).err).toBeInstanceOf(DaemonUnreachableError);
  });

  it('treats a stream beyond GOAWAY as unreachable and reconnects for the next call', async () => {
    const c = connectUnix(sockPath);
    const before = connections;
    const e = await c.unary('/eniipam.v1.EniBackend/ReleaseIP', Buffer.alloc(0), 5000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DaemonUnreachableError);
    const ok = await c.unary('/eniipam.v1.EniBackend/Status', Buffer.alloc(0), 5000);
    expect([...ok]).toEqual([...reply]);
    expect(connections).toBe(before + 2);
    c.close();
  });

  it('maps an HTTP 503 without grpc-status to UNAVAILABLE', async () => {
    expect((await call('AllocIP')).err).toMatchObject({ code: GrpcCode.UNAVAILABLE });
  });
});
