// Durable DEL, the plugin's side: the record format and names (proto/pendingDel.ts), the writer (cni/pendingDel.ts)
// killed at every step, and the built plugin's DEL when the daemon is down, hung, stopping, or answers.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writePendingDel, type WriteStep } from '../../cni/pendingDel.js';
import {
  decodeRecord,
  encodeRecord,
  isRecordFileName,
  isTempFileName,
  MAX_PENDING_DEL_RECORDS,
  PENDING_DEL_FORMAT,
  recordFileName,
  type PendingDelRecord,
} from '../../proto/pendingDel.js';
import { RecordsDir } from '../../daemon/pendingDel/records.js';
import { tempDir } from '../support/tmp.js';
import { startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function rec(over: Partial<PendingDelRecord> = {}): PendingDelRecord {
  return {
    format: PENDING_DEL_FORMAT,
    containerId: 'c0ffee',
    ifName: 'eth0',
    networkName: 'terway',
    netns: '/var/run/netns/x',
    podNamespace: 'default',
    podName: 'web-0',
    time: 1_700_000_000_000,
    pluginVersion: 't',
    reason: 'test',
    ...over,
  };
}

describe('record names and format', () => {
  it('names a record after its pod key, one-to-one, and never like a temp file', () => {
    expect(recordFileName(rec())).toBe('c0ffee+eth0+terway.json');
    // The interface name is escaped: "a+b" in it cannot shift the separators.
    expect(recordFileName(rec({ ifName: 'e+th0' }))).toBe('c0ffee+e%2Bth0+terway.json');
    expect(recordFileName(rec({ containerId: 'c0ffee+eth0', ifName: 'x' }))).not.toBe(
      recordFileName(rec({ containerId: 'c0ffee', ifName: 'eth0+x' })),
    );
    const names = [
      rec(),
      rec({ ifName: 'eth1' }),
      rec({ networkName: 'other' }),
      rec({ containerId: 'c'.repeat(255) }),
      rec({ containerId: 'c'.repeat(255), ifName: 'eth1' }),
    ].map(recordFileName);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(isRecordFileName(n)).toBe(true);
      expect(isTempFileName(n)).toBe(false);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(200);
    }
  });

  it('decodes what it encodes, and refuses records that break a bound or the identity rules', () => {
    expect(decodeRecord(encodeRecord(rec()))).toEqual(rec());
    expect(decodeRecord('{')).toMatch(/not JSON/);
    expect(decodeRecord('[]')).toMatch(/not a JSON object/);
    expect(decodeRecord(JSON.stringify({ ...rec(), format: 2 }))).toMatch(/format/);
    expect(decodeRecord(JSON.stringify({ ...rec(), time: 'now' }))).toMatch(/time/);
    expect(decodeRecord(encodeRecord(rec({ containerId: '../etc' })))).toMatch(/containerId/);
    expect(decodeRecord(encodeRecord(rec({ ifName: 'a/b' })))).toMatch(/ifName/);
    expect(decodeRecord(encodeRecord(rec({ netns: 'relative' })))).toMatch(/netns/);
    expect(decodeRecord(encodeRecord(rec({ podName: 'a b' })))).toMatch(/podName/);
    expect(decodeRecord(encodeRecord(rec({ reason: 'x'.repeat(9000) })))).toMatch(/larger than 8192 bytes/);
  });
});

describe('writer', () => {
  it('writes the record 0600 in a 0700 directory it creates, leaves no temp file, and replaces the same key', () => {
    const dir = join(tempDir('pd-'), 'pending-del');
    const out = writePendingDel(dir, rec());
    expect(out).toEqual({ written: true, path: join(dir, 'c0ffee+eth0+terway.json') });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'c0ffee+eth0+terway.json')).mode & 0o777).toBe(0o600);
    writePendingDel(dir, rec({ time: 1_800_000_000_000 }));
    expect(readdirSync(dir)).toEqual(['c0ffee+eth0+terway.json']);
    expect(decodeRecord(readFileSync(join(dir, 'c0ffee+eth0+terway.json'), 'utf8'))).toMatchObject({ time: 1_800_000_000_000 });
  });

  it('writes nothing beyond the cap, but still replaces a record of the same key', () => {
    const dir = tempDir('pd-');
    for (let i = 0; i < 3; i++) writePendingDel(dir, rec({ containerId: `c${i}` }), { maxRecords: 3 });
    expect(writePendingDel(dir, rec({ containerId: 'c9' }), { maxRecords: 3 })).toEqual({ written: false, full: true, records: 3 });
    expect(writePendingDel(dir, rec({ containerId: 'c1', time: 1_800_000_000_000 }), { maxRecords: 3 })).toMatchObject({ written: true });
    expect(readdirSync(dir).sort()).toEqual(['c0+eth0+terway.json', 'c1+eth0+terway.json', 'c2+eth0+terway.json']);
  });

  // SIGKILL right after each step: a reader sees the whole record or none, and at most a temp file the daemon removes.
  const steps: (WriteStep | 'none')[] = ['dir-ready', 'temp-created', 'temp-written', 'temp-synced', 'renamed', 'dir-synced', 'none'];
  it.each(steps)('killed after %s: the whole record or none, never a partial one', async (step) => {
    const dir = join(tempDir('pd-kill-'), 'pending-del');
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      const c = spawn(process.execPath, ['--import', 'tsx', 'test/cni/fixtures/pendingWriter.ts', dir, 'crashpod', step], {
        cwd: ROOT,
        stdio: 'ignore',
      });
      c.once('exit', (code, signal) => res({ code, signal }));
    });
    expect(exit).toEqual(step === 'none' ? { code: 0, signal: null } : { code: null, signal: 'SIGKILL' });
    const names = existsSync(dir) ? readdirSync(dir) : [];
    const records = names.filter(isRecordFileName);
    const temps = names.filter(isTempFileName);
    expect(names.length).toBe(records.length + temps.length);
    const renamed = ['renamed', 'dir-synced', 'none'].includes(step);
    expect(records).toEqual(renamed ? ['crashpod+eth0+terway.json'] : []);
    expect(temps).toHaveLength(['temp-created', 'temp-written', 'temp-synced'].includes(step) ? 1 : 0);
    for (const r of records)
      expect(decodeRecord(readFileSync(join(dir, r), 'utf8'))).toMatchObject({ containerId: 'crashpod', time: 1_700_000_000_000 });
    // The daemon's side: the record reads whole; a dead writer's temp file goes once it is old.
    const d = new RecordsDir(dir);
    const listing = await d.list();
    expect(listing.records).toEqual(records);
    for (const r of listing.records) expect(await d.read(r)).toMatchObject({ record: { containerId: 'crashpod' } });
    expect(await d.removeOldTemps(listing.temps, 60_000, Date.now())).toEqual([]);
    expect(await d.removeOldTemps(listing.temps, 60_000, Date.now() + 61_000)).toEqual(temps);
    expect((await d.list()).temps).toEqual([]);
  });
});

