// Durable DEL, the daemon's side (daemon/pendingDel/): records drained through ReleaseIP's own logic, a record
// older than the pod key's allocation left alone, malformed records and old temp files removed, a failed
// teardown kept for the next pass, AllocIP of a key with a record applying it first, and a drain stopped at
// every step (the process killed there) finishing on the next one with the same outcome.
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePendingDel } from '../../cni/pendingDel.js';
import { EniMultiIpService } from '../../daemon/modes/eniMultiIp.js';
import { PendingDels, recordAction, type DrainStep } from '../../daemon/pendingDel/index.js';
import { podKeyOf, type PodRef } from '../../pool/types.js';
import { encodeRecord, PENDING_DEL_FORMAT, recordFileName, type PendingDelRecord } from '../../proto/pendingDel.js';
import { FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

const pod = (id: string): PodRef => ({
  namespace: 'default',
  name: `web-${id}`,
  containerId: id,
  ifName: 'eth0',
  networkName: 'terway',
  netns: `/var/run/netns/${id}`,
});

function recordOf(p: PodRef, time: number, over: Partial<PendingDelRecord> = {}): PendingDelRecord {
  return {
    format: PENDING_DEL_FORMAT,
    containerId: p.containerId,
    ifName: p.ifName,
    networkName: p.networkName,
    netns: p.netns ?? '',
    podNamespace: p.namespace,
    podName: p.name,
    time,
    pluginVersion: 't',
    reason: 'daemon unreachable (test)',
    ...over,
  };
}

/** A node: the fake pool, the ENIMultiIP service over a fake driver, and the records wrapper (state survives "restarts"). */
function node(dir = join(tempDir('pd-d-'), 'pending-del')) {
  const allocator = new FakeAllocator(['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13', '10.0.1.14', '10.0.1.15']);
  const driver = new FakeDriver();
  const log = captureLog();
  const make = (onStep?: (step: DrainStep, name: string) => void) => {
    const inner = new EniMultiIpService({ allocator, driver, mtu: 1500, logger: log.logger });
    return new PendingDels({ dir, inner, allocation: (k) => allocator.get(k), logger: log.logger, onStep });
  };
  return { dir, allocator, driver, log, make };
}

describe('recordAction', () => {
  it.each([
    ['no allocation: release (teardown of anything left)', undefined, 'release'],
    ['allocated before the DEL was recorded', { allocatedAt: 999 }, 'release'],
    ['allocated in the same ms', { allocatedAt: 1000 }, 'release'],
    ['allocated after it: a later ADD of the same key', { allocatedAt: 1001 }, 'superseded'],
  ] as const)('%s', (_what, alloc, want) => {
    expect(recordAction({ time: 1000 }, alloc)).toBe(want);
  });
});

describe('drain', () => {
  it('creates the directory 0700, applies each record through ReleaseIP (teardown in its netns), then removes it', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    expect(statSync(n.dir).mode & 0o777).toBe(0o700);
    await svc.allocIp(pod('a1'), { deadlineMs: 1000 });
    await svc.allocIp(pod('a2'), { deadlineMs: 1000 });
    writePendingDel(n.dir, recordOf(pod('a1'), Date.now()));
    const report = await svc.drain();
    expect(report.released).toEqual(['a1+eth0+terway.json']);
    expect(n.allocator.get(podKeyOf(pod('a1')))).toBeUndefined();
    expect(n.allocator.get(podKeyOf(pod('a2')))).toBeDefined();
    expect(n.driver.teardowns.at(-1)).toMatchObject({ containerId: 'a1', netnsPath: '/var/run/netns/a1', ip: '10.0.1.10' });
    expect(readdirSync(n.dir)).toEqual([]);
    expect(n.log.lines().some((l) => l.msg === 'pending DEL applied' && l.containerId === 'a1' && l.releasedIp === '10.0.1.10')).toBe(true);
    // Again: nothing left, nothing done.
    expect(await svc.drain()).toMatchObject({ released: [], superseded: [], failed: [] });
  });

  it('leaves an allocation made after the record alone (the pod key ADDed again) and removes the record', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    const t = Date.now();
    await svc.allocIp(pod('b1'), { deadlineMs: 1000 });
    writePendingDel(n.dir, recordOf(pod('b1'), t - 60_000));
    expect((await svc.drain()).superseded).toEqual(['b1+eth0+terway.json']);
    expect(n.allocator.get(podKeyOf(pod('b1')))?.ip).toBe('10.0.1.10');
    expect(readdirSync(n.dir)).toEqual([]);
  });

  it('removes malformed records (bad JSON, a bad identity, another key under the name, too big, a symlink) and old temp files', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    writeFileSync(join(n.dir, 'junk+eth0+terway.json'), '{');
    writeFileSync(join(n.dir, 'bad+eth0+terway.json'), encodeRecord(recordOf({ ...pod('bad'), netns: 'relative' }, 1)));
    writeFileSync(join(n.dir, 'other+eth0+terway.json'), encodeRecord(recordOf(pod('c1'), 1)));
    writeFileSync(join(n.dir, 'big+eth0+terway.json'), 'x'.repeat(9000));
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/etc/hostname', join(n.dir, 'link+eth0+terway.json'));
    writeFileSync(join(n.dir, '.dead+eth0+terway.json.tmp-1-abc'), '{"format":1');
    writeFileSync(join(n.dir, '.live+eth0+terway.json.tmp-2-abc'), '{"format":1');
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(join(n.dir, '.dead+eth0+terway.json.tmp-1-abc'), old, old);
    const report = await svc.drain();
    expect(report.malformed.sort()).toEqual([
      'bad+eth0+terway.json',
      'big+eth0+terway.json',
      'junk+eth0+terway.json',
      'link+eth0+terway.json',
      'other+eth0+terway.json',
    ]);
    expect(report.tempsRemoved).toBe(1);
    expect(readdirSync(n.dir)).toEqual(['.live+eth0+terway.json.tmp-2-abc']);
    expect(n.allocator.releaseCalls).toBe(0);
  });

  it('keeps the record when the teardown fails, and applies it on a later pass', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    await svc.allocIp(pod('d1'), { deadlineMs: 1000 });
    writePendingDel(n.dir, recordOf(pod('d1'), Date.now()));
    n.driver.failTeardown = 'EBUSY';
    expect((await svc.drain()).failed).toEqual(['d1+eth0+terway.json']);
    expect(n.allocator.get(podKeyOf(pod('d1')))).toBeDefined();
    expect(existsSync(join(n.dir, 'd1+eth0+terway.json'))).toBe(true);
    n.driver.failTeardown = undefined;
    expect((await svc.drain()).released).toEqual(['d1+eth0+terway.json']);
    expect(n.allocator.get(podKeyOf(pod('d1')))).toBeUndefined();
  });

  it('reads a bounded number of names per pass', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    for (let i = 0; i < 5; i++) writePendingDel(n.dir, recordOf(pod(`e${i}`), Date.now()));
    const { RecordsDir } = await import('../../daemon/pendingDel/records.js');
    const listing = await new RecordsDir(n.dir).list(3);
    expect(listing.records).toHaveLength(3);
    expect(listing.truncated).toBe(true);
  });
});

