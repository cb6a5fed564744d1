// HPACK (RFC 7541) for the plugin's HTTP/2 client: a full decoder (static + dynamic table, Huffman) for
// the daemon's response headers, and a minimal encoder for requests (literals without indexing, no
// Huffman: valid HPACK that any decoder accepts and that leaves both dynamic tables untouched).

/** A header block could not be decoded (compression error: the connection must be dropped). */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** RFC 7541 Appendix A, index 1..61. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

// Huffman code (RFC 7541 Appendix B) as "symbol:code:bits", hex. Covers tab, 0x20-0x7e and 0x80-0xff:
// every byte that may appear in an HTTP header value (control bytes and EOS are left out; a string
// using them is rejected). test/cni/hpack.test.ts re-derives every entry from nghttp2's encoder.
const HUFFMAN =
  '9:ffffea:24 20:14:6 21:3f8:10 22:3f9:10 23:ffa:12 24:1ff9:13 25:15:6 26:f8:8 27:7fa:11 28:3fa:10 ' +
  '29:3fb:10 2a:f9:8 2b:7fb:11 2c:fa:8 2d:16:6 2e:17:6 2f:18:6 30:0:5 31:1:5 32:2:5 33:19:6 34:1a:6 ' +
  '35:1b:6 36:1c:6 37:1d:6 38:1e:6 39:1f:6 3a:5c:7 3b:fb:8 3c:7ffc:15 3d:20:6 3e:ffb:12 3f:3fc:10 ' +
  '40:1ffa:13 41:21:6 42:5d:7 43:5e:7 44:5f:7 45:60:7 46:61:7 47:62:7 48:63:7 49:64:7 4a:65:7 4b:66:7 ' +
  '4c:67:7 4d:68:7 4e:69:7 4f:6a:7 50:6b:7 51:6c:7 52:6d:7 53:6e:7 54:6f:7 55:70:7 56:71:7 57:72:7 ' +
  '58:fc:8 59:73:7 5a:fd:8 5b:1ffb:13 5c:7fff0:19 5d:1ffc:13 5e:3ffc:14 5f:22:6 60:7ffd:15 61:3:5 ' +
  '62:23:6 63:4:5 64:24:6 65:5:5 66:25:6 67:26:6 68:27:6 69:6:5 6a:74:7 6b:75:7 6c:28:6 6d:29:6 ' +
  '6e:2a:6 6f:7:5 70:2b:6 71:76:7 72:2c:6 73:8:5 74:9:5 75:2d:6 76:77:7 77:78:7 78:79:7 79:7a:7 ' +
  '7a:7b:7 7b:7ffe:15 7c:7fc:11 7d:3ffd:14 7e:1ffd:13 80:fffe6:20 81:3fffd2:22 82:fffe7:20 83:fffe8:20 ' +
  '84:3fffd3:22 85:3fffd4:22 86:3fffd5:22 87:7fffd9:23 88:3fffd6:22 89:7fffda:23 8a:7fffdb:23 ' +
  '8b:7fffdc:23 8c:7fffdd:23 8d:7fffde:23 8e:ffffeb:24 8f:7fffdf:23 90:ffffec:24 91:ffffed:24 ' +
  '92:3fffd7:22 93:7fffe0:23 94:ffffee:24 95:7fffe1:23 96:7fffe2:23 97:7fffe3:23 98:7fffe4:23 ' +
  '99:1fffdc:21 9a:3fffd8:22 9b:7fffe5:23 9c:3fffd9:22 9d:7fffe6:23 9e:7fffe7:23 9f:ffffef:24 ' +
  'a0:3fffda:22 a1:1fffdd:21 a2:fffe9:20 a3:3fffdb:22 a4:3fffdc:22 a5:7fffe8:23 a6:7fffe9:23 ' +
  'a7:1fffde:21 a8:7fffea:23 a9:3fffdd:22 aa:3fffde:22 ab:fffff0:24 ac:1fffdf:21 ad:3fffdf:22 ' +
  'ae:7fffeb:23 af:7fffec:23 b0:1fffe0:21 b1:1fffe1:21 b2:3fffe0:22 b3:1fffe2:21 b4:7fffed:23 ' +
  'b5:3fffe1:22 b6:7fffee:23 b7:7fffef:23 b8:fffea:20 b9:3fffe2:22 ba:3fffe3:22 bb:3fffe4:22 ' +
  'bc:7ffff0:23 bd:3fffe5:22 be:3fffe6:22 bf:7ffff1:23 c0:3ffffe0:26 c1:3ffffe1:26 c2:fffeb:20 ' +
  'c3:7fff1:19 c4:3fffe7:22 c5:7ffff2:23 c6:3fffe8:22 c7:1ffffec:25 c8:3ffffe2:26 c9:3ffffe3:26 ' +
  'ca:3ffffe4:26 cb:7ffffde:27 cc:7ffffdf:27 cd:3ffffe5:26 ce:fffff1:24 cf:1ffffed:25 d0:7fff2:19 ' +
  'd1:1fffe3:21 d2:3ffffe6:26 d3:7ffffe0:27 d4:7ffffe1:27 d5:3ffffe7:26 d6:7ffffe2:27 d7:fffff2:24 ' +
  'd8:1fffe4:21 d9:1fffe5:21 da:3ffffe8:26 db:3ffffe9:26 dc:ffffffd:28 dd:7ffffe3:27 de:7ffffe4:27 ' +
  'df:7ffffe5:27 e0:fffec:20 e1:fffff3:24 e2:fffed:20 e3:1fffe6:21 e4:3fffe9:22 e5:1fffe7:21 ' +
  'e6:1fffe8:21 e7:7ffff3:23 e8:3fffea:22 e9:3fffeb:22 ea:1ffffee:25 eb:1ffffef:25 ec:fffff4:24 ' +
  'ed:fffff5:24 ee:3ffffea:26 ef:7ffff4:23 f0:3ffffeb:26 f1:7ffffe6:27 f2:3ffffec:26 f3:3ffffed:26 ' +
  'f4:7ffffe7:27 f5:7ffffe8:27 f6:7ffffe9:27 f7:7ffffea:27 f8:7ffffeb:27 f9:ffffffe:28 fa:7ffffec:27 ' +
  'fb:7ffffed:27 fc:7ffffee:27 fd:7ffffef:27 fe:7fffff0:27 ff:3ffffee:26';

