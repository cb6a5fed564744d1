// Terway's own network config (the `10-terway.conf` its chart renders, charts/terway/templates/terwayd/configmap.yaml)
// through the BUILT plugin (clean env, as a runtime runs it) and the REAL daemon against the mock cloud, with a
// recording driver to see what the daemon wires: the keys it can honour are honoured (mtu per pod), the others
// are accepted and logged once. And DEL after the network's name in the conflist changed since ADD.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { mockCloudConfig } from '../support/daemon.js';
import { FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { ensurePluginBuilt, podEnv, runPlugin, type RunPluginResult } from './runPlugin.js';

/** The chart's 10-terway.conf, defaults rendered (networkPolicyProvider ebpf, autoMTU false). */
const TERWAY_CONF = {
  cniVersion: '0.4.0',
  name: 'terway',
  capabilities: { bandwidth: true },
  network_policy_provider: 'ebpf',
  auto_mtu: false,
  type: 'terway',
};
/** The same with the chart's enableDatapathV2. */
const TERWAY_CONF_V2 = { ...TERWAY_CONF, eniip_virtual_type: 'datapathv2', host_stack_cidrs: ['169.254.20.10/32'] };

let mock: MockCloudHandle;
let handle: DaemonHandle;
const driver = new FakeDriver();
const log = captureLog();

beforeAll(async () => {
  mock = await startMockCloud({ attachDelayMs: 10 });
  const config = mockCloudConfig(mock, tempDir('eni-tw-'), { min_pool_size: 2, mtu: 1500 });
  [, handle] = await Promise.all([ensurePluginBuilt(), startDaemon(config, { logger: log.logger, driver, kube: null })]);
}, 30_000);
afterAll(async () => {
  await handle?.stop();
  await mock?.close();
});

const envFor = (cid: string) =>
  podEnv({
    CNI_CONTAINERID: cid,
    CNI_NETNS: `/var/run/netns/${cid}`,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-${cid};K8S_POD_INFRA_CONTAINER_ID=${cid}`,
  });
/** A Terway conf as the runtime hands it over; `socket` points at this test's daemon (on a node: the default). */
const run = (command: string, cid: string, conf: Record<string, unknown>): Promise<RunPluginResult> =>
  runPlugin({ command, env: envFor(cid), stdin: { ...conf, socket: handle.socketPath } });
const allocated = (cid: string) => handle.allocator.list().filter((a) => a.containerId === cid);
const warnings = (msg: string) => log.lines().filter((l) => l['msg'] === msg);

describe("Terway's 10-terway.conf as a drop-in", () => {
  it('ADD, CHECK, DEL at 0.4.0: an address of a secondary ENI, in the 0.4.0 result shape', async () => {
    const add = await run('ADD', 'tw-a', TERWAY_CONF);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toMatchObject({ cniVersion: '0.4.0' });
    const ips = add.json!['ips'] as { version: string; address: string }[];
    expect(ips[ips.length - 1]!.version).toBe('4');
    const ip = ips[ips.length - 1]!.address.split('/')[0]!;
    const eni = mock.dump().enis.find((e) => [e.primaryIp, ...e.secondaryIps].includes(ip))!;
    expect(eni.type).toBe('Secondary');
    const check = await run('CHECK', 'tw-a', { ...TERWAY_CONF, prevResult: add.json });
    expect(check.code, check.stdout).toBe(0);
    expect((await run('DEL', 'tw-a', TERWAY_CONF)).code).toBe(0);
    expect(allocated('tw-a')).toEqual([]);
  });

  it('mtu is honoured per pod; without it the pod gets eni_conf mtu', async () => {
    expect((await run('ADD', 'tw-m1', TERWAY_CONF)).code).toBe(0);
    expect((await run('ADD', 'tw-m2', { ...TERWAY_CONF, mtu: 1450 })).code).toBe(0);
    const mtuOf = (cid: string) => driver.setups.filter((s) => s.containerId === cid).map((s) => s.mtu);
    expect(mtuOf('tw-m1')).toEqual([1500]);
    expect(mtuOf('tw-m2')).toEqual([1450]);
    const bad = await run('ADD', 'tw-m3', { ...TERWAY_CONF, mtu: 20 });
    expect(bad.json).toMatchObject({ code: 7 });
    expect(allocated('tw-m3')).toEqual([]);
  });

  it('keys it does not act on are accepted and logged once by the daemon, however many ADDs carry them', async () => {
    const withBandwidth = { ...TERWAY_CONF_V2, runtimeConfig: { bandwidth: { ingressRate: 1_000_000, ingressBurst: 1_000 } } };
    for (const cid of ['tw-l1', 'tw-l2', 'tw-l3']) expect((await run('ADD', cid, withBandwidth)).code).toBe(0);
    for (const key of ['auto_mtu', 'network_policy_provider', 'host_stack_cidrs', 'runtimeConfig.bandwidth'])
      expect(warnings(`network config key ${key} accepted and ignored`), key).toHaveLength(1);
    // CNI's own keys (capabilities, runtimeConfig) are nobody's business to report
    expect(warnings('network config key capabilities accepted and ignored')).toEqual([]);
    for (const cid of ['tw-l1', 'tw-l2', 'tw-l3', 'tw-m1', 'tw-m2']) expect((await run('DEL', cid, TERWAY_CONF)).code).toBe(0);
  });
});

describe('DEL after the network was renamed in the conflist', () => {
  it('finds the allocation by container id and interface; a repeated DEL is a no-op', async () => {
    expect((await run('ADD', 'rn-a', TERWAY_CONF)).code).toBe(0);
    expect(allocated('rn-a').map((a) => a.networkName)).toEqual(['terway']);
    const del = await run('DEL', 'rn-a', { ...TERWAY_CONF, name: 'terway-v2' });
    expect(del.code, del.stdout).toBe(0);
    expect(allocated('rn-a')).toEqual([]); // released, not leaked until a restart
    expect((await run('DEL', 'rn-a', { ...TERWAY_CONF, name: 'terway-v2' })).code).toBe(0);
  });

  it('two networks on the same container id and interface (no runtime does this): DEL never takes the other one', async () => {
    expect((await run('ADD', 'rn-two', { ...TERWAY_CONF, name: 'net-a' })).code).toBe(0);
    expect((await run('ADD', 'rn-two', { ...TERWAY_CONF, name: 'net-b' })).code).toBe(0);
    expect((await run('DEL', 'rn-two', { ...TERWAY_CONF, name: 'net-a' })).code).toBe(0);
    expect(allocated('rn-two').map((a) => a.networkName)).toEqual(['net-b']);
    // a retried DEL of net-a must not fall back onto net-b's allocation
    expect((await run('DEL', 'rn-two', { ...TERWAY_CONF, name: 'net-a' })).code).toBe(0);
    expect(allocated('rn-two').map((a) => a.networkName)).toEqual(['net-b']);
    expect((await run('DEL', 'rn-two', { ...TERWAY_CONF, name: 'net-b' })).code).toBe(0);
    expect(allocated('rn-two')).toEqual([]);
  });

  it('several allocations of that container id and interface under other names: none is picked', async () => {
    expect((await run('ADD', 'rn-amb', { ...TERWAY_CONF, name: 'net-c' })).code).toBe(0);
    expect((await run('ADD', 'rn-amb', { ...TERWAY_CONF, name: 'net-d' })).code).toBe(0);
    expect((await run('DEL', 'rn-amb', { ...TERWAY_CONF, name: 'net-e' })).code).toBe(0);
    expect(allocated('rn-amb')).toHaveLength(2);
    expect(log.lines().some((l) => String(l['msg']).startsWith('several allocations of this container id and interface'))).toBe(true);
    for (const name of ['net-c', 'net-d']) expect((await run('DEL', 'rn-amb', { ...TERWAY_CONF, name })).code).toBe(0);
  });
});
