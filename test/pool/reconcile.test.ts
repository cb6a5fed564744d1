import { describe, expect, it } from 'vitest';
import type { Eni } from '../../daemon/cloud/types.js';
import { reconcileWithCloud, type ReconcileInput } from '../../pool/reconcile.js';
import type { EniRecord, IpRecord } from '../../pool/store.js';

const NOW = 5_000;
const ours = { creator: 'eni-ipam', node: 'i-1' };
/** Each ENI's own primary address (a pod address on secondary ENIs). */
const PIP: Record<string, string> = { e1: '10.0.1.1', e2: '10.0.2.1', x: '10.0.3.1', p: '10.0.4.1', foreign: '10.0.5.1', e9: '10.0.6.1' };
const pip = (id: string): string => PIP[id] ?? '10.0.9.1';

function cloudEni(id: string, ips: string[], o: Partial<Eni> = {}): Eni {
  return {
    eniId: id,
    mac: `mac-${id}`,
    type: 'Secondary',
    status: 'InUse',
    instanceId: 'i-1',
    vSwitchId: 'vsw-a',
    zoneId: 'z',
    vpcId: 'vpc',
    securityGroupIds: [],
    primaryIp: pip(id),
    secondaryIps: ips,
    ipv6s: [],
    tags: ours,
    ...o,
  };
}
function rec(id: string, o: Partial<EniRecord> = {}): EniRecord {
  return {
    eniId: id,
    mac: `mac-${id}`,
    vSwitchId: 'vsw-a',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    primary: false,
    createdByUs: true,
    state: 'inuse',
    createdAt: 1,
    primaryIp: pip(id),
    ...o,
  };
}
function ip(addr: string, eniId: string, o: Partial<IpRecord> = {}): IpRecord {
  return { ip: addr, eniId, state: 'free', since: 1, ...o };
}

function run(o: { enis: EniRecord[]; ips: IpRecord[]; attached: Eni[]; busy?: string[]; createsInFlight?: boolean; recent?: string[] }) {
  const input: ReconcileInput = {
    now: NOW,
    enis: new Map(o.enis.map((e) => [e.eniId, e])),
    ips: new Map(o.ips.map((r) => [r.ip, r])),
    attached: o.attached,
    vSwitchInfo: (id) => (id === 'vsw-a' ? { cidr: '10.0.0.0/24', gateway: '10.0.0.253' } : undefined),
    busy: (id) => (o.busy ?? []).includes(id),
    isOurs: (e) => e.tags.creator === 'eni-ipam' && e.tags.node === 'i-1',
    createsInFlight: o.createsInFlight ?? false,
    recentlyRemoved: (id) => (o.recent ?? []).includes(id),
  };
  return reconcileWithCloud(input);
}