/** The Huffman entries this decoder knows, as [symbol, code, bit length]. */
export function huffmanCodes(): [number, number, number][] {
  return HUFFMAN.split(' ').map((e) => {
    const [sym, code, bits] = e.split(':');
    return [parseInt(sym!, 16), parseInt(code!, 16), Number(bits)];
  });
}

let huffByLen: Map<number, number>[] | undefined;
function huffTable(): Map<number, number>[] {
  if (huffByLen) return huffByLen;
  const t: Map<number, number>[] = [];
  for (const [sym, code, bits] of huffmanCodes()) (t[bits] ??= new Map()).set(code, sym);
  huffByLen = t;
  return t;
}

/** Decodes a Huffman-coded string (as latin1). Padding must be < 8 bits of ones (RFC 7541 5.2). */
export function huffmanDecode(bytes: Uint8Array): string {
  const t = huffTable();
  let out = '';
  let code = 0;
  let len = 0;
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) {
      code = code * 2 + ((byte >> i) & 1);
      // No code is shorter than 5 bits: skip the lookups before (this runs cold in every plugin exec).
      if (++len < 5) continue;
      const sym = t[len]?.get(code);
      if (sym !== undefined) {
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len > 30) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  if (len >= 8 || code !== 2 ** len - 1) throw new HpackError('invalid Huffman padding');
  return out;
}

// ---- decoding ----------------------------------------------------------------------------

export type HeaderList = [string, string][];

export class HpackDecoder {
  private dynamic: [string, string][] = [];
  private size = 0;
  private maxSize: number;
  /** limit: the table size we announced (SETTINGS_HEADER_TABLE_SIZE); size updates may not exceed it. */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  private entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const d = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!d) throw new HpackError(`header index ${index} out of range`);
    return d;
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }

  private insert(name: string, value: string): void {
    this.dynamic.unshift([name, value]);
    this.size += name.length + value.length + 32;
    this.evict();
  }

  /** Decodes one complete header block into (name, value) pairs, in order. */
  decode(block: Uint8Array): HeaderList {
    const out: HeaderList = [];
    let pos = 0;
    const int = (prefix: number): number => {
      if (pos >= block.length) throw new HpackError('truncated integer');
      const max = (1 << prefix) - 1;
      let v = block[pos++]! & max;
      if (v < max) return v;
      let m = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if ((b & 0x80) === 0) return v;
        if (m > 28) throw new HpackError('integer too large');
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huff = (block[pos]! & 0x80) !== 0;
      const n = int(7);
      if (pos + n > block.length) throw new HpackError('truncated string');
      const bytes = block.subarray(pos, pos + n);
      pos += n;
      return huff ? huffmanDecode(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        // indexed field
        const idx = int(7);
        if (idx === 0) throw new HpackError('header index 0');
        const [n, v] = this.entry(idx);
        out.push([n, v]);
      } else if ((b & 0xc0) === 0x40) {
        // literal with incremental indexing
        const idx = int(6);
        const name = idx === 0 ? str() : this.entry(idx)[0];
        const value = str();
        this.insert(name, value);
        out.push([name, value]);
      } else if ((b & 0xe0) === 0x20) {
        // dynamic table size update
        const size = int(5);
        if (size > this.limit) throw new HpackError(`table size update ${size} above ${this.limit}`);
        this.maxSize = size;
        this.evict();
      } else {
        // literal without indexing (0000) / never indexed (0001)
        const idx = int(4);
        const name = idx === 0 ? str() : this.entry(idx)[0];
        out.push([name, str()]);
      }
    }
    return out;
  }
}

// ---- encoding ----------------------------------------------------------------------------

function encodeInt(out: number[], value: number, prefix: number, first: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function encodeStr(out: number[], s: string): void {
  const b = Buffer.from(s, 'latin1');
  encodeInt(out, b.length, 7, 0);
  for (const x of b) out.push(x);
}

/**
 * Encodes header fields for a request: a fully indexed static entry when name and value match one,
 * else a literal without indexing (with the static name index when there is one), never Huffman.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    let nameIdx = 0;
    let fullIdx = 0;
    for (let i = 0; i < STATIC_TABLE.length; i++) {
      const [n, v] = STATIC_TABLE[i]!;
      if (n !== name) continue;
      if (nameIdx === 0) nameIdx = i + 1;
      if (v === value) {
        fullIdx = i + 1;
        break;
      }
    }
    if (fullIdx) {
      encodeInt(out, fullIdx, 7, 0x80);
      continue;
    }
    encodeInt(out, nameIdx, 4, 0x00);
    if (nameIdx === 0) encodeStr(out, name);
    encodeStr(out, value);
  }
  return Buffer.from(out);
}
