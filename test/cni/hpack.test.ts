// cni/hpack.ts against nghttp2 (node:http2's HPACK encoder): the Huffman table is re-derived from what
// nghttp2 emits, and header blocks nghttp2 encodes (static, dynamic table, Huffman, long values)
// decode to what was sent.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, huffmanCodes, huffmanDecode } from '../../cni/hpack.js';
import { tempDir } from '../support/tmp.js';

/** Sends `requests` (header objects) over one node:http2 connection; resolves with the raw header blocks. */
async function captureBlocks(requests: http2.OutgoingHttpHeaders[]): Promise<Buffer[]> {
  const sockPath = join(tempDir('hpack-'), 's');
  const blocks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      let parts: Buffer[] = [];
      let preface = false;
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!preface && buf.length >= 24) {
          buf = buf.subarray(24);
          preface = true;
        }
        let p = 0;
        while (preface && p + 9 <= buf.length) {
          const len = buf.readUIntBE(p, 3);
          const type = buf[p + 3]!;
          const flags = buf[p + 4]!;
          if (p + 9 + len > buf.length) break;
          let q = buf.subarray(p + 9, p + 9 + len);
          if (type === 1 || type === 9) {
            if (type === 1 && flags & 0x8) q = q.subarray(1, q.length - q[0]!);
            if (type === 1 && flags & 0x20) q = q.subarray(5);
            parts.push(Buffer.from(q));
            if (flags & 0x4) {
              blocks.push(Buffer.concat(parts));
              parts = [];
              if (blocks.length === requests.length) {
                s.destroy();
                srv.close();
                client.destroy();
                resolve(blocks);
              }
            }
          }
          p += 9 + len;
        }
        buf = buf.subarray(p);
      });
    });
    let client: http2.ClientHttp2Session;
    srv.on('error', reject);
    srv.listen(sockPath, () => {
      client = http2.connect('http://localhost', { createConnection: () => net.connect(sockPath) });
      client.on('error', () => undefined);
      for (const h of requests) client.request(h, { endStream: true }).on('error', () => undefined);
    });
  });
}

const bitsOf = (b: Uint8Array) => [...b].map((x) => x.toString(2).padStart(8, '0')).join('');

describe('HPACK Huffman table', () => {
  it('matches nghttp2 for every symbol it knows (re-derived from encoded strings)', async () => {
    const codes = huffmanCodes();
    const E = 'e'.repeat(20);
    // One request: x-k: e*20 + symbol + e*20 for every known symbol (nghttp2 Huffman-codes them all:
    // shorter than raw). The last fields of the block are ours, in order.
    const h: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': '/' };
    codes.forEach(([sym], k) => {
      h[`x-${k}`] = E + String.fromCharCode(sym) + E;
    });
    const [block] = await captureBlocks([h]);
    // Walk the block structurally (no Huffman needed for that) and collect the value strings.
    const values: { huff: boolean; bytes: Buffer }[] = [];
    let pos = 0;
    const int = (prefix: number) => {
      const max = (1 << prefix) - 1;
      let v = block![pos++]! & max;
      if (v < max) return v;
      let m = 0;
      for (;;) {
        const b = block![pos++]!;
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if (!(b & 0x80)) return v;
      }
    };
    const str = () => {
      const huff = (block![pos]! & 0x80) !== 0;
      const n = int(7);
      const bytes = block!.subarray(pos, pos + n);
      pos += n;
      return { huff, bytes };
    };
    while (pos < block!.length) {
      const x = block![pos]!;
      if (x & 0x80) int(7);
      else if ((x & 0xe0) === 0x20) int(5);
      else {
        const idx = int((x & 0xc0) === 0x40 ? 6 : 4);
        if (idx === 0) str();
        values.push(str());
      }
    }
    const mine = values.slice(values.length - codes.length);
    const eCode = codes.find(([s]) => s === 0x65)!;
    const ePattern = eCode[1].toString(2).padStart(eCode[2], '0').repeat(20);
    codes.forEach(([sym, code, len], k) => {
      const v = mine[k]!;
      expect(v.huff, `symbol ${sym}`).toBe(true);
      const b = bitsOf(v.bytes);
      expect(b.slice(0, ePattern.length)).toBe(ePattern);
      expect(b.slice(ePattern.length, ePattern.length + len), `symbol 0x${sym.toString(16)}`).toBe(code.toString(2).padStart(len, '0'));
      const rest = b.slice(ePattern.length + len);
      expect(rest.slice(0, ePattern.length)).toBe(ePattern);
      expect(rest.slice(ePattern.length)).toMatch(/^1{0,7}$/);
    });
  });

  it('rejects bad padding and codes it does not know', () => {
    expect(huffmanDecode(Buffer.from([0x7f]))).toBe('9'); // 011111 + 11 padding
    expect(huffmanDecode(Buffer.from([0x1f]))).toBe('a'); // 00011 + 111 padding
    expect(() => huffmanDecode(Buffer.from([0x1c]))).toThrow(HpackError); // 'a' + 100: padding not all ones
    expect(() => huffmanDecode(Buffer.from([0x1f, 0xff]))).toThrow(HpackError); // 11 bits of padding
    expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(HpackError); // EOS
  });
});

describe('HpackDecoder on nghttp2-encoded blocks', () => {
  it('decodes static, dynamic-table, Huffman and long literal fields across requests', async () => {
    const long = 'v'.repeat(300) + '%20ü';
    const reqs: http2.OutgoingHttpHeaders[] = [
      {
        ':method': 'POST',
        ':path': '/eniipam.v1.EniBackend/AllocIP',
        'content-type': 'application/grpc',
        te: 'trailers',
        'accept-encoding': 'gzip, deflate',
        'grpc-timeout': '120000m',
        'x-long': long,
      },
      {
        ':method': 'POST',
        ':path': '/eniipam.v1.EniBackend/AllocIP',
        'content-type': 'application/grpc',
        te: 'trailers',
        'accept-encoding': 'gzip, deflate',
        'grpc-timeout': '120000m',
        'x-long': long,
      },
      { ':method': 'GET', ':path': '/', 'user-agent': 'x/1', 'grpc-message': 'api%20mismatch: plugin 1, daemon 2' },
    ];
    const blocks = await captureBlocks(reqs);
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      const got = new Map(d.decode(b));
      for (const [k, v] of Object.entries(reqs[i]!)) expect(got.get(k), `${i} ${k}`).toBe(String(v)); // node sends values as latin1
    });
    // the repeat is much shorter: nghttp2 used the dynamic table, and we followed it
    expect(blocks[1]!.length).toBeLessThan(blocks[0]!.length / 4);
  });

  it('round-trips its own request encoding and rejects indexes out of range', () => {
    const fields: [string, string][] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/eniipam.v1.EniBackend/GC'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['x-' + 'k'.repeat(200), 'w'.repeat(1000)],
    ];
    const b = encodeHeaders(fields);
    expect(b[0]).toBe(0x83); // :method POST fully indexed
    expect(new HpackDecoder().decode(b)).toEqual(fields);
    expect(() => new HpackDecoder().decode(Buffer.from([0xbf, 0x20]))).toThrow(/out of range/); // index 95
    expect(() => new HpackDecoder(4096).decode(Buffer.from([0x3f, 0xe1, 0x7f]))).toThrow(/above/); // size update 16384
  });
});
