// buildMapping / poolView / podsView: the pure cross-check logic behind /v1/mapping, /v1/pool, /v1/pods.
import { describe, expect, it } from 'vitest';
import { buildMapping, parsePodFilter, podsView, poolView, type MappingInput } from '../../daemon/introspect.js';
import type { Eni } from '../../daemon/cloud/types.js';
import type { IpAllocation, PoolStats } from '../../pool/types.js';
import type { EniRecord, IpRecord } from '../../pool/store.js';

const NODE = 'i-1';

function alloc(name: string, ip: string, eniId = 'eni-s', ns = 'default'): IpAllocation {
  return {
    podKey: `c-${name}/eth0/net`,
    namespace: ns,
    name,
    containerId: `c-${name}`,
    ifName: 'eth0',
    networkName: 'net',
    netns: `/var/run/netns/${name}`,
    ip,
    eniId,
    eniMac: '00:16:3e:00:00:01',
    primaryEni: eniId === 'eni-p',
    vSwitchId: 'vsw-1',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    allocatedAt: 1_700_000_000_000,
  };
}

function eniRec(eniId: string, primary = false, state: EniRecord['state'] = 'inuse'): EniRecord {
  return {
    eniId,
    mac: `mac-${eniId}`,
    vSwitchId: 'vsw-1',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    primary,
    createdByUs: !primary,
    state,
    createdAt: 0,
  };
}

function ipRec(ip: string, eniId: string, state: IpRecord['state'] = 'free', podKey?: string): IpRecord {
  return { ip, eniId, state, since: 0, ...(podKey ? { podKey } : {}) };
}

function cloudEni(
  eniId: string,
  secondaryIps: string[],
  type: Eni['type'] = 'Secondary',
  tags: Record<string, string> = {},
  primaryIp = `${eniId}-primary`,
): Eni {
  return {
    eniId,
    mac: `mac-${eniId}`,
    type,
    status: 'InUse',
    instanceId: NODE,
    vSwitchId: 'vsw-1',
    zoneId: 'z',
    vpcId: 'vpc',
    securityGroupIds: [],
    primaryIp,
    secondaryIps,
    ipv6s: [],
    tags,
  };
}

/** eth0 (the node's: a secondary IP of someone else's on it) and the secondary ENI eni-s whose primary is 10.0.0.2. */
const eth0 = (): Eni => cloudEni('eni-p', ['10.0.0.77'], 'Primary', {}, '10.0.0.1');
const eniS = (secondaryIps = ['10.0.0.3', '10.0.0.9'], primaryIp = '10.0.0.2'): Eni =>
  cloudEni('eni-s', secondaryIps, 'Secondary', {}, primaryIp);

/** A consistent node: two pods on a secondary ENI (one on its own primary address), one free IP. */
function healthy(): MappingInput {
  const a = alloc('a', '10.0.0.2');
  const b = alloc('b', '10.0.0.3');
  const pool = {
    enis: [eniRec('eni-s')],
    ips: [ipRec('10.0.0.2', 'eni-s', 'assigned', a.podKey), ipRec('10.0.0.3', 'eni-s', 'assigned', b.podKey), ipRec('10.0.0.9', 'eni-s')],
  };
  return { mode: 'ENIMultiIP', instanceId: NODE, pods: [a, b], dbPods: [a, b], pool, cloudEnis: [eth0(), eniS()] };
}

