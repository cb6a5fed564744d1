// Durable DEL with the real things: the built plugin as a runtime runs it, the daemon as a child process
// (daemon/main.ts) on its SQLite pod DB against the mock cloud, driver `none` (the kernel keeps no trace of a
// pod, so nothing but the record can tell the daemon about a DEL it missed).
//   ADD -> kill -9 -> DEL -> restart: the address is free when the daemon reports ready (no Kubernetes, no CNI GC).
//   Killed again in the middle of that drain: the next start finishes it, every address free once, none twice.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecordFileName } from '../../proto/pendingDel.js';
import { API_VERSION } from '../../proto/version.js';
import { NodeDaemon } from '../../sim/cluster/daemonProc.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ensurePluginBuilt, netConf, runPlugin } from '../cni/runPlugin.js';
import { MOCK_NODE } from '../support/mockCloud.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let mc: MockCloudHandle;
let daemon: NodeDaemon;
const dir = tempDir('ddel-');
const pendingDir = join(dir, 'pending-del');

const env = (id: string) => ({
  CNI_CONTAINERID: id,
  CNI_NETNS: `/var/run/netns/${id}`,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id}`,
});
const cni = (command: 'ADD' | 'DEL', id: string) =>
  runPlugin({ command, env: env(id), stdin: netConf(daemon.socketPath, { cniVersion: '1.0.0' }) });
const pod = (id: string) => ({
  k8sPodName: id,
  k8sPodNamespace: 'default',
  k8sPodInfraContainerId: id,
  netns: `/var/run/netns/${id}`,
  ifName: 'eth0',
  networkName: 'terway',
});
const records = () => (existsSync(pendingDir) ? readdirSync(pendingDir).filter(isRecordFileName) : []);
const held = async (id: string) => (await daemon.getIpInfo(pod(id))).found;
/** Log records of the daemon's latest start. */
const thisStart = () => {
  const all = daemon.logRecords();
  const i = all.map((r) => r.msg).lastIndexOf('starting');
  return all.slice(Math.max(0, i));
};

async function addAll(ids: string[]): Promise<Map<string, string>> {
  const ips = new Map<string, string>();
  for (const id of ids) {
    const r = await cni('ADD', id);
    expect(r.code, r.stdout).toBe(0);
    ips.set(id, String((r.json?.ips as { address: string }[])[0]!.address));
  }
  return ips;
}

beforeAll(async () => {
  await ensurePluginBuilt();
  mc = await startMockCloud({ attachDelayMs: 20 });
  // max_pool_size above the node's capacity: released addresses stay in the pool, where they can be counted.
  daemon = new NodeDaemon({
    instanceId: MOCK_NODE,
    dir,
    cloud: mc,
    minPoolSize: 0,
    maxPoolSize: 200,
    ipCooldown: '0s',
    extra: { driver: 'none', pending_del_interval: '200ms' },
  });
  await daemon.start({ waitWarm: false });
}, 60_000);

afterAll(async () => {
  await daemon?.kill('SIGTERM', 5_000);
  await mc?.close();
});

describe('durable DEL, real daemon and plugin', () => {
  it('ADD -> kill -9 -> DEL -> restart: the address is free when the daemon reports ready', async () => {
    const ips = await addAll(['keep', 'gone1', 'gone2']);
    await daemon.kill('SIGKILL');
    for (const id of ['gone1', 'gone2']) {
      const r = await cni('DEL', id);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/daemon unreachable.*release recorded/);
    }
    expect(records().sort()).toEqual(['gone1+eth0+terway.json', 'gone2+eth0+terway.json']);

    await daemon.start({ waitWarm: false }); // returns at the first Status that says ready
    expect(await held('gone1')).toBe(false);
    expect(await held('gone2')).toBe(false);
    expect(await held('keep')).toBe(true);
    const s = await daemon.status();
    expect(s.totalIps - s.freeIps).toBe(1);
    expect(records()).toEqual([]);
    // Applied before ready, not after.
    const msgs = thisStart().map((r) => r.msg);
    expect(msgs.filter((m) => m === 'pending DEL applied')).toHaveLength(2);
    expect(msgs.lastIndexOf('pending DEL applied')).toBeLessThan(msgs.indexOf('daemon ready'));
    // The freed addresses are the pool's again (still on this node in the cloud, held by nobody), each once.
    const onNode = new Set(
      mc
        .dump()
        .enis.filter((e) => e.instanceId === MOCK_NODE)
        .flatMap((e) => [e.primaryIp, ...e.secondaryIps]),
    );
    expect(onNode.has(ips.get('gone1')!.split('/')[0]!) && onNode.has(ips.get('gone2')!.split('/')[0]!)).toBe(true);
    expect(duplicatesInCloud()).toEqual([]);
    expect((await cni('DEL', 'keep')).code).toBe(0);
  }, 120_000);

  it('killed in the middle of the drain, the next start finishes it: every address free, none released twice', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `mid${i}`);
    await addAll(ids);
    await daemon.kill('SIGKILL');
    for (const id of ids) expect((await cni('DEL', id)).code).toBe(0);
    expect(records()).toHaveLength(ids.length);

    // Start, and SIGKILL as soon as the first record was applied.
    const appliedSoFar = () => daemon.logRecords().filter((r) => r.msg === 'pending DEL applied').length;
    const before = appliedSoFar();
    const starting = daemon.start({ waitWarm: false }).catch((e: Error) => e);
    await waitFor(() => appliedSoFar() > before, 'a first record applied', 30_000);
    await daemon.kill('SIGKILL');
    await starting;
    const left = records().length;
    console.log(`[durableDel] killed mid-drain: ${ids.length - left} of ${ids.length} records applied before SIGKILL`);

    await daemon.start({ waitWarm: false });
    expect(records()).toEqual([]);
    for (const id of ids) expect(await held(id), id).toBe(false);
    const s = await daemon.status();
    expect(s.freeIps).toBe(s.totalIps);
    expect(duplicatesInCloud()).toEqual([]);
    // The pool and the cloud agree on this node's addresses.
    // (The pool's addresses: every address of the node's secondary ENIs, each one's own primary included; eth0's are the node's.)
    const cloudCount = () =>
      mc
        .dump()
        .enis.filter((e) => e.instanceId === MOCK_NODE && e.type !== 'Primary')
        .reduce((n, e) => n + 1 + e.secondaryIps.length, 0);
    const poolCount = async () => (await daemon.status()).totalIps;
    await waitFor(async () => cloudCount() === (await poolCount()), 'the pool to own what the cloud shows on the node', 10_000);
    expect(cloudCount()).toBe(await poolCount());
    // Drain and start-up say what happened, once per record.
    const applied = daemon.logRecords().filter((r) => r.msg === 'pending DEL applied' && String(r.containerId).startsWith('mid'));
    expect(new Set(applied.map((r) => r.containerId)).size).toBe(ids.length);
  }, 180_000);

  it('a hung daemon: DEL gives up after del_wait_seconds, records, succeeds; the daemon, back, releases the address', async () => {
    await addAll(['hung1']);
    process.kill(daemon.pid!, 'SIGSTOP');
    let r;
    try {
      r = await runPlugin({
        command: 'DEL',
        env: env('hung1'),
        stdin: netConf(daemon.socketPath, { cniVersion: '1.0.0', del_wait_seconds: 1 }),
      });
    } finally {
      process.kill(daemon.pid!, 'SIGCONT');
    }
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/daemon did not answer within 1 s.*release recorded/);
    // Back: the queued ReleaseIP or the drain timer (pending_del_interval 200ms) releases it; the record goes.
    await waitFor(async () => !(await held('hung1')) && records().length === 0, 'hung1 released and its record gone', 20_000);
    const status = await daemon.backend().status({ apiVersion: API_VERSION }, 5_000);
    expect(status.ready).toBe(true);
    expect(status.freeIps).toBe(status.totalIps);
  }, 120_000);
});

/** Addresses the cloud shows on two ENIs at once (or twice on one). */
function duplicatesInCloud(): string[] {
  const seen = new Map<string, number>();
  for (const e of mc.dump().enis) for (const ip of [e.primaryIp, ...e.secondaryIps]) seen.set(ip, (seen.get(ip) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([ip]) => ip);
}