describe('reconcileWithCloud (pure)', () => {
  it('in step: no ops', () => {
    const r = run({
      enis: [rec('e1')],
      ips: [ip(pip('e1'), 'e1'), ip('10.0.0.2', 'e1'), ip('10.0.0.3', 'e1', { state: 'assigned', podKey: 'k' })],
      attached: [cloudEni('e1', ['10.0.0.2', '10.0.0.3'])],
    });
    expect(r.ops).toEqual([]);
  });

  it('adopts IPs the cloud has, drops free ones it lacks, flags held ones it lacks', () => {
    const r = run({
      enis: [rec('e1')],
      ips: [
        ip(pip('e1'), 'e1', { state: 'assigned', podKey: 'k0' }),
        ip('10.0.0.2', 'e1'),
        ip('10.0.0.3', 'e1', { state: 'assigned', podKey: 'k' }),
        ip('10.0.0.4', 'e1', { state: 'cooling', until: 9 }),
      ],
      attached: [cloudEni('e1', ['10.0.0.9'])],
    });
    expect(r.ops).toEqual(
      expect.arrayContaining([
        { op: 'putIp', ip: { ip: '10.0.0.9', eniId: 'e1', state: 'free', since: NOW } },
        { op: 'deleteIp', ip: '10.0.0.2' },
        { op: 'deleteIp', ip: '10.0.0.4' },
        { op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'e1', state: 'assigned', podKey: 'k', since: 1, missingInCloud: true } },
      ]),
    );
    expect(r.ops).toHaveLength(4);
    expect(r.findings).toContainEqual({ kind: 'ipMissing', eniId: 'e1', ip: '10.0.0.3', podKey: 'k' });
  });

  it('an interrupted release whose IP the cloud still has stays releasing (the pool finishes it); one the cloud lacks is dropped', () => {
    // Turning it free would race with the killed daemon's unassign still on the wire (crashWindows.test.ts).
    const r = run({
      enis: [rec('e1')],
      ips: [ip(pip('e1'), 'e1'), ip('10.0.0.2', 'e1', { state: 'releasing' }), ip('10.0.0.3', 'e1', { state: 'releasing' })],
      attached: [cloudEni('e1', ['10.0.0.2'])],
    });
    expect(r.ops).toEqual([{ op: 'deleteIp', ip: '10.0.0.3' }]);
  });

  it('adopts our ENIs with every address (their primary included), never eth0 (the node’s) nor someone else’s', () => {
    const r = run({
      enis: [],
      ips: [],
      attached: [
        cloudEni('p', ['10.0.0.5'], { type: 'Primary', tags: {} }),
        cloudEni('x', ['10.0.0.6']),
        cloudEni('foreign', ['10.0.0.7'], { tags: { owner: 'other' } }),
      ],
    });
    const enis = r.ops
      .filter((o) => o.op === 'putEni')
      .map((o) => (o.op === 'putEni' ? [o.eni.eniId, o.eni.primary, o.eni.createdByUs] : []));
    expect(enis).toEqual([['x', false, true]]);
    expect(r.ops.filter((o) => o.op === 'putIp').map((o) => (o.op === 'putIp' ? o.ip.ip : ''))).toEqual([pip('x'), '10.0.0.6']);
    // ENI rows come before their IP rows (foreign key order)
    expect(r.ops.findIndex((o) => o.op === 'putIp')).toBeGreaterThan(r.ops.findIndex((o) => o.op === 'putEni'));
  });

  it('an ENI left attaching or deleting by a crash becomes inuse when the cloud has it attached (its secondary IPs keep releasing; its primary, which cannot be unassigned, is free again)', () => {
    const r = run({
      enis: [rec('e1', { state: 'attaching' }), rec('e2', { state: 'deleting' })],
      ips: [ip(pip('e1'), 'e1'), ip(pip('e2'), 'e2', { state: 'releasing' }), ip('10.0.0.2', 'e2', { state: 'releasing' })],
      attached: [cloudEni('e1', []), cloudEni('e2', ['10.0.0.2'])],
    });
    expect(r.ops).toEqual([
      { op: 'putEni', eni: rec('e1') },
      { op: 'putEni', eni: rec('e2') },
      { op: 'putIp', ip: { ip: pip('e2'), eniId: 'e2', state: 'free', since: NOW } },
    ]);
  });

  it('does not adopt an IP or ENI removed within the cooldown, and says so', () => {
    const r = run({
      enis: [rec('e1')],
      ips: [ip(pip('e1'), 'e1')],
      attached: [cloudEni('e1', ['10.0.0.2', '10.0.0.3']), cloudEni('e9', ['10.0.0.9'])],
      recent: ['10.0.0.2', 'e9'],
    });
    expect(r.ops).toEqual([{ op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'e1', state: 'free', since: NOW } }]);
    expect(r.findings).toEqual(
      expect.arrayContaining([
        { kind: 'skippedRecent', id: '10.0.0.2' },
        { kind: 'skippedRecent', id: 'e9' },
      ]),
    );
  });

  it('drops an ENI no longer attached here, but keeps one whose IP a pod holds (flagged)', () => {
    const r = run({
      enis: [rec('gone'), rec('held')],
      ips: [ip('10.0.0.2', 'gone'), ip('10.0.0.3', 'held', { state: 'assigned', podKey: 'k' }), ip('10.0.0.4', 'held')],
      attached: [],
    });
    expect(r.ops).toEqual([
      { op: 'deleteIp', ip: '10.0.0.2' },
      { op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'held', state: 'assigned', podKey: 'k', since: 1, missingInCloud: true } },
      { op: 'deleteIp', ip: '10.0.0.4' },
      { op: 'deleteEni', eniId: 'gone' },
    ]);
  });

  it('an IP that moved to another ENI follows the cloud, and is not dropped on the way', () => {
    const r = run({
      enis: [rec('e1'), rec('e2')],
      ips: [ip(pip('e1'), 'e1'), ip(pip('e2'), 'e2'), ip('10.0.0.2', 'e1', { state: 'assigned', podKey: 'k' }), ip('10.0.0.3', 'e1')],
      attached: [cloudEni('e1', []), cloudEni('e2', ['10.0.0.2', '10.0.0.3'])],
    });
    expect(r.ops).toEqual([
      { op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'e2', state: 'assigned', podKey: 'k', since: 1 } },
      { op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'e2', state: 'free', since: 1 } },
    ]);
  });

  it('a primary-ENI record of an older pod DB keeps only what pods hold: other IPs are left to eth0, the record goes with the last pod', () => {
    const primary = rec('p', { primary: true, createdByUs: false });
    const held = run({
      enis: [primary],
      ips: [
        ip('10.0.4.2', 'p', { state: 'assigned', podKey: 'k' }),
        ip('10.0.4.3', 'p', { state: 'assigned', podKey: 'k2' }),
        ip('10.0.4.4', 'p'),
        ip('10.0.4.5', 'p', { state: 'cooling', until: 9 }),
      ],
      attached: [cloudEni('p', ['10.0.4.2', '10.0.4.4', '10.0.4.5', '10.0.4.6'], { type: 'Primary', tags: {} })],
    });
    expect(held.ops).toEqual([
      { op: 'putIp', ip: { ip: '10.0.4.3', eniId: 'p', state: 'assigned', podKey: 'k2', since: 1, missingInCloud: true } },
      { op: 'deleteIp', ip: '10.0.4.4' },
      { op: 'deleteIp', ip: '10.0.4.5' },
    ]);
    expect(held.findings).toEqual(
      expect.arrayContaining([
        { kind: 'leavePrimaryIp', eniId: 'p', ip: '10.0.4.4' },
        { kind: 'ipMissing', eniId: 'p', ip: '10.0.4.3', podKey: 'k2' },
      ]),
    );
    // 10.0.4.6 (someone else's on eth0) is never adopted
    expect(JSON.stringify(held.ops)).not.toContain('10.0.4.6');
    const last = run({
      enis: [primary],
      ips: [ip('10.0.4.4', 'p')],
      attached: [cloudEni('p', ['10.0.4.4'], { type: 'Primary', tags: {} })],
    });
    expect(last.ops).toEqual([
      { op: 'deleteIp', ip: '10.0.4.4' },
      { op: 'deleteEni', eniId: 'p' },
    ]);
    expect(last.findings).toContainEqual({ kind: 'retirePrimaryEni', eniId: 'p' });
  });

  it('leaves busy ENIs alone, and attaching ENIs while a create is in flight', () => {
    const r = run({
      enis: [rec('e1'), rec('new', { state: 'attaching' })],
      ips: [ip('10.0.0.2', 'e1')],
      attached: [cloudEni('e1', ['10.0.0.9'])],
      busy: ['e1'],
      createsInFlight: true,
    });
    expect(r.ops).toEqual([]);
  });

  it('does not adopt an ENI whose vSwitch CIDR / gateway are unknown', () => {
    const r = run({ enis: [], ips: [], attached: [cloudEni('x', ['10.9.0.2'], { vSwitchId: 'vsw-unknown' })] });
    expect(r.ops).toEqual([]);
    expect(r.findings).toEqual([{ kind: 'eniFactsUnknown', eniId: 'x', vSwitchId: 'vsw-unknown' }]);
  });
});
