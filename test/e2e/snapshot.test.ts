// The leftover classifier the end-to-end suites rely on (pure; no root needed).
import { describe, expect, it } from 'vitest';
import { classifyAdded, diffSnapshots, type NetnsSnapshot } from '../../sim/cluster/snapshot.js';

const base: NetnsSnapshot = {
  netns: 'n1',
  links: ['eth0 00:16:3e:00:00:01 veth', 'lo 00:00:00:00:00:00 loopback'],
  rules: ['{"priority":0,"src":"all","table":"local"}'],
  routes: ['{"dev":"eth0","dst":"default","gateway":"10.0.1.253"}'],
};

function withAdded(extra: Partial<Pick<NetnsSnapshot, 'links' | 'rules' | 'routes'>>): NetnsSnapshot {
  return {
    ...base,
    links: [...base.links, ...(extra.links ?? [])],
    rules: [...base.rules, ...(extra.rules ?? [])],
    routes: [...base.routes, ...(extra.routes ?? [])],
  };
}

describe('classifyAdded', () => {
  it('nothing changed: no leftovers', () => {
    expect(classifyAdded(diffSnapshots(base, base), ['10.0.0.9'], ['eniabc'])).toEqual({ eniInfra: [], leftovers: [] });
  });

  it('a pod rule, a pod route and a host veth are leftovers', () => {
    const after = withAdded({
      links: ['eni0123456789a 0a:00:00:00:00:01 veth'],
      rules: ['{"dst":"10.0.0.9","priority":512,"src":"all","table":"main"}'],
      routes: ['{"dev":"eni0123456789a","dst":"10.0.0.9","scope":"link"}'],
    });
    const r = classifyAdded(diffSnapshots(base, after), ['10.0.0.9'], ['eni0123456789a']);
    expect(r.eniInfra).toEqual([]);
    expect(r.leftovers).toHaveLength(3);
  });

  it('a from-rule into an ENI table that names a pod IP is a leftover, the ENI table routes are not', () => {
    const after = withAdded({
      rules: ['{"priority":1536,"src":"10.0.0.9","table":"1019"}'],
      routes: ['{"dev":"eth1","dst":"default","gateway":"10.0.1.253","table":"1019"}'],
    });
    const r = classifyAdded(diffSnapshots(base, after), ['10.0.0.9'], [], ['00:16:3e:00:00:02']);
    expect(r.leftovers).toEqual(['rules {"priority":1536,"src":"10.0.0.9","table":"1019"}']);
    expect(r.eniInfra).toHaveLength(1);
  });

  it('an ENI primary-IP rule or a local route for it is a leftover (the ENI link carries no address: its primary IP is a pod address)', () => {
    const after = withAdded({
      rules: ['{"priority":32765,"src":"10.0.0.20","table":"1019"}'],
      routes: ['{"dev":"eth1","dst":"10.0.0.20","prefsrc":"10.0.0.20","protocol":"kernel","scope":"host","table":"local","type":"local"}'],
    });
    for (const podIps of [['10.0.0.20'], []]) {
      const r = classifyAdded(diffSnapshots(base, after), podIps, [], ['00:16:3e:00:00:02']);
      expect(r.eniInfra).toEqual([]);
      expect(r.leftovers).toHaveLength(2);
    }
  });

  it('a new eth<N> is allowed only with the MAC of an ENI attached to the node', () => {
    const after = withAdded({ links: ['eth1 00:16:3e:00:00:02 veth', 'eth2 00:16:3e:00:00:99 veth'] });
    const r = classifyAdded(diffSnapshots(base, after), [], [], ['00:16:3E:00:00:02']);
    expect(r.eniInfra).toEqual(['link eth1 00:16:3e:00:00:02 veth']);
    expect(r.leftovers).toEqual(['link eth2 00:16:3e:00:00:99 veth']);
  });

  it('something removed from the node is a defect', () => {
    const after: NetnsSnapshot = { ...base, routes: [] };
    expect(classifyAdded(diffSnapshots(base, after), [], []).leftovers).toEqual([`routes removed ${base.routes[0]}`]);
  });
});
