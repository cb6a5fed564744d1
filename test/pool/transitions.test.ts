// Pure state transitions of the multi-IP pool's records: table tests, `now` passed in.
import { describe, expect, it } from 'vitest';
import type { Eni } from '../../pool/cloud.js';
import type { EniRecord, IpRecord } from '../../pool/store.js';
import {
  acceptsNewIp,
  afterFailedDetach,
  afterFailedUnassign,
  backInPool,
  expiredRecords,
  releasedIp,
  startEniDeletion,
  startRelease,
  whereabouts,
  type EniWhereabouts,
} from '../../pool/transitions.js';

const NOW = 1_000_000;
const held: IpRecord = { ip: '10.0.0.5', eniId: 'eni-1', state: 'assigned', podKey: 'c1/eth0/net', since: NOW - 5_000 };
const cfg = { statefulReserveMs: 300_000, ipCooldownMs: 30_000 };
const pod = (stateful: boolean) => ({ namespace: 'ns', name: 'web-0', stateful });

describe('releasedIp: the state an IP goes to when its pod releases it', () => {
  it.each<[string, IpRecord, boolean, typeof cfg, IpRecord | undefined]>([
    ['missing in the cloud: the row goes', { ...held, missingInCloud: true }, false, cfg, undefined],
    ['missing in the cloud wins over a reservation', { ...held, missingInCloud: true }, true, cfg, undefined],
    [
      'stateful pod: reserved for namespace/name until the reservation ends',
      held,
      true,
      cfg,
      { ip: held.ip, eniId: 'eni-1', state: 'reserved', since: NOW, reservedFor: 'ns/web-0', until: NOW + 300_000 },
    ],
    [
      'stateful pod, reservation off: cooling',
      held,
      true,
      { ...cfg, statefulReserveMs: 0 },
      { ip: held.ip, eniId: 'eni-1', state: 'cooling', since: NOW, until: NOW + 30_000 },
    ],
    ['cool-down on: cooling', held, false, cfg, { ip: held.ip, eniId: 'eni-1', state: 'cooling', since: NOW, until: NOW + 30_000 }],
    ['no cool-down: free at once', held, false, { ...cfg, ipCooldownMs: 0 }, { ip: held.ip, eniId: 'eni-1', state: 'free', since: NOW }],
  ])('%s', (_name, rec, stateful, c, want) => {
    expect(releasedIp(rec, pod(stateful), c, NOW)).toEqual(want);
  });
});

describe('expiredRecords', () => {
  it('cooled IPs become free now; an ended reservation cools for the rest of its cool-down; the rest stay', () => {
    const recs: IpRecord[] = [
      { ip: 'a', eniId: 'e', state: 'cooling', since: NOW - 30_000, until: NOW },
      { ip: 'b', eniId: 'e', state: 'reserved', since: NOW - 10_000, until: NOW, reservedFor: 'ns/p' },
      { ip: 'c', eniId: 'e', state: 'reserved', since: NOW - 60_000, until: NOW - 1, reservedFor: 'ns/q' },
      { ip: 'd', eniId: 'e', state: 'cooling', since: NOW, until: NOW + 1 },
      { ip: 'e', eniId: 'e', state: 'free', since: 0 },
    ];
    expect(expiredRecords(recs, NOW, 30_000)).toEqual([
      { ip: 'a', eniId: 'e', state: 'free', since: NOW },
      { ip: 'b', eniId: 'e', state: 'cooling', since: NOW - 10_000, until: NOW + 20_000 },
      { ip: 'c', eniId: 'e', state: 'free', since: NOW },
    ]);
  });
});

describe('acceptsNewIp: an address the cloud just assigned becomes free only over nothing or a releasing row', () => {
  it.each<[IpRecord['state'] | undefined, boolean]>([
    [undefined, true],
    ['releasing', true],
    ['free', false],
    ['assigned', false],
    ['cooling', false],
    ['reserved', false],
  ])('%s -> %s', (state, want) => {
    expect(acceptsNewIp(state === undefined ? undefined : { ip: 'x', eniId: 'e', state, since: 0 })).toBe(want);
  });
});

