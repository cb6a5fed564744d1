// Introspection end to end: the real daemon (startDaemon in-process) against the mock cloud, the
// /v1/* endpoints on a unix-socket metrics listener, and eni-ipam-cli reading them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { ecsClient, $ecs } from '../../sim/mockcloud/sdk.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { MappingReport, PodView, PoolView } from '../../daemon/introspect.js';
import { getJson } from '../../cli/client.js';
import { runCli } from '../../cli/run.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const NODE = 'i-mock-node-1';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
  return { code, out, err };
}

describe('introspection endpoints + eni-ipam-cli', () => {
  let mock: MockCloudHandle;
  let dir: string;
  let sock: string;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  const log = captureLog();
  const get = async <T>(path: string): Promise<T> => {
    const r = await getJson({ kind: 'unix', path: sock }, path);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as T;
  };
  const call = (method: string, req: unknown) => client!.call<Record<string, any>>(method, req, 30_000);

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10 });
    dir = tempDir('eni-cli-');
    sock = join(dir, 'introspect.sock');
    const config = mockCloudConfig(
      mock,
      dir,
      {
        min_pool_size: 4,
        max_pool_size: 8,
        ip_cooldown: '0s',
        metrics_listen: sock,
      },
      NODE,
    );
    handle = await startDaemon(config, { logger: log.logger });
    client = connect(handle.socketPath);
    await Promise.all(['cli-a', 'cli-b', 'cli-c'].map((c) => call('AllocIP', { pod: podMsg(c), api_version: API_VERSION })));
    // Let the pool settle (refill to min_pool_size) so the cloud and the pool hold the same IPs.
    await waitFor(
      () => handle!.allocator.stats().free >= 4 && mock.dump().enis.every((e) => e.status !== 'Attaching'),
      'pool settled',
      20_000,
    );
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  it('GET /v1/pods lists the allocations; ?pod= filters', async () => {
    const { pods } = await get<{ pods: PodView[] }>('/v1/pods');
    expect(pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(['default/pod-cli-a', 'default/pod-cli-b', 'default/pod-cli-c']);
    const byKey = new Map(handle!.allocator.list().map((a) => [a.podKey, a]));
    const dump = mock.dump();
    for (const p of pods) {
      const a = byKey.get(p.podKey)!;
      expect(p).toMatchObject({ containerId: a.containerId, ifName: 'eth0', ip: a.ip, eniId: a.eniId, eniMac: a.eniMac });
      expect(Date.parse(p.allocatedAt)).toBe(a.allocatedAt);
      const eni = dump.enis.find((e) => e.eniId === p.eniId)!;
      expect(eni.type).toBe('Secondary');
      expect([eni.primaryIp, ...eni.secondaryIps]).toContain(p.ip);
    }
    const one = await get<{ pods: PodView[] }>('/v1/pods?pod=default/pod-cli-b');
    expect(one.pods.map((p) => p.containerId)).toEqual(['cli-b']);
    expect((await get<{ pods: PodView[] }>('/v1/pods?pod=other/pod-cli-b')).pods).toEqual([]);
  });

  it('GET /v1/pool has the stats and per-ENI IPs by state, matching the cloud', async () => {
    const pool = await get<PoolView>('/v1/pool');
    expect(pool).toMatchObject({ mode: 'ENIMultiIP', instanceId: NODE, source: 'pool' });
    expect(pool.stats).toEqual(JSON.parse(JSON.stringify(handle!.allocator.stats())));
    expect(pool.stats.assigned).toBe(3);
    const dump = mock.dump();
    // eth0 is the node's: the pool holds secondary ENIs only, every address of each (its own primary included)
    expect(pool.enis.some((e) => e.primary)).toBe(false);
    for (const e of pool.enis) {
      const cloudEni = dump.enis.find((c) => c.eniId === e.eniId)!;
      expect(cloudEni.type).toBe('Secondary');
      expect(e.mac).toBe(cloudEni.mac);
      const held = Object.values(e.ips).flat().sort();
      expect(held).toEqual([cloudEni.primaryIp, ...cloudEni.secondaryIps].sort());
    }
    const assigned = pool.enis.flatMap((e) => e.ips.assigned);
    expect(assigned.sort()).toEqual(
      handle!.allocator
        .list()
        .map((a) => a.ip)
        .sort(),
    );
    const a = handle!.allocator.list()[0]!;
    const eni = pool.enis.find((e) => e.eniId === a.eniId)!;
    expect(eni.assignedTo[a.ip]).toBe(a.podKey);
    expect(pool.enis.reduce((n, e) => n + e.ips.free.length, 0)).toBe(pool.stats.free);
  });

  it('GET /v1/config is the redacted config', async () => {
    const c = await get<Record<string, unknown>>('/v1/config');
    expect(c['accessKey']).toBe('<redacted>');
    expect(c['accessSecret']).toBe('<redacted>');
    expect(c['minPoolSize']).toBe(4);
    const raw = JSON.stringify(c);
    expect(raw).not.toContain(mock.accessKeySecret);
    expect(raw).not.toContain(mock.accessKeyId);
  });

  it('unknown /v1 path: 404; /metrics and /healthz still served on the same socket', async () => {
    expect((await getJson({ kind: 'unix', path: sock }, '/v1/nope')).status).toBe(404);
    const text = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ socketPath: sock, path }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    const metrics = await text('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/eniipam_pool_ips\{state="assigned"\} 3/);
    expect(await text('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('GET /v1/mapping is ok when the pod DB, the pool and the cloud agree', async () => {
    const before = mock.counters()['DescribeNetworkInterfaces'] ?? 0;
    const m = await get<MappingReport>('/v1/mapping');
    expect(mock.counters()['DescribeNetworkInterfaces'] ?? 0).toBe(before + 1);
    expect(m.ok, JSON.stringify(m, null, 1)).toBe(true);
    expect(m.cloudChecked).toBe(true);
    expect(m.rows).toHaveLength(3);
    expect(m.rows.every((r) => r.pool === 'assigned' && r.cloud === 'ok' && r.db)).toBe(true);
    expect(m.counts).toMatchObject({ pods: 3, dbPods: 3 });
    const r = await cli(['--addr', `unix:${sock}`, 'mapping']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('OK: pod DB, pool and cloud agree.');
  });

  it('CLI tables list the pods and the pool', async () => {
    const pods = await cli(['--addr', `unix:${sock}`, 'pods']);
    expect(pods.code, pods.err).toBe(0);
    const lines = pods.out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+CONTAINER\s+IFNAME\s+IP\s+ENI\s+MAC\s+AGE$/);
    for (const a of handle!.allocator.list()) {
      expect(lines.some((l) => l.includes(a.name) && l.includes(a.ip) && l.includes(a.eniId))).toBe(true);
    }
    const pool = await cli(['--addr', sock, 'pool']);
    expect(pool.code).toBe(0);
    expect(pool.out).toMatch(/assigned 3/);
    for (const a of handle!.allocator.list())
      expect(pool.out).toMatch(new RegExp(`${a.ip.replaceAll('.', '\\.')}\\s+${a.eniId}\\s+assigned\\s+${a.podKey}`));
    const json = await cli(['--addr', `unix:${sock}`, 'pods', '--json', '--pod', 'default/pod-cli-a']);
    expect((JSON.parse(json.out) as { pods: PodView[] }).pods.map((p) => p.name)).toEqual(['pod-cli-a']);
  });

  it('CLI finds the address in the eni_conf file; refuses without one', async () => {
    const conf = join(dir, 'eni_conf.json');
    writeFileSync(conf, JSON.stringify({ metrics_listen: sock }));
    const r = await cli(['--config', conf, 'pods']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('pod-cli-c');
    const none = await cli(['pods']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--addr/);
    const noListen = join(dir, 'eni_conf2.json');
    writeFileSync(noListen, JSON.stringify({ max_pool_size: 5 }));
    expect((await cli(['--config', noListen, 'pods'])).err).toMatch(/metrics_listen is not set/);
    const dead = await cli(['--addr', join(dir, 'nobody.sock'), 'pods']);
    expect(dead.code).toBe(2);
    expect(dead.err).toMatch(/cannot reach the daemon/);
  });

  it('max-pods: this node from its daemon, another instance type via the daemon or the cloud, in a mode', async () => {
    const own = await cli(['--addr', `unix:${sock}`, 'max-pods']);
    expect(own).toMatchObject({ code: 0, out: '140\n' }); // ecs.g7.4xlarge: (8 − 1) × 20
    const json = JSON.parse((await cli(['--addr', `unix:${sock}`, 'max-pods', '--json'])).out);
    expect(json).toEqual({
      mode: 'ENIMultiIP',
      pods: 140,
      explain: '140 pods = (8 ENIs − 1) × 20 IPs (ecs.g7.4xlarge)',
      instanceType: 'ecs.g7.4xlarge',
      scope: 'node',
    });
    // the daemon asks the cloud for a type it does not run on
    expect((await cli(['--addr', `unix:${sock}`, 'max-pods', '--instance-type', 'ecs.g7.large'])).out).toBe('12\n');
    expect((await cli(['--addr', `unix:${sock}`, 'max-pods', '-t', 'ecs.g7.large', '--mode', 'VPCENI'])).out).toBe('2\n');
    // with credentials in --config the CLI asks the cloud itself (no daemon needed)
    const conf = join(dir, 'eni_conf_cloud.json');
    writeFileSync(
      conf,
      JSON.stringify({
        access_key: mock.accessKeyId,
        access_secret: mock.accessKeySecret,
        cloud_endpoint: mock.url,
        region_id: mock.regionId,
      }),
    );
    const before = mock.counters()['DescribeInstanceTypes'] ?? 0;
    const direct = await cli(['--config', conf, 'max-pods', '--instance-type', 'ecs.g7.xlarge', '--json']);
    expect(direct.code, direct.err).toBe(0);
    expect(JSON.parse(direct.out)).toMatchObject({
      pods: 45,
      explain: '45 pods = (4 ENIs − 1) × 15 IPs (ecs.g7.xlarge)',
      scope: 'instanceType',
    });
    expect(mock.counters()['DescribeInstanceTypes'] ?? 0).toBe(before + 1);
    // usage errors and cloud errors
    expect((await cli(['--addr', `unix:${sock}`, 'max-pods', '--mode', 'VPCENI'])).code).toBe(2);
    expect((await cli(['--addr', `unix:${sock}`, 'max-pods', '-t', 'ecs.g7.large', '--mode', 'ENIOnly'])).err).toMatch(
      /--mode must be one of/,
    );
    const unknown = await cli(['--addr', `unix:${sock}`, 'max-pods', '-t', 'ecs.nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/HTTP 502: DescribeInstanceTypes ecs\.nope/);
  });

  it("an IP assigned behind the daemon's back shows in /v1/mapping; the CLI exits 1", async () => {
    const ours = handle!.allocator.list()[0]!.eniId;
    const ecs = ecsClient(mock);
    const res = await ecs.assignPrivateIpAddresses(
      new $ecs.AssignPrivateIpAddressesRequest({
        regionId: mock.regionId,
        networkInterfaceId: ours,
        secondaryPrivateIpAddressCount: 1,
      }),
    );
    const rogue = res.body!.assignedPrivateIpAddressesSet!.privateIpSet!.privateIpAddress![0]!;
    const m = await get<MappingReport>('/v1/mapping');
    expect(m.ok).toBe(false);
    expect(m.cloudOnly).toEqual([{ ip: rogue, eniId: ours }]);
    expect(m.poolOnly).toEqual([]);
    expect(m.rows.every((r) => r.ok)).toBe(true);
    // The same check scoped to one pod does not involve the rogue IP.
    expect((await get<MappingReport>('/v1/mapping?pod=default/pod-cli-a')).ok).toBe(true);

    const r = await cli(['--addr', `unix:${sock}`, 'mapping']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('IPs the cloud has that the pool lacks');
    expect(r.out).toContain(rogue);
    expect(r.out).toContain('MISMATCH');
  });

  it('the built CLI entry (tsx cli/main.ts) exits 1 on the mismatch', async () => {
    const run = promisify(execFile);
    const err = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', '--addr', `unix:${sock}`, 'mapping', '--json'], {
      cwd: process.cwd(),
    }).then(
      () => undefined,
      (e: { code?: number; stdout?: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect((JSON.parse(err!.stdout!) as MappingReport).ok).toBe(false);
  });
});

describe('introspection in VPCENI mode (whole ENI per pod)', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  let sock: string;
  const log = captureLog();

  beforeAll(async () => {
    mock = await startMockCloud({ attachDelayMs: 10 });
    const dir = tempDir('eni-cli-');
    sock = join(dir, 'introspect.sock');
    const config = mockCloudConfig(
      mock,
      dir,
      {
        daemon_mode: 'VPCENI',
        min_pool_size: 0,
        max_pool_size: 1,
        max_eni: 3,
        ip_cooldown: '0s',
        metrics_listen: sock,
      },
      NODE,
    );
    handle = await startDaemon(config, { logger: log.logger, kube: null });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
  });

  it('pool records come from the pod DB; mapping checks the ENI primary IP', async () => {
    const r = await client!.call<Record<string, any>>('AllocIP', { pod: podMsg('eni-a'), api_version: API_VERSION }, 30_000);
    expect(r.success).toBe(true);
    const a = handle!.allocator.list()[0]!;
    const pool = (await getJson({ kind: 'unix', path: sock }, '/v1/pool')).body as PoolView;
    expect(pool).toMatchObject({ mode: 'VPCENI', source: 'db' });
    const eni = pool.enis.find((e) => e.eniId === a.eniId)!;
    expect(eni.ips.assigned).toEqual([a.ip]);
    expect(eni.mac).toBe(mock.dump().enis.find((e) => e.eniId === a.eniId)!.mac);
    const m = (await getJson({ kind: 'unix', path: sock }, '/v1/mapping')).body as MappingReport;
    expect(m.ok, JSON.stringify(m, null, 1)).toBe(true);
    expect(m.rows).toEqual([expect.objectContaining({ ip: a.ip, eniId: a.eniId, pool: 'assigned', cloud: 'ok', db: true })]);
  });
});
