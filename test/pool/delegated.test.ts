// The delegated pool (centralized IPAM's node side): it hands out only what the controller placed, gives an
// IP back only when it is free here (and then never hands it out again), keeps what a pod holds whatever the
// placement says, reports its usage after each change, and serves from its DB alone before any placement.
import { describe, expect, it } from 'vitest';
import { applyPlacement } from '../../pool/delegated/applyPlacement.js';
import { DelegatedPool } from '../../pool/delegated/delegatedPool.js';
import type { NodeUsage, Placement, PlacedEni, PlacementSource } from '../../pool/delegated/placement.js';
import { MemoryPoolStore, type EniRecord, type IpRecord } from '../../pool/store.js';
import { PoolError, podKeyOf } from '../../pool/types.js';
import { FakeClock } from '../support/clock.js';
import { numberedPod } from '../support/pods.js';

const NOW = 1_000_000;

function eni(id: string, ips: [string, Placement['enis'][number]['ips'][number]['status']][], over: Partial<PlacedEni> = {}): PlacedEni {
  return {
    eniId: id,
    mac: `00:16:3e:00:00:${id.slice(-2)}`,
    primary: false,
    vSwitchId: 'vsw-1',
    vSwitchCidr: '10.0.0.0/24',
    primaryIp: `10.0.0.${id.slice(-2)}`,
    state: 'inuse',
    ips: ips.map(([ip, status]) => ({ ip, status })),
    ...over,
  };
}

const eniRec = (id: string, over: Partial<EniRecord> = {}): EniRecord => ({
  eniId: id,
  mac: `00:16:3e:00:00:${id.slice(-2)}`,
  vSwitchId: 'vsw-1',
  vSwitchCidr: '10.0.0.0/24',
  gateway: '10.0.0.253',
  primary: false,
  createdByUs: true,
  state: 'inuse',
  createdAt: 1,
  primaryIp: `10.0.0.${id.slice(-2)}`,
  ...over,
});
const ipRec = (ip: string, eniId: string, state: IpRecord['state'], over: Partial<IpRecord> = {}): IpRecord => ({
  ip,
  eniId,
  state,
  since: 1,
  ...over,
});

function apply(records: { enis: EniRecord[]; ips: IpRecord[] }, placement: Placement) {
  return applyPlacement({
    now: NOW,
    enis: new Map(records.enis.map((e) => [e.eniId, e])),
    ips: new Map(records.ips.map((i) => [i.ip, i])),
    placement,
  });
}

