// The simulated VPC data plane against the real mock cloud, driven through the daemon's SDK-backed client.
// Needs root, iproute2, ping, netns + veth; skips with the reason otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AliyunCloud } from '../../daemon/cloud/client.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import {
  attachKernel,
  bridgeLoopback,
  execIn,
  cleanupStale,
  createNetns,
  createPodNetns,
  ipJson,
  listNetns,
  ping,
  probeKernelSupport,
  spawnInNetns,
  uniquePrefix,
  wirePodByHand,
  type VpcKernel,
} from '../../sim/vpcsim/index.js';
import { mockCloudClient } from '../support/mockCloud.js';

const support = await probeKernelSupport();
if (!support.ok) console.warn(`test/vpcsim/kernel.test.ts skipped: needs ${support.missing.join(', ')}`);

const N1 = 'i-mock-node-1';
const N2 = 'i-mock-node-2';

interface LinkRow {
  ifname: string;
  address?: string;
  operstate?: string;
  flags?: string[];
}
interface AddrRow {
  ifname: string;
  addr_info: { local: string; prefixlen: number; family: string }[];
}

async function link(netns: string, name: string): Promise<LinkRow | undefined> {
  const rows = await ipJson<LinkRow[]>(netns, ['link', 'show']);
  return rows.find((r) => r.ifname === name);
}

