// The veth driver in dual stack, in real network namespaces: the pod's IPv6 address (no DAD), its link-local
// gateway fe80::1 with a permanent neighbour, the host's /128 route, neighbour and `ip -6 rule`s, the ENI table's
// IPv6 default route via the vSwitch's IPv6 gateway; ping -6 to that gateway through the secondary ENI;
// CHECK finds a missing IPv6 piece; DEL leaves the IPv6 rules, routes and neighbours as before.
import { describe, expect, it } from 'vitest';
import { hostVethName } from '../../drivers/veth.js';
import { POD_GATEWAY_V6 } from '../../drivers/vethIpv6.js';
import { FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY } from '../../drivers/eniTable.js';
import { DriverError } from '../../drivers/types.js';
import { readSysctl } from '../../drivers/netns.js';
import { ip, isRoot, path, rootSkipReason, snapshot, uid, useVethRig } from './nsenv.js';
import { spawnSync } from 'node:child_process';

if (!isRoot) console.warn(`skipping veth IPv6 driver tests: ${rootSkipReason}`);

const GW6 = 'fd00:31::1';
const POD6 = 'fd00:31::21';

function ping6(netns: string, target: string): boolean {
  return spawnSync('ip', ['netns', 'exec', netns, 'ping', '-6', '-c', '1', '-W', '2', '-q', target]).status === 0;
}

/** The IPv6 half of the host's kernel state (snapshot() covers IPv4 and links). */
function snapshot6(netns: string) {
  return {
    rules: ip(['-6', 'rule', 'show'], netns),
    routes: ip(['-6', 'route', 'show', 'table', 'all'], netns)
      .split('\n')
      .filter((l) => !/^(fe80|multicast|local fe80|ff00)/.test(l) && !l.includes(' proto kernel '))
      .join('\n'),
    neigh: ip(['-6', 'neigh', 'show', 'nud', 'permanent'], netns),
  };
}

describe.skipIf(!isRoot)('veth driver, dual stack (real netns)', () => {
  const { env, podSpec, setupNode } = useVethRig({ eth1Prefix: '10.31.0', mtu: 1500 });

  it('wires IPv6 beside IPv4, pings -6 out of the secondary ENI, checks, and DEL restores the prior state', async () => {
    const { node, driver, eth1 } = setupNode();
    // The VPC side of eth1 owns the vSwitch's IPv6 gateway (no DAD) and routes the pod's IPv6 to eth1's MAC.
    ip(['-6', 'addr', 'add', `${GW6}/64`, 'dev', eth1.rtrIf, 'nodad'], node.router);
    node.vpcRoute(POD6, 'eth1');
    // The daemon programs the ENI's table when the ENI attaches (IPv6 default route included), before any pod.
    const { tableId } = await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr, ipv6Gateway: GW6 });
    const before = { ...snapshot(node.host), ...snapshot6(node.host) };
    const pod = env.add(`drv6-p-${uid()}`);
    node.vpcRoute('10.31.0.21', 'eth1');
    const spec = podSpec(pod, '10.31.0.21', { ipv6: POD6, ipv6Gateway: GW6 });

    const res = await driver.setup(spec);
    const hostName = hostVethName(spec.containerId, 'eth0');
    expect(ip(['-6', 'addr', 'show', 'dev', 'eth0'], pod)).toMatch(new RegExp(`inet6 ${POD6}/128 scope global nodad`));
    expect(ip(['-6', 'route', 'show'], pod)).toContain(`default via ${POD_GATEWAY_V6} dev eth0`);
    expect(ip(['-6', 'neigh', 'show', 'dev', 'eth0'], pod)).toContain(`${POD_GATEWAY_V6} lladdr ${res.hostIfMac} PERMANENT`);
    expect(ip(['-6', 'route', 'show', 'table', 'main'], node.host)).toContain(`${POD6} dev ${hostName}`);
    expect(ip(['-6', 'neigh', 'show', 'dev', hostName], node.host)).toContain(`${POD6} lladdr ${res.podIfMac} PERMANENT`);
    const rules = ip(['-6', 'rule', 'show'], node.host);
    expect(rules).toContain(`${TO_POD_RULE_PRIORITY}:\tfrom all to ${POD6} lookup main`);
    expect(rules).toContain(`${FROM_POD_RULE_PRIORITY}:\tfrom ${POD6} lookup ${tableId}`);
    expect(ip(['-6', 'route', 'show', 'table', String(tableId)], node.host)).toContain(`default via ${GW6} dev eth1`);
    expect(await readSysctl(path(node.host), 'net.ipv6.conf.all.forwarding')).toBe('1');

    // Data plane: the pod reaches the vSwitch's IPv6 gateway through eth1 at once (no DAD wait), IPv4 still works.
    expect(ping6(pod, GW6)).toBe(true);
    expect(ip(['-6', 'route', 'get', '2001:db8::1', 'from', POD6, 'iif', hostName], node.host)).toContain('dev eth1');

    await driver.check(spec);
    // CHECK names what is missing.
    ip(['-6', 'rule', 'del', 'pref', String(TO_POD_RULE_PRIORITY), 'to', POD6], node.host);
    await expect(driver.check(spec)).rejects.toThrow(DriverError);
    await expect(driver.check(spec)).rejects.toThrow(new RegExp(`rule to ${POD6.replace(/:/g, ':')} lookup main missing`));
    ip(['-6', 'rule', 'add', 'pref', String(TO_POD_RULE_PRIORITY), 'to', POD6, 'lookup', 'main'], node.host);

    // DEL by container id + ifName only: the IPv6 address is read from the host /128 route.
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0' });
    await driver.settle();
    // The ENI table (IPv4 and IPv6 default routes) is the ENI's, not the pod's: it stays, as for IPv4.
    expect({ ...snapshot(node.host), ...snapshot6(node.host) }).toEqual(before);
    expect(before.routes).toContain(`default via ${GW6} dev eth1`);
    // The ENI leaves: its table goes in both families.
    await driver.removeEniTable({ mac: eth1.mac });
    expect(ip(['-6', 'route', 'show', 'table', String(tableId)], node.host).trim()).toBe('');
    expect(ip(['-4', 'route', 'show', 'table', String(tableId)], node.host).trim()).toBe('');
  });
});
