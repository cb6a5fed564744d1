// Schema v3 (dual stack: ips.ipv6, pods.ipv6 / vswitch_ipv6_cidr / ipv6_gateway, enis.vswitch_ipv6_cidr /
// ipv6_gateway): a v2 pod DB file is upgraded in place, keeps every row (IPv4 only), and stores IPv6 pairs after.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations, openPoolStore, schemaVersion } from '../../daemon/store/index.js';
import type { IpRecord, PodRecord } from '../../pool/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir('podstore-v3-');

/** A pod DB exactly as a v2 daemon left it: v1 + v2 schema, one ENI, one held IP, one free IP, one pod. */
function writeV2(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const m of migrations.filter((x) => x.version <= 2)) db.exec(m.sql);
  db.pragma('user_version = 2');
  db.prepare(
    `INSERT INTO enis (eni_id, mac, vswitch_id, vswitch_cidr, gateway, is_primary, created_by_us, state, created_at, primary_ip)
     VALUES ('eni-1', '02:00:00:00:00:01', 'vsw-a', '10.0.0.0/24', '10.0.0.253', 0, 1, 'inuse', 5, '10.0.0.5')`,
  ).run();
  db.prepare(`INSERT INTO ips (ip, eni_id, state, pod_key, since) VALUES ('10.0.0.7', 'eni-1', 'assigned', 'c1/eth0/net', 9)`).run();
  db.prepare(`INSERT INTO ips (ip, eni_id, state, since) VALUES ('10.0.0.8', 'eni-1', 'free', 9)`).run();
  db.prepare(
    `INSERT INTO pods (pod_key, container_id, if_name, network_name, namespace, name, netns, ip, eni_id, eni_mac, primary_eni,
       vswitch_id, vswitch_cidr, gateway, mode, stateful, allocated_at, updated_at)
     VALUES ('c1/eth0/net', 'c1', 'eth0', 'net', 'ns', 'p1', '/run/netns/1', '10.0.0.7', 'eni-1', '02:00:00:00:00:01', 0,
       'vsw-a', '10.0.0.0/24', '10.0.0.253', 'ENIMultiIP', 0, 9, 9)`,
  ).run();
  db.close();
}

describe('pod DB schema v3 (dual stack)', () => {
  it('is the latest version', () => {
    expect(schemaVersion).toBe(3);
  });

  it('upgrades a v2 file in place: IPv4 rows kept without IPv6, then IPv6 pairs and dual-stack pods stored', () => {
    const path = join(dir, 'v2.sqlite');
    writeV2(path);
    const s = openPoolStore(path, { checkpointIntervalMs: 0 });
    expect(s.version()).toBe(3);
    const snap = s.load();
    expect(snap.enis[0]).toMatchObject({ eniId: 'eni-1', primaryIp: '10.0.0.5' });
    expect(snap.enis[0]!.vSwitchIpv6Cidr).toBeUndefined();
    expect(snap.ips).toEqual([
      { ip: '10.0.0.7', eniId: 'eni-1', state: 'assigned', podKey: 'c1/eth0/net', since: 9 },
      { ip: '10.0.0.8', eniId: 'eni-1', state: 'free', since: 9 },
    ]);
    expect(snap.pods[0]!.ipv6).toBeUndefined();

    // the free IPv4 address gets its IPv6 partner; a dual-stack pod takes the pair
    s.apply([
      { op: 'putEni', eni: { ...snap.enis[0]!, vSwitchIpv6Cidr: 'fd00:0:0:100::/64', ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd' } },
    ]);
    const pair: IpRecord = { ip: '10.0.0.8', eniId: 'eni-1', state: 'assigned', podKey: 'c2/eth0/net', since: 10, ipv6: 'fd00:0:0:100::8' };
    const pod: PodRecord = {
      ...snap.pods[0]!,
      podKey: 'c2/eth0/net',
      containerId: 'c2',
      name: 'p2',
      ip: '10.0.0.8',
      ipv6: 'fd00:0:0:100::8',
      vSwitchIpv6Cidr: 'fd00:0:0:100::/64',
      ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd',
    };
    s.apply([
      { op: 'putIp', ip: pair },
      { op: 'putPod', pod },
    ]);
    s.close();

    const again = openPoolStore(path, { checkpointIntervalMs: 0 });
    expect(again.version()).toBe(3);
    const after = again.load();
    expect(after.enis[0]).toMatchObject({ vSwitchIpv6Cidr: 'fd00:0:0:100::/64', ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd' });
    expect(after.ips.find((i) => i.ip === '10.0.0.8')).toEqual(pair);
    expect(after.pods.find((p) => p.podKey === 'c2/eth0/net')).toMatchObject({
      ipv6: 'fd00:0:0:100::8',
      vSwitchIpv6Cidr: 'fd00:0:0:100::/64',
      ipv6Gateway: 'fd00::100:ffff:ffff:ffff:fffd',
    });
    // a later ENI write that does not know the IPv6 facts keeps them
    again.apply([{ op: 'putEni', eni: { ...snap.enis[0]!, state: 'deleting' } }]);
    expect(again.load().enis[0]).toMatchObject({ state: 'deleting', vSwitchIpv6Cidr: 'fd00:0:0:100::/64' });
    again.close();
  });

  it('no IPv6 address is held twice: by two IP rows or two pods', () => {
    const s = openPoolStore(join(dir, 'uniq.sqlite'), { checkpointIntervalMs: 0 });
    s.apply([
      {
        op: 'putEni',
        eni: {
          eniId: 'e',
          mac: 'm',
          vSwitchId: 'v',
          vSwitchCidr: '10.0.0.0/24',
          gateway: '10.0.0.253',
          primary: false,
          createdByUs: true,
          state: 'inuse',
          createdAt: 1,
        },
      },
      { op: 'putIp', ip: { ip: '10.0.0.1', eniId: 'e', state: 'free', since: 1, ipv6: 'fd00::1' } },
    ]);
    expect(() => s.apply([{ op: 'putIp', ip: { ip: '10.0.0.2', eniId: 'e', state: 'free', since: 1, ipv6: 'fd00::1' } }])).toThrow(
      /UNIQUE/,
    );
    // the failed transaction left nothing behind
    expect(s.load().ips.map((i) => i.ip)).toEqual(['10.0.0.1']);
    s.close();
  });
});
