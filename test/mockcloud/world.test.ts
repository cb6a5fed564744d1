// The world model on its own (no HTTP): CIDR reservations, allocation, state rules, world validation.
import { describe, expect, it } from 'vitest';
import { list, tags } from '../../sim/mockcloud/params.js';
import { ApiError } from '../../sim/mockcloud/types.js';
import { defaultWorldSpec, resolveWorldSpec, World } from '../../sim/mockcloud/world.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('World', () => {
  it('gives every instance a primary ENI with a unique 00:16:3e MAC and its vSwitch primary IP', () => {
    const w = new World(defaultWorldSpec());
    const d = w.dump();
    expect(d.enis).toHaveLength(2);
    expect(d.enis.map((e) => e.primaryIp)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(new Set(d.enis.map((e) => e.mac)).size).toBe(2);
    expect(d.enis.every((e) => e.type === 'Primary' && e.status === 'InUse')).toBe(true);
    expect(d.vSwitches[0]!.availableIpAddressCount).toBe(510 - 2 - 2); // /23: 512 - 4 reserved - 2 used
  });

  it('is deterministic per seed', () => {
    const a = new World(defaultWorldSpec());
    const b = new World(defaultWorldSpec());
    expect(a.createEni({ vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'] }).id).toBe(
      b.createEni({ vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'] }).id,
    );
  });

  it('hands out the lowest free address and reuses released ones', () => {
    const w = new World(defaultWorldSpec());
    const e = w.createEni({ vSwitchId: 'vsw-mock-b', securityGroupIds: ['sg-mock-1'], secondaryIpCount: 3 });
    expect([e.primaryIp, ...e.secondaryIps]).toEqual(['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.2.4']);
    w.unassignIps(e.id, ['10.0.2.2']);
    expect(w.assignIps(e.id, { count: 2 })).toEqual(['10.0.2.2', '10.0.2.5']);
    expect(code(() => w.unassignIps(e.id, [e.primaryIp]))).toBe('InvalidParameter');
  });

  it('limits an unattached ENI to maxIpsUnattached and an attached one to its instance type', () => {
    const w = new World({ ...defaultWorldSpec(), maxIpsUnattached: 8 });
    const e = w.createEni({ vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'] });
    w.assignIps(e.id, { count: 7 });
    expect(code(() => w.assignIps(e.id, { count: 1 }))).toBe('InvalidOperation.Ipv4CountExceeded');
    // 8 addresses do not fit a 6-per-ENI type
    const small = new World({
      ...defaultWorldSpec(),
      maxIpsUnattached: 8,
      instances: [
        { id: 'i-s', instanceType: 'ecs.g7.large', zoneId: 'cn-hangzhou-h', vSwitchId: 'vsw-mock-a', securityGroupId: 'sg-mock-1' },
      ],
    });
    const f = small.createEni({ vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'], secondaryIpCount: 7 });
    expect(code(() => small.beginAttach(f.id, 'i-s'))).toBe('InvalidOperation.Ipv4CountExceeded');
  });

  it('follows the ENI state machine', () => {
    const w = new World(defaultWorldSpec());
    const e = w.createEni({ vSwitchId: 'vsw-mock-a', securityGroupIds: ['sg-mock-1'] });
    expect(code(() => w.beginDetach(e.id, 'i-mock-node-1'))).toBe('InvalidOperation.InvalidEniState');
    w.beginAttach(e.id, 'i-mock-node-1');
    expect(e.status).toBe('Attaching');
    expect(code(() => w.beginDetach(e.id, 'i-mock-node-1'))).toBe('InvalidOperation.InvalidEniState');
    expect(code(() => w.deleteEni(e.id))).toBe('InvalidOperation.InvalidEniState');
    w.completeAttach(e.id);
    expect(e.status).toBe('InUse');
    expect(e.deviceIndex).toBe(1);
    expect(code(() => w.beginDetach(e.id, 'i-mock-node-2'))).toBe('InvalidOperation.InvalidEniState');
    w.beginDetach(e.id, 'i-mock-node-1');
    expect(code(() => w.assignIps(e.id, { count: 1 }))).toBe('InvalidOperation.InvalidEniState');
    expect(w.completeDetach(e.id)?.instanceId).toBe('i-mock-node-1');
    expect(e.status).toBe('Available');
    w.deleteEni(e.id);
    expect(code(() => w.eni(e.id))).toBe('InvalidEniId.NotFound');
    const primary = w.instance('i-mock-node-1').primaryEniId;
    expect(code(() => w.deleteEni(primary))).toBe('InvalidOperation.InvalidEniType');
  });

  it('rejects inconsistent world files', () => {
    const d = defaultWorldSpec();
    expect(() => new World({ ...d, vSwitches: [...d.vSwitches, { id: 'x', zoneId: 'cn-hangzhou-h', cidr: '10.0.2.128/25' }] })).toThrow(
      /overlaps/,
    );
    expect(() => new World({ ...d, vSwitches: [{ id: 'x', zoneId: 'cn-hangzhou-h', cidr: '192.168.0.0/24' }], instances: [] })).toThrow(
      /outside/,
    );
    expect(() => new World({ ...d, instances: [{ ...d.instances[0]!, instanceType: 'ecs.nope' }] })).toThrow(/unknown type/);
    expect(resolveWorldSpec({ vpc: { id: 'vpc-x', cidr: '10.0.0.0/8' } }).vpc.routeTableId).toBe('vtb-mock-1');
  });
});

describe('params', () => {
  it('reads RepeatList, Tag.N and JSON-array parameters', () => {
    expect(list({ 'PrivateIpAddress.2': 'b', 'PrivateIpAddress.10': 'c', 'PrivateIpAddress.1': 'a' }, 'PrivateIpAddress')).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(list({ InstanceIds: '["i-1","i-2"]' }, 'InstanceIds')).toEqual(['i-1', 'i-2']);
    expect(list({ VSwitchId: 'vsw-1,vsw-2' }, 'VSwitchId')).toEqual(['vsw-1', 'vsw-2']);
    expect(tags({ 'Tag.1.Key': 'k', 'Tag.1.Value': 'v', 'Tag.2.Key': 'only' })).toEqual([
      { key: 'k', value: 'v' },
      { key: 'only', value: undefined },
    ]);
  });
});