describe('buildMapping', () => {
  it('agrees on a consistent node', () => {
    const m = buildMapping(healthy());
    expect(m.ok).toBe(true);
    expect(m.rows.map((r) => [r.pod, r.pool, r.cloud, r.db, r.ok])).toEqual([
      ['default/a', 'assigned', 'ok', true, true],
      ['default/b', 'assigned', 'ok', true, true],
    ]);
    expect(m.counts).toEqual({ pods: 2, dbPods: 2, poolIps: 3, cloudIps: 3 });
    // eth0 is the node's: informational, its IPs are nobody's business here
    expect(m.unmanagedEnis).toEqual([{ eniId: 'eni-p', type: 'Primary', ours: false }]);
    expect(m.cloudOnly).toEqual([]);
  });

  it('a record of eth0 from an older pod DB: its pods check out, the rest of eth0 is not reported', () => {
    const input = healthy();
    const c = alloc('c', '10.0.0.5', 'eni-p');
    input.pods = [...input.pods, c];
    input.dbPods = [...input.dbPods!, c];
    input.pool!.enis.push(eniRec('eni-p', true));
    input.pool!.ips.push(ipRec('10.0.0.5', 'eni-p', 'assigned', c.podKey));
    input.cloudEnis = [cloudEni('eni-p', ['10.0.0.5', '10.0.0.77'], 'Primary', {}, '10.0.0.1'), eniS()];
    const m = buildMapping(input);
    expect(m.rows.find((r) => r.pod === 'default/c')).toMatchObject({ pool: 'assigned', cloud: 'ok', ok: true });
    expect(m.ok).toBe(true);
  });

  it('cloud-only and pool-only IPs', () => {
    const input = healthy();
    input.cloudEnis = [eth0(), eniS(['10.0.0.3', '10.0.0.50'])];
    const m = buildMapping(input);
    expect(m.ok).toBe(false);
    expect(m.cloudOnly).toEqual([{ ip: '10.0.0.50', eniId: 'eni-s' }]);
    expect(m.poolOnly).toEqual([{ ip: '10.0.0.9', eniId: 'eni-s', state: 'free' }]);
  });

  it('a pod IP the cloud shows on another ENI, or not at all', () => {
    const input = healthy();
    input.cloudEnis = [eth0(), eniS(['10.0.0.3', '10.0.0.9'], '10.0.0.8'), cloudEni('eni-t', [], 'Secondary', {}, '10.0.0.2')];
    const m = buildMapping(input);
    expect(m.rows.find((r) => r.pod === 'default/a')).toMatchObject({ cloud: 'other-eni', ok: false });
    expect(m.ok).toBe(false);
    input.cloudEnis = [eth0(), eniS(['10.0.0.3', '10.0.0.9'], '10.0.0.8')];
    expect(buildMapping(input).rows.find((r) => r.pod === 'default/a')!.cloud).toBe('missing');
  });

  it('an IP held by two pods', () => {
    const input = healthy();
    const c = alloc('c', '10.0.0.2');
    input.pods = [...input.pods, c];
    input.dbPods = [...input.dbPods!, c];
    const m = buildMapping(input);
    expect(m.duplicates).toEqual([{ ip: '10.0.0.2', podKeys: ['c-a/eth0/net', 'c-c/eth0/net'] }]);
    expect(m.rows.find((r) => r.pod === 'default/c')).toMatchObject({ pool: 'other-pod', ok: false });
    expect(m.ok).toBe(false);
  });

  it('pod DB and memory disagree', () => {
    const input = healthy();
    const ghost = alloc('ghost', '10.0.0.50');
    input.dbPods = [input.pods[0]!, ghost];
    const m = buildMapping(input);
    expect(m.dbOnly).toEqual([{ podKey: ghost.podKey, ip: '10.0.0.50' }]);
    expect(m.memoryOnly).toEqual([{ podKey: 'c-b/eth0/net', ip: '10.0.0.3' }]);
    expect(m.rows.find((r) => r.pod === 'default/b')).toMatchObject({ db: false, ok: false });
    expect(m.ok).toBe(false);
  });

  it('a pool IP assigned to a pod that has no allocation', () => {
    const input = healthy();
    input.pods = [input.pods[0]!];
    input.dbPods = [input.pods[0]!];
    const m = buildMapping(input);
    expect(m.assignedWithoutPod).toEqual([{ ip: '10.0.0.3', eniId: 'eni-s', podKey: 'c-b/eth0/net' }]);
    expect(m.ok).toBe(false);
  });

  it('the pool moving during the cloud call is not a mismatch', () => {
    const input = healthy();
    // Before the call the pool had not taken 10.0.0.10 yet; the cloud already shows it; after, the pool has it.
    input.poolBefore = { enis: input.pool!.enis, ips: input.pool!.ips };
    input.pool = { enis: input.pool!.enis, ips: [...input.pool!.ips, ipRec('10.0.0.10', 'eni-s')] };
    input.cloudEnis = [eth0(), eniS()];
    // Taken after the describe: the cloud does not show it yet.
    expect(buildMapping(input).ok).toBe(true);
    // Releasing IPs and ENIs mid-attach are skipped too.
    const r = healthy();
    r.pool!.ips.push(ipRec('10.0.0.11', 'eni-s', 'releasing'));
    r.pool!.enis.push(eniRec('eni-new', false, 'attaching'));
    r.pool!.ips.push(ipRec('10.0.0.12', 'eni-new'));
    expect(buildMapping(r).ok).toBe(true);
  });

  it('an in-use pool ENI the cloud does not show; unmanaged ENIs are informational', () => {
    const input = healthy();
    input.cloudEnis = [eth0(), cloudEni('eni-x', [], 'Secondary', { creator: 'eni-ipam', node: NODE })];
    const m = buildMapping(input);
    expect(m.enisMissingInCloud).toEqual(['eni-s']);
    expect(m.unmanagedEnis).toEqual([
      { eniId: 'eni-p', type: 'Primary', ours: false },
      { eniId: 'eni-x', type: 'Secondary', ours: true },
    ]);
    expect(m.ok).toBe(false);
    const onlyInfo = healthy();
    onlyInfo.cloudEnis!.push(cloudEni('eni-y', ['10.9.9.9']));
    expect(buildMapping(onlyInfo).ok).toBe(true);
  });

  it('?pod= narrows rows and issues to that pod', () => {
    const input = healthy();
    input.cloudEnis = [eth0(), eniS(['10.0.0.9', '10.0.0.77'])];
    expect(buildMapping(input).ok).toBe(false);
    const a = buildMapping({ ...input, filter: parsePodFilter('default/a') });
    expect(a.rows.map((r) => r.pod)).toEqual(['default/a']);
    expect(a.cloudOnly).toEqual([]);
    expect(a.ok).toBe(true);
    const b = buildMapping({ ...input, filter: parsePodFilter('b') });
    expect(b.ok).toBe(false);
    expect(b.poolOnly.map((p) => p.ip)).toEqual(['10.0.0.3']);
  });

  it('VPCENI compares the ENI primary IP; VPCIP does not ask the cloud', () => {
    const a = alloc('a', 'eni-a-primary', 'eni-a');
    const eniMode: MappingInput = {
      mode: 'VPCENI',
      instanceId: NODE,
      pods: [a],
      dbPods: [a],
      pool: { enis: [eniRec('eni-a')], ips: [ipRec('eni-a-primary', 'eni-a', 'assigned', a.podKey)] },
      cloudEnis: [cloudEni('eni-main', [], 'Primary'), cloudEni('eni-a', [])],
    };
    const m = buildMapping(eniMode);
    expect(m.ok).toBe(true);
    expect(m.rows[0]).toMatchObject({ cloud: 'ok', pool: 'assigned' });
    expect(m.unmanagedEnis).toEqual([{ eniId: 'eni-main', type: 'Primary', ours: false }]);
    const v = buildMapping({
      mode: 'VPCIP',
      instanceId: NODE,
      pods: [alloc('v', '172.16.0.5')],
      dbPods: [alloc('v', '172.16.0.5')],
      cloudEnis: [],
    });
    expect(v).toMatchObject({ ok: true, cloudChecked: false });
    expect(v.rows[0]).toMatchObject({ cloud: 'n/a', pool: 'n/a' });
  });
});

