// Review of kernel-state ownership (real netns, root): fds and sockets per pod, partial setups,
// restart-time teardown, ENI table removal after the link is gone, raw ENI rollback, check().
import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { VethDriver, hostVethName } from '../../drivers/veth.js';
import { RawEniDriver } from '../../drivers/rawEni.js';
import { DriverError, type PodNetworkSpec } from '../../drivers/types.js';
import { threadsOutsideHomeNetns, warmThreadPool } from '../../drivers/netns.js';
import { Nl } from '../../drivers/netlink.js';
import { FROM_POD_RULE_PRIORITY } from '../../drivers/eniTable.js';
import { NsEnv, VpcNode, inNs, ip, isRoot, path, rootSkipReason, snapshot, uid } from './nsenv.js';

const fdCount = (): number => fs.readdirSync('/proc/self/fd').length;
const socketFds = (): number =>
  fs.readdirSync('/proc/self/fd').filter((f) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${f}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;

if (!isRoot) console.warn(`skipping driver review tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('driver review: kernel state has one owner and one way out (real netns)', () => {
  const env = new NsEnv();
  let node: VpcNode;
  let eth1: { name: string; mac: string; gateway: string; cidr: string };

  beforeAll(() => warmThreadPool());
  afterEach(() => {
    env.cleanup();
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  const init = (prefix: string): void => {
    node = new VpcNode(env, uid());
    eth1 = node.addEni('eth1', prefix);
  };
  const spec = (pod: string, podIp: string, over: Partial<PodNetworkSpec> = {}): PodNetworkSpec => ({
    containerId: `ctr-${pod}`,
    netnsPath: path(pod),
    ifName: 'eth0',
    ip: podIp,
    eniId: 'eni-rv1',
    eniMac: eth1.mac,
    primaryEni: false,
    vSwitchCidr: eth1.cidr,
    gateway: eth1.gateway,
    mtu: 1400,
    ...over,
  });

  it('veth: 50 setup/teardown cycles leak no fd and no netlink socket', async () => {
    init('10.61.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    // First cycle opens the cached host socket and loads koffi/netlink: not a per-pod cost.
    await driver.setup(spec(pod, '10.61.0.2', { containerId: 'warm' }));
    await driver.teardown({ containerId: 'warm', ifName: 'eth0', netnsPath: path(pod), ip: '10.61.0.2' });
    await driver.settle();
    const fds = fdCount();
    const socks = socketFds();
    for (let i = 0; i < 50; i++) {
      const s = spec(pod, `10.61.0.${10 + i}`, { containerId: `c${i}` });
      await driver.setup(s);
      await driver.check(s);
      await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, ip: s.ip });
    }
    await driver.settle();
    expect(socketFds()).toBe(socks);
    expect(fdCount()).toBe(fds);
    await driver.close();
  });

  it('raw ENI: 20 setup/teardown cycles leak no fd and no netlink socket', async () => {
    init('10.62.0');
    const driver = new RawEniDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const s = spec(pod, '10.62.0.5');
    await driver.setup(s);
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, eniMac: eth1.mac });
    const fds = fdCount();
    for (let i = 0; i < 20; i++) {
      await driver.setup(s);
      await driver.check(s);
      await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, eniMac: eth1.mac });
    }
    expect(fdCount()).toBe(fds);
  });

  it('raw ENI: a name clash in the pod netns leaves the ENI link on the host, untouched', async () => {
    init('10.63.0');
    const driver = new RawEniDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0'], pod); // something already owns eth0 in the pod
    const before = ip(['-o', 'link', 'show', 'eth1'], node.host);
    const err = await driver.setup(spec(pod, '10.63.0.5')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain(eth1.mac);
    const after = ip(['-o', 'link', 'show', 'eth1'], node.host);
    expect(after).toContain(eth1.mac);
    expect(after).not.toContain('alias');
    // Same name, MTU and MAC as before (the ifindex may change: the kernel renumbers on a netns move).
    const norm = (l: string): string =>
      l
        .replace(/^\d+: /, '')
        .replace(/state \S+/, '')
        .replace(/<[^>]*>/, '');
    expect(norm(after)).toBe(norm(before));
    const fds = fdCount();
    for (let i = 0; i < 10; i++) await expect(driver.setup(spec(pod, '10.63.0.5'))).rejects.toThrow(DriverError);
    expect(fdCount()).toBe(fds);
    expect(norm(ip(['-o', 'link', 'show', 'eth1'], node.host))).toBe(norm(before));
  });

  it('raw ENI: rollback after a failed route leaves no alias behind', async () => {
    init('10.64.0');
    const driver = new RawEniDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    // Gateway outside the vSwitch CIDR: the default route fails (ENETUNREACH) after the move.
    const err = await driver.setup(spec(pod, '10.64.0.5', { gateway: '10.99.9.1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    const after = ip(['-o', 'link', 'show', 'eth1'], node.host);
    expect(after).toContain(eth1.mac);
    expect(after).not.toContain('alias');
    expect(after).toContain('mtu 1500'); // the MTU setup sent with the move is undone too
  });

  it('veth: teardown after a restart (new driver, no IP given) removes route, rules and veth', async () => {
    init('10.65.0');
    const d1 = new VethDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const s = spec(pod, '10.65.0.7');
    const rulesBefore = ip(['-4', 'rule', 'show'], node.host);
    await d1.setup(s);
    await d1.close();
    const d2 = new VethDriver({ hostNetnsPath: path(node.host) });
    await d2.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath });
    await d2.settle();
    expect(ip(['-4', 'rule', 'show'], node.host)).not.toContain('10.65.0.7');
    expect(ip(['route', 'show'], node.host)).not.toContain('10.65.0.7');
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain(hostVethName(s.containerId, 'eth0'));
    // Only the ENI's own primary-IP-less table wiring remains (no per-pod rule).
    expect(
      ip(['-4', 'rule', 'show'], node.host)
        .split('\n')
        .filter((l) => /^(512|1536):/.test(l)),
    ).toEqual(rulesBefore.split('\n').filter((l) => /^(512|1536):/.test(l)));
    await d2.close();
  });

  it('ENI table: removal after the ENI link is gone and the daemon restarted drops an older version’s primary-IP rule', async () => {
    init('10.66.0');
    const d1 = new VethDriver({ hostNetnsPath: path(node.host) });
    const t = await d1.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr, primaryIp: '10.66.0.10' });
    await d1.close();
    // the rule an older version kept for the ENI primary IP (this one never adds it)
    expect(ip(['-4', 'rule', 'show'], node.host)).not.toContain('from 10.66.0.10');
    ip(['rule', 'add', 'from', '10.66.0.10', 'lookup', String(t.tableId), 'priority', '32765'], node.host);
    ip(['link', 'del', 'eth1'], node.host); // detached
    const d2 = new VethDriver({ hostNetnsPath: path(node.host) });
    await d2.removeEniTable({ mac: eth1.mac, primaryIp: '10.66.0.10', vSwitchCidr: eth1.cidr });
    expect(ip(['-4', 'rule', 'show'], node.host)).not.toContain(`lookup ${t.tableId}`);
    await d2.close();
  });

  it('ENI table: rp_filter goes through procSysPath, and is left alone with hostSysctls false', async () => {
    init('10.69.0');
    const file = `/proc/sys/net/ipv4/conf/${eth1.name}/rp_filter`;
    const rp = () => inNs(node.host, ['cat', file]).out.trim();
    expect(inNs(node.host, ['sh', '-c', `echo 1 > ${file}`]).ok).toBe(true);
    const off = new VethDriver({ hostNetnsPath: path(node.host), hostSysctls: false });
    await off.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    await off.close();
    expect(rp()).toBe('1');
    // A procSysPath that does not hold the sysctl tree: the write fails there, so it is where it went.
    const elsewhere = new VethDriver({ hostNetnsPath: path(node.host), procSysPath: '/nonexistent-proc-sys' });
    await expect(elsewhere.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr })).rejects.toThrow(
      /'\/nonexistent-proc-sys\/net\/ipv4\//,
    );
    await elsewhere.close();
    const on = new VethDriver({ hostNetnsPath: path(node.host) });
    await on.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    await on.close();
    expect(rp()).toBe('2');
  });

  it('veth: check fails when a default route is missing (pod netns or ENI table)', async () => {
    init('10.67.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const s = spec(pod, '10.67.0.7');
    const t = await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    await driver.setup(s);
    await driver.check(s);
    ip(['route', 'del', 'default'], pod);
    await expect(driver.check(s)).rejects.toThrow(/default route/);
    await driver.setup(s);
    await driver.check(s);
    ip(['route', 'del', 'default', 'table', String(t.tableId)], node.host);
    await expect(driver.check(s)).rejects.toThrow(/default route/);
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, ip: s.ip });
    await driver.close();
  });

  it('veth: the main thread is never seen in a pod netns by the event loop (no await inside a setns window)', async () => {
    init('10.68.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    const home = fs.readlinkSync('/proc/thread-self/ns/net');
    let foreign = 0;
    let polls = 0;
    let on = true;
    const poll = (): void => {
      polls++;
      if (fs.readlinkSync('/proc/thread-self/ns/net') !== home) foreign++;
      if (on) setImmediate(poll);
    };
    poll();
    const pods = Array.from({ length: 8 }, () => env.add(`rv-p-${uid()}`));
    const specs = pods.map((p, i) => spec(p, `10.68.0.${20 + i}`));
    await Promise.all(specs.map((s) => driver.setup(s)));
    await Promise.all(specs.map((s) => driver.check(s)));
    await Promise.all(specs.map((s) => driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath })));
    await driver.settle();
    on = false;
    expect(polls).toBeGreaterThan(10);
    expect(foreign).toBe(0);
    await driver.close();
  });

  it('veth: a stale from-rule of the pod IP (other table, same priority) does not survive setup', async () => {
    init('10.69.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const s = spec(pod, '10.69.0.7');
    // Left by an earlier holder of the IP on another, still attached ENI (eth2): same priority, older,
    // so evaluated first; its table has routes, so the pod's traffic would leave through eth2.
    const eth2 = node.addEni('eth2', '10.169.0');
    const t2 = await driver.ensureEniTable({ mac: eth2.mac, gateway: eth2.gateway, vSwitchCidr: eth2.cidr });
    ip(['rule', 'add', 'from', s.ip, 'lookup', String(t2.tableId), 'pref', String(FROM_POD_RULE_PRIORITY)], node.host);
    const t = await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    expect(t.tableId).not.toBe(t2.tableId); // one table per ENI
    await driver.setup(s);
    const hostVeth = hostVethName(s.containerId, 'eth0');
    expect(ip(['route', 'get', '192.0.2.1', 'from', s.ip, 'iif', hostVeth], node.host)).toContain('dev eth1');
    const fromRules = ip(['-4', 'rule', 'show'], node.host)
      .split('\n')
      .filter((l) => l.includes(`from ${s.ip} `));
    expect(fromRules).toEqual([`${FROM_POD_RULE_PRIORITY}:\tfrom ${s.ip} lookup ${t.tableId}`]);
    // Primary-ENI pods route by the main table: no from-rule at all.
    ip(['rule', 'add', 'from', '10.69.0.8', 'lookup', '1999', 'pref', String(FROM_POD_RULE_PRIORITY)], node.host);
    const pod2 = env.add(`rv-p-${uid()}`);
    await driver.setup(spec(pod2, '10.69.0.8', { primaryEni: true }));
    expect(ip(['-4', 'rule', 'show'], node.host)).not.toContain('from 10.69.0.8 ');
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath });
    await driver.teardown({ containerId: `ctr-${pod2}`, ifName: 'eth0', netnsPath: path(pod2) });
    await driver.close();
  });

  it('veth: a failure mid-setup (host rule refused) leaves no veth, route or rule behind', async () => {
    init('10.70.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    const before = snapshot(node.host);
    const pod = env.add(`rv-p-${uid()}`);
    const podBefore = snapshot(pod);
    const spy = vi.spyOn(Nl.prototype, 'addRule').mockRejectedValueOnce(new DriverError('add rule', 'injected', { errno: 'ENOBUFS' }));
    try {
      const err = await driver.setup(spec(pod, '10.70.0.7')).catch((e: unknown) => e);
      expect((err as DriverError).message).toContain('injected');
    } finally {
      spy.mockRestore();
    }
    await driver.settle();
    expect(snapshot(node.host)).toEqual(before);
    expect(snapshot(pod)).toEqual(podBefore);
    await driver.close();
  });

  it('veth: an interface name already taken in the pod fails setup and changes nothing', async () => {
    init('10.71.0');
    const driver = new VethDriver({ hostNetnsPath: path(node.host) });
    await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    const before = snapshot(node.host);
    const pod = env.add(`rv-p-${uid()}`);
    ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0'], pod);
    const err = await driver.setup(spec(pod, '10.71.0.7')).catch((e: unknown) => e);
    expect((err as DriverError).errno).toBe('EEXIST');
    expect(snapshot(node.host)).toEqual(before);
    // Failed setups leak no fd either.
    const fds = fdCount();
    for (let i = 0; i < 10; i++) await expect(driver.setup(spec(pod, '10.71.0.7'))).rejects.toThrow(/EEXIST/);
    expect(fdCount()).toBe(fds);
    expect(snapshot(node.host)).toEqual(before);
    await driver.close();
  });

  it('raw ENI: check fails when the default route is missing', async () => {
    init('10.72.0');
    const driver = new RawEniDriver({ hostNetnsPath: path(node.host) });
    const pod = env.add(`rv-p-${uid()}`);
    const s = spec(pod, '10.72.0.5');
    await driver.setup(s);
    await driver.check(s);
    ip(['route', 'del', 'default'], pod);
    await expect(driver.check(s)).rejects.toThrow(/default route/);
    await driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, eniMac: eth1.mac });
  });
});