describe('applyPlacement (pure)', () => {
  it('new valid IPs on a usable ENI become free; an attaching ENI is recorded but not usable', () => {
    const { ops, findings } = apply(
      { enis: [], ips: [] },
      { enis: [eni('eni-11', [['10.0.0.1', 'valid']]), eni('eni-12', [['10.0.0.2', 'valid']], { state: 'attaching' })] },
    );
    expect(ops).toContainEqual({ op: 'putIp', ip: { ip: '10.0.0.1', eniId: 'eni-11', state: 'free', since: NOW } });
    expect(ops).toContainEqual(
      expect.objectContaining({
        op: 'putEni',
        eni: expect.objectContaining({ eniId: 'eni-12', state: 'attaching', gateway: '10.0.0.253' }),
      }),
    );
    expect(findings.filter((f) => f.kind === 'eniAdded')).toHaveLength(2);
  });

  it('reclaiming: a free IP is given up (releasing), a held, cooling or reserved one stays as it is', () => {
    const recs = {
      enis: [eniRec('eni-11')],
      ips: [
        ipRec('10.0.0.1', 'eni-11', 'free'),
        ipRec('10.0.0.2', 'eni-11', 'assigned', { podKey: 'c1/eth0/terway' }),
        ipRec('10.0.0.3', 'eni-11', 'cooling', { until: 9 }),
        ipRec('10.0.0.4', 'eni-11', 'reserved', { reservedFor: 'default/web-0', until: 9 }),
      ],
    };
    const { ops, findings } = apply(recs, {
      enis: [
        eni('eni-11', [
          ['10.0.0.1', 'reclaiming'],
          ['10.0.0.2', 'reclaiming'],
          ['10.0.0.3', 'reclaiming'],
          ['10.0.0.4', 'reclaiming'],
        ]),
      ],
    });
    expect(ops).toEqual([{ op: 'putIp', ip: { ip: '10.0.0.1', eniId: 'eni-11', state: 'releasing', since: NOW } }]);
    expect(findings).toEqual([{ kind: 'released', ip: '10.0.0.1' }]);
  });

  it('an IP gone from the placement (or invalid) is dropped unless a pod holds it: that one is flagged and kept with its ENI', () => {
    const recs = {
      enis: [eniRec('eni-11'), eniRec('eni-12')],
      ips: [
        ipRec('10.0.0.1', 'eni-11', 'free'),
        ipRec('10.0.0.2', 'eni-11', 'assigned', { podKey: 'c2/eth0/terway' }),
        ipRec('10.0.0.3', 'eni-12', 'assigned', { podKey: 'c3/eth0/terway' }),
        ipRec('10.0.0.4', 'eni-12', 'releasing'),
      ],
    };
    const { ops, findings } = apply(recs, { enis: [eni('eni-11', [['10.0.0.2', 'invalid']])] });
    expect(ops).toContainEqual({ op: 'deleteIp', ip: '10.0.0.1' });
    expect(ops).toContainEqual({ op: 'putIp', ip: expect.objectContaining({ ip: '10.0.0.2', state: 'assigned', missingInCloud: true }) });
    expect(ops).toContainEqual({ op: 'putIp', ip: expect.objectContaining({ ip: '10.0.0.3', state: 'assigned', missingInCloud: true }) });
    expect(ops).toContainEqual({ op: 'deleteIp', ip: '10.0.0.4' });
    // eni-12 still carries a pod: frozen, not deleted.
    expect(ops).toContainEqual({ op: 'putEni', eni: expect.objectContaining({ eniId: 'eni-12', state: 'deleting' }) });
    expect(ops.some((o) => o.op === 'deleteEni')).toBe(false);
    expect(findings.filter((f) => f.kind === 'ipMissing').map((f) => (f.kind === 'ipMissing' ? f.ip : ''))).toEqual([
      '10.0.0.2',
      '10.0.0.3',
    ]);
  });

  it('an ENI gone with nothing held goes; a deleting IP still held here is reported as a breach, never taken', () => {
    const recs = {
      enis: [eniRec('eni-11'), eniRec('eni-12')],
      ips: [ipRec('10.0.0.1', 'eni-11', 'assigned', { podKey: 'c1/eth0/terway' }), ipRec('10.0.0.2', 'eni-12', 'free')],
    };
    const { ops, findings } = apply(recs, { enis: [eni('eni-11', [['10.0.0.1', 'deleting']])] });
    expect(ops).toContainEqual({ op: 'deleteEni', eniId: 'eni-12' });
    expect(ops.some((o) => o.op === 'putIp' && o.ip.ip === '10.0.0.1')).toBe(false);
    expect(findings).toContainEqual({ kind: 'deletingHeld', ip: '10.0.0.1', podKey: 'c1/eth0/terway' });
    expect(findings).toContainEqual({ kind: 'eniRemoved', eniId: 'eni-12' });
  });

  it("an ENI's own primary address is a pod address: free when placed; given back for its ENI's deletion and placed valid again (the ENI stays), free again; eth0 gets none", () => {
    const own = '10.0.0.11';
    const placed = apply(
      { enis: [], ips: [] },
      {
        enis: [
          eni('eni-11', [
            [own, 'valid'],
            ['10.0.0.1', 'valid'],
          ]),
          eni('eni-00', [['10.0.1.5', 'valid']], { primary: true }),
        ],
      },
    );
    expect(placed.ops).toContainEqual({ op: 'putIp', ip: { ip: own, eniId: 'eni-11', state: 'free', since: NOW } });
    expect(placed.ops.some((o) => o.op === 'putIp' && o.ip.ip === '10.0.1.5')).toBe(false);

    const recs = { enis: [eniRec('eni-11')], ips: [ipRec(own, 'eni-11', 'releasing'), ipRec('10.0.0.1', 'eni-11', 'releasing')] };
    const back = apply(recs, {
      enis: [
        eni('eni-11', [
          [own, 'valid'],
          ['10.0.0.1', 'valid'],
        ]),
      ],
    });
    // Never unassigned, so no call can have taken it: free again. A secondary IP given back stays given back.
    expect(back.ops).toEqual([{ op: 'putIp', ip: { ip: own, eniId: 'eni-11', state: 'free', since: NOW } }]);
    expect(back.findings).toContainEqual({ kind: 'returned', ip: own });
    // Not while its ENI is on its way out.
    const leaving = apply(recs, { enis: [eni('eni-11', [[own, 'valid']], { state: 'deleting' })] });
    expect(leaving.ops.some((o) => o.op === 'putIp' && o.ip.ip === own)).toBe(false);
  });
});

/** A placement source driven by the test: it records the usage reports. */
class TestSource implements PlacementSource {
  onPlacement?: (p: Placement) => void;
  usage?: () => NodeUsage;
  reports = 0;
  start(onPlacement: (p: Placement) => void, usage: () => NodeUsage): void {
    this.onPlacement = onPlacement;
    this.usage = usage;
  }
  usageChanged(): void {
    this.reports++;
  }
  async stop(): Promise<void> {}
  place(p: Placement): void {
    this.onPlacement!(p);
  }
}