describe('calls of a pod key with a record', () => {
  it('AllocIP applies the recorded DEL first: the ADD after it gets a fresh allocation, which the record can no longer release', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    const first = await svc.allocIp(pod('f1'), { deadlineMs: 1000 });
    // DEL while the daemon was hung: recorded; then the runtime ADDs the same pod key (podman restart).
    writePendingDel(n.dir, recordOf(pod('f1'), Date.now()));
    const second = await svc.allocIp(pod('f1'), { deadlineMs: 1000 });
    expect(existsSync(join(n.dir, 'f1+eth0+terway.json'))).toBe(false);
    expect(n.allocator.releaseCalls).toBe(1);
    expect(n.driver.setups).toHaveLength(2); // wired again, not answered from the first ADD
    expect(second.ips[0]!.address).not.toBe(first.ips[0]!.address);
    expect((await svc.drain()).released).toEqual([]);
    expect(n.allocator.get(podKeyOf(pod('f1')))).toBeDefined();
  });

  it('AllocIP fails (for the runtime to retry) when the recorded DEL cannot be applied yet', async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    await svc.allocIp(pod('g1'), { deadlineMs: 1000 });
    writePendingDel(n.dir, recordOf(pod('g1'), Date.now()));
    n.driver.failTeardown = 'EBUSY';
    await expect(svc.allocIp(pod('g1'), { deadlineMs: 1000 })).rejects.toMatchObject({ reason: 'DRIVER_FAILED' });
    expect(existsSync(join(n.dir, 'g1+eth0+terway.json'))).toBe(true);
  });

  it("a ReleaseIP that gets through removes the key's record", async () => {
    const n = node();
    const svc = n.make();
    await svc.start();
    await svc.allocIp(pod('h1'), { deadlineMs: 1000 });
    writePendingDel(n.dir, recordOf(pod('h1'), Date.now()));
    await svc.releaseIp(pod('h1'), 'cni DEL');
    expect(readdirSync(n.dir)).toEqual([]);
    expect(n.allocator.releaseCalls).toBe(1);
  });
});

