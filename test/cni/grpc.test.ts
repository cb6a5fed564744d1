// The plugin's gRPC-over-HTTP/2 client (cni/grpc.ts + cni/h2.ts) against a real @grpc/grpc-js server:
// flow control both ways, many calls on one connection, status and message decoding, failures.
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eniBackend, type EniBackend } from '../../cni/daemonClient.js';
import {
  connectUnix,
  DaemonUnreachableError,
  frameMessage,
  GrpcCode,
  GrpcStatusError,
  grpcTimeout,
  unframeMessages,
  type UnaryClient,
} from '../../cni/grpc.js';
import { GrpcFault, startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { tempDir } from '../support/tmp.js';

let d: FakeDaemon;
let client: UnaryClient;
let be: EniBackend;
beforeAll(async () => {
  d = await startFakeDaemon();
  client = connectUnix(d.socketPath);
  be = eniBackend(client);
});
afterAll(async () => {
  client?.close();
  await d?.stop();
});
beforeEach(() => d.reset());

const pod = { k8sPodName: 'p', k8sPodNamespace: 'n', k8sPodInfraContainerId: 'c1', netns: '/n', ifName: 'eth0', networkName: 'terway' };

describe('gRPC framing helpers', () => {
  it('frames and unframes length-prefixed messages', () => {
    const f = frameMessage(Buffer.from([1, 2, 3]));
    expect([...f]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect(unframeMessages(Buffer.concat([f, frameMessage(Buffer.alloc(0))])).map((m) => [...m])).toEqual([[1, 2, 3], []]);
    expect(() => unframeMessages(f.subarray(0, 6))).toThrow(/truncated/);
    expect(() => unframeMessages(Buffer.from([1, 0, 0, 0, 0]))).toThrow(/compressed/);
  });
  it('formats grpc-timeout within 8 digits', () => {
    expect(grpcTimeout(120_000)).toBe('120000m');
    expect(grpcTimeout(0.2)).toBe('1m');
    expect(grpcTimeout(2e9)).toBe('2000000S');
  });
});

describe('unary calls over one connection', () => {
  it('serves many sequential and concurrent calls (HPACK dynamic table in use)', async () => {
    for (let i = 0; i < 5; i++) expect((await be.status({ apiVersion: 1 }, 5000)).ready).toBe(true);
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        be.allocIP({ pod: { ...pod, k8sPodInfraContainerId: `c${i}` }, apiVersion: 1, pluginVersion: 't' }, 5000),
      ),
    );
    expect(rs.every((r) => r.success && r.ips[0]!.address === '10.0.0.5/32')).toBe(true);
    expect(new Set(d.callsOf('AllocIP').map((c) => (c.request.pod as Record<string, unknown>).k8sPodInfraContainerId)).size).toBe(20);
  });

  it('sends a request larger than the flow-control window and the max frame size', async () => {
    const validAttachments = Array.from({ length: 6000 }, (_, i) => ({ containerId: `container-${i}-${'x'.repeat(20)}`, ifName: 'eth0' }));
    const r = await be.gc({ networkName: 'terway', validAttachments, apiVersion: 1 }, 10_000);
    expect(r.success).toBe(true);
    const got = d.callsOf('GC')[0]!.request.validAttachments as { containerId: string }[];
    expect(got).toHaveLength(6000);
    expect(got[5999]!.containerId).toBe(validAttachments[5999]!.containerId);
  });

  it('receives a reply spread over many DATA frames', async () => {
    const released = Array.from({ length: 8000 }, (_, i) => `c${i}/eth0/terway-${'y'.repeat(20)}`);
    d.on('GC', () => ({ success: true, released }));
    const r = await be.gc({ networkName: 'terway', validAttachments: [], apiVersion: 1 }, 10_000);
    expect(r.released).toEqual(released);
  });

  it('decodes grpc-status and a percent-encoded unicode grpc-message', async () => {
    d.on('AllocIP', () => {
      throw new GrpcFault(grpc.status.FAILED_PRECONDITION, 'api_version 1 ≠ 2: 100% "mismatch"\nsecond line');
    });
    const e = await be.allocIP({ pod, apiVersion: 1, pluginVersion: 't' }, 5000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GrpcStatusError);
    expect(e).toMatchObject({ code: GrpcCode.FAILED_PRECONDITION, details: 'api_version 1 ≠ 2: 100% "mismatch"\nsecond line' });
    // the connection is still good afterwards
    expect((await be.status({ apiVersion: 1 }, 5000)).ready).toBe(true);
  });

  it('gives up at the deadline, tells the server, and the connection stays usable', async () => {
    let answered = false;
    d.on('CheckIP', () => new Promise((res) => setTimeout(() => ((answered = true), res({ success: true })), 2000)));
    const e = await be.checkIP({ pod, apiVersion: 1, pluginVersion: 't' }, 200).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: GrpcCode.DEADLINE_EXCEEDED });
    expect(answered).toBe(false);
    expect(d.callsOf('CheckIP')[0]!.deadlineMs).toBeLessThanOrEqual(200);
    expect((await be.status({ apiVersion: 1 }, 5000)).ready).toBe(true);
  });
});

describe('failures', () => {
  it('reports a missing socket as unreachable with ENOENT', async () => {
    const c = connectUnix(join(tempDir('eni-x-'), 'none.sock'));
    const e = await eniBackend(c)
      .status({ apiVersion: 1 }, 2000)
      .catch((x: unknown) => x);
    c.close();
    expect(e).toBeInstanceOf(DaemonUnreachableError);
    expect((e as DaemonUnreachableError).errno).toBe('ENOENT');
  });

  it('reports a daemon that goes away mid-call as unreachable or UNAVAILABLE, then reconnects', async () => {
    const sock = join(tempDir('eni-re-'), 'eni.socket');
    const d2 = await startFakeDaemon({ socketPath: sock });
    const c = connectUnix(sock);
    const b = eniBackend(c);
    d2.on('AllocIP', () => new Promise(() => undefined)); // never answers
    const pending = b.allocIP({ pod, apiVersion: 1, pluginVersion: 't' }, 10_000).catch((x: unknown) => x);
    await new Promise((r) => setTimeout(r, 100));
    await d2.stop(); // forceShutdown after 500 ms
    const e = await pending;
    const unreachable =
      e instanceof DaemonUnreachableError ||
      (e instanceof GrpcStatusError && (e.code === GrpcCode.UNAVAILABLE || e.code === GrpcCode.CANCELLED));
    expect(unreachable, String(e)).toBe(true);
    // a new daemon on the same path: the client opens a fresh connection
    const d3 = await startFakeDaemon({ socketPath: sock });
    expect((await b.status({ apiVersion: 1 }, 5000)).ready).toBe(true);
    c.close();
    await d3.stop();
  });
});