async function rig(store = new MemoryPoolStore()) {
  const source = new TestSource();
  const clock = new FakeClock(NOW);
  const pool = new DelegatedPool({ store, source, clock, timers: false, config: { ipCooldownMs: 1000 } });
  await pool.start();
  return { source, clock, pool, store };
}

describe('DelegatedPool', () => {
  it('waits for the controller: the waiting count is reported, and placed IPs serve the waiters oldest first', async () => {
    const { source, pool } = await rig();
    const a = pool.allocate(numberedPod(1));
    const b = pool.allocate(numberedPod(2));
    await new Promise((r) => setImmediate(r));
    expect(source.usage!().waitingPods).toBe(2);
    expect(source.usage!().waitingSince).toBe(NOW);
    source.place({ enis: [eni('eni-11', [['10.0.0.1', 'valid']])] });
    expect((await a).ip).toBe('10.0.0.1');
    expect(source.usage!()).toMatchObject({ waitingPods: 1, ips: new Map([['10.0.0.1', { use: 'assigned', podId: 'default/pod-1' }]]) });
    source.place({
      enis: [
        eni('eni-11', [
          ['10.0.0.1', 'valid'],
          ['10.0.0.2', 'valid'],
        ]),
      ],
    });
    expect((await b).ip).toBe('10.0.0.2');
    expect(source.usage!().waitingPods).toBe(0);
  });

  it("hands out a secondary ENI's own primary address first (it cannot be reclaimed alone), never an address of eth0", async () => {
    const { source, pool } = await rig();
    source.place({
      enis: [
        eni('eni-11', [
          ['10.0.0.1', 'valid'],
          ['10.0.0.11', 'valid'],
        ]),
        eni('eni-00', [['10.0.1.5', 'valid']], { primary: true }),
      ],
    });
    expect((await pool.allocate(numberedPod(1))).ip).toBe('10.0.0.11');
    expect((await pool.allocate(numberedPod(2))).ip).toBe('10.0.0.1');
    await expect(pool.allocate(numberedPod(3), { deadlineMs: 50 })).rejects.toMatchObject({ reason: 'Timeout' });
    expect(pool.stats()).toMatchObject({ assigned: 2, free: 0 });
  });

  it('never hands out an IP of an attaching ENI, nor one it gave back', async () => {
    const { source, pool } = await rig();
    source.place({ enis: [eni('eni-11', [['10.0.0.1', 'valid']], { state: 'attaching' }), eni('eni-12', [['10.0.0.2', 'reclaiming']])] });
    const p = pool.allocate(numberedPod(1), { deadlineMs: 50 });
    await expect(p).rejects.toMatchObject({ reason: 'Timeout' });
    expect(source.usage!().ips.get('10.0.0.2')).toEqual({ use: 'released' });
  });

  it('a released IP cools before reuse and the cooling is reported; a stateful pod gets its reserved IP back', async () => {
    const { source, pool, clock } = await rig();
    source.place({ enis: [eni('eni-11', [['10.0.0.1', 'valid']])] });
    const first = await pool.allocate(numberedPod(1, { stateful: true, name: 'web-0' }));
    await pool.release(first.podKey);
    expect(source.usage!().ips.get('10.0.0.1')).toEqual({ use: 'reserved', podId: 'default/web-0' });
    const again = await pool.allocate(numberedPod(2, { stateful: true, name: 'web-0' }));
    expect(again.ip).toBe('10.0.0.1');
    await pool.release(again.podKey);
    clock.advance(10 * 60_000);
    await pool.tick();
    expect(source.usage!().ips.has('10.0.0.1')).toBe(false);
  });

  it('an exhausted node (blocked by the controller) fails waiting requests at once with the cloud code', async () => {
    const { source, pool } = await rig();
    const p = pool.allocate(numberedPod(1));
    await new Promise((r) => setImmediate(r));
    source.place({ enis: [], blocked: { code: 'EniPerInstanceLimitExceeded', message: 'instance ENI limit reached' } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err).toMatchObject({ reason: 'Exhausted', cloudCode: 'EniPerInstanceLimitExceeded' });
  });

  it('restarted with no placement (the API server is down), it serves the free IPs its DB holds and keeps its pods', async () => {
    const first = await rig();
    first.source.place({
      enis: [
        eni('eni-11', [
          ['10.0.0.1', 'valid'],
          ['10.0.0.2', 'valid'],
        ]),
      ],
    });
    const held = await first.pool.allocate(numberedPod(1));
    await first.pool.stop();

    const second = await rig(first.store);
    expect(second.pool.placements).toBe(0);
    expect(second.pool.get(podKeyOf(numberedPod(1)))?.ip).toBe(held.ip);
    const next = await second.pool.allocate(numberedPod(2));
    expect(next.ip).not.toBe(held.ip);
    expect(next.vSwitchCidr).toBe('10.0.0.0/24');
    expect(next.gateway).toBe('10.0.0.253');
  });
});
