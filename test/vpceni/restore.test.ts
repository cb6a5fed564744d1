// Pure decisions of the ENI pool at start-up (classification of attached ENIs) and around releases and
// refusals: table tests, no I/O, `now` passed in.
import { describe, expect, it } from 'vitest';
import { noBackoffs, deferEni, defaultBackoff } from '../../pool/backoff.js';
import type { Eni } from '../../pool/cloud.js';
import {
  otherModeRows,
  planEniRestore,
  refusal,
  releaseRetries,
  releaseSteps,
  restoredSlot,
  type EniRestoreInput,
  type EniSlot,
  type RefusalInput,
} from '../../pool/enipool/index.js';
import { ourTags } from '../../pool/ownership.js';
import type { EniRecord, IpRecord, PodRecord, PoolSnapshot } from '../../pool/store.js';

const NOW = 1_000_000;
const NODE = 'i-1';

function cloudEni(id: string, o: Partial<Eni> = {}): Eni {
  return {
    eniId: id,
    mac: `aa:bb:cc:00:00:${id.slice(-2)}`,
    type: 'Secondary',
    status: 'InUse',
    instanceId: NODE,
    vSwitchId: 'vsw-a',
    zoneId: 'z',
    vpcId: 'vpc',
    securityGroupIds: [],
    primaryIp: `10.0.0.${Number(id.slice(-2))}`,
    secondaryIps: [],
    ipv6s: [],
    tags: ourTags(NODE),
    ...o,
  };
}

const row = (eniId: string, o: Partial<EniRecord> = {}): EniRecord => ({
  eniId,
  mac: 'm',
  vSwitchId: 'vsw-a',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  primary: false,
  createdByUs: true,
  state: 'inuse',
  createdAt: 5,
  ...o,
});
const ipRow = (eniId: string, o: Partial<IpRecord> = {}): IpRecord => ({ ip: `ip-${eniId}`, eniId, state: 'free', since: 7, ...o });
const podRow = (eniId: string, podKey = `c-${eniId}/eth0/net`): PodRecord => ({
  podKey,
  namespace: 'ns',
  name: `p-${eniId}`,
  containerId: `c-${eniId}`,
  ifName: 'eth0',
  networkName: 'net',
  netns: '',
  ip: `ip-${eniId}`,
  eniId,
  eniMac: 'm',
  primaryEni: false,
  vSwitchId: 'vsw-a',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  allocatedAt: 3,
  mode: 'VPCENI',
  stateful: false,
});

describe('restoredSlot: the state an attached ENI of ours gets back at start-up', () => {
  it.each<[string, Eni['status'], { allocatedAt: number } | undefined, IpRecord | undefined, Omit<EniSlot, 'eniId'>]>([
    ['Detaching: releasing (its detach is under way)', 'Detaching', undefined, undefined, { state: 'releasing', since: NOW }],
    [
      'Attaching (crash mid-attach): attaching, finished by the pool',
      'Attaching',
      { allocatedAt: 1 },
      undefined,
      { state: 'attaching', since: NOW },
    ],
    [
      'InUse, a pod row names it: assigned since the allocation',
      'InUse',
      { allocatedAt: 3 },
      ipRow('e', { state: 'free' }),
      { state: 'assigned', since: 3 },
    ],
    [
      'InUse, row cooling: cooling to its end',
      'InUse',
      undefined,
      ipRow('e', { state: 'cooling', until: NOW + 9 }),
      { state: 'cooling', since: 7, coolUntil: NOW + 9 },
    ],
    ['InUse, row releasing: keeps releasing', 'InUse', undefined, ipRow('e', { state: 'releasing' }), { state: 'releasing', since: 7 }],
    ['InUse, row free: free since then', 'InUse', undefined, ipRow('e'), { state: 'free', since: 7 }],
    ['InUse, no row (adopted): free now', 'InUse', undefined, undefined, { state: 'free', since: NOW }],
  ])('%s', (_n, status, holder, r, want) => {
    expect(restoredSlot(status, holder, r, NOW)).toEqual(want);
  });
});

