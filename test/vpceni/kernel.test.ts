// Root only: two VPCENI daemons (in-process, one per simulated node) with the real rawEni driver
// against the mock cloud's kernel backend (sim/vpcsim): ADD moves a whole ENI link into the pod
// netns, the pod reaches the vSwitch gateway and a pod on the other node by plain VPC routing, DEL
// moves the link back to the node under its original name.
import { describe, expect, it } from 'vitest';
import type { MockCloudHandle } from '../../sim/mockcloud/index.js';
import {
  ensurePlugin,
  execIn,
  execPlugin,
  netConf,
  ping,
  probeKernelSupport,
  uniquePrefix,
  type VpcKernel,
} from '../../sim/vpcsim/index.js';
import { API_VERSION } from '../../proto/version.js';
import { podMsg } from '../support/daemonClient.js';
import { useVpcEniKernel, type KernelRig } from './kernelRig.js';

const support = await probeKernelSupport();
if (!support.ok) console.warn(`skipping VPCENI kernel test: missing ${support.missing.join(', ')}`);

const N1 = 'i-mock-node-1';
const N2 = 'i-mock-node-2';

describe.skipIf(!support.ok)('VPCENI + rawEni driver on the simulated VPC', () => {
  const prefix = uniquePrefix('ve');
  let mc: MockCloudHandle;
  let kernel: VpcKernel;
  let nodes: KernelRig['nodes'];
  let pods: KernelRig['pods'];

  useVpcEniKernel(
    { prefix, nodes: [N1, N2], pods: ['a', 'b', 'c'], config: { min_pool_size: 1, max_pool_size: 2, ip_cooldown: '0s' } },
    (r) => ({ mc, kernel, nodes, pods } = r),
  );

  const call = (node: string, method: string, req: unknown) => nodes.get(node)!.client.call<Record<string, any>>(method, req, 30_000);
  const msg = (p: string) => podMsg(`ve-${p}`, { netns: pods[p]!.path });
  const ipOut = async (ns: string, ...args: string[]): Promise<string> => {
    const r = await execIn(ns, ['ip', ...args]);
    return r.stdout;
  };

  it('ADD moves the ENI link into the pod netns: its MAC, IP with the vSwitch prefix, default via the vSwitch gateway', async () => {
    const r = await call(N1, 'AllocIP', { pod: msg('a'), api_version: API_VERSION });
    expect(r).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    const link = kernel.linkFor(r.eni_id)!;
    expect(link).toBeDefined();
    expect(r.ips[0]).toMatchObject({ address: `${link.primaryIp}/${link.cidr.split('/')[1]}`, gateway: link.gateway });
    const podLink = await ipOut(pods['a']!.name, '-o', 'link', 'show', 'dev', 'eth0');
    expect(podLink).toContain(link.mac);
    expect(podLink).toContain('UP');
    expect(await ipOut(pods['a']!.name, '-4', '-o', 'addr', 'show', 'dev', 'eth0')).toContain(`inet ${r.ips[0].address}`);
    expect(await ipOut(pods['a']!.name, 'route', 'show', 'default')).toContain(`default via ${link.gateway} dev eth0`);
    // Gone from the node netns.
    expect(await ipOut(kernel.nodeNetns(N1), '-o', 'link')).not.toContain(link.mac);
    expect(await call(N1, 'CheckIP', { pod: msg('a'), api_version: API_VERSION })).toMatchObject({ success: true });
  });

  it('the pod reaches the vSwitch gateway and a VPCENI pod on the other node', async () => {
    const a = await call(N1, 'GetIPInfo', { pod: msg('a'), api_version: API_VERSION });
    const b = await call(N2, 'AllocIP', { pod: msg('b'), api_version: API_VERSION });
    expect(b).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    await kernel.settled();
    expect(kernel.errors).toEqual([]);
    expect(await ping(pods['a']!.name, a.ips[0].gateway, { attempts: 3 })).toBe(true);
    const bIp = (b.ips[0].address as string).split('/')[0]!;
    const aIp = (a.ips[0].address as string).split('/')[0]!;
    expect(await ping(pods['a']!.name, bIp, { attempts: 3 })).toBe(true);
    expect(await ping(pods['b']!.name, aIp, { attempts: 3 })).toBe(true);
  });

  it('DEL moves the link back to the node under its original name; the ENI stays warm in the pool', async () => {
    const a = await call(N1, 'GetIPInfo', { pod: msg('a'), api_version: API_VERSION });
    const link = kernel.linkFor(a.eni_id)!;
    expect(await call(N1, 'ReleaseIP', { pod: msg('a'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
    expect(await ipOut(pods['a']!.name, '-o', 'link')).not.toContain(link.mac);
    const back = await ipOut(kernel.nodeNetns(N1), '-o', 'link', 'show', 'dev', link.nodeIfName);
    expect(back).toContain(link.mac);
    expect(mc.dump().enis.find((e) => e.eniId === a.eni_id)).toMatchObject({ status: 'InUse', instanceId: N1 });
    // The next pod on that node gets a working ENI again.
    const again = await call(N1, 'AllocIP', { pod: msg('a'), api_version: API_VERSION });
    expect(again).toMatchObject({ success: true });
    expect(await ping(pods['a']!.name, again.ips[0].gateway, { attempts: 3 })).toBe(true);
    expect(await call(N1, 'ReleaseIP', { pod: msg('a'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
    expect(await call(N2, 'ReleaseIP', { pod: msg('b'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
  });

  it('through the real CNI plugin: ADD prints the ENI (MAC, IP/prefix, vSwitch gateway), DEL gives it back', async () => {
    const { path: plugin } = await ensurePlugin();
    const podC = { containerId: 've-c', namespace: 'default', name: 'pod-c', netnsPath: pods['c']!.path, ifName: 'eth0' };
    const conf = netConf(nodes.get(N2)!.handle.socketPath);
    const add = await execPlugin(plugin, 'ADD', podC, conf);
    expect(add.code, add.stderr).toBe(0);
    const eni = mc.dump().enis.find((e) => e.primaryIp === add.out!.ips![0]!.address.split('/')[0])!;
    const link = kernel.linkFor(eni.eniId)!;
    expect(add.out!.ips![0]).toMatchObject({ address: `${link.primaryIp}/${link.cidr.split('/')[1]}`, gateway: link.gateway });
    expect(add.out!.interfaces!.some((i) => i.name === 'eth0' && i.mac === link.mac)).toBe(true);
    expect(await ping(pods['c']!.name, link.gateway, { attempts: 3 })).toBe(true);
    const del = await execPlugin(plugin, 'DEL', podC, conf);
    expect(del.code, del.stderr).toBe(0);
    expect(await ipOut(pods['c']!.name, '-o', 'link')).not.toContain(link.mac);
    expect(await ipOut(kernel.nodeNetns(N2), '-o', 'link')).toContain(link.mac);
  });
});
