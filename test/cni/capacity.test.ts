// Node capacity as Terway counts it in ENIMultiIP, end to end: the BUILT plugin, the REAL daemon, the mock cloud
// with an ecs.g7.large node (3 ENIs × 6 IPv4). Pods use the two secondary ENIs, every address of each (their own
// primary included), never eth0: 12 pods. The 13th ADD fails at once with code 11 and a message naming the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { mockCloudConfig } from '../support/daemon.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';

const NODE = 'i-mock-node-1';
let mock: MockCloudHandle;
let handle: DaemonHandle;

beforeAll(async () => {
  mock = await startMockCloud({
    attachDelayMs: 10,
    world: {
      instances: [
        { id: NODE, instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
      ],
    },
  });
  const config = mockCloudConfig(mock, tempDir('eni-cap-'), { min_pool_size: 0, max_pool_size: 5, ip_cooldown: '0s' }, NODE);
  [, handle] = await Promise.all([ensurePluginBuilt(), startDaemon(config, { logger: captureLog().logger, kube: null })]);
}, 30_000);
afterAll(async () => {
  await handle?.stop();
  await mock?.close();
});

const add = (cid: string) =>
  runPlugin({
    command: 'ADD',
    env: podEnv({ CNI_CONTAINERID: cid, CNI_NETNS: `/var/run/netns/${cid}`, CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${cid}` }),
    stdin: netConf(handle.socketPath, { cniVersion: '1.0.0' }),
  });

describe('ecs.g7.large in ENIMultiIP: (3 ENIs − 1) × 6 IPs = 12 pods', () => {
  it('12 pods get addresses of the two secondary ENIs, their own primaries included; eth0 none', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => add(`cap-${i}`)));
    for (const r of results) expect(r.code, r.stdout).toBe(0);
    const ips = results.map((r) => ((r.json!['ips'] as { address: string }[])[0]!.address as string).split('/')[0]!);
    expect(new Set(ips).size).toBe(12);
    const enis = mock.dump().enis.filter((e) => e.instanceId === NODE);
    const eth0 = enis.find((e) => e.type === 'Primary')!;
    const secondary = enis.filter((e) => e.type === 'Secondary');
    expect(secondary).toHaveLength(2);
    expect([...ips].sort()).toEqual(secondary.flatMap((e) => [e.primaryIp, ...e.secondaryIps]).sort());
    expect(eth0.secondaryIps).toEqual([]);
  });

  it('the 13th ADD fails at once: code 11, the limit named, no cloud call', async () => {
    const before = mock.counters();
    const r = await add('cap-13');
    expect(r.code).not.toBe(0);
    expect(r.json).toMatchObject({ code: 11, msg: 'no address available now, try again later' });
    expect(r.json!['details']).toContain('node capacity reached: 12 pods = (3 ENIs − 1) × 6 IPs (ecs.g7.large)');
    const after = mock.counters();
    for (const api of ['CreateNetworkInterface', 'AssignPrivateIpAddresses', 'AttachNetworkInterface'])
      expect(after[api] ?? 0, api).toBe(before[api] ?? 0);
  });
});
