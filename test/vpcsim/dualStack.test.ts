// Dual stack across two simulated nodes: ENIs with IPv4 and IPv6 addresses from the mock cloud (through the
// daemon's SDK-backed client), the VPC router's /128 routes per IPv6 address, pods wired by the product's veth
// driver in each node's netns; a full mesh of ping -6 (and ping) between the pods; unassign withdraws the route;
// DEL leaves the node's IPv6 rules, routes and neighbours as before.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AliyunCloud } from '../../daemon/cloud/client.js';
import { VethDriver } from '../../drivers/veth.js';
import type { PodNetworkSpec } from '../../drivers/types.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import {
  attachKernel,
  cleanupStale,
  createPodNetns,
  netnsPath,
  ping,
  probeKernelSupport,
  uniquePrefix,
  type VpcKernel,
} from '../../sim/vpcsim/index.js';
import { mockCloudClient } from '../support/mockCloud.js';

const support = await probeKernelSupport();
if (!support.ok) console.warn(`test/vpcsim/dualStack.test.ts skipped: needs ${support.missing.join(', ')}`);

const N1 = 'i-mock-node-1';
const N2 = 'i-mock-node-2';

function ping6(netns: string, ip: string, attempts = 3): boolean {
  for (let i = 0; i < attempts; i++)
    if (spawnSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-c', '1', '-W', '1', '-q', ip]).status === 0) return true;
  return false;
}

function ip6State(netns: string): { rules: string; routes: string; neigh: string } {
  const run = (args: string[]) => spawnSync('ip', ['-n', netns, '-6', ...args], { encoding: 'utf8' }).stdout;
  return {
    rules: run(['rule', 'show']),
    routes: run(['route', 'show', 'table', 'all'])
      .split('\n')
      .filter((l) => !/^(fe80|multicast|local fe80|ff00)/.test(l) && !l.includes(' proto kernel '))
      .join('\n'),
    neigh: run(['neigh', 'show', 'nud', 'permanent']),
  };
}

describe.skipIf(!support.ok)('dual stack across two nodes (vpcsim, veth driver)', () => {
  const prefix = uniquePrefix('d6');
  let mc: MockCloudHandle;
  let kernel: VpcKernel;
  const drivers: VethDriver[] = [];

  beforeAll(async () => {
    mc = await startMockCloud({ port: 0, attachDelayMs: 20 });
    kernel = await attachKernel(mc, { prefix, nodes: { [N1]: { netns: `${prefix}-n1` }, [N2]: { netns: `${prefix}-n2` } } });
  });
  afterAll(async () => {
    for (const d of drivers) await d.close();
    await kernel?.destroy();
    await mc?.close();
    await cleanupStale(prefix);
  });

  it('pods on both nodes reach each other over IPv6 and IPv4; DEL restores the IPv6 state', async () => {
    const pods: { node: string; netns: string; spec: PodNetworkSpec; driver: VethDriver; cloud: AliyunCloud; eniId: string }[] = [];
    const before: Record<string, ReturnType<typeof ip6State>> = {};
    for (const node of [N1, N2]) {
      const cloud = mockCloudClient(mc, node);
      const eni = await cloud.createNetworkInterface({
        vSwitchId: 'vsw-mock-a',
        securityGroupIds: ['sg-mock-1'],
        secondaryIpCount: 1,
        ipv6Count: 2,
      });
      await cloud.attachNetworkInterface(eni.eniId, node);
      await kernel.settled();
      const md = await cloud.getEniMetadata(eni.mac);
      expect(md.ipv6s).toEqual(eni.ipv6s);
      const driver = new VethDriver({ hostNetnsPath: netnsPath(kernel.nodeNetns(node)) });
      drivers.push(driver);
      await driver.ensureEniTable({ mac: eni.mac, gateway: md.gateway, vSwitchCidr: md.vSwitchCidr, ipv6Gateway: md.ipv6Gateway });
      before[node] = ip6State(kernel.nodeNetns(node));
      const v4 = [eni.primaryIp, ...eni.secondaryIps];
      for (let i = 0; i < 2; i++) {
        const ns = await createPodNetns(prefix, `${node.slice(-1)}p${i}`);
        const spec: PodNetworkSpec = {
          containerId: `ctr-${node}-${i}`,
          netnsPath: ns.path,
          ifName: 'eth0',
          ip: v4[i]!,
          ipv6: eni.ipv6s[i]!,
          ipv6Gateway: md.ipv6Gateway!,
          eniId: eni.eniId,
          eniMac: eni.mac,
          primaryEni: false,
          vSwitchCidr: md.vSwitchCidr,
          gateway: md.gateway,
          mtu: 1500,
        };
        await driver.setup(spec);
        await driver.check(spec);
        pods.push({ node, netns: ns.name, spec, driver, cloud, eniId: eni.eniId });
      }
    }
    expect(kernel.errors).toEqual([]);
    const routed = (await kernel.routes()).map((r) => r.ip);
    for (const p of pods) expect(routed).toContain(p.spec.ipv6);
    // Only addresses the cloud assigned (the gateway the router holds is no routed address).
    expect(routed.filter((r) => r.includes(':')).sort()).toEqual(pods.map((p) => p.spec.ipv6!).sort());

    // Full mesh, both families.
    for (const a of pods)
      for (const b of pods) {
        if (a === b) continue;
        expect(ping6(a.netns, b.spec.ipv6!), `${a.spec.ipv6} -> ${b.spec.ipv6}`).toBe(true);
        expect(await ping(a.netns, b.spec.ip, { attempts: 3 }), `${a.spec.ip} -> ${b.spec.ip}`).toBe(true);
      }

    // The cloud takes an IPv6 address back: the VPC stops routing it.
    const last = pods[pods.length - 1]!;
    await last.driver.teardown({ containerId: last.spec.containerId, ifName: 'eth0', netnsPath: last.spec.netnsPath });
    await last.cloud.unassignIpv6Addresses(last.eniId, [last.spec.ipv6!]);
    await kernel.settled();
    expect((await kernel.routes()).map((r) => r.ip)).not.toContain(last.spec.ipv6);
    expect(ping6(pods[0]!.netns, last.spec.ipv6!, 1)).toBe(false);

    for (const p of pods.slice(0, -1))
      await p.driver.teardown({ containerId: p.spec.containerId, ifName: 'eth0', netnsPath: p.spec.netnsPath });
    for (const d of drivers) await d.settle();
    for (const node of [N1, N2]) expect(ip6State(kernel.nodeNetns(node))).toEqual(before[node]);
  });
});
