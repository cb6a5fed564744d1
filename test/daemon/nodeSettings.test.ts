// Per-node settings as Terway does them, against the fake API server and the mock cloud (real daemon, real pool):
// the Node label terway-config=<ConfigMap> merges that ConfigMap's eni_conf over eni-config (RFC 7396, read at
// start), the label k8s.aliyun.com/exclusive-mode-eni-type=eniOnly runs the node in VPCENI, and the daemon
// annotates the Node with its max pods. applyNodeSettings alone for the failure paths.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeApiServer } from '../../sim/kube/index.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { applyNodeSettings } from '../../daemon/build/nodeConfig.js';
import { ANNOTATION_MAX_PODS } from '../../daemon/k8s/index.js';
import { API_VERSION } from '../../proto/version.js';
import { connect, podMsg } from '../support/daemonClient.js';
import { FakeKube } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const NODE = 'node-ns';
type Json = Record<string, any>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A daemon on the mock cloud's i-mock-node-1 (ecs.g7.4xlarge: 8 ENIs × 20 IPs), Kubernetes = the fake API server. */
async function start(o: { labels?: Record<string, string>; configMaps?: [string, string, Json][]; eniConf?: Json; podNamespace?: string }) {
  const mock: MockCloudHandle = await startMockCloud({ attachDelayMs: 10 });
  cleanups.push(() => mock.close());
  const api = await FakeApiServer.start();
  cleanups.push(() => api.close());
  api.addNode(NODE, { metadata: { labels: o.labels ?? {} } });
  for (const [ns, name, conf] of o.configMaps ?? []) api.addConfigMap(ns, name, { eni_conf: JSON.stringify(conf), '10-terway.conf': '{}' });
  const dir = tempDir('eni-ns-');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, api.token, { mode: 0o600 });
  const eniConf: Json = {
    region_id: mock.regionId,
    access_key: mock.accessKeyId,
    access_secret: mock.accessKeySecret,
    cloud_endpoint: mock.url,
    metadata_endpoint: mock.metadataUrl('i-mock-node-1'),
    socket_path: join(dir, 'eni.socket'),
    db_path: join(dir, 'pods.db'),
    driver: 'none',
    kube_api_server: api.url,
    kube_token_file: tokenFile,
    vswitches: { 'cn-hangzhou-h': ['vsw-mock-a'] },
    max_pool_size: 5,
    min_pool_size: 2,
    ...o.eniConf,
  };
  const { config, source } = parseDaemonConfig(eniConf);
  const log = captureLog();
  const handle: DaemonHandle = await startDaemon(config, {
    logger: log.logger,
    eniConfSource: source,
    env: { NODE_NAME: NODE, ...(o.podNamespace ? { POD_NAMESPACE: o.podNamespace } : {}) },
  });
  cleanups.push(() => handle.stop());
  const annotation = () => ((api.nodes.get(NODE)!['metadata'] as Json)['annotations'] ?? {})[ANNOTATION_MAX_PODS] as string | undefined;
  return { mock, api, handle, log, annotation };
}

describe('Node label terway-config: that ConfigMap eni_conf merged over eni-config', () => {
  it('merges (RFC 7396: nested objects merge, null deletes) from the ConfigMap in POD_NAMESPACE, and the pool follows it', async () => {
    const dyn = { max_pool_size: 8, min_pool_size: null, vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] }, eni_tags: { pool: 'dyn' } };
    const { handle, mock, log } = await start({
      labels: { 'terway-config': 'eni-config-node1' },
      configMaps: [
        ['net-system', 'eni-config-node1', dyn],
        ['kube-system', 'eni-config-node1', { max_pool_size: 99 }], // not the daemon's namespace
      ],
      podNamespace: 'net-system',
    });
    expect(handle.config).toMatchObject({
      maxPoolSize: 8,
      minPoolSize: 0,
      vSwitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      eniTags: { pool: 'dyn' },
    });
    expect(log.lines().find((l) => l['msg'] === 'per-node settings applied')!['applied']).toEqual([
      'terway-config=eni-config-node1: ConfigMap net-system/eni-config-node1 eni_conf merged over eni-config',
    ]);
    const client = connect(handle.socketPath);
    cleanups.push(async () => client.close());
    const r = await client.call<Json>('AllocIP', { pod: podMsg('dyn-a'), api_version: API_VERSION }, 30_000);
    expect(r).toMatchObject({ success: true, vswitch_id: 'vsw-mock-b' });
    expect(mock.dump().enis.find((e) => e.eniId === r['eni_id'])!.tags).toMatchObject({ pool: 'dyn' });
  });

  it('a label naming no ConfigMap (or one without eni_conf) keeps eni-config, and says so', async () => {
    const { handle, log } = await start({ labels: { 'terway-config': 'absent' } });
    expect(handle.config).toMatchObject({ maxPoolSize: 5, minPoolSize: 2 });
    expect(log.text()).toContain('ConfigMap kube-system/absent (Node label terway-config): not found; using eni-config alone');
  });
});

