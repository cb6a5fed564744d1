import { describe, expect, it } from 'vitest';
import { VethDriver, hostVethName, POD_GATEWAY } from '../../drivers/veth.js';
import { ENI_PRIMARY_IP_RULE_PRIORITY, FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY, eniTableId } from '../../drivers/eniTable.js';
import { DriverError } from '../../drivers/types.js';
import { readSysctl } from '../../drivers/netns.js';
import { ip, isRoot, path, ping, rootSkipReason, snapshot, uid, useVethRig, type EniLink, type VethNode } from './nsenv.js';

if (!isRoot) console.warn(`skipping veth driver tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('veth driver (real netns)', () => {
  const { env, podSpec, setupNode: newNode } = useVethRig({ eth1Prefix: '10.30.0', mtu: 1400 });

  const setupNode = async (): Promise<VethNode & { eth0: EniLink; tableId: number }> => {
    let eth0!: EniLink;
    const { node, driver, eth1 } = newNode((n) => {
      // Primary ENI carries the node IP and the main default route; eth1 is a secondary ENI.
      eth0 = n.addEni('eth0', '10.20.0');
      ip(['addr', 'add', '10.20.0.10/24', 'dev', 'eth0'], n.host);
      ip(['link', 'set', 'eth0', 'up'], n.host);
      ip(['route', 'add', 'default', 'via', eth0.gateway], n.host);
    });
    const t = await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr, primaryIp: '10.30.0.10' });
    const tableId = t.tableId;
    expect(t.ifName).toBe('eth1');
    expect(tableId).toBe(eniTableId(Number(ip(['-o', 'link', 'show', 'eth1'], node.host).split(':')[0])));
    return { node, driver, eth1, eth0, tableId };
  };

  it('wires a pod on a secondary ENI, tears down to the exact prior state, idempotently', async () => {
    const { node, driver, eth1, tableId } = await setupNode();
    const before = snapshot(node.host);
    const pod = env.add(`drv-p-${uid()}`);
    node.vpcRoute('10.30.0.21', 'eth1');
    const spec = podSpec(pod, '10.30.0.21');

    const res = await driver.setup(spec);
    const hostName = hostVethName(spec.containerId, 'eth0');
    expect(res.hostIfName).toBe(hostName);
    expect(res.hostIfName!.length).toBeLessThanOrEqual(15);
    expect(res.podGateway).toBe(POD_GATEWAY);

    // Pod side as iproute2 sees it.
    const podAddr = ip(['-4', 'addr', 'show', 'dev', 'eth0'], pod);
    expect(podAddr).toContain('inet 10.30.0.21/32');
    expect(podAddr).toContain('mtu 1400');
    expect(podAddr).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(ip(['link', 'show', 'eth0'], pod)).toContain(`link/ether ${res.podIfMac}`);
    const podRoutes = ip(['route', 'show'], pod);
    expect(podRoutes).toContain(`default via ${POD_GATEWAY} dev eth0`);
    expect(podRoutes).toMatch(new RegExp(`${POD_GATEWAY.replace(/\./g, '\\.')} dev eth0 .*scope link`));
    expect(ip(['neigh', 'show', 'dev', 'eth0'], pod)).toContain(`${POD_GATEWAY} lladdr ${res.hostIfMac} PERMANENT`);
    expect(ip(['link', 'show', 'lo'], pod)).toContain('UP');

    // Host side: /32 route, both rules, ENI table.
    expect(ip(['route', 'show', 'table', 'main'], node.host)).toMatch(new RegExp(`10\\.30\\.0\\.21 dev ${hostName} .*scope link`));
    const rules = ip(['rule', 'show'], node.host);
    expect(rules).toContain(`${TO_POD_RULE_PRIORITY}:\tfrom all to 10.30.0.21 lookup main`);
    expect(rules).toContain(`${FROM_POD_RULE_PRIORITY}:\tfrom 10.30.0.21 lookup ${tableId}`);
    const table = ip(['route', 'show', 'table', String(tableId)], node.host);
    expect(table).toContain(`default via ${eth1.gateway} dev eth1`);
    expect(table).toMatch(/10\.30\.0\.1 dev eth1 .*scope link/);
    expect(await readSysctl(path(node.host), 'net.ipv4.ip_forward')).toBe('1');

    // Data plane: pod → vSwitch gateway (out of eth1 via the ENI table) and pod → node IP.
    expect(ping(pod, eth1.gateway)).toBe(true);
    expect(ping(pod, '10.20.0.10')).toBe(true);
    // Egress really leaves through the secondary ENI: the router saw the pod via eth1's MAC.
    expect(ip(['route', 'get', '8.8.8.8', 'from', '10.30.0.21', 'iif', hostName], node.host)).toContain('dev eth1');

    await driver.check(spec);

    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    await driver.settle(); // the veth itself is deleted in the background
    expect(snapshot(node.host)).toEqual(before);
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
    // Second DEL and DEL with only containerId + ifName are no-ops.
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0' });
    expect(snapshot(node.host)).toEqual(before);
  });

  it('DEL without IP finds the pod by its deterministic veth name; DEL after the netns is gone', async () => {
    const { node, driver } = await setupNode();
    const before = snapshot(node.host);
    const podA = env.add(`drv-p-${uid()}`);
    const podB = env.add(`drv-p-${uid()}`);
    await driver.setup(podSpec(podA, '10.30.0.31'));
    await driver.setup(podSpec(podB, '10.30.0.32'));

    // Restart-time DEL: a fresh driver, no IP, no MAC.
    const fresh = new VethDriver({ hostNetnsPath: path(node.host) });
    await fresh.teardown({ containerId: `ctr-${podA}`, ifName: 'eth0' });
    expect(ip(['rule', 'show'], node.host)).not.toContain('10.30.0.31');

    // The netns vanished first (kubelet removed it): the pair died with it; rules remain until DEL.
    env.del(podB);
    expect(ip(['rule', 'show'], node.host)).toContain('10.30.0.32');
    await fresh.teardown({ containerId: `ctr-${podB}`, ifName: 'eth0', netnsPath: path(podB), ip: '10.30.0.32' });
    await fresh.teardown({ containerId: `ctr-${podB}`, ifName: 'eth0', netnsPath: path(podB), ip: '10.30.0.32' });
    await fresh.close();
    expect(snapshot(node.host)).toEqual(before);
  });

  it('DEL of an old container does not remove rules of a new pod that reuses the IP', async () => {
    const { driver } = await setupNode();
    const podA = env.add(`drv-p-${uid()}`);
    await driver.setup(podSpec(podA, '10.30.0.41'));
    const podB = env.add(`drv-p-${uid()}`);
    env.del(podA); // old pod's veth is gone, IP handed to podB
    await driver.setup(podSpec(podB, '10.30.0.41'));
    await driver.teardown({ containerId: `ctr-${podA}`, ifName: 'eth0', ip: '10.30.0.41' });
    await driver.check(podSpec(podB, '10.30.0.41'));
  });

  it('check() fails with DriverError once the pod default route is gone', async () => {
    const { driver } = await setupNode();
    const pod = env.add(`drv-p-${uid()}`);
    const spec = podSpec(pod, '10.30.0.51');
    await driver.setup(spec);
    await driver.check(spec);
    ip(['route', 'del', 'default'], pod);
    const err = await driver.check(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).message).toContain('default route');
    expect((err as DriverError).netns).toBe(spec.netnsPath);
  });

  it('two pods on the node reach each other through the host; primary-ENI pod uses main', async () => {
    const { node, driver, eth0 } = await setupNode();
    const podA = env.add(`drv-p-${uid()}`);
    const podB = env.add(`drv-p-${uid()}`);
    node.vpcRoute('10.20.0.61', 'eth0');
    await Promise.all([
      driver.setup(podSpec(podA, '10.30.0.61')),
      driver.setup(
        podSpec(podB, '10.20.0.61', {
          eniMac: eth0.mac,
          primaryEni: true,
          gateway: eth0.gateway,
          vSwitchCidr: eth0.cidr,
          eniId: 'eni-prim',
        }),
      ),
    ]);
    expect(ip(['rule', 'show'], node.host)).not.toContain('from 10.20.0.61');
    expect(ping(podA, '10.20.0.61')).toBe(true);
    expect(ping(podB, '10.30.0.61')).toBe(true);
    expect(ping(podB, eth0.gateway)).toBe(true);
  });

  it('setup failure rolls back (pod netns missing)', async () => {
    const { node, driver } = await setupNode();
    const before = snapshot(node.host);
    const err = await driver.setup(podSpec('drv-p-nonexistent', '10.30.0.71')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).netns).toBe(path('drv-p-nonexistent'));
    expect(snapshot(node.host)).toEqual(before);
  });

  it('setup failure after the pair exists rolls back everything (invalid pod IP)', async () => {
    const { node, driver } = await setupNode();
    const before = snapshot(node.host);
    const pod = env.add(`drv-p-${uid()}`);
    // A bad IP string makes the address/route/rule step fail after the pair was created.
    const err = await driver.setup(podSpec(pod, '10.30.0.300')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(snapshot(node.host)).toEqual(before);
    expect(ip(['-o', 'link', 'show'], pod)).not.toContain('eth0');
  });

  it('GC helpers: list host veths and pod rules, prune leftovers no DEL can find', async () => {
    const { node, driver } = await setupNode();
    const before = snapshot(node.host);
    const podA = env.add(`drv-p-${uid()}`);
    const podB = env.add(`drv-p-${uid()}`);
    await driver.setup(podSpec(podA, '10.30.0.91'));
    await driver.setup(podSpec(podB, '10.30.0.92'));
    const veths = await driver.listHostVeths();
    expect(veths.map((v) => [v.name, v.ip]).sort()).toEqual(
      [
        [hostVethName(`ctr-${podA}`, 'eth0'), '10.30.0.91'],
        [hostVethName(`ctr-${podB}`, 'eth0'), '10.30.0.92'],
      ].sort(),
    );
    expect((await driver.podRuleIps()).sort()).toEqual(['10.30.0.91', '10.30.0.92']);
    // GC by veth name (e.g. a veth whose container the DB does not know).
    await driver.teardownHostVeth(hostVethName(`ctr-${podA}`, 'eth0'));
    await driver.settle();
    // Veth gone (deleted behind our back) and DEL carries no IP: nothing names the IP, rules stay for GC.
    ip(['link', 'del', hostVethName(`ctr-${podB}`, 'eth0')], node.host);
    await driver.teardown({ containerId: `ctr-${podB}`, ifName: 'eth0' });
    expect(await driver.podRuleIps()).toEqual(['10.30.0.92']);
    await driver.removePodRules('10.30.0.92');
    expect(await driver.listHostVeths()).toEqual([]);
    expect(snapshot(node.host)).toEqual(before);
  });

  it('the ENI primary IP is a pod address: a copy an older version left on the link goes, and the pod holding it is reached through the VPC', async () => {
    const { node, driver, eth1 } = newNode((n) => {
      n.addEni('eth0', '10.20.0');
      ip(['addr', 'add', '10.20.0.10/24', 'dev', 'eth0'], n.host);
      ip(['link', 'set', 'eth0', 'up'], n.host);
    });
    // What an older version left: the ENI primary IP on the link (no prefix route) and its rule at 32765.
    const table = eniTableId(Number(ip(['-o', 'link', 'show', 'eth1'], node.host).split(':')[0]));
    ip(['addr', 'add', '10.30.0.10/24', 'dev', 'eth1', 'noprefixroute'], node.host);
    ip(['rule', 'add', 'from', '10.30.0.10', 'lookup', String(table), 'priority', String(ENI_PRIMARY_IP_RULE_PRIORITY)], node.host);
    const pod = env.add(`drv-p-${uid()}`);
    const spec = podSpec(pod, '10.30.0.10', { eniPrimaryIp: '10.30.0.10' });
    await driver.setup(spec);
    expect(ip(['-4', 'addr', 'show', 'dev', 'eth1'], node.host)).not.toContain('inet ');
    expect(ip(['rule', 'show'], node.host)).not.toContain(`${ENI_PRIMARY_IP_RULE_PRIORITY}:`);
    expect(ip(['route', 'show', 'table', 'local'], node.host)).not.toContain('10.30.0.10');
    await driver.check(spec);
    // The VPC delivers the ENI's primary address to the ENI like any other: the host forwards it to the pod.
    node.vpcRoute('10.30.0.10', 'eth1');
    expect(ping(pod, eth1.gateway)).toBe(true);
    expect(ping(node.router, '10.30.0.10')).toBe(true);
    // The link stays address-free for later pods too (the cached table is reused).
    const other = env.add(`drv-p-${uid()}`);
    await driver.setup(podSpec(other, '10.30.0.11', { eniPrimaryIp: '10.30.0.10' }));
    expect(ip(['-4', 'addr', 'show', 'dev', 'eth1'], node.host)).not.toContain('inet ');
  });

  it('removeEniTable drops the table and its rules, keeps the link', async () => {
    const { node, driver, eth1, tableId } = await setupNode();
    const pod = env.add(`drv-p-${uid()}`);
    await driver.setup(podSpec(pod, '10.30.0.81'));
    await driver.removeEniTable({ mac: eth1.mac, primaryIp: '10.30.0.10', vSwitchCidr: eth1.cidr });
    expect(ip(['route', 'show', 'table', String(tableId)], node.host).trim()).toBe('');
    expect(ip(['rule', 'show'], node.host)).not.toContain(`lookup ${tableId}`);
    expect(ip(['-o', 'link', 'show', 'eth1'], node.host)).toContain('eth1');
  });
});
