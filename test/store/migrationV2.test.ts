// Schema v2 (enis.primary_ip): a v1 pod DB file is upgraded in place, keeps every row, and learns primary IPs.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations, openPoolStore, schemaVersion } from '../../daemon/store/index.js';
import type { EniRecord } from '../../pool/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('podstore-v2-');

/** A pod DB exactly as a v1 daemon left it: v1 schema, one ENI, one held IP, one pod. */
function writeV1(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(migrations.find((m) => m.version === 1)!.sql);
  db.pragma('user_version = 1');
  db.prepare(
    `INSERT INTO enis (eni_id, mac, vswitch_id, vswitch_cidr, gateway, is_primary, created_by_us, state, created_at)
     VALUES ('eni-1', '02:00:00:00:00:01', 'vsw-a', '10.0.0.0/24', '10.0.0.253', 0, 1, 'inuse', 5)`,
  ).run();
  db.prepare(`INSERT INTO ips (ip, eni_id, state, pod_key, since) VALUES ('10.0.0.7', 'eni-1', 'assigned', 'c1/eth0/net', 9)`).run();
  db.prepare(
    `INSERT INTO pods (pod_key, container_id, if_name, network_name, namespace, name, netns, ip, eni_id, eni_mac, primary_eni,
       vswitch_id, vswitch_cidr, gateway, mode, stateful, allocated_at, updated_at)
     VALUES ('c1/eth0/net', 'c1', 'eth0', 'net', 'ns', 'p1', '/run/netns/1', '10.0.0.7', 'eni-1', '02:00:00:00:00:01', 0,
       'vsw-a', '10.0.0.0/24', '10.0.0.253', 'ENIMultiIP', 0, 9, 9)`,
  ).run();
  db.close();
}

describe('pod DB schema v2', () => {
  it('is followed only by later versions (v3: dual stack)', () => {
    expect(schemaVersion).toBeGreaterThanOrEqual(2);
  });

  it('upgrades a v1 file in place: rows kept, primary_ip null until known, then stored and kept', () => {
    const path = join(dir, 'v1.sqlite');
    writeV1(path);
    const s = openPoolStore(path, { checkpointIntervalMs: 0 });
    expect(s.version()).toBe(schemaVersion);
    const cols = (s.db.prepare('PRAGMA table_info(enis)').all() as { name: string; notnull: number }[]).find(
      (c) => c.name === 'primary_ip',
    );
    expect(cols).toMatchObject({ notnull: 0 });

    const snap = s.load();
    expect(snap.enis).toEqual([
      {
        eniId: 'eni-1',
        mac: '02:00:00:00:00:01',
        vSwitchId: 'vsw-a',
        vSwitchCidr: '10.0.0.0/24',
        gateway: '10.0.0.253',
        primary: false,
        createdByUs: true,
        state: 'inuse',
        createdAt: 5,
      },
    ]);
    expect(snap.enis[0]!.primaryIp).toBeUndefined();
    expect(snap.ips).toEqual([{ ip: '10.0.0.7', eniId: 'eni-1', state: 'assigned', podKey: 'c1/eth0/net', since: 9 }]);
    expect(snap.pods.map((p) => [p.podKey, p.ip])).toEqual([['c1/eth0/net', '10.0.0.7']]);

    // reconcile learns it: stored
    const learned: EniRecord = { ...snap.enis[0]!, primaryIp: '10.0.0.5' };
    s.apply([{ op: 'putEni', eni: learned }]);
    expect(s.load().enis[0]!.primaryIp).toBe('10.0.0.5');
    // a later write that does not know it (a state change from an older code path) does not erase it
    s.apply([{ op: 'putEni', eni: { ...snap.enis[0]!, state: 'deleting' } }]);
    expect(s.load().enis[0]).toMatchObject({ state: 'deleting', primaryIp: '10.0.0.5' });
    s.close();

    // reopening an already-upgraded file runs no migration again and keeps the data
    const again = openPoolStore(path, { checkpointIntervalMs: 0 });
    expect(again.version()).toBe(schemaVersion);
    expect(again.load().enis[0]!.primaryIp).toBe('10.0.0.5');
    again.close();
  });

  it('a new file stores primary IPs from the first write', () => {
    const s = openPoolStore(join(dir, 'new.sqlite'), { checkpointIntervalMs: 0 });
    const e: EniRecord = {
      eniId: 'eni-9',
      mac: 'm',
      vSwitchId: 'v',
      vSwitchCidr: '10.1.0.0/24',
      gateway: '10.1.0.253',
      primary: true,
      createdByUs: false,
      state: 'inuse',
      createdAt: 1,
      primaryIp: '10.1.0.4',
    };
    s.apply([{ op: 'putEni', eni: e }]);
    expect(s.load().enis).toEqual([e]);
    s.close();
  });
});
