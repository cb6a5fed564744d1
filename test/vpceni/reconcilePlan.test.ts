// planEniReconcile: the pure verdict of the ENI pool's periodic cloud reconcile.
import { describe, expect, it } from 'vitest';
import { planEniReconcile, type EniReconcileInput, type KnownEni } from '../../pool/enipool/index.js';
import type { Eni } from '../../daemon/cloud/types.js';

const NODE = 'i-node';
const OURS = { creator: 'eni-ipam', node: NODE };

function eni(id: string, over: Partial<Eni> = {}): Eni {
  return {
    eniId: id,
    mac: `02:00:00:00:00:${id.slice(-2)}`,
    primaryIp: `10.0.2.${Number(id.slice(-2))}`,
    secondaryIps: [],
    ipv6s: [],
    vSwitchId: 'vsw-b',
    zoneId: 'cn-hangzhou-h',
    vpcId: 'vpc-1',
    securityGroupIds: ['sg-1'],
    status: 'InUse',
    type: 'Secondary',
    instanceId: NODE,
    tags: { ...OURS },
    ...over,
  };
}

function input(over: Partial<EniReconcileInput> = {}): EniReconcileInput {
  return {
    instanceId: NODE,
    known: [],
    holders: new Map(),
    attached: [],
    available: [],
    isOurs: (e) => e.tags['creator'] === 'eni-ipam' && e.tags['node'] === NODE,
    recentlyRemoved: () => false,
    vSwitchKnown: () => true,
    createsQuiet: true,
    ...over,
  };
}

const k = (eniId: string, state: KnownEni['state'], changed = false): KnownEni => ({ eniId, state, changed });

describe('planEniReconcile', () => {
  it('in step with the cloud: nothing to do', () => {
    const p = planEniReconcile(
      input({
        known: [k('eni-01', 'free'), k('eni-02', 'assigned')],
        holders: new Map([['eni-02', 'c2/eth0/n']]),
        attached: [eni('eni-01'), eni('eni-02')],
      }),
    );
    expect(p).toEqual({ drop: [], adopt: [], deleteLeftovers: [], foreign: 0, skipped: [] });
  });

  it('drops known ENIs no longer attached here; an assigned one names its pod; Detaching / elsewhere count as gone', () => {
    const p = planEniReconcile(
      input({
        known: [k('eni-01', 'free'), k('eni-02', 'assigned'), k('eni-03', 'cooling'), k('eni-04', 'free')],
        holders: new Map([['eni-02', 'c2/eth0/n']]),
        attached: [eni('eni-03', { status: 'Detaching' }), eni('eni-04', { instanceId: 'i-other' })],
      }),
    );
    expect(p.drop).toEqual([
      { eniId: 'eni-01' },
      { eniId: 'eni-02', podKey: 'c2/eth0/n' },
      { eniId: 'eni-03', cloudStatus: 'Detaching' },
      { eniId: 'eni-04' },
    ]);
  });

  it('leaves attaching / releasing ENIs to their worker and skips ENIs whose work changed during the describe', () => {
    const p = planEniReconcile(input({ known: [k('eni-01', 'attaching'), k('eni-02', 'releasing'), k('eni-03', 'free', true)] }));
    expect(p.drop).toEqual([]);
    expect(p.skipped).toEqual(['eni-03']);
  });

  it('adopts tagged ENIs of ours attached here (InUse only), not foreign ones, and counts the foreign ones', () => {
    const p = planEniReconcile(
      input({
        attached: [
          eni('eni-01'),
          eni('eni-02', { status: 'Attaching' }),
          eni('eni-03', { tags: {} }),
          eni('eni-04', { tags: { creator: 'eni-ipam', node: 'i-other' } }),
          eni('eni-05', { type: 'Primary', tags: {} }),
        ],
      }),
    );
    expect(p.adopt.map((a) => a.eni.eniId)).toEqual(['eni-01']);
    expect(p.adopt[0]!.podKey).toBeUndefined();
    expect(p.foreign).toBe(2);
  });

  it("an ENI a pod record still names comes back as that pod's, not as free", () => {
    const p = planEniReconcile(input({ attached: [eni('eni-07')], holders: new Map([['eni-07', 'c7/eth0/n']]) }));
    expect(p.adopt).toEqual([{ eni: expect.objectContaining({ eniId: 'eni-07' }), podKey: 'c7/eth0/n' }]);
  });

  it('cooldown: an ENI we just removed is neither adopted nor deleted again from a stale listing', () => {
    const p = planEniReconcile(
      input({
        attached: [eni('eni-01')],
        available: [eni('eni-02', { status: 'Available', instanceId: undefined })],
        recentlyRemoved: (id) => id === 'eni-01' || id === 'eni-02',
      }),
    );
    expect(p.adopt).toEqual([]);
    expect(p.deleteLeftovers).toEqual([]);
    expect(p.skipped).toEqual(['eni-01']);
  });

  it('cooldown: an ENI we attached a moment ago that a stale listing does not show InUse is kept, not dropped', () => {
    const p = planEniReconcile(
      input({
        known: [k('eni-01', 'free'), k('eni-02', 'assigned')],
        holders: new Map([['eni-02', 'c2/eth0/n']]),
        attached: [eni('eni-01', { status: 'Attaching' })],
        recentlyAdded: (id) => id === 'eni-01' || id === 'eni-02',
      }),
    );
    expect(p.drop).toEqual([]);
    expect(p.skipped).toEqual(['eni-01', 'eni-02']);
  });

  it('vSwitch facts unknown: the ENI waits for the next round', () => {
    const p = planEniReconcile(input({ attached: [eni('eni-01')], vSwitchKnown: () => false }));
    expect(p.adopt).toEqual([]);
    expect(p.skipped).toEqual(['eni-01']);
  });

  it('deletes detached leftovers of ours only when no create is under way and no pod record names them', () => {
    const avail = [
      eni('eni-01', { status: 'Available', instanceId: undefined }),
      eni('eni-02', { status: 'Available', instanceId: undefined }),
      eni('eni-03', { status: 'Available', instanceId: undefined, tags: {} }),
      eni('eni-04', { status: 'Available', instanceId: undefined }),
    ];
    const base = { available: avail, holders: new Map([['eni-02', 'c2/eth0/n']]), known: [k('eni-04', 'releasing')] };
    expect(planEniReconcile(input(base)).deleteLeftovers).toEqual(['eni-01']);
    expect(planEniReconcile(input({ ...base, createsQuiet: false })).deleteLeftovers).toEqual([]);
  });
});
