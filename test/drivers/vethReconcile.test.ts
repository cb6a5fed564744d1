// veth driver, kernel hygiene (real netns, root): start-up reconcile removes wiring of forgotten pods
// and keeps live ones; setup puts the ENI primary IP on the ENI link; removeEniTable takes it away.
import { describe, expect, it } from 'vitest';
import { VethDriver, hostVethName } from '../../drivers/veth.js';
import { ENI_PRIMARY_IP_RULE_PRIORITY, FROM_POD_RULE_PRIORITY, TO_POD_RULE_PRIORITY } from '../../drivers/eniTable.js';
import { ip, isRoot, path, rootSkipReason, uid, useVethRig } from './nsenv.js';

if (!isRoot) console.warn(`skipping veth reconcile tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('veth driver: start-up reconcile and ENI primary IP (real netns)', () => {
  const { env, podSpec, setupNode } = useVethRig({ eth1Prefix: '10.40.0', mtu: 1500 });

  it('removes the veth, /32 route and rules of a forgotten pod; the live pod keeps all of its wiring', async () => {
    const { node, driver } = setupNode();
    const podA = env.add(`drv-p-${uid()}`);
    const podB = env.add(`drv-p-${uid()}`);
    const a = podSpec(podA, '10.40.0.21');
    const b = podSpec(podB, '10.40.0.22');
    await driver.setup(a);
    await driver.setup(b);
    const vethA = hostVethName(a.containerId, 'eth0');
    const vethB = hostVethName(b.containerId, 'eth0');
    // A crash between wiring and the DB leaves a rule pair for an IP no veth names any more.
    ip(['rule', 'add', 'to', '10.40.0.99', 'lookup', 'main', 'priority', String(TO_POD_RULE_PRIORITY)], node.host);
    ip(['rule', 'add', 'from', '10.40.0.99', 'lookup', '100', 'priority', String(FROM_POD_RULE_PRIORITY)], node.host);

    // Restart: a fresh driver, and only pod B has an allocation ("forget" pod A).
    const fresh = new VethDriver({ hostNetnsPath: path(node.host) });
    try {
      const { removed } = await fresh.reconcile([{ containerId: b.containerId, ifName: 'eth0', ip: b.ip }]);
      expect(removed).toEqual(expect.arrayContaining([`veth ${vethA} (10.40.0.21)`, 'rules 10.40.0.99']));
      expect(removed.some((r) => r.includes(vethB) || r.includes('10.40.0.22'))).toBe(false);

      const links = ip(['-o', 'link', 'show'], node.host);
      expect(links).not.toContain(vethA);
      expect(links).toContain(vethB);
      const routes = ip(['route', 'show', 'table', 'main'], node.host);
      expect(routes).not.toContain('10.40.0.21');
      expect(routes).toContain(`10.40.0.22 dev ${vethB}`);
      const rules = ip(['rule', 'show'], node.host);
      expect(rules).not.toContain('10.40.0.21');
      expect(rules).not.toContain('10.40.0.99');
      expect(rules).toContain('to 10.40.0.22 lookup main');
      expect(rules).toContain('from 10.40.0.22 lookup');
      await fresh.check(b); // every piece of the live pod is intact
      expect(ip(['-o', 'link', 'show'], podA)).not.toContain('eth0'); // the pair died with its host end

      // Second run: nothing left to remove.
      expect((await fresh.reconcile([{ containerId: b.containerId, ifName: 'eth0', ip: b.ip }])).removed).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('a stale veth whose IP a live pod now holds loses only its link, not the live pod rules', async () => {
    const { node, driver } = setupNode();
    const podOld = env.add(`drv-p-${uid()}`);
    const podNew = env.add(`drv-p-${uid()}`);
    const old = podSpec(podOld, '10.40.0.31');
    await driver.setup(old);
    // The same IP now belongs to a new pod whose wiring is still to be made (its ADD comes later).
    const live = [{ containerId: `ctr-${podNew}`, ifName: 'eth0', ip: '10.40.0.31' }];
    const { removed } = await driver.reconcile(live);
    expect(removed).toEqual([`veth ${hostVethName(old.containerId, 'eth0')} (10.40.0.31)`]);
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain(hostVethName(old.containerId, 'eth0'));
    expect(ip(['rule', 'show'], node.host)).toContain('to 10.40.0.31 lookup main');
  });

  it('setup never puts the ENI primary IP on the host (a pod address); removeEniTable removes a copy an older version left', async () => {
    const { node, driver, eth1 } = setupNode();
    const pod = env.add(`drv-p-${uid()}`);
    const spec = podSpec(pod, '10.40.0.41', { eniPrimaryIp: '10.40.0.10' });
    await driver.setup(spec);
    expect(ip(['-4', '-o', 'addr', 'show', 'dev', 'eth1'], node.host)).not.toContain('10.40.0.10');
    expect(ip(['rule', 'show'], node.host)).not.toMatch(new RegExp(`${ENI_PRIMARY_IP_RULE_PRIORITY}:`));

    // An older version's state on this link (as after an upgrade with the ENI still attached).
    const table = ip(['rule', 'show'], node.host).match(/from 10\.40\.0\.41 lookup (\d+)/)![1]!;
    ip(['addr', 'add', '10.40.0.10/24', 'dev', 'eth1', 'noprefixroute'], node.host);
    ip(['rule', 'add', 'from', '10.40.0.10', 'lookup', table, 'priority', String(ENI_PRIMARY_IP_RULE_PRIORITY)], node.host);
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    await driver.removeEniTable({ mac: eth1.mac, primaryIp: '10.40.0.10', vSwitchCidr: eth1.cidr });
    expect(ip(['-4', '-o', 'addr', 'show', 'dev', 'eth1'], node.host)).not.toContain('10.40.0.10');
    expect(ip(['rule', 'show'], node.host)).not.toContain('10.40.0.10');
    expect(ip(['-o', 'link', 'show'], node.host)).toContain('eth1');
  });
});
