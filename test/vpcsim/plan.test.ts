import { describe, expect, it } from 'vitest';
import {
  nextDeviceIndex,
  nodePrimaryLines,
  routeAddLines,
  routeDelLines,
  routerAttachLines,
  routerIfName,
  type EniWiring,
} from '../../sim/vpcsim/plan.js';

const w: EniWiring = {
  instanceId: 'i-1',
  eniId: 'eni-1',
  mac: '00:16:3e:00:00:01',
  deviceIndex: 0,
  nodeNetns: 'p-n1',
  nodeIfName: 'eth0',
  routerIfName: 'n1e0',
  gateway: '10.0.1.253',
  cidr: '10.0.0.0/23',
  primaryIp: '10.0.0.5',
};

describe('vpcsim plan', () => {
  it('picks the lowest free device index above the primary', () => {
    expect(nextDeviceIndex([])).toBe(1);
    expect(nextDeviceIndex([0, 1, 3])).toBe(2);
    expect(nextDeviceIndex([0, 1, 2])).toBe(3);
  });

  it('keeps router link names within IFNAMSIZ', () => {
    expect(routerIfName(999999, 999999).length).toBeLessThanOrEqual(15);
  });

  it('creates the node end with the ENI MAC directly in the node netns', () => {
    const lines = routerAttachLines(w);
    expect(lines[0]).toBe('link add n1e0 type veth peer name eth0 address 00:16:3e:00:00:01 netns p-n1');
    expect(lines).toContain('addr add 10.0.1.253/32 dev n1e0');
    expect(lines).toContain('ntable change name arp_cache dev n1e0 proxy_delay 0');
  });

  it('addresses the primary ENI with the vSwitch prefix and a default route via the gateway', () => {
    expect(nodePrimaryLines(w)).toEqual([
      'link set eth0 up',
      'addr add 10.0.0.5/23 dev eth0',
      'route replace default via 10.0.1.253 dev eth0',
    ]);
  });

  it('routes each IP to the ENI link with a permanent neighbour for the ENI MAC, and withdraws both', () => {
    expect(routeAddLines('n1e1', 'aa:bb:cc:dd:ee:ff', ['10.0.0.7'])).toEqual([
      'route replace 10.0.0.7/32 dev n1e1',
      'neigh replace 10.0.0.7 lladdr aa:bb:cc:dd:ee:ff dev n1e1 nud permanent',
    ]);
    expect(routeDelLines('n1e1', ['10.0.0.7'])).toEqual(['route del 10.0.0.7/32 dev n1e1', 'neigh del 10.0.0.7 dev n1e1']);
    expect(routeAddLines('n1e1', 'aa:bb:cc:dd:ee:ff', [])).toEqual([]);
  });

  it('dual stack: the router end holds the IPv6 gateway (no DAD); IPv6 addresses get /128 routes and permanent neighbours', () => {
    expect(routerAttachLines({ ...w, ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd' })).toContain(
      'addr add fd00::100:ffff:ffff:ffff:fffd/128 dev n1e0 nodad noprefixroute',
    );
    expect(routerAttachLines(w).some((l) => l.includes('nodad'))).toBe(false);
    expect(routeAddLines('n1e1', 'aa:bb:cc:dd:ee:ff', ['fd00:0:0:100::7'])).toEqual([
      'route replace fd00:0:0:100::7/128 dev n1e1',
      'neigh replace fd00:0:0:100::7 lladdr aa:bb:cc:dd:ee:ff dev n1e1 nud permanent',
    ]);
    expect(routeDelLines('n1e1', ['fd00:0:0:100::7'])).toEqual([
      'route del fd00:0:0:100::7/128 dev n1e1',
      'neigh del fd00:0:0:100::7 dev n1e1',
    ]);
  });
});
