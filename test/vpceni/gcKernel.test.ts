// Root only: VPCENI GC by pod existence with the real rawEni driver on the simulated VPC
// (sim/vpcsim): the ENI link of a gone pod is moved back to the node under its original name before
// the ENI returns to the pool, and the next pod gets a working ENI.
import { describe, expect, it } from 'vitest';
import type { MockCloudHandle } from '../../sim/mockcloud/index.js';
import { execIn, ping, probeKernelSupport, uniquePrefix, type VpcKernel } from '../../sim/vpcsim/index.js';
import { API_VERSION } from '../../proto/version.js';
import type { DaemonHandle } from '../../daemon/daemon.js';
import { EniPool } from '../../pool/enipool/index.js';
import type { IpAllocation, OwnerCheck } from '../../pool/types.js';
import { podMsg, type TestClient } from '../support/daemonClient.js';
import { useVpcEniKernel, type KernelRig } from './kernelRig.js';

const support = await probeKernelSupport();
if (!support.ok) console.warn(`skipping VPCENI GC kernel test: missing ${support.missing.join(', ')}`);

const N1 = 'i-mock-node-1';

describe.skipIf(!support.ok)('VPCENI GC by pod existence + rawEni on the simulated VPC', () => {
  const prefix = uniquePrefix('vg');
  const gone = new Set<string>();
  const owner: OwnerCheck = { goneOwners: async (allocs: IpAllocation[]) => allocs.filter((a) => gone.has(a.name)) };
  let mc: MockCloudHandle;
  let kernel: VpcKernel;
  let handle: DaemonHandle;
  let client: TestClient;
  let pods: KernelRig['pods'];

  useVpcEniKernel(
    {
      prefix,
      nodes: [N1],
      pods: ['a', 'b'],
      config: { min_pool_size: 0, max_pool_size: 2, ip_cooldown: '0s', gc_grace: '0s' },
      deps: { ownerCheck: owner },
    },
    (r) => {
      ({ mc, kernel, pods } = r);
      ({ handle, client } = r.nodes.get(N1)!);
    },
  );

  const call = (method: string, req: unknown) => client.call<Record<string, any>>(method, req, 30_000);
  const msg = (p: string) => podMsg(`vg-${p}`, { netns: pods[p]!.path });
  const links = async (ns: string): Promise<string> => (await execIn(ns, ['ip', '-o', 'link'])).stdout;

  it('a gone pod: link back on the node under its original name, then the ENI serves the next pod', async () => {
    const a = await call('AllocIP', { pod: msg('a'), api_version: API_VERSION });
    expect(a).toMatchObject({ success: true, ip_type: 'VPC_ENI' });
    const link = kernel.linkFor(a.eni_id)!;
    expect(await links(pods['a']!.name)).toContain(link.mac);
    expect(await links(kernel.nodeNetns(N1))).not.toContain(link.mac);

    gone.add('pod-vg-a');
    const released = await (handle.allocator as EniPool).gc();
    expect(released.map((k) => k.split('/')[0])).toEqual(['vg-a']);
    expect(await links(pods['a']!.name)).not.toContain(link.mac);
    const back = (await execIn(kernel.nodeNetns(N1), ['ip', '-o', 'link', 'show', 'dev', link.nodeIfName])).stdout;
    expect(back).toContain(link.mac);
    expect(mc.dump().enis.find((e) => e.eniId === a.eni_id)).toMatchObject({ status: 'InUse', instanceId: N1 });

    const b = await call('AllocIP', { pod: msg('b'), api_version: API_VERSION });
    expect(b).toMatchObject({ success: true, eni_id: a.eni_id });
    expect(await ping(pods['b']!.name, b.ips[0].gateway, { attempts: 3 })).toBe(true);
    expect(await call('ReleaseIP', { pod: msg('b'), api_version: API_VERSION, reason: 'test' })).toMatchObject({ success: true });
  });
});