describe('a drain killed at every step finishes on the next one', () => {
  const steps: DrainStep[] = ['read', 'released', 'removed'];
  it.each(steps)('stopped after %s', async (step) => {
    const n = node();
    const pods = ['k1', 'k2', 'k3'].map(pod);
    let svc = n.make();
    await svc.start();
    for (const p of pods) await svc.allocIp(p, { deadlineMs: 1000 });
    for (const p of pods) writePendingDel(n.dir, recordOf(p, Date.now()));
    // The process dies right after `step` of the second record: nothing after it runs.
    class Died extends Error {}
    svc = n.make((s, name) => {
      if (s === step && name === recordFileName(pods[1]!)) throw new Died(step);
    });
    await svc.start();
    await expect(svc.drain()).rejects.toBeInstanceOf(Died);
    // A new daemon on the same pod DB and directory.
    svc = n.make();
    await svc.start();
    await svc.drain();
    for (const p of pods) expect(n.allocator.get(podKeyOf(p)), p.containerId).toBeUndefined();
    expect(readdirSync(n.dir)).toEqual([]);
    // Each IP went back once: a release applied twice found nothing the second time.
    expect(n.allocator.releaseCalls).toBe(3);
    expect(new Set(n.driver.teardowns.map((t) => t.ip).filter(Boolean)).size).toBe(3);
  });
});

describe('the directory', () => {
  it('one it cannot make does not stop the daemon: logged, the service starts, drains find nothing', async () => {
    const file = join(tempDir('pd-f-'), 'file');
    writeFileSync(file, 'x');
    const n = node(join(file, 'pending-del'));
    const svc = n.make();
    await svc.start();
    expect(
      n.log.lines().some((l) => l.msg === 'pending-DEL directory unusable: recorded DELs cannot be applied' && l.errno === 'ENOTDIR'),
    ).toBe(true);
    await expect(svc.drain()).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect((await svc.allocIp(pod('z1'), { deadlineMs: 1000 })).ips).toHaveLength(1);
  });

  it('is made 0700 again when it exists with a wider mode', async () => {
    const n = node();
    mkdirSync(n.dir, { recursive: true });
    chmodSync(n.dir, 0o777);
    await n.make().start();
    expect(statSync(n.dir).mode & 0o777).toBe(0o700);
  });
});
