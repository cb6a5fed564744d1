// Liveness/readiness probe: exits 0 when grpc.health.v1.Health/Check over the daemon's unix socket
// answers SERVING, 1 otherwise. Run inside the daemon container from the chart's scripts ConfigMap;
// it needs only @grpc/grpc-js from the image (no .proto file: the two messages are encoded by hand).
'use strict';

const socket = process.env.ENI_SOCKET || '/var/run/eni/eni.socket';
const appDir = process.env.ENI_APP_DIR || '/opt/eni-ipam';
const service = process.env.ENI_HEALTH_SERVICE || '';
const timeoutMs = Number(process.env.ENI_HEALTH_TIMEOUT_MS || 3000);
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function fail(msg) {
  process.stdout.write(`unhealthy: ${msg}\n`);
  process.exit(1);
}

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function readVarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

// HealthCheckRequest { string service = 1; } (proto3: an empty string is not written).
function encodeRequest(name) {
  const b = Buffer.from(name, 'utf8');
  return b.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(b.length), b]);
}

// HealthCheckResponse { ServingStatus status = 1; } — unknown fields skipped.
function decodeResponse(buf) {
  let status = 0;
  let pos = 0;
  while (pos < buf.length) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) status = v;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  if (pos > buf.length) throw new Error('truncated message');
  return status;
}

let grpc;
try {
  grpc = require(require.resolve('@grpc/grpc-js', { paths: [appDir] }));
} catch (e) {
  fail(`cannot load @grpc/grpc-js from ${appDir}: ${e.message}`);
}

const client = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure());
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  (arg) => arg,
  (buf) => buf,
  encodeRequest(service),
  new grpc.Metadata(),
  { deadline: Date.now() + timeoutMs },
  (err, reply) => {
    client.close();
    if (err) fail(`${socket}: ${err.code === grpc.status.DEADLINE_EXCEEDED ? 'timed out' : err.details || err.message}`);
    let status;
    try {
      status = decodeResponse(reply);
    } catch (e) {
      fail(`bad HealthCheckResponse: ${e.message}`);
    }
    const name = STATUS[status] || String(status);
    if (status !== 1) fail(`service "${service}" is ${name}`);
    process.stdout.write(`${name}\n`);
    process.exit(0);
  },
);
