// The CNI plugin's own hand-encoded client (cni/wire.ts over raw HTTP/2) against this server:
// guards the frozen field numbers from both ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../proto/version.js';
import { connectUnix, GrpcStatusError, type UnaryClient } from '../../cni/grpc.js';
import { eniBackend, type EniBackend } from '../../cni/daemonClient.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { testConfig } from '../support/daemon.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

const pod = (id: string) => ({
  k8sPodName: `pod-${id}`,
  k8sPodNamespace: 'default',
  k8sPodInfraContainerId: id,
  netns: `/var/run/netns/${id}`,
  ifName: 'eth0',
  networkName: 'net1',
});

describe('plugin wire client <-> daemon server', () => {
  let handle: DaemonHandle;
  let raw: UnaryClient;
  let be: EniBackend;
  beforeAll(async () => {
    handle = await startDaemon(testConfig(tempDir()), {
      allocator: new FakeAllocator(),
      driver: new FakeDriver(),
      metadata: FAKE_METADATA,
      logger: captureLog().logger,
    });
    raw = connectUnix(handle.socketPath);
    be = eniBackend(raw);
  });
  afterAll(async () => {
    raw?.close();
    await handle?.stop();
  });

  it('AllocIP / GetIPInfo / CheckIP / ReleaseIP decode field for field', async () => {
    const r = await be.allocIP({ pod: pod('w1'), apiVersion: API_VERSION, pluginVersion: 'wire' }, 5000);
    expect(r).toMatchObject({
      success: true,
      failureReason: 0,
      ipType: 3, // ENI_MULTI_IP
      ips: [{ address: '10.0.1.10/32', gateway: '169.254.1.1', family: 4 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      interface: { name: 'eth0', mac: '0a:58:0a:00:01:0a', hostIfName: 'eniw1', hostIfMac: 'ee:ee:ee:ee:ee:ee' },
      eniId: 'eni-fake1',
      eniMac: '02:00:00:00:00:01',
      vswitchId: 'vsw-fake',
    });
    expect(await be.getIPInfo({ pod: pod('w1'), apiVersion: API_VERSION }, 5000)).toMatchObject({
      success: true,
      found: true,
      netns: '/var/run/netns/w1',
      ipType: 3,
    });
    expect(await be.checkIP({ pod: pod('w1'), apiVersion: API_VERSION, pluginVersion: 'wire' }, 5000)).toMatchObject({ success: true });
    expect(await be.releaseIP({ pod: pod('w1'), apiVersion: API_VERSION, pluginVersion: 'wire', reason: 'del' }, 5000)).toMatchObject({
      success: true,
      releasedIp: '10.0.1.10',
    });
    expect(await be.checkIP({ pod: pod('w1'), apiVersion: API_VERSION, pluginVersion: 'wire' }, 5000)).toMatchObject({
      success: false,
      failureReason: 5,
    }); // NOT_FOUND
  });

  it('Status, GC and RecordEvent', async () => {
    expect(await be.status({ apiVersion: API_VERSION }, 5000)).toMatchObject({
      ready: true,
      ipType: 3,
      apiVersion: API_VERSION,
      freeIps: 4,
    });
    await be.allocIP({ pod: pod('w2'), apiVersion: API_VERSION, pluginVersion: 'wire' }, 5000);
    expect(await be.gc({ networkName: 'net1', validAttachments: [], apiVersion: API_VERSION }, 5000)).toMatchObject({
      success: true,
      released: ['w2/eth0/net1'],
    });
    expect(await be.recordEvent({ target: 0, k8sPodName: 'p', k8sPodNamespace: 'n', type: 1, reason: 'R', message: 'm' }, 5000)).toEqual({
      succeed: true,
      error: '',
    });
  });

  it('a version mismatch surfaces as gRPC status 9 (FAILED_PRECONDITION) with both versions', async () => {
    const err = await be.allocIP({ pod: pod('w3'), apiVersion: API_VERSION + 1, pluginVersion: 'wire' }, 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcStatusError);
    expect((err as GrpcStatusError).code).toBe(9);
    expect((err as GrpcStatusError).details).toContain(
      `plugin speaks eni.proto API version ${API_VERSION + 1}, daemon speaks ${API_VERSION}`,
    );
  });
});
