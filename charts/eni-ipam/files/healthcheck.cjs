// Liveness/readiness probe: exits 0 when grpc.health.v1.Health/Check over the daemon's unix socket
// answers SERVING, 1 otherwise. Run inside the daemon container from the chart's scripts ConfigMap.
// gRPC is HTTP/2 with prior knowledge: node:http2 speaks it, and the two messages are encoded by hand,
// so the probe needs nothing but node (the image bundles the daemon; no gRPC library is on disk).
'use strict';

const http2 = require('node:http2');
const net = require('node:net');

const socket = process.env.ENI_SOCKET || '/var/run/eni/eni.socket';
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

// A gRPC message: 1 byte "compressed" flag, 4 bytes big-endian length, the protobuf bytes.
function frame(msg) {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

const session = http2.connect('http://localhost', { createConnection: () => net.connect(socket) });
const timer = setTimeout(() => fail(`${socket}: timed out`), timeoutMs);
session.on('error', (e) => fail(`${socket}: ${e.message}`));
const req = session.request({
  ':method': 'POST',
  ':path': '/grpc.health.v1.Health/Check',
  'content-type': 'application/grpc',
  te: 'trailers',
});
const chunks = [];
let grpcStatus;
let grpcMessage = '';
req.on('response', (headers) => {
  if (headers['grpc-status'] !== undefined) grpcStatus = Number(headers['grpc-status']); // trailers-only reply
  if (headers['grpc-message']) grpcMessage = decodeURIComponent(String(headers['grpc-message']));
});
req.on('trailers', (trailers) => {
  grpcStatus = Number(trailers['grpc-status']);
  if (trailers['grpc-message']) grpcMessage = decodeURIComponent(String(trailers['grpc-message']));
});
req.on('data', (c) => chunks.push(c));
req.on('error', (e) => fail(`${socket}: ${e.message}`));
req.on('end', () => {
  clearTimeout(timer);
  session.close();
  if (grpcStatus !== 0) fail(`${socket}: grpc-status ${grpcStatus}${grpcMessage ? ` (${grpcMessage})` : ''}`);
  const body = Buffer.concat(chunks);
  if (body.length < 5 || body.length < 5 + body.readUInt32BE(1)) fail('truncated HealthCheckResponse');
  let status;
  try {
    status = decodeResponse(body.subarray(5, 5 + body.readUInt32BE(1)));
  } catch (e) {
    fail(`bad HealthCheckResponse: ${e.message}`);
  }
  const name = STATUS[status] || String(status);
  if (status !== 1) fail(`service "${service}" is ${name}`);
  process.stdout.write(`${name}\n`);
  process.exit(0);
});
req.end(frame(encodeRequest(service)));
