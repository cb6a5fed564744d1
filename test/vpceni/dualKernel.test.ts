// Root only: VPCENI in dual stack (ip_stack dual) on the simulated VPC: two daemons with the real rawEni driver;
// each pod's whole ENI carries its IPv6 /128 (no DAD) with the default via the vSwitch's IPv6 gateway; ping -6
// reaches the gateway and the pod on the other node; CHECK covers it; DEL takes the ENI back without it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ensurePlugin, execIn, execPlugin, netConf, probeKernelSupport, uniquePrefix, type VpcKernel } from '../../sim/vpcsim/index.js';
import { API_VERSION } from '../../proto/version.js';
import { podMsg } from '../support/daemonClient.js';
import { useVpcEniKernel, type KernelRig } from './kernelRig.js';

const support = await probeKernelSupport();
if (!support.ok) console.warn(`skipping VPCENI dual-stack kernel test: missing ${support.missing.join(', ')}`);

const N1 = 'i-mock-node-1';
const N2 = 'i-mock-node-2';

function ping6(netns: string, ip: string): boolean {
  for (let i = 0; i < 3; i++)
    if (spawnSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-c', '1', '-W', '1', '-q', ip]).status === 0) return true;
  return false;
}

describe.skipIf(!support.ok)('VPCENI dual stack + rawEni driver on the simulated VPC', () => {
  const prefix = uniquePrefix('v6');
  let mc: MockCloudHandle;
  let kernel: VpcKernel;
  let nodes: KernelRig['nodes'];
  let pods: KernelRig['pods'];

  useVpcEniKernel(
    {
      prefix,
      nodes: [N1, N2],
      pods: ['a', 'b', 'c'],
      config: { min_pool_size: 1, max_pool_size: 2, ip_cooldown: '0s', ip_stack: 'dual' },
    },
    (r) => ({ mc, kernel, nodes, pods } = r),
  );

  const call = (node: string, method: string, req: unknown) => nodes.get(node)!.client.call<Record<string, any>>(method, req, 30_000);
  const msg = (p: string) => podMsg(`v6-${p}`, { netns: pods[p]!.path });
  const ipOut = async (ns: string, ...args: string[]): Promise<string> => (await execIn(ns, ['ip', ...args])).stdout;
  const v6Of = (r: Record<string, any>) => (r.ips as { address: string; gateway: string }[]).find((c) => c.address.includes(':'));

  it('ADD: the ENI in the pod carries its IPv6 /128 (nodad) and the default via the vSwitch IPv6 gateway; ping -6 across nodes', async () => {
    const a = await call(N1, 'AllocIP', { pod: msg('a'), api_version: API_VERSION });
    const b = await call(N2, 'AllocIP', { pod: msg('b'), api_version: API_VERSION });
    expect(a).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    expect(b).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    const dump = mc.dump();
    const eniA = dump.enis.find((e) => e.eniId === a.eni_id)!;
    const vsw = dump.vSwitches.find((v) => v.vSwitchId === eniA.vSwitchId)!;
    const a6 = v6Of(a)!;
    expect(a6).toEqual(expect.objectContaining({ address: `${eniA.ipv6s[0]}/128`, gateway: vsw.ipv6Gateway }));
    expect(a.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '::/0', gw: vsw.ipv6Gateway }),
        expect.objectContaining({ dst: '0.0.0.0/0' }),
      ]),
    );
    expect(await ipOut(pods['a']!.name, '-6', 'addr', 'show', 'dev', 'eth0')).toMatch(
      new RegExp(`inet6 ${eniA.ipv6s[0]}/128 scope global nodad`),
    );
    expect(await ipOut(pods['a']!.name, '-6', 'route', 'show', 'default')).toContain(`default via ${vsw.ipv6Gateway} dev eth0`);
    await kernel.settled();
    expect(kernel.errors).toEqual([]);
    const b6 = v6Of(b)!.address.split('/')[0]!;
    expect(ping6(pods['a']!.name, vsw.ipv6Gateway!)).toBe(true);
    expect(ping6(pods['a']!.name, b6)).toBe(true);
    expect(ping6(pods['b']!.name, eniA.ipv6s[0]!)).toBe(true);
    expect(await call(N1, 'CheckIP', { pod: msg('a'), api_version: API_VERSION })).toMatchObject({ success: true });
  });

  it('CHECK fails when the IPv6 default route is gone; DEL brings the ENI back to the node without the pod addresses', async () => {
    const a = await call(N1, 'GetIPInfo', { pod: msg('a'), api_version: API_VERSION });
    const gw6 = v6Of(a)!.gateway;
    await execIn(pods['a']!.name, ['ip', '-6', 'route', 'del', 'default', 'via', gw6, 'dev', 'eth0']);
    const bad = await call(N1, 'CheckIP', { pod: msg('a'), api_version: API_VERSION });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad)).toContain('IPv6 default route');
    const link = kernel.linkFor(a.eni_id)!;
    expect(await call(N1, 'ReleaseIP', { pod: msg('a'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
    const back = await ipOut(kernel.nodeNetns(N1), 'addr', 'show', 'dev', link.nodeIfName);
    expect(back).toContain(link.mac);
    expect(back).not.toContain(v6Of(a)!.address.split('/')[0]!);
    expect(await call(N2, 'ReleaseIP', { pod: msg('b'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
  });

  it('through the real CNI plugin: ADD prints both families, DEL gives the ENI back', async () => {
    const { path: plugin } = await ensurePlugin();
    const podC = { containerId: 'v6-c', namespace: 'default', name: 'pod-c', netnsPath: pods['c']!.path, ifName: 'eth0' };
    const conf = netConf(nodes.get(N2)!.handle.socketPath);
    const add = await execPlugin(plugin, 'ADD', podC, conf);
    expect(add.code, add.stderr).toBe(0);
    const v6 = add.out!.ips!.find((i) => i.address.includes(':'))!;
    expect(v6.address).toMatch(/\/128$/);
    expect(add.out!.routes).toEqual(expect.arrayContaining([expect.objectContaining({ dst: '::/0', gw: v6.gateway })]));
    expect(ping6(pods['c']!.name, v6.gateway!)).toBe(true);
    const del = await execPlugin(plugin, 'DEL', podC, conf);
    expect(del.code, del.stderr).toBe(0);
  });
});