describe('Node label k8s.aliyun.com/exclusive-mode-eni-type=eniOnly', () => {
  it('runs the node in VPCENI (whole ENIs), any case of eniOnly; max pods = secondary ENIs', async () => {
    const { handle, annotation } = await start({ labels: { 'k8s.aliyun.com/exclusive-mode-eni-type': 'ENIOnly' } });
    expect(handle.config).toMatchObject({ daemonMode: 'VPCENI', driver: 'none' }); // eni_conf says driver none: kept
    const client = connect(handle.socketPath);
    cleanups.push(async () => client.close());
    const r = await client.call<Json>('AllocIP', { pod: podMsg('ex-a'), api_version: API_VERSION }, 30_000);
    expect(r).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    await waitFor(() => annotation() !== undefined, 'max-pods annotation');
    expect(annotation()).toBe('7'); // ecs.g7.4xlarge: 8 ENIs − eth0
  });
});

describe('Node annotation k8s.aliyun.com/max-pods', () => {
  it('ENIMultiIP: (EniQuantity − 1) × EniPrivateIpAddressQuantity, written at start', async () => {
    const { annotation } = await start({});
    await waitFor(() => annotation() !== undefined, 'max-pods annotation');
    expect(annotation()).toBe('140'); // (8 − 1) × 20
  });
});

describe('applyNodeSettings', () => {
  const base = { max_pool_size: 5, driver: 'veth' };
  const input = (kube: FakeKube, over: Partial<Parameters<typeof applyNodeSettings>[0]> = {}) => ({
    ...parseDaemonConfig(base),
    kube,
    nodeName: 'n1',
    namespace: 'kube-system',
    log: captureLog().logger,
    retryMs: 0,
    ...over,
  });

  it('exclusive ENI: driver rawEni (not the veth eni_conf names), daemon_mode VPCENI', async () => {
    const kube = new FakeKube();
    kube.labels['k8s.aliyun.com/exclusive-mode-eni-type'] = 'eniOnly';
    const { config, applied } = await applyNodeSettings(input(kube));
    expect(config).toMatchObject({ daemonMode: 'VPCENI', driver: 'rawEni', maxPoolSize: 5 });
    expect(applied).toHaveLength(1);
  });

  it('a ConfigMap eni_conf that is not JSON fails the start (a node must not run half-configured)', async () => {
    const kube = new FakeKube();
    kube.labels['terway-config'] = 'broken';
    kube.configMaps.set('kube-system/broken', { eni_conf: '{not json' });
    await expect(applyNodeSettings(input(kube))).rejects.toThrow(/ConfigMap kube-system\/broken .*eni_conf is not valid JSON/);
  });

  it('a merged config that is invalid fails the start with the key named', async () => {
    const kube = new FakeKube();
    kube.labels['terway-config'] = 'bad';
    kube.configMaps.set('kube-system/bad', { eni_conf: JSON.stringify({ max_pool_size: 'lots' }) });
    await expect(applyNodeSettings(input(kube))).rejects.toThrow(/eni_conf\.max_pool_size/);
  });

  it('the Node cannot be read: retried, then the start fails (not silently the wrong mode)', async () => {
    const kube = new FakeKube();
    let calls = 0;
    kube.getNode = async () => {
      calls++;
      throw new Error('connection refused');
    };
    await expect(applyNodeSettings(input(kube, { attempts: 3 }))).rejects.toThrow(/reading Node n1 for its per-node settings failed/);
    expect(calls).toBe(3);
  });

  it('no labels, or no eni_conf source to merge over: the config as it is', async () => {
    const kube = new FakeKube();
    const plain = input(kube);
    expect((await applyNodeSettings(plain)).config).toBe(plain.config);
    kube.labels['terway-config'] = 'x';
    const log = captureLog();
    const noSource = { ...input(kube), source: undefined, log: log.logger };
    expect((await applyNodeSettings(noSource)).config).toBe(noSource.config);
    expect(log.text()).toContain('per-node labels not applied');
  });
});