describe('planEniRestore', () => {
  const input = (o: Partial<Omit<EniRestoreInput, 'snapshot'>> & { snapshot?: Partial<PoolSnapshot> }): EniRestoreInput => ({
    instanceId: NODE,
    attached: [],
    available: [],
    vSwitchFacts: (id) => (id === 'vsw-a' ? { cidr: '10.0.0.0/24', gateway: '10.0.0.253' } : undefined),
    now: NOW,
    ...o,
    snapshot: { enis: [], ips: [], pods: [], ...o.snapshot },
  });

  it('classifies what is attached: primary and foreign left alone (foreign counted), ours held by state', () => {
    const r = planEniRestore(
      input({
        attached: [
          cloudEni('eni-00', { type: 'Primary', tags: {} }),
          cloudEni('eni-01', { tags: {} }),
          cloudEni('eni-02', { tags: ourTags('i-other') }),
          cloudEni('eni-03'),
          cloudEni('eni-04', { status: 'Attaching' }),
          cloudEni('eni-05', { status: 'Detaching' }),
          cloudEni('eni-06', { vSwitchId: 'vsw-unknown' }),
          cloudEni('eni-07'),
        ],
        snapshot: {
          enis: [row('eni-03'), row('eni-07')],
          ips: [ipRow('eni-03', { state: 'cooling', until: NOW + 1 })],
          pods: [podRow('eni-07')],
        },
      }),
    );
    expect(r.foreign).toBe(2);
    expect(r.held.map((h) => [h.slot.eniId, h.slot.state])).toEqual([
      ['eni-03', 'cooling'],
      ['eni-04', 'attaching'],
      ['eni-05', 'releasing'],
      ['eni-07', 'assigned'],
    ]);
    expect(r.toAttach).toEqual(['eni-04']);
    expect(r.detaching).toEqual(['eni-05']);
    expect(r.unknownVSwitch.map((e) => e.eniId)).toEqual(['eni-06']);
    expect(r.adopted.map((e) => e.eniId)).toEqual([]); // 04 and 05 are not in use yet; 03 and 07 were known
    expect(r.held.find((h) => h.info.eniId === 'eni-03')?.info.createdAt).toBe(5); // kept from the row
    // rows written back: ENI states and, for ENIs in use only, the primary-IP row with the slot state
    expect(r.ops).toEqual([
      { op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-03', state: 'inuse' }) },
      { op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'eni-03', state: 'cooling', since: 7, until: NOW + 1 } },
      { op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-04', state: 'attaching' }) },
      { op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-05', state: 'deleting' }) },
      { op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-07', state: 'inuse' }) },
      { op: 'putIp', ip: { ip: '10.0.0.7', eniId: 'eni-07', state: 'assigned', podKey: 'c-eni-07/eth0/net', since: 3 } },
    ]);
  });

  it('adopts an attached ENI of ours the DB lacks; drops stored ENIs no longer attached (naming their pod); deletes detached leftovers', () => {
    const r = planEniRestore(
      input({
        attached: [cloudEni('eni-03')],
        available: [cloudEni('eni-08', { status: 'Available', instanceId: undefined }), cloudEni('eni-09', { type: 'Primary' })],
        snapshot: { enis: [row('eni-01'), row('eni-02')], pods: [podRow('eni-02')] },
      }),
    );
    expect(r.adopted.map((e) => e.eniId)).toEqual(['eni-03']);
    expect(r.held[0]?.slot).toEqual({ eniId: 'eni-03', state: 'free', since: NOW });
    expect(r.dropped).toEqual([{ eniId: 'eni-01' }, { eniId: 'eni-02', podKey: 'c-eni-02/eth0/net' }]);
    expect(r.ops.filter((o) => o.op === 'deleteEni')).toEqual([
      { op: 'deleteEni', eniId: 'eni-01' },
      { op: 'deleteEni', eniId: 'eni-02' },
    ]);
    expect(r.toDelete).toEqual(['eni-08']);
  });

  it('dual stack: IPv6 from the listing, block and gateway from the facts or the row; an idle ENI without IPv6 is released', () => {
    const v6 = { ipv6Cidr: 'fd00::/64', ipv6Gateway: 'fd00::ffff:ffff:ffff:fffd' };
    const r = planEniRestore(
      input({
        dual: true,
        attached: [
          cloudEni('eni-01', { ipv6s: ['fd00::1'] }),
          cloudEni('eni-02'),
          cloudEni('eni-03'),
          cloudEni('eni-04', { ipv6s: ['fd00::4'] }),
        ],
        vSwitchFacts: () => ({ cidr: '10.0.0.0/24', gateway: '10.0.0.253', ipv6Cidr: v6.ipv6Cidr }),
        snapshot: {
          enis: [row('eni-01', { vSwitchIpv6Cidr: v6.ipv6Cidr, ipv6Gateway: v6.ipv6Gateway }), row('eni-02'), row('eni-03')],
          ips: [ipRow('eni-02')],
          pods: [podRow('eni-03')],
        },
      }),
    );
    const info = (id: string) => r.held.find((h) => h.info.eniId === id)!;
    expect(info('eni-01').info).toMatchObject({ ipv6: 'fd00::1', vSwitchIpv6Cidr: v6.ipv6Cidr, ipv6Gateway: v6.ipv6Gateway });
    expect(info('eni-04').info).toMatchObject({ ipv6: 'fd00::4', vSwitchIpv6Cidr: v6.ipv6Cidr });
    expect(info('eni-04').info.ipv6Gateway).toBeUndefined(); // adopted: read from the metadata by the next ENI
    // eni-02: idle and IPv4 only, released; eni-03: a pod holds it, kept as it is
    expect(r.noIpv6).toEqual(['eni-02']);
    expect(info('eni-02').slot.state).toBe('releasing');
    expect(info('eni-03').slot.state).toBe('assigned');
    expect(r.ops).toContainEqual({ op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-02', state: 'deleting' }) });
    expect(r.ops).toContainEqual({ op: 'putIp', ip: expect.objectContaining({ eniId: 'eni-01', ipv6: 'fd00::1' }) });
    // ip_stack ipv4: nothing released for lack of IPv6
    expect(planEniRestore(input({ attached: [cloudEni('eni-02')], snapshot: { enis: [row('eni-02')] } })).noIpv6).toEqual([]);
  });

  it('otherModeRows: pods of another mode or multi-IP ENIs refuse the start', () => {
    const empty: PoolSnapshot = { enis: [], ips: [], pods: [] };
    expect(otherModeRows(empty)).toBeUndefined();
    expect(otherModeRows({ ...empty, enis: [row('e1')], ips: [ipRow('e1')], pods: [podRow('e1')] })).toBeUndefined();
    expect(otherModeRows({ ...empty, pods: [{ ...podRow('e1'), mode: 'ENIMultiIP' }] })).toEqual({ pods: 1, multiIpEnis: 0 });
    expect(otherModeRows({ ...empty, enis: [row('e1', { primary: true })] })).toEqual({ pods: 0, multiIpEnis: 1 });
    expect(otherModeRows({ ...empty, enis: [row('e1')], ips: [ipRow('e1'), ipRow('e1', { ip: 'x' })] })).toEqual({
      pods: 0,
      multiIpEnis: 1,
    });
  });
});

describe('refusal: requests that fail at once (Exhausted) rather than wait', () => {
  const slot = (eniId: string, state: EniSlot['state']): EniSlot => ({ eniId, state, since: 0 });
  const base = (o: Partial<RefusalInput>): RefusalInput => ({ slots: [], need: 1, capacity: 2, assigned: 0, now: 1_000, ...o });
  it.each<[string, Partial<RefusalInput>, { message: string; cloudCode?: string } | undefined]>([
    ['a free ENI serves it', { slots: [slot('a', 'free')] }, undefined],
    ['an attaching or cooling one will', { need: 2, slots: [slot('a', 'attaching'), slot('b', 'cooling')] }, undefined],
    ['room to create one', { slots: [slot('a', 'assigned')] }, undefined],
    [
      'capacity used up',
      { slots: [slot('a', 'assigned'), slot('b', 'assigned')], assigned: 2 },
      { message: 'all 2 ENIs this node can hold for pods are in use (2 owned, 2 assigned)' },
    ],
    ['releasing ENIs free their capacity', { slots: [slot('a', 'assigned'), slot('b', 'releasing')] }, undefined],
    [
      'capacity used up after the cloud said EniPerInstanceLimitExceeded: carries the code',
      { slots: [slot('a', 'assigned'), slot('b', 'assigned')], assigned: 2, lastFailureCode: 'EniPerInstanceLimitExceeded' },
      { message: 'all 2 ENIs this node can hold for pods are in use (2 owned, 2 assigned)', cloudCode: 'EniPerInstanceLimitExceeded' },
    ],
    [
      'creation paused after an exhaustion code',
      { blocker: { until: 61_000, code: 'InvalidVSwitchId.IpNotEnough' } },
      { message: 'ENI creation paused for 60s after InvalidVSwitchId.IpNotEnough', cloudCode: 'InvalidVSwitchId.IpNotEnough' },
    ],
    ['a transient pause: wait', { blocker: { until: 6_000, code: 'Throttling' } }, undefined],
  ])('%s', (_n, o, want) => {
    expect(refusal(base(o))).toEqual(want);
  });
});

describe('taking an ENI out', () => {
  it.each<[string, Partial<Eni> | undefined, { detach: boolean; delete: boolean }]>([
    ['attached here: detach, then delete', {}, { detach: true, delete: true }],
    ['still Detaching here: detach (again), then delete', { status: 'Detaching' }, { detach: true, delete: true }],
    ['Available: delete only', { status: 'Available', instanceId: undefined }, { detach: false, delete: true }],
    ['attached elsewhere: not ours to detach; delete fails and is retried', { instanceId: 'i-2' }, { detach: false, delete: true }],
    ['gone: nothing to call', undefined, { detach: false, delete: false }],
  ])('%s', (_n, o, want) => {
    expect(releaseSteps(o === undefined ? undefined : cloudEni('eni-01', o), NODE)).toEqual(want);
  });

  it('releaseRetries: releasing ENIs with no work under way and their back-off over', () => {
    const slots: EniSlot[] = [
      { eniId: 'a', state: 'releasing', since: 0 },
      { eniId: 'b', state: 'releasing', since: 0 },
      { eniId: 'c', state: 'releasing', since: 0 },
      { eniId: 'd', state: 'free', since: 0 },
    ];
    const b = deferEni(noBackoffs(), 'b', 'Timeout', 0, defaultBackoff);
    expect(releaseRetries(slots, b, (id) => id === 'c', 4_999)).toEqual(['a']);
    expect(releaseRetries(slots, b, () => false, 5_000)).toEqual(['a', 'b', 'c']);
  });
});