async function ipv4s(netns: string, name: string): Promise<string[]> {
  const rows = await ipJson<AddrRow[]>(netns, ['addr', 'show']);
  return (rows.find((r) => r.ifname === name)?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

async function rootLinks(): Promise<string[]> {
  return (await ipJson<LinkRow[]>(undefined, ['link', 'show'])).map((r) => r.ifname).sort();
}

describe.skipIf(!support.ok)('vpcsim kernel backend (root)', () => {
  const prefix = uniquePrefix('vt');
  const nodes: Record<string, { netns: string }> = { [N1]: { netns: `${prefix}-n1` }, [N2]: { netns: `${prefix}-n2` } };
  let mc: MockCloudHandle;
  let kernel: VpcKernel;
  let linksBefore: string[];
  const clouds: Record<string, AliyunCloud> = {};

  beforeAll(async () => {
    linksBefore = await rootLinks();
    mc = await startMockCloud({ port: 0, attachDelayMs: 20 });
    kernel = await attachKernel(mc, { prefix, nodes });
    clouds[N1] = mockCloudClient(mc, N1);
    clouds[N2] = mockCloudClient(mc, N2);
  });

  afterAll(async () => {
    await kernel?.destroy();
    await mc?.close();
    await cleanupStale(prefix);
  });

  it('brings each node up on its primary ENI: eth0 with the ENI MAC, primary IP / vSwitch prefix, default via the gateway', async () => {
    const world = mc.dump();
    for (const instanceId of [N1, N2]) {
      const inst = world.instances.find((i) => i.instanceId === instanceId);
      const eni = world.enis.find((e) => e.eniId === inst?.primaryEniId);
      expect(eni).toBeDefined();
      const ns = kernel.nodeNetns(instanceId);
      expect(ns).toBe(nodes[instanceId]?.netns);
      const eth0 = await link(ns, 'eth0');
      expect(eth0?.address).toBe(eni?.mac);
      expect(eth0?.flags).toContain('UP');
      expect(await ipv4s(ns, 'eth0')).toEqual([`${eni?.primaryIp}/23`]);
      const routes = await ipJson<{ dst: string; gateway?: string; dev: string }[]>(ns, ['route', 'show', 'default']);
      expect(routes).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.0.1.253', dev: 'eth0' })]);
      expect(kernel.linkFor(eni?.eniId ?? '')).toMatchObject({ instanceId, deviceIndex: 0, nodeIfName: 'eth0' });
    }
    // Node to node over the primary ENIs, through the router.
    const ip2 = kernel.linkFor(world.instances.find((i) => i.instanceId === N2)?.primaryEniId ?? '')?.primaryIp ?? '';
    expect(await ping(kernel.nodeNetns(N1), ip2, { attempts: 3 })).toBe(true);
    expect(await ping(kernel.nodeNetns(N1), '10.0.1.253', { attempts: 3 })).toBe(true);
  });

  it('spawnInNetns runs a process (e.g. a node daemon) inside the node netns', async () => {
    const child = spawnInNetns(kernel.nodeNetns(N1), process.execPath, [
      '-e',
      'const n = require("os").networkInterfaces(); console.log(JSON.stringify(Object.keys(n).sort())); setInterval(() => {}, 1000)',
    ]);
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout?.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      child.once('error', reject);
    });
    expect(JSON.parse(line)).toEqual(['eth0', 'lo']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, 'SIGTERM');
    await exited;
  });

  it('bridgeLoopback makes the mock cloud reachable at the same URL from inside a node netns', async () => {
    const bridge = await bridgeLoopback(Number(new URL(mc.url).port), [kernel.nodeNetns(N2)]);
    try {
      const url = `${mc.metadataUrl(N2)}/latest/meta-data/instance-id`;
      const script = `fetch(${JSON.stringify(url)}).then(r => r.text()).then(t => console.log(t))`;
      const res = await execIn(kernel.nodeNetns(N2), [process.execPath, '-e', script]);
      expect(res.stdout.trim()).toBe(N2);
    } finally {
      await bridge.close();
      await bridge.close();
    }
    // Without the bridge the node's loopback has nothing on that port.
    const res = await execIn(kernel.nodeNetns(N2), [
      process.execPath,
      '-e',
      `fetch(${JSON.stringify(mc.url)}).then(() => process.exit(0), () => process.exit(3))`,
    ]);
    expect(res.code).toBe(3);
  });

  it('routes secondary IPs of hot-plugged ENIs between pods on different nodes, and withdraws them on unassign / detach', async () => {
    const sg = mc.dump().securityGroups[0] ?? '';
    const enis: Record<string, { eniId: string; mac: string; ips: string[] }> = {};
    for (const instanceId of [N1, N2]) {
      const cloud = clouds[instanceId] as AliyunCloud;
      const eni = await cloud.createNetworkInterface({ vSwitchId: 'vsw-mock-a', securityGroupIds: [sg] });
      await cloud.attachNetworkInterface(eni.eniId, instanceId);
      // The attach hook ran before InUse: the link is there, as eth1, down and unaddressed (a fresh hot-plugged NIC).
      const l = kernel.linkFor(eni.eniId);
      expect(l).toMatchObject({ instanceId, deviceIndex: 1, nodeIfName: 'eth1', mac: eni.mac });
      const eth1 = await link(kernel.nodeNetns(instanceId), 'eth1');
      expect(eth1?.address).toBe(eni.mac);
      expect(eth1?.flags).not.toContain('UP');
      expect(await ipv4s(kernel.nodeNetns(instanceId), 'eth1')).toEqual([]);
      const ips = await cloud.assignPrivateIpAddresses(eni.eniId, 2);
      enis[instanceId] = { eniId: eni.eniId, mac: eni.mac, ips };
    }
    await kernel.settled();
    expect(kernel.errors).toEqual([]);
    const e1 = enis[N1] as { eniId: string; ips: string[] };
    const e2 = enis[N2] as { eniId: string; ips: string[] };
    const routed = await kernel.routes();
    for (const [instanceId, e] of [
      [N1, e1],
      [N2, e2],
    ] as const) {
      for (const ip of e.ips)
        expect(routed).toContainEqual({ ip, routerIfName: kernel.linkFor(e.eniId)?.routerIfName, eniId: e.eniId, instanceId });
    }

    // One "pod" per node, each holding a secondary IP of that node's new ENI, wired by hand.
    const podA = await createPodNetns(prefix, 'a');
    const podB = await createPodNetns(prefix, 'b');
    const ipA = e1.ips[0] as string;
    const ipB = e2.ips[0] as string;
    await wirePodByHand({ link: kernel.linkFor(e1.eniId)!, podNetns: podA.name, ip: ipA, hostIfName: 'vpa' });
    await wirePodByHand({ link: kernel.linkFor(e2.eniId)!, podNetns: podB.name, ip: ipB, hostIfName: 'vpb' });
    expect(await ping(podA.name, ipB, { attempts: 3 })).toBe(true);
    expect(await ping(podB.name, ipA, { attempts: 3 })).toBe(true);
    // An IP the cloud never assigned is not routed anywhere.
    expect(await ping(podA.name, e2.ips[1] as string)).toBe(false);

    // Unassign: the route goes, the pod becomes unreachable.
    await (clouds[N2] as AliyunCloud).unassignPrivateIpAddresses(e2.eniId, [ipB]);
    await kernel.settled();
    expect((await kernel.routes()).map((r) => r.ip)).not.toContain(ipB);
    expect(kernel.linkFor(e2.eniId)?.routedIps).not.toContain(ipB);
    expect(await ping(podA.name, ipB)).toBe(false);

    // Detach: the link pair and its routes go (from the node too).
    const routerIf = kernel.linkFor(e1.eniId)?.routerIfName as string;
    await (clouds[N1] as AliyunCloud).detachNetworkInterface(e1.eniId, N1);
    expect(kernel.linkFor(e1.eniId)).toBeUndefined();
    expect(await link(kernel.nodeNetns(N1), 'eth1')).toBeUndefined();
    expect(await link(kernel.routerNetns, routerIf)).toBeUndefined();
    expect((await kernel.routes()).map((r) => r.ip)).not.toContain(ipA);

    // Re-attach to the other node: it becomes that node's next device and its IPs follow it.
    await (clouds[N2] as AliyunCloud).attachNetworkInterface(e1.eniId, N2);
    expect(kernel.linkFor(e1.eniId)).toMatchObject({ instanceId: N2, deviceIndex: 2, nodeIfName: 'eth2' });
    expect((await kernel.routes()).filter((r) => r.eniId === e1.eniId).map((r) => r.ip)).toEqual(expect.arrayContaining(e1.ips));
    expect(kernel.errors).toEqual([]);
  });

  it('carries custom VPC route entries (VPCIP mode: a pod CIDR -> an instance) to that node', async () => {
    const rtb = mc.dump().vpc.routeTableId;
    const cidr = '172.16.1.0/24';
    const podIp = '172.16.1.5';
    const primary1 = kernel.links().find((l) => l.instanceId === N1 && l.deviceIndex === 0);
    const primary2 = kernel.links().find((l) => l.instanceId === N2 && l.deviceIndex === 0);
    if (!primary1 || !primary2) throw new Error('primary links missing');
    const pod = await createPodNetns(prefix, 'vpcip');
    const peer = await createPodNetns(prefix, 'peer');
    await wirePodByHand({ link: primary1, podNetns: pod.name, ip: podIp, hostIfName: 'vpip' });
    // The peer sits on node 2's primary ENI with one of its secondary IPs.
    const [peerIp] = await (clouds[N2] as AliyunCloud).assignPrivateIpAddresses(primary2.eniId, 1);
    await wirePodByHand({ link: primary2, podNetns: peer.name, ip: peerIp as string, hostIfName: 'vpeer' });
    await kernel.settled();
    expect(await ping(peer.name, podIp)).toBe(false); // no route entry yet

    await (clouds[N1] as AliyunCloud).ensureRouteEntry(rtb, cidr, N1);
    await kernel.settled();
    expect(await kernel.routeEntries()).toContainEqual({
      destinationCidrBlock: cidr,
      nextHopInstanceId: N1,
      routerIfName: primary1.routerIfName,
    });
    expect(await ping(peer.name, podIp, { attempts: 3 })).toBe(true);

    await (clouds[N1] as AliyunCloud).deleteRouteEntry(rtb, cidr, N1);
    await kernel.settled();
    expect(await kernel.routeEntries()).toEqual([]);
    expect(await ping(peer.name, podIp)).toBe(false);
    expect(kernel.errors).toEqual([]);
  });

  it('destroy removes every netns and link it made, and is idempotent', async () => {
    await kernel.destroy();
    await kernel.destroy();
    const left = (await listNetns()).filter((n) => n.startsWith(prefix));
    // Pod netns belong to the test (cleanupStale takes them); the kernel's own are gone.
    expect(left.filter((n) => !n.startsWith(`${prefix}-pod-`))).toEqual([]);
    expect(await cleanupStale(prefix)).toEqual(left);
    expect((await listNetns()).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(await rootLinks()).toEqual(linksBefore);
  });
});

describe.skipIf(!support.ok)('vpcsim cleanupStale (root)', () => {
  it('removes leftover netns of a crashed run by prefix, and nothing else', async () => {
    const prefix = uniquePrefix('vc');
    const other = uniquePrefix('vo');
    await createNetns(`${prefix}-vpc`);
    await createNetns(`${prefix}-n1`);
    await createNetns(`${other}-vpc`);
    try {
      expect((await cleanupStale(prefix)).sort()).toEqual([`${prefix}-n1`, `${prefix}-vpc`]);
      expect(await listNetns()).toContain(`${other}-vpc`);
    } finally {
      await cleanupStale(other);
    }
  });
});
