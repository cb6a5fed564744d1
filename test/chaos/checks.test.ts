// The chaos run's verdicts must follow the pool's model: pods use every address of a secondary ENI, its own
// primary included; eth0 is the node's.
import { describe, expect, it } from 'vitest';
import { poolCloudMismatches, type PoolDoc } from '../../sim/chaos/checks.js';
import type { EniDump, WorldDump } from '../../sim/mockcloud/types.js';

const NODE = 'i-node';

function eni(
  id: string,
  type: 'Primary' | 'Secondary',
  primaryIp: string,
  secondaryIps: string[],
  tags: Record<string, string> = {},
): EniDump {
  return {
    eniId: id,
    mac: '00:16:3e:00:00:01',
    type,
    status: 'InUse',
    instanceId: NODE,
    vSwitchId: 'vsw-a',
    vpcId: 'vpc-1',
    zoneId: 'z',
    securityGroupIds: [],
    primaryIp,
    secondaryIps,
    ipv6s: [],
    tags,
    creationTime: '2026-01-01T00:00:00Z',
  };
}

function dump(enis: EniDump[]): WorldDump {
  return { enis } as unknown as WorldDump;
}

const stats = { assigned: 0, total: 0, free: 0, cooling: 0, reserved: 0, releasing: 0 };
const ours = { creator: 'eni-ipam', node: NODE };

describe('chaos checks: pool against cloud', () => {
  it("a secondary ENI's primary address held by the pool is neither invented nor leaked; eth0's primary is not the pool's", () => {
    const d = dump([eni('eni-0', 'Primary', '10.0.0.2', []), eni('eni-1', 'Secondary', '10.0.0.3', ['10.0.0.4'], ours)]);
    const pool: PoolDoc = { stats, enis: [{ eniId: 'eni-1', ips: { free: ['10.0.0.3', '10.0.0.4'] } }] };
    expect(poolCloudMismatches(d, NODE, pool)).toEqual([]);
  });

  it("a secondary ENI's primary address missing from the pool is a leak; an address the cloud lacks is invented", () => {
    const d = dump([eni('eni-1', 'Secondary', '10.0.0.3', ['10.0.0.4'], ours)]);
    const pool: PoolDoc = { stats, enis: [{ eniId: 'eni-1', ips: { free: ['10.0.0.4', '10.0.0.9'] } }] };
    expect(poolCloudMismatches(d, NODE, pool)).toEqual([
      '10.0.0.3 on eni-1 in the cloud, not in the pool (leaked)',
      '10.0.0.9 in the pool on eni-1, not in the cloud',
    ]);
  });

  it('a secondary IP left on eth0 that the pool does not hold is a leak', () => {
    const d = dump([eni('eni-0', 'Primary', '10.0.0.2', ['10.0.0.7'])]);
    expect(poolCloudMismatches(d, NODE, { stats, enis: [] })).toEqual(['10.0.0.7 on eni-0 in the cloud, not in the pool (leaked)']);
  });
});
