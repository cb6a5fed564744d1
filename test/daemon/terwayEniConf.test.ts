// The eni_conf Terway's chart renders by default (charts/terway/templates/terwayd/configmap.yaml, centralizedIPAM
// off) starts this daemon against the mock cloud and serves pods, with Terway's meaning for every key: the mock's
// vSwitches and security group as the chart's values, `vswitch_selection_policy: ordered` = the vSwitch with the
// most free IPs, trunking off silently. Only what a node needs besides (where the cloud, the metadata, the socket
// and the DB are) is added, and the AccessKey pair the chart's accessKey / accessSecret values render.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { API_VERSION } from '../../proto/version.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

type Json = Record<string, any>;

/** The chart's eni_conf with its values filled in (terway.vSwitchIDs, securityGroupIDs, serviceCIDR, ipStack, keys). */
function terwayChartEniConf(mc: MockCloudHandle): Json {
  return {
    version: '1',
    max_pool_size: 5,
    min_pool_size: 0,
    enable_eni_trunking: false,
    access_key: mc.accessKeyId,
    access_secret: mc.accessKeySecret,
    vswitches: { 'cn-hangzhou-h': ['vsw-mock-b', 'vsw-mock-a'] },
    service_cidr: '10.96.0.0/12',
    security_groups: ['sg-mock-1'],
    ip_stack: 'ipv4',
    vswitch_selection_policy: 'ordered',
  };
}

describe("Terway chart's eni_conf as a drop-in", () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle;
  let client: TestClient;
  const log = captureLog();

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10 });
    const dir = tempDir('eni-twc-');
    const node = {
      cloud_endpoint: mock.url,
      metadata_endpoint: mock.metadataUrl('i-mock-node-1'),
      socket_path: join(dir, 'eni.socket'),
      db_path: join(dir, 'pods.db'),
      driver: 'none',
    };
    const parsed = parseDaemonConfig({ ...terwayChartEniConf(mock), ...node });
    expect(parsed.warnings).toEqual([]);
    handle = await startDaemon(parsed.config, { logger: log.logger, eniConfSource: parsed.source, kube: null });
    client = connect(handle.socketPath);
  });
  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  it('serves pods from a secondary ENI in the vSwitch with the most free IPs, with the chart security group', async () => {
    const vsw = Object.fromEntries(mock.dump().vSwitches.map((v) => [v.vSwitchId, v.availableIpAddressCount]));
    // vsw-mock-a (/23) has more free addresses than vsw-mock-b (/24): ordered picks it, though listed second
    expect(vsw['vsw-mock-a']!).toBeGreaterThan(vsw['vsw-mock-b']!);
    const r = await client.call<Json>('AllocIP', { pod: podMsg('tw-chart'), api_version: API_VERSION }, 30_000);
    expect(r).toMatchObject({ success: true, ip_type: 'ENI_MULTI_IP', vswitch_id: 'vsw-mock-a' });
    const eni = mock.dump().enis.find((e) => e.eniId === r['eni_id'])!;
    expect(eni).toMatchObject({ type: 'Secondary', securityGroupIds: ['sg-mock-1'] });
    expect([eni.primaryIp, ...eni.secondaryIps]).toContain((r['ips'][0]['address'] as string).split('/')[0]);
    expect(await client.call<Json>('ReleaseIP', { pod: podMsg('tw-chart'), api_version: API_VERSION, reason: 'test' })).toMatchObject({
      success: true,
    });
  });

  it("the chart's default render, with empty keys, parses as unset credentials (the next provider of the chain answers)", () => {
    const { config, warnings } = parseDaemonConfig({ ...terwayChartEniConf(mock), access_key: '', access_secret: '' });
    expect(warnings).toEqual([]);
    expect(config.accessKey).toBeUndefined();
    expect(config.accessSecret).toBeUndefined();
  });
});
