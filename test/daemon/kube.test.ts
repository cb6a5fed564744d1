// The daemon with a Kubernetes client: in-process startDaemon against the mock cloud (real pool,
// SQLite pod DB, `none` driver) and the fake API server from test/k8s, reached through a kubeconfig.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { FakeApiServer } from '../../sim/kube/server.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { EniMultiIpPool } from '../../pool/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const NODE = 'node-1';

describe('daemon + Kubernetes (fake API server) + mock cloud', () => {
  let mock: MockCloudHandle;
  let api: FakeApiServer;
  let handle: DaemonHandle | undefined;
  let client: TestClient;
  let pool: EniMultiIpPool;
  const log = captureLog();

  beforeAll(async () => {
    [mock, api] = await Promise.all([startMockCloud({ attachDelayMs: 20 }), FakeApiServer.start()]);
    api.addNode(NODE);
    const dir = tempDir();
    const config = mockCloudConfig(mock, dir, {
      min_pool_size: 6,
      max_pool_size: 12,
      ip_cooldown: '0s', // a released non-stateful IP is free at once: only the reservation keeps it
      stateful_ip_reserve: '10m',
      kubeconfig: api.writeKubeconfig(dir),
      node_name: NODE,
      custom_stateful_workload_kinds: ['CloneSet'],
      gc_interval: '1h', // driven by hand below
      gc_grace: '0s',
      pod_lookup_timeout: '300ms',
      // One try per IP / ENI call: a failed cloud call surfaces at once.
      backoff_override: { eni_ip_ops: { steps: 1 }, eni_create: { steps: 1 } },
    });
    handle = await startDaemon(config, { logger: log.logger, env: {} });
    client = connect(handle.socketPath);
    expect(handle.allocator).toBeInstanceOf(EniMultiIpPool);
    pool = handle.allocator as EniMultiIpPool;
    await waitFor(() => pool.stats().free >= 6, 'pool filled to min_pool_size', 20_000);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await Promise.all([mock?.close(), api?.close()]);
  });

  const call = (method: string, req: unknown) => client.call<Record<string, any>>(method, req, 20_000);
  const ipOf = (r: Record<string, any>): string => (r.ips[0].address as string).replace('/32', '');
  const alloc = async (containerId: string, podName: string): Promise<string> => {
    const r = await call('AllocIP', { pod: podMsg(containerId, { k8s_pod_name: podName }), api_version: API_VERSION });
    expect(r).toMatchObject({ success: true });
    return ipOf(r);
  };
  const release = async (containerId: string, podName: string): Promise<void> => {
    const r = await call('ReleaseIP', { pod: podMsg(containerId, { k8s_pod_name: podName }), api_version: API_VERSION, reason: 'test' });
    expect(r.success).toBe(true);
  };
  const recordOf = (ip: string) => pool.ipRecords().find((r) => r.ip === ip);

  it('runs with the Kubernetes client and the node name', () => {
    expect(handle!.kube).toBeDefined();
    expect(handle!.nodeName).toBe(NODE);
    expect(log.lines().some((l) => l['msg'] === 'Kubernetes client configured' && l['source'] === 'kubeconfig')).toBe(true);
  });

  it('a StatefulSet pod gets its IP back after release, under a new container id', async () => {
    api.addPod({ namespace: 'default', name: 'web-0', nodeName: NODE, ownerKind: 'StatefulSet' });
    const ip = await alloc('sts-c1', 'web-0');
    expect(pool.list().find((a) => a.ip === ip)?.name).toBe('web-0');
    await release('sts-c1', 'web-0');
    expect(recordOf(ip)).toMatchObject({ state: 'reserved', reservedFor: 'default/web-0' });

    // Another pod does not get the reserved IP, although it is the only one just released.
    api.addPod({ namespace: 'default', name: 'other-1', nodeName: NODE, ownerKind: 'ReplicaSet' });
    const other = await alloc('other-c1', 'other-1');
    expect(other).not.toBe(ip);

    const again = await alloc('sts-c2', 'web-0');
    expect(again).toBe(ip);
    expect(recordOf(ip)).toMatchObject({ state: 'assigned', podKey: 'sts-c2/eth0/eni-net' });
  });

  it('a ReplicaSet pod does not keep its IP; a custom stateful kind and the reservation annotation do', async () => {
    api.addPod({ namespace: 'default', name: 'api-7f9c-x2', nodeName: NODE, ownerKind: 'ReplicaSet' });
    const ip = await alloc('rs-c1', 'api-7f9c-x2');
    await release('rs-c1', 'api-7f9c-x2');
    expect(recordOf(ip)?.state).toBe('free');

    api.addPod({ namespace: 'default', name: 'clone-0', nodeName: NODE, ownerKind: 'CloneSet' });
    const cloneIp = await alloc('cs-c1', 'clone-0');
    await release('cs-c1', 'clone-0');
    expect(recordOf(cloneIp)).toMatchObject({ state: 'reserved', reservedFor: 'default/clone-0' });

    api.addPod({ namespace: 'default', name: 'fixed', nodeName: NODE, annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' } });
    const fixedIp = await alloc('an-c1', 'fixed');
    await release('an-c1', 'fixed');
    expect(recordOf(fixedIp)).toMatchObject({ state: 'reserved', reservedFor: 'default/fixed' });
  });

  it('pool GC releases the allocation of a pod deleted from the API server, and only that one', async () => {
    api.addPod({ namespace: 'default', name: 'gone-1', nodeName: NODE, ownerKind: 'ReplicaSet' });
    api.addPod({ namespace: 'default', name: 'alive-1', nodeName: NODE, ownerKind: 'ReplicaSet' });
    const goneIp = await alloc('gc-gone', 'gone-1');
    await alloc('gc-alive', 'alive-1');
    api.deletePod('default', 'gone-1');
    const released = await pool.gc();
    expect(released).toEqual(['gc-gone/eth0/eni-net']);
    expect(pool.get('gc-gone/eth0/eni-net')).toBeUndefined();
    expect(pool.get('gc-alive/eth0/eni-net')).toBeDefined();
    expect(recordOf(goneIp)?.state).not.toBe('assigned');
    // The owner check asked the API server: a LIST of the node's pods, then a GET for the missing one.
    expect(api.requests.some((r) => r.path === '/api/v1/pods' && r.query['fieldSelector'] === `spec.nodeName=${NODE}`)).toBe(true);
    expect(api.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/pods/gone-1')).toBe(true);
  });

  it('pool GC keeps everything when the API server fails', async () => {
    api.addPod({ namespace: 'default', name: 'gone-2', nodeName: NODE });
    await alloc('gc-gone2', 'gone-2');
    api.deletePod('default', 'gone-2');
    api.failWith(500);
    try {
      expect(await pool.gc()).toEqual([]);
    } finally {
      api.failWith(undefined);
    }
    expect(pool.get('gc-gone2/eth0/eni-net')).toBeDefined();
    expect(log.lines().some((l) => l['msg'] === 'pod GC skipped this round: the API server did not answer')).toBe(true);
  });

  it('RecordEvent lands as a core/v1 Event on the pod', async () => {
    const pod = api.addPod({ namespace: 'default', name: 'evt-1', nodeName: NODE });
    const r = await call('RecordEvent', {
      target: 'EVENT_TARGET_POD',
      k8s_pod_name: 'evt-1',
      k8s_pod_namespace: 'default',
      type: 'EVENT_TYPE_WARNING',
      reason: 'SetupNetworkFailed',
      message: 'veth: EEXIST',
    });
    expect(r).toMatchObject({ succeed: true });
    const ev = api.events.find((e) => e['reason'] === 'SetupNetworkFailed');
    expect(ev).toMatchObject({
      type: 'Warning',
      message: 'veth: EEXIST',
      metadata: { namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'evt-1', uid: (pod['metadata'] as { uid: string }).uid },
    });
  });

  it('API server not answering: ADD still succeeds, the pod counts as not stateful', async () => {
    api.addPod({ namespace: 'default', name: 'db-0', nodeName: NODE, ownerKind: 'StatefulSet' });
    api.hang(true);
    let ip: string;
    try {
      ip = await alloc('hang-c1', 'db-0');
    } finally {
      api.hang(false);
    }
    expect(log.lines().some((l) => l['pod'] === 'default/db-0' && String(l['msg']).includes('took longer than 300 ms'))).toBe(true);
    await release('hang-c1', 'db-0');
    expect(recordOf(ip)?.state).toBe('free'); // not reserved: the lookup did not answer in time
  });

  it('API server failing: ADD still succeeds', async () => {
    api.failWith(503);
    try {
      await alloc('fail-c1', 'whatever-1');
    } finally {
      api.failWith(undefined);
    }
    expect(log.lines().some((l) => l['pod'] === 'default/whatever-1' && String(l['msg']).includes('pod lookup failed'))).toBe(true);
  });

  it('pool warnings (a failed cloud call, with its code) become events on the Node', async () => {
    mock.faults.failNext('AssignPrivateIpAddresses', 1000, 'unavailable');
    mock.faults.failNext('CreateNetworkInterface', 1000, 'unavailable');
    try {
      // Take IPs until the pool drops below min_pool_size and has to ask the cloud for more.
      for (let i = 0; pool.stats().free >= 6 || i < 1; i++) await alloc(`warn-${i}`, `warn-${i}`);
      await waitFor(() => api.events.some((e) => e['reason'] === 'AllocIPFailed'), 'AllocIPFailed node event', 15_000);
    } finally {
      mock.faults.clear();
    }
    const ev = api.events.find((e) => e['reason'] === 'AllocIPFailed')!;
    expect(ev).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Node', name: NODE } });
    expect(ev['message']).toMatch(/ServiceUnavailable/);
  });

  it('a repeated ADD for a live allocation does not look the pod up again', async () => {
    api.addPod({ namespace: 'default', name: 'rep-1', nodeName: NODE });
    await alloc('rep-c1', 'rep-1');
    const lookups = () => api.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods/rep-1').length;
    const before = lookups();
    await alloc('rep-c1', 'rep-1');
    expect(lookups()).toBe(before);
  });
});
