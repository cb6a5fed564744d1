// Bad input at the daemon's gRPC surface: every request gets a gRPC status with a message, nothing
// reaches the allocator, and the server keeps serving afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { API_VERSION } from '../../proto/version.js';
import { SERVICE_PATH } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { testConfig } from '../support/daemon.js';
import { connect, grpcError, podMsg, type TestClient } from '../support/daemonClient.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

interface Setup {
  handle: DaemonHandle;
  client: TestClient;
  allocator: FakeAllocator;
}
const running: Setup[] = [];
const raws: grpc.Client[] = [];

async function setup(): Promise<Setup> {
  const allocator = new FakeAllocator();
  const handle = await startDaemon(testConfig(tempDir()), {
    allocator,
    driver: new FakeDriver(),
    metadata: FAKE_METADATA,
    logger: captureLog().logger,
  });
  const s = { handle, client: connect(handle.socketPath), allocator };
  running.push(s);
  return s;
}

afterEach(async () => {
  for (const c of raws.splice(0)) c.close();
  for (const s of running.splice(0)) {
    s.client.close();
    await s.handle.stop();
  }
});

/** Sends raw bytes as the request message of `method`. */
function rawCall(socketPath: string, method: string, body: Buffer): Promise<grpc.ServiceError | 'ok'> {
  const c = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  raws.push(c);
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      `${SERVICE_PATH}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err ?? 'ok'),
    );
  });
}

const alloc = (c: TestClient, pod: Record<string, string>) =>
  c.call<Record<string, unknown>>('AllocIP', { pod, api_version: API_VERSION, plugin_version: 't' });

describe('daemon gRPC input checks', () => {
  it('answers a request that is not protobuf with a status and keeps serving', async () => {
    const { handle, client, allocator } = await setup();
    // field 1 (pod), length-delimited, claiming 100 bytes that are not there
    const err = await rawCall(handle.socketPath, 'AllocIP', Buffer.from([0x0a, 0x64, 0x01]));
    expect(err).not.toBe('ok');
    const e = err as grpc.ServiceError;
    expect([grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT]).toContain(e.code);
    expect(e.details.length).toBeGreaterThan(0);
    expect(allocator.allocateCalls).toBe(0);
    expect(await alloc(client, podMsg('c1'))).toMatchObject({ success: true });
  });

  it('refuses a request over the message size limit with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const { handle, client, allocator } = await setup();
    const err = await rawCall(handle.socketPath, 'GC', Buffer.alloc(5 * 1024 * 1024, 0x41));
    expect(err).not.toBe('ok');
    expect((err as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(allocator.allocateCalls).toBe(0);
    expect(await alloc(client, podMsg('c1'))).toMatchObject({ success: true });
  });

  it('refuses an AllocIP without a network name (it is part of the pod key CNI GC matches on)', async () => {
    const { client, allocator } = await setup();
    const err = await grpcError(alloc(client, podMsg('c1', { network_name: '' })));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/network_name/);
    expect(allocator.allocateCalls).toBe(0);
  });

  it.each([
    ['an interface name over 15 bytes', { if_name: 'eth0123456789abc' }, /if_name/],
    ['an interface name with a space', { if_name: 'eth 0' }, /if_name/],
    ['an interface name with ":"', { if_name: 'eth0:1' }, /if_name/],
    ['the interface name ".."', { if_name: '..' }, /if_name/],
    ['a container id with a newline', { k8s_pod_infra_container_id: 'c1\nc2' }, /container id/],
    ['a container id starting with "-"', { k8s_pod_infra_container_id: '-c1' }, /container id/],
    ['a container id over 255 bytes', { k8s_pod_infra_container_id: 'c'.repeat(256) }, /container id.*at most 255 bytes/],
    ['an interface name with "/"', { if_name: 'a/b' }, /if_name/],
    ['an interface name with NUL', { if_name: 'eth\u00000' }, /if_name/],
    ['a relative netns', { netns: 'netns/x' }, /pod\.netns.*absolute path/],
    ['a netns over 4095 bytes', { netns: `/${'n'.repeat(4095)}` }, /pod\.netns.*at most 4095 bytes/],
    ['a network name with "/"', { network_name: 'a/b' }, /pod\.network_name/],
    ['a network name over 255 bytes', { network_name: 'n'.repeat(256) }, /pod\.network_name.*at most 255 bytes/],
    ['a pod name over 253 characters', { k8s_pod_name: 'p'.repeat(254) }, /pod\.k8s_pod_name.*at most 253/],
    ['a pod name with a space', { k8s_pod_name: 'web 0' }, /pod\.k8s_pod_name.*container name/],
    ['a namespace over 253 characters', { k8s_pod_namespace: 'n'.repeat(254) }, /pod\.k8s_pod_namespace.*at most 253/],
    ['a namespace with "/"', { k8s_pod_namespace: 'kube/system' }, /pod\.k8s_pod_namespace.*container name/],
  ])('rejects %s with INVALID_ARGUMENT before allocating', async (_what, over, want) => {
    const { client, allocator } = await setup();
    for (const method of ['AllocIP', 'ReleaseIP']) {
      const err = await grpcError(client.call(method, { pod: podMsg('c1', over), api_version: API_VERSION, reason: 't' }));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(want);
      // The refusal quotes the value cut short: no input reaches a message (or the log) unbounded.
      expect(err.details.length).toBeLessThan(300);
    }
    expect(allocator.allocateCalls).toBe(0);
  });

  it('bounds what RecordEvent and GC accept: reason, pod names, network name, attachments', async () => {
    const { client } = await setup();
    const event = (over: Record<string, unknown>) =>
      client.call('RecordEvent', {
        target: 'EVENT_TARGET_POD',
        k8s_pod_name: 'web-0',
        k8s_pod_namespace: 'default',
        type: 'EVENT_TYPE_WARNING',
        reason: 'AllocIPFailed',
        message: 'm',
        ...over,
      });
    for (const over of [{ reason: 'x'.repeat(129) }, { reason: 'Bad Reason' }, { k8s_pod_name: 'a b' }, { k8s_pod_namespace: 'a/b' }]) {
      expect((await grpcError(event(over))).code).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const gc = (network_name: string, valid: { container_id: string; if_name: string }[]) =>
      client.call('GC', { network_name, valid_attachments: valid, api_version: API_VERSION });
    expect((await grpcError(gc('bad/name', []))).details).toMatch(/network_name/);
    expect((await grpcError(gc('eni-net', [{ container_id: 'c'.repeat(300), if_name: 'eth0' }]))).details).toMatch(
      /valid_attachments\[0\]/,
    );
    expect((await grpcError(gc('eni-net', [{ container_id: 'c1', if_name: 'eth0/1' }]))).details).toMatch(/valid_attachments\[0\]/);
    expect(await gc('eni-net', [{ container_id: 'c1', if_name: 'eth0' }])).toMatchObject({ success: true });
  });

  it('rejects a GC attachment with an empty field with INVALID_ARGUMENT', async () => {
    const { client } = await setup();
    const err = await grpcError(
      client.call('GC', { network_name: 'eni-net', valid_attachments: [{ container_id: 'c1', if_name: '' }], api_version: API_VERSION }),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('valid_attachments[0]');
  });
});