describe('startRelease / startEniDeletion: recorded before the cloud call', () => {
  const free = (ip: string, eniId = 'eni-1'): IpRecord => ({ ip, eniId, state: 'free', since: 0 });
  const eni = (o: Partial<EniRecord> = {}): EniRecord => ({
    eniId: 'eni-1',
    mac: 'aa:bb:cc:dd:ee:01',
    vSwitchId: 'vsw-a',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    primary: false,
    createdByUs: true,
    state: 'inuse',
    createdAt: 0,
    ...o,
  });

  it('only IPs still free on that ENI go releasing', () => {
    const recs = [free('a'), { ...free('b'), state: 'assigned' as const }, free('c', 'eni-2'), undefined];
    expect(startRelease('eni-1', recs, NOW)).toEqual([{ ip: 'a', eniId: 'eni-1', state: 'releasing', since: NOW }]);
    expect(startRelease('eni-1', [undefined], NOW)).toEqual([]);
  });

  it.each<[string, EniRecord, IpRecord[], boolean]>([
    ['an idle ENI of ours in use: deleting, its IPs releasing', eni(), [free('a'), free('b')], true],
    ['an empty ENI of ours', eni(), [], true],
    ['never the primary', eni({ primary: true }), [free('a')], false],
    ['never one not ours', eni({ createdByUs: false }), [free('a')], false],
    ['not while attaching', eni({ state: 'attaching' }), [], false],
    ['not twice', eni({ state: 'deleting' }), [], false],
    ['not with an IP a pod holds', eni(), [free('a'), { ...free('b'), state: 'assigned' }], false],
    ['not with a cooling IP', eni(), [{ ...free('a'), state: 'cooling' }], false],
  ])('%s', (_n, e, ips, may) => {
    const r = startEniDeletion(e, ips, NOW);
    if (!may) return expect(r).toBeUndefined();
    expect(r?.eni).toEqual({ ...e, state: 'deleting' });
    expect(r?.ips).toEqual(ips.map((i) => ({ ip: i.ip, eniId: e.eniId, state: 'releasing', since: NOW })));
  });

  it('backInPool: the ENI in use again, every IP free from now (an IPv6 partner kept)', () => {
    const rel = (ip: string, ipv6?: string): IpRecord => ({ ip, eniId: 'eni-1', state: 'releasing', since: 1, ...(ipv6 ? { ipv6 } : {}) });
    expect(backInPool(eni({ state: 'deleting' }), [rel('a'), rel('b', 'fd00::b')], NOW)).toEqual({
      eni: eni(),
      ips: [
        { ip: 'a', eniId: 'eni-1', state: 'free', since: NOW },
        { ip: 'b', eniId: 'eni-1', state: 'free', since: NOW, ipv6: 'fd00::b' },
      ],
    });
  });
});

describe('what a failed unassign / detach means', () => {
  it.each([
    ['InvalidIp.IpUnassigned', 'finished'], // what ECS answers for an address the ENI does not hold
    ['InvalidEniId.NotFound', 'finished'],
    ['InvalidIp.NotFound', 'retryLater'], // not an ECS code
    ['Operation.Conflict', 'retryLater'],
    ['Throttling', 'retryLater'],
    ['ServiceUnavailable', 'retryLater'],
    ['Internal', 'retryLater'],
  ])('unassign failed with %s -> %s', (code, want) => {
    expect(afterFailedUnassign(code)).toBe(want);
  });

  it.each<[string, EniWhereabouts | undefined, string]>([
    ['InvalidEniId.NotFound', undefined, 'detached'], // gone: no look-up needed
    ['InvalidEniId.NotFound', 'attachedHere', 'detached'],
    ['Timeout', undefined, 'lookUp'],
    ['Timeout', 'attachedHere', 'backToPool'],
    ['Timeout', 'notHere', 'detached'],
    ['Timeout', 'unknown', 'retryLater'],
    ['InvalidOperation.InvalidEniState', 'attachedHere', 'backToPool'],
  ])('detach failed with %s, ENI %s -> %s', (code, where, want) => {
    expect(afterFailedDetach(code, where)).toBe(want);
  });

  const listed = (o: Partial<Eni>): Eni[] => [
    {
      eniId: 'eni-1',
      mac: 'aa:bb:cc:dd:ee:01',
      type: 'Secondary',
      status: 'InUse',
      instanceId: 'i-1',
      vSwitchId: 'vsw-a',
      zoneId: 'z',
      vpcId: 'vpc',
      securityGroupIds: ['sg-1'],
      primaryIp: '10.0.0.9',
      secondaryIps: [],
      ipv6s: [],
      tags: {},
      ...o,
    },
  ];
  it.each<[string, Eni[] | undefined, EniWhereabouts]>([
    ['describe failed', undefined, 'unknown'],
    ['not listed', [], 'notHere'],
    ['InUse here', listed({}), 'attachedHere'],
    ['InUse on another instance', listed({ instanceId: 'i-2' }), 'notHere'],
    ['Available', listed({ status: 'Available', instanceId: undefined }), 'notHere'],
    ['Detaching here', listed({ status: 'Detaching' }), 'notHere'],
  ])('whereabouts: %s -> %s', (_n, answer, want) => {
    expect(whereabouts(answer, 'i-1')).toBe(want);
  });
});