describe('podsView / poolView', () => {
  it('pods sorted, filtered, with ISO times', () => {
    const pods = podsView([alloc('b', '10.0.0.3'), alloc('a', '10.0.0.2', 'eni-p', 'kube-system'), alloc('a', '10.0.0.4')]);
    expect(pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(['default/a', 'default/b', 'kube-system/a']);
    expect(pods[0]!.allocatedAt).toBe('2023-11-14T22:13:20.000Z');
    expect(podsView([alloc('a', '1.1.1.1'), alloc('a', '1.1.1.2', 'eni-p', 'x')], parsePodFilter('x/a')).map((p) => p.ip)).toEqual([
      '1.1.1.2',
    ]);
  });

  it('groups IPs by ENI and state, primary first, IPs in numeric order', () => {
    const stats: PoolStats = {
      enis: 2,
      total: 5,
      free: 2,
      assigned: 1,
      cooling: 1,
      reserved: 1,
      releasing: 0,
      pendingRequests: 0,
      minPoolSize: 0,
      maxPoolSize: 5,
    };
    const v = poolView({
      mode: 'ENIMultiIP',
      instanceId: NODE,
      stats,
      source: 'pool',
      enis: [eniRec('eni-a'), eniRec('eni-p', true)],
      ips: [
        ipRec('10.0.0.10', 'eni-a'),
        ipRec('10.0.0.9', 'eni-a'),
        ipRec('10.0.0.2', 'eni-p', 'assigned', 'k1'),
        ipRec('10.0.0.3', 'eni-p', 'cooling'),
        { ...ipRec('10.0.0.4', 'eni-p', 'reserved'), reservedFor: 'default/web-0' },
      ],
    });
    expect(v.enis.map((e) => e.eniId)).toEqual(['eni-p', 'eni-a']);
    expect(v.enis[1]!.ips.free).toEqual(['10.0.0.9', '10.0.0.10']);
    expect(v.enis[0]!.ips).toEqual({ free: [], assigned: ['10.0.0.2'], cooling: ['10.0.0.3'], reserved: ['10.0.0.4'], releasing: [] });
    expect(v.enis[0]!.assignedTo).toEqual({ '10.0.0.2': 'k1' });
    expect(v.enis[0]!.reservedFor).toEqual({ '10.0.0.4': 'default/web-0' });
  });
});