describe('the built plugin: DEL when the daemon cannot take it', () => {
  let d: FakeDaemon;
  let pendingDir: string;
  beforeAll(async () => {
    await ensurePluginBuilt();
    d = await startFakeDaemon();
  });
  afterAll(async () => {
    await d?.stop();
  });
  beforeEach(() => {
    d.reset();
    pendingDir = join(tempDir('pd-plugin-'), 'pending-del');
  });
  const del = (socket: string, conf: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}) =>
    runPlugin({ command: 'DEL', env: podEnv(env), stdin: netConf(socket, { pending_del_dir: pendingDir, ...conf }) });
  const recordsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter(isRecordFileName) : []);
  const recordOf = () => decodeRecord(readFileSync(join(pendingDir, 'c0ffee0123456789+eth0+terway.json'), 'utf8')) as PendingDelRecord;

  it('daemon down: records the release with the pod identity, succeeds, and says so', async () => {
    const before = Date.now();
    const r = await del(join(tempDir('pd-none-'), 'absent.socket'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/daemon unreachable.*succeeding: release recorded in .*c0ffee0123456789\+eth0\+terway\.json/);
    expect(recordOf()).toMatchObject({
      containerId: 'c0ffee0123456789',
      ifName: 'eth0',
      networkName: 'terway',
      netns: '/var/run/netns/cni-test',
      podNamespace: 'default',
      podName: 'web-0',
    });
    expect(recordOf().time).toBeGreaterThanOrEqual(before);
    expect(recordOf().time).toBeLessThanOrEqual(Date.now());
    expect(statSync(pendingDir).mode & 0o777).toBe(0o700);
  });

  it('daemon hung: waits del_wait_seconds (not timeout_seconds), then records and succeeds', async () => {
    d.on('ReleaseIP', () => new Promise(() => undefined));
    const r = await del(d.socketPath, { timeout_seconds: 120, del_wait_seconds: 0.5 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/daemon did not answer within 0\.5 s.*release recorded/);
    expect(d.callsOf('ReleaseIP')[0]!.deadlineMs).toBeLessThanOrEqual(500);
    expect(recordOf()).toMatchObject({ containerId: 'c0ffee0123456789', reason: 'daemon did not answer within 0.5 s' });
  });

  it('waits at most 5 s by default, whatever timeout_seconds says', async () => {
    const r = await del(d.socketPath, { timeout_seconds: 120 });
    expect(r.code).toBe(0);
    const sent = d.callsOf('ReleaseIP')[0]!.deadlineMs;
    expect(sent).toBeLessThanOrEqual(5_000);
    expect(sent).toBeGreaterThan(2_000);
  });

  it('daemon shutting down: records and succeeds', async () => {
    d.on('ReleaseIP', () => ({ success: false, failureReason: 'SHUTTING_DOWN', message: 'stopping' }));
    const r = await del(d.socketPath);
    expect(r.code).toBe(0);
    expect(recordOf().reason).toMatch(/shutting down/);
  });

  it('daemon answered: nothing recorded, and a teardown failure still fails DEL for the runtime to retry', async () => {
    expect((await del(d.socketPath)).code).toBe(0);
    d.on('ReleaseIP', () => ({ success: false, failureReason: 'DRIVER_FAILED', message: 'cannot delete veth' }));
    const r = await del(d.socketPath);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102 });
    expect(recordsIn(pendingDir)).toEqual([]);
  });

  it('at the cap: succeeds without a record and says the release is left to the start-up check and GC', async () => {
    mkdirSync(pendingDir, { recursive: true, mode: 0o700 });
    for (let i = 0; i < MAX_PENDING_DEL_RECORDS; i++)
      writeFileSync(join(pendingDir, recordFileName(rec({ containerId: `other${i}` }))), encodeRecord(rec()));
    const r = await del(join(tempDir('pd-none-'), 'absent.socket'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/1024 pending-DEL records are waiting \(the cap\): not recorded/);
    expect(recordsIn(pendingDir)).toHaveLength(MAX_PENDING_DEL_RECORDS);
    expect(existsSync(join(pendingDir, 'c0ffee0123456789+eth0+terway.json'))).toBe(false);
  });

  it('a directory it cannot write: still succeeds, and says recording failed', async () => {
    const file = join(tempDir('pd-file-'), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await del(join(tempDir('pd-none-'), 'absent.socket'), { pending_del_dir: join(file, 'pending-del') });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/recording the release failed \(.*ENOTDIR/);
  });
});
