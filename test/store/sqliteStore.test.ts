import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqlitePoolStore, StoreError, schemaVersion } from '../../daemon/store/index.js';
import type { EniRecord, IpRecord, PodRecord } from '../../pool/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('podstore-');

let n = 0;
const fresh = () => new SqlitePoolStore({ path: join(dir, `t${n++}.sqlite`) });

const eni: EniRecord = {
  eniId: 'eni-1',
  mac: '02:00:00:00:00:01',
  vSwitchId: 'vsw-a',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  primary: false,
  createdByUs: true,
  state: 'inuse',
  createdAt: 5,
};
const pod = (i: number, ip: string): PodRecord => ({
  podKey: `c${i}/eth0/net`,
  namespace: 'ns',
  name: `p${i}`,
  containerId: `c${i}`,
  ifName: 'eth0',
  networkName: 'net',
  netns: `/run/netns/${i}`,
  ip,
  eniId: 'eni-1',
  eniMac: eni.mac,
  primaryEni: false,
  vSwitchId: 'vsw-a',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  allocatedAt: 100 + i,
  mode: 'ENIMultiIP',
  stateful: i % 2 === 0,
});

describe('SQLite pod DB', () => {
  it('creates the schema at the latest version, in WAL mode, and reopens idempotently', () => {
    const path = join(dir, 'schema.sqlite');
    const s = new SqlitePoolStore({ path });
    expect(s.version()).toBe(schemaVersion);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    s.close();
    const again = new SqlitePoolStore({ path, synchronous: 'FULL' });
    expect(again.version()).toBe(schemaVersion);
    expect(again.db.pragma('synchronous', { simple: true })).toBe(2);
    again.close();
  });

  it('refuses a DB from a newer daemon', () => {
    const path = join(dir, 'newer.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    expect(() => new SqlitePoolStore({ path })).toThrow(StoreError);
  });

  it('round-trips ENIs, IPs in every state and pods', () => {
    const s = fresh();
    const ips: IpRecord[] = [
      { ip: '10.0.0.2', eniId: 'eni-1', state: 'free', since: 1 },
      { ip: '10.0.0.3', eniId: 'eni-1', state: 'assigned', podKey: 'c1/eth0/net', since: 2, missingInCloud: true },
      { ip: '10.0.0.4', eniId: 'eni-1', state: 'cooling', since: 3, until: 33 },
      { ip: '10.0.0.5', eniId: 'eni-1', state: 'reserved', since: 4, until: 44, reservedFor: 'ns/web-0' },
      { ip: '10.0.0.6', eniId: 'eni-1', state: 'releasing', since: 5 },
    ];
    s.apply([{ op: 'putEni', eni }, ...ips.map((ip) => ({ op: 'putIp' as const, ip })), { op: 'putPod', pod: pod(1, '10.0.0.3') }]);
    const snap = s.load();
    expect(snap.enis).toEqual([eni]);
    expect(snap.ips).toEqual(ips);
    expect(snap.pods).toEqual([pod(1, '10.0.0.3')]);
    s.close();
  });

  it('applies a batch atomically: one bad op rolls back the whole batch', () => {
    const s = fresh();
    s.apply([
      { op: 'putEni', eni },
      { op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'eni-1', state: 'assigned', podKey: 'c1/eth0/net', since: 1 } },
      { op: 'putPod', pod: pod(1, '10.0.0.2') },
    ]);
    // a second pod on the same IP violates "no IP held by two pods"
    expect(() =>
      s.apply([
        { op: 'putIp', ip: { ip: '10.0.0.9', eniId: 'eni-1', state: 'free', since: 1 } },
        { op: 'putPod', pod: pod(2, '10.0.0.2') },
      ]),
    ).toThrow(StoreError);
    const snap = s.load();
    expect(snap.ips.map((r) => r.ip)).toEqual(['10.0.0.2']);
    expect(snap.pods).toHaveLength(1);
    s.close();
  });

  it('enforces the state rules in the schema', () => {
    const s = fresh();
    s.apply([{ op: 'putEni', eni }]);
    expect(() => s.apply([{ op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'eni-1', state: 'assigned', since: 1 } }])).toThrow(/CHECK/);
    expect(() => s.apply([{ op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'eni-404', state: 'free', since: 1 } }])).toThrow(/FOREIGN KEY/);
    expect(() =>
      s.apply([
        { op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'eni-1', state: 'assigned', podKey: 'k', since: 1 } },
        { op: 'putIp', ip: { ip: '10.0.0.3', eniId: 'eni-1', state: 'assigned', podKey: 'k', since: 1 } },
      ]),
    ).toThrow(/UNIQUE/);
    s.close();
  });

  it('deleteEni removes the ENI with its IPs; deletePod and deleteIp remove rows', () => {
    const s = fresh();
    s.apply([
      { op: 'putEni', eni },
      { op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'eni-1', state: 'free', since: 1 } },
      { op: 'putPod', pod: pod(1, '10.0.0.7') },
    ]);
    s.apply([
      { op: 'deleteEni', eniId: 'eni-1' },
      { op: 'deletePod', podKey: 'c1/eth0/net' },
    ]);
    expect(s.load()).toEqual({ enis: [], ips: [], pods: [] });
    s.close();
  });

  it('every committed allocation survives SIGKILL of the writer (WAL + synchronous=NORMAL)', () => {
    const path = join(dir, 'kill.sqlite');
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'killChild.ts'), path, '200'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.signal).toBe('SIGKILL');
    const reported = child.stdout.trim().split('\n');
    expect(reported).toHaveLength(200);
    const s = new SqlitePoolStore({ path });
    const keys = new Set(s.load().pods.map((p) => p.podKey));
    for (const k of reported) expect(keys.has(k)).toBe(true);
    s.close();
  });
});
