// The built plugin (dist/cni/terway) run as a runtime runs it, against the fake daemon.
import * as grpc from '@grpc/grpc-js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GrpcFault, startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { DEFAULT_PLUGIN_PATH, ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';
import { tempDir } from '../support/tmp.js';

const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const pkgVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let d: FakeDaemon;
const missingSocket = join(tempDir('eni-none-'), 'absent.socket');

beforeAll(async () => {
  await ensurePluginBuilt();
  d = await startFakeDaemon();
});
afterAll(async () => {
  await d?.stop();
});
beforeEach(() => d.reset());

const add = (conf: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}) =>
  runPlugin({ command: 'ADD', env: podEnv(env), stdin: netConf(d.socketPath, conf) });

describe('the bundle', () => {
  it('is one executable file with a node shebang that loads only node:fs and node:net', () => {
    const src = readFileSync(DEFAULT_PLUGIN_PATH, 'utf8');
    expect(src.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(DEFAULT_PLUGIN_PATH).mode & 0o111).toBe(0o111);
    const required = new Set([...src.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    expect([...required].sort()).toEqual(['node:fs', 'node:net']);
    expect(src).not.toMatch(/import\s*\(|\bimport\s+[\w{*]/); // no dynamic or static imports left
  });
});

describe('VERSION', () => {
  it('prints the supported versions without reading stdin or calling the daemon', async () => {
    const r = await runPlugin({ command: 'VERSION' });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: VERSIONS });
    expect(d.calls).toHaveLength(0);
  });
});

describe('ADD', () => {
  for (const v of VERSIONS) {
    it(`returns a ${v} result`, async () => {
      const r = await add({ cniVersion: v });
      expect(r.code, r.stdout).toBe(0);
      const ip: Record<string, unknown> = { address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 };
      expect(r.json).toEqual({
        cniVersion: v,
        interfaces: [
          { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
          { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/cni-test' },
        ],
        ips: [v.startsWith('0.') ? { version: '4', ...ip } : ip],
        routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
      });
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    });
  }

  it('sends the pod key, pod identity, API and plugin version, with the ADD deadline', async () => {
    const r = await add(
      {},
      { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-a;K8S_POD_INFRA_CONTAINER_ID=c0ffee0123456789;FOO=bar' },
    );
    expect(r.code).toBe(0);
    const [call] = d.callsOf('AllocIP');
    expect(call!.request).toEqual({
      pod: {
        k8sPodName: 'pod-a',
        k8sPodNamespace: 'ns1',
        k8sPodInfraContainerId: 'c0ffee0123456789',
        netns: '/var/run/netns/cni-test',
        ifName: 'eth0',
        networkName: 'terway',
      },
      apiVersion: 1,
      pluginVersion: pkgVersion,
      // no Terway keys in this config: the daemon's defaults apply
      netConf: { mtu: 0, eniipVirtualType: '', vethPrefix: '', ignoredKeys: [] },
    });
    expect(call!.deadlineMs).toBeGreaterThan(100_000);
    expect(call!.deadlineMs).toBeLessThanOrEqual(120_000);
    expect(d.calls).toHaveLength(1);
  });

  it('honours timeout_seconds as the call deadline', async () => {
    await add({ timeout_seconds: 7 });
    const dl = d.callsOf('AllocIP')[0]!.deadlineMs;
    expect(dl).toBeGreaterThan(1000);
    expect(dl).toBeLessThanOrEqual(7000);
  });

  it('handles an IPv4+IPv6 reply, an on-link route and no host veth (ENI in the pod)', async () => {
    d.on('AllocIP', () => ({
      success: true,
      ips: [
        { address: '10.0.0.9/24', gateway: '10.0.0.253', family: 4 },
        { address: 'fd00::9/64', family: 0 },
      ],
      routes: [{ dst: '10.0.0.0/8' }],
      interface: { name: 'eth0', mac: '00:16:3e:00:00:09' },
    }));
    const r = await add({ cniVersion: '0.4.0' });
    expect(r.json).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '00:16:3e:00:00:09', sandbox: '/var/run/netns/cni-test' }],
      ips: [
        { version: '4', address: '10.0.0.9/24', gateway: '10.0.0.253', interface: 0 },
        { version: '6', address: 'fd00::9/64', interface: 0 },
      ],
      routes: [{ dst: '10.0.0.0/8' }],
    });
  });

  it('passes the config dns through to the result', async () => {
    const dns = { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] };
    const r = await add({ dns });
    expect(r.json!.dns).toEqual(dns);
  });

  describe('chained after another plugin (prevResult)', () => {
    const prev = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'dummy0', mac: '11:22:33:44:55:66', sandbox: '/var/run/netns/cni-test' }],
      ips: [{ address: '192.168.9.2/24', interface: 0 }],
      routes: [{ dst: '192.168.0.0/16' }],
      dns: { nameservers: ['1.1.1.1'] },
    };
    it('keeps the earlier interfaces, ips, routes and dns and appends ours (1.x shape)', async () => {
      const r = await add({ cniVersion: '1.1.0', prevResult: prev });
      expect(r.code).toBe(0);
      expect(r.json).toEqual({
        cniVersion: '1.1.0',
        interfaces: [
          prev.interfaces[0],
          { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
          { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/cni-test' },
        ],
        ips: [
          { address: '192.168.9.2/24', interface: 0 },
          { address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 2 },
        ],
        routes: [{ dst: '192.168.0.0/16' }, { dst: '0.0.0.0/0', gw: '169.254.1.1' }],
        dns: { nameservers: ['1.1.1.1'] },
      });
    });
    it('converts the earlier ips to the 0.4.0 shape (version field)', async () => {
      const r = await add({ cniVersion: '0.4.0', prevResult: { ...prev, cniVersion: '0.4.0' } });
      const ips = r.json!.ips as Record<string, unknown>[];
      expect(ips.map((i) => i.version)).toEqual(['4', '4']);
      expect(ips[1]!.interface).toBe(2);
    });
    it('drops a version field from earlier ips in a 1.0.0 result', async () => {
      const r = await add({
        cniVersion: '1.0.0',
        prevResult: { ...prev, ips: [{ version: '4', address: '192.168.9.2/24', interface: 0 }] },
      });
      expect((r.json!.ips as Record<string, unknown>[])[0]).toEqual({ address: '192.168.9.2/24', interface: 0 });
    });
    it('rejects a malformed prevResult with 7 before calling the daemon', async () => {
      const r = await add({ prevResult: { interfaces: [{ mac: 'no-name' }] } });
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: 7 });
      expect(d.calls).toHaveLength(0);
    });
  });

  const failures: [string, number, number][] = [
    ['POOL_EXHAUSTED', 11, 0],
    ['ALLOC_TIMEOUT', 11, 0],
    ['SHUTTING_DOWN', 11, 0],
    ['INVALID_REQUEST', 7, 1],
    ['DRIVER_FAILED', 102, 1],
    ['INTERNAL', 100, 1],
  ];
  for (const [reason, code, events] of failures) {
    it(`maps a ${reason} reply to code ${code}`, async () => {
      d.on('AllocIP', () => ({
        success: false,
        failureReason: reason,
        message: `daemon says ${reason}`,
        cloudErrorCode: 'QuotaExceeded.PrivateIpAddress',
      }));
      const r = await add({ cniVersion: '1.0.0' });
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ cniVersion: '1.0.0', code });
      expect(String(r.json!.details)).toContain(`daemon says ${reason}`);
      expect(String(r.json!.details)).toContain('QuotaExceeded.PrivateIpAddress');
      expect(d.callsOf('RecordEvent')).toHaveLength(events);
      expect(d.callsOf('ReleaseIP')).toHaveLength(0); // the daemon released on its side
    });
  }

  it('records a Warning event on the pod for a non-transient failure', async () => {
    d.on('AllocIP', () => ({ success: false, failureReason: 'DRIVER_FAILED', message: 'veth create: EEXIST' }));
    await add();
    expect(d.callsOf('RecordEvent')[0]!.request).toMatchObject({
      target: 'EVENT_TARGET_POD',
      k8sPodName: 'web-0',
      k8sPodNamespace: 'default',
      type: 'EVENT_TYPE_WARNING',
      reason: 'AllocIPFailed',
    });
  });

  it('says clearly when the daemon speaks another API version (FAILED_PRECONDITION)', async () => {
    d.on('AllocIP', () => {
      throw new GrpcFault(grpc.status.FAILED_PRECONDITION, 'api_version 1 not supported, daemon speaks 2');
    });
    const r = await add();
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 101, msg: 'plugin and ENI daemon API versions differ' });
    expect(String(r.json!.details)).toContain('daemon speaks 2');
  });

  it('treats UNIMPLEMENTED as a version mismatch too', async () => {
    d.on('AllocIP', () => {
      throw new GrpcFault(grpc.status.UNIMPLEMENTED, 'unknown method');
    });
    expect((await add()).json).toMatchObject({ code: 101 });
  });

  it('returns 11 when the daemon socket is absent', async () => {
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(missingSocket) });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 11, msg: 'ENI daemon unreachable, try again later' });
    expect(String(r.json!.details)).toContain('ENOENT');
  });

  it('returns 11 when the daemon does not answer within timeout_seconds', async () => {
    d.on('AllocIP', () => new Promise((res) => setTimeout(() => res({ success: true }), 5000)));
    const r = await add({ timeout_seconds: 0.5 });
    expect(r.code).toBe(1);
    // a late reply would have given 100 (no address): 11 means the plugin gave up at its deadline
    expect(r.json).toMatchObject({ code: 11 });
    expect(String(r.json!.msg)).toContain('timed out');
  });

  it('releases the allocation when the reply cannot be turned into a result', async () => {
    d.on('AllocIP', () => ({ success: true, ips: [] }));
    const r = await add();
    expect(r.json).toMatchObject({ code: 100 });
    const rel = d.callsOf('ReleaseIP');
    expect(rel).toHaveLength(1);
    expect(rel[0]!.request.pod).toMatchObject({ k8sPodInfraContainerId: 'c0ffee0123456789', ifName: 'eth0' });
  });

  it('fails and releases when the daemon named the pod interface other than CNI_IFNAME', async () => {
    d.on('AllocIP', () => ({ success: true, ips: [{ address: '10.0.0.5/32', family: 4 }], interface: { name: 'eth1' } }));
    const r = await add();
    expect(r.json).toMatchObject({ code: 100 });
    expect(d.callsOf('ReleaseIP')).toHaveLength(1);
  });

  it('releases the allocation when the result cannot be printed', async () => {
    d.on('AllocIP', async () => {
      await new Promise((res) => setTimeout(res, 300));
      return { success: true, ips: [{ address: '10.0.0.5/32', family: 4 }] };
    });
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(d.socketPath), closeStdout: true });
    expect(r.code).toBe(1);
    const rel = d.callsOf('ReleaseIP');
    expect(rel).toHaveLength(1);
    expect(String(rel[0]!.request.reason)).toContain('plugin failed after AllocIP');
  });
});

describe('DEL', () => {
  const del = (conf: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}, socket = d.socketPath) =>
    runPlugin({ command: 'DEL', env: podEnv(env), stdin: netConf(socket, conf) });

  for (const v of VERSIONS) {
    it(`releases and prints nothing (${v})`, async () => {
      const r = await del({ cniVersion: v });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(d.callsOf('ReleaseIP')[0]!.request).toMatchObject({
        apiVersion: 1,
        reason: 'cni DEL',
        pod: { networkName: 'terway', ifName: 'eth0' },
      });
    });
  }

  it('succeeds when there is nothing to release, and when repeated', async () => {
    d.on('ReleaseIP', () => ({ success: false, failureReason: 'NOT_FOUND', message: 'no such pod' }));
    expect((await del()).code).toBe(0);
    expect((await del()).code).toBe(0);
    expect(d.callsOf('ReleaseIP')).toHaveLength(2);
  });

  it('succeeds without CNI_NETNS (netns already gone) and sends an empty netns', async () => {
    const r = await del({}, { CNI_NETNS: undefined });
    expect(r.code).toBe(0);
    expect((d.callsOf('ReleaseIP')[0]!.request.pod as Record<string, unknown>).netns).toBe('');
  });

  it('succeeds when the daemon is unreachable (it cleans up when back)', async () => {
    const r = await del({}, {}, missingSocket);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('succeeds when the daemon is shutting down', async () => {
    d.on('ReleaseIP', () => ({ success: false, failureReason: 'SHUTTING_DOWN' }));
    expect((await del()).code).toBe(0);
  });

  it('fails (so the runtime retries) when the teardown itself failed', async () => {
    d.on('ReleaseIP', () => ({ success: false, failureReason: 'DRIVER_FAILED', message: 'cannot delete veth' }));
    const r = await del();
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102 });
  });

  it('ignores a prevResult', async () => {
    const r = await del({
      prevResult: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.5/32', interface: 0 }] },
    });
    expect(r.code).toBe(0);
  });
});

describe('CHECK', () => {
  const prevResult = {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'cali0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/cni-test' },
    ],
    ips: [{ address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 }],
  };
  const check = (conf: Record<string, unknown> = {}, socket = d.socketPath) =>
    runPlugin({ command: 'CHECK', env: podEnv(), stdin: netConf(socket, { prevResult, ...conf }) });

  for (const v of ['0.4.0', '1.0.0', '1.1.0']) {
    it(`passes silently when prevResult matches the daemon and the netns (${v})`, async () => {
      const r = await check({ cniVersion: v });
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toBe('');
      expect(d.calls.map((c) => c.method)).toEqual(['GetIPInfo', 'CheckIP']);
    });
  }

  it('is refused for configs older than 0.4.0 (code 1)', async () => {
    const r = await check({ cniVersion: '0.3.1' });
    expect(r.json).toMatchObject({ code: 1 });
    expect(d.calls).toHaveLength(0);
  });

  it('needs a prevResult (code 7)', async () => {
    const r = await runPlugin({ command: 'CHECK', env: podEnv(), stdin: netConf(d.socketPath) });
    expect(r.json).toMatchObject({ code: 7 });
    expect(d.calls).toHaveLength(0);
  });

  it('fails when prevResult does not list our interface', async () => {
    const r = await check({ prevResult: { ...prevResult, interfaces: [{ name: 'eth1', sandbox: '/var/run/netns/cni-test' }] } });
    expect(r.json).toMatchObject({ code: 103 });
    expect(d.callsOf('CheckIP')).toHaveLength(0);
  });

  it("fails when prevResult's address differs from the daemon's allocation", async () => {
    d.on('GetIPInfo', () => ({ success: true, found: true, ips: [{ address: '10.0.0.6/32', family: 4 }] }));
    const r = await check();
    expect(r.json).toMatchObject({ code: 103 });
    expect(String(r.json!.details)).toContain('10.0.0.6/32');
    expect(d.callsOf('CheckIP')).toHaveLength(0);
  });

  it('fails when the daemon holds nothing for the pod', async () => {
    d.on('GetIPInfo', () => ({ success: true, found: false }));
    expect((await check()).json).toMatchObject({ code: 103 });
  });

  it('fails when the daemon finds the netns out of shape', async () => {
    d.on('CheckIP', () => ({ success: false, failureReason: 'CHECK_FAILED', message: 'default route missing in netns' }));
    const r = await check();
    expect(r.json).toMatchObject({ code: 103 });
    expect(String(r.json!.details)).toContain('default route missing');
  });

  it('returns 11 when the daemon is unreachable', async () => {
    expect((await check({}, missingSocket)).json).toMatchObject({ code: 11 });
  });
});

describe('STATUS', () => {
  const status = (conf: Record<string, unknown> = {}, socket = d.socketPath) =>
    runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: netConf(socket, conf) });

  it('exits 0 with no output when the daemon can serve ADD', async () => {
    const r = await status();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(d.callsOf('Status')[0]!.request).toEqual({ apiVersion: 1 });
  });

  it('returns 50 when the daemon is not ready', async () => {
    d.on('Status', () => ({ ready: false, message: 'no ENI attached yet', apiVersion: 1 }));
    const r = await status();
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    expect(String(r.json!.details)).toContain('no ENI attached yet');
  });

  it('returns 50 when the daemon is unreachable', async () => {
    expect((await status({}, missingSocket)).json).toMatchObject({ code: 50 });
  });

  it('returns 50 when the daemon speaks another API version', async () => {
    d.on('Status', () => ({ ready: true, apiVersion: 2 }));
    expect((await status()).json).toMatchObject({ code: 50 });
  });

  it('is refused for configs older than 1.1.0 (code 1)', async () => {
    expect((await status({ cniVersion: '1.0.0' })).json).toMatchObject({ code: 1 });
    expect(d.calls).toHaveLength(0);
  });
});

describe('GC', () => {
  const gc = (conf: Record<string, unknown>, socket = d.socketPath) =>
    runPlugin({ command: 'GC', env: { CNI_PATH: '/opt/cni/bin' }, stdin: netConf(socket, conf) });
  const valid = [
    { containerID: 'c1', ifname: 'eth0' },
    { containerID: 'c2', ifname: 'eth0' },
  ];

  it('sends the network name and the valid attachments, prints nothing', async () => {
    const r = await gc({ 'cni.dev/valid-attachments': valid });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(d.callsOf('GC')[0]!.request).toEqual({
      networkName: 'terway',
      validAttachments: [
        { containerId: 'c1', ifName: 'eth0' },
        { containerId: 'c2', ifName: 'eth0' },
      ],
      apiVersion: 1,
    });
  });

  it('accepts an empty list and the older cni.dev/attachments key', async () => {
    expect((await gc({ 'cni.dev/valid-attachments': [] })).code).toBe(0);
    expect((await gc({ 'cni.dev/attachments': valid })).code).toBe(0);
    expect(d.callsOf('GC').map((c) => (c.request.validAttachments as unknown[]).length)).toEqual([0, 2]);
  });

  it('refuses to run without the valid-attachments list (would release everything)', async () => {
    const r = await gc({});
    expect(r.json).toMatchObject({ code: 7 });
    expect(d.calls).toHaveLength(0);
  });

  it('reports a daemon-side GC failure', async () => {
    d.on('GC', () => ({ success: false, message: 'db locked' }));
    expect((await gc({ 'cni.dev/valid-attachments': valid })).json).toMatchObject({ code: 100, details: 'db locked' });
  });

  it('returns 11 when the daemon is unreachable', async () => {
    expect((await gc({ 'cni.dev/valid-attachments': valid }, missingSocket)).json).toMatchObject({ code: 11 });
  });

  it('is refused for configs older than 1.1.0 (code 1)', async () => {
    expect((await gc({ cniVersion: '1.0.0', 'cni.dev/valid-attachments': valid })).json).toMatchObject({ code: 1 });
  });
});

describe('bad input leaves the daemon untouched', () => {
  const cases: [string, unknown, number][] = [
    ['not JSON', '{"cniVersion": "1.1.0", ', 6],
    ['empty stdin', '', 6],
    ['a JSON array', '[]', 6],
    ['a JSON string', '"terway"', 6],
    ['no network name', { cniVersion: '1.1.0', type: 'terway' }, 7],
    ['a numeric network name', { cniVersion: '1.1.0', name: 42, type: 'terway' }, 7],
    ['an invalid network name', { cniVersion: '1.1.0', name: '-bad name', type: 'terway' }, 7],
    ['no cniVersion', { name: 'terway', type: 'terway' }, 1],
    ['an unsupported cniVersion', { cniVersion: '0.2.0', name: 'terway', type: 'terway' }, 1],
    ['a future cniVersion', { cniVersion: '2.0.0', name: 'terway', type: 'terway' }, 1],
    ['a numeric cniVersion', { cniVersion: 1.1, name: 'terway', type: 'terway' }, 7],
    ['a non-string socket', { cniVersion: '1.1.0', name: 'terway', socket: 5 }, 7],
    ['a bad timeout_seconds', { cniVersion: '1.1.0', name: 'terway', timeout_seconds: 'soon' }, 7],
    ['a negative timeout_seconds', { cniVersion: '1.1.0', name: 'terway', timeout_seconds: -1 }, 7],
    ['a non-object prevResult', { cniVersion: '1.1.0', name: 'terway', prevResult: [] }, 7],
    ['a non-object dns', { cniVersion: '1.1.0', name: 'terway', dns: 'x' }, 7],
  ];
  for (const [what, stdin, code] of cases) {
    it(`ADD with ${what} → ${code}`, async () => {
      const r = await runPlugin({
        command: 'ADD',
        env: podEnv(),
        stdin: typeof stdin === 'string' ? stdin : JSON.stringify({ socket: d.socketPath, ...(stdin as object) }),
      });
      expect(r.code).toBe(1);
      expect(r.json, r.stdout).toMatchObject({ code });
      expect(typeof r.json!.msg).toBe('string');
      expect(d.calls).toHaveLength(0);
    });
  }

  const envCases: [string, string, Record<string, string | undefined>, string][] = [
    ['missing CNI_COMMAND', '', {}, 'CNI_COMMAND'],
    ['an unknown command', 'FROB', {}, 'FROB'],
    ['a lower-case command', 'add', {}, 'add'],
    ['ADD without CNI_NETNS', 'ADD', { CNI_NETNS: undefined }, 'CNI_NETNS'],
    [
      'ADD without CNI_CONTAINERID and CNI_IFNAME',
      'ADD',
      { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined },
      'CNI_CONTAINERID,CNI_IFNAME',
    ],
    ['ADD without CNI_PATH', 'ADD', { CNI_PATH: undefined }, 'CNI_PATH'],
    ['DEL without CNI_CONTAINERID', 'DEL', { CNI_CONTAINERID: undefined }, 'CNI_CONTAINERID'],
    ['CHECK without CNI_NETNS', 'CHECK', { CNI_NETNS: undefined }, 'CNI_NETNS'],
    ['a 16-byte CNI_IFNAME', 'ADD', { CNI_IFNAME: 'eth0123456789abc' }, 'CNI_IFNAME'],
    ['a CNI_IFNAME with a slash', 'ADD', { CNI_IFNAME: 'eth/0' }, 'CNI_IFNAME'],
    ['CNI_IFNAME ".."', 'DEL', { CNI_IFNAME: '..' }, 'CNI_IFNAME'],
    ['a CNI_CONTAINERID starting with "-"', 'ADD', { CNI_CONTAINERID: '-abc' }, 'CNI_CONTAINERID'],
    ['a malformed CNI_ARGS', 'ADD', { CNI_ARGS: 'K8S_POD_NAME=a;garbage' }, 'CNI_ARGS'],
  ];
  for (const [what, command, env, named] of envCases) {
    it(`${what} → 4 naming ${named}`, async () => {
      const e = podEnv(env);
      const r = await runPlugin({ command, env: e, stdin: netConf(d.socketPath) });
      expect(r.code).toBe(1);
      expect(r.json, r.stdout).toMatchObject({ code: 4 });
      expect(`${String(r.json!.msg)} ${String(r.json!.details ?? '')}`).toContain(named);
      expect(d.calls).toHaveLength(0);
    });
  }

  it('answers errors in the config cniVersion', async () => {
    const r = await runPlugin({
      command: 'ADD',
      env: podEnv({ CNI_IFNAME: 'x/y' }),
      stdin: netConf(d.socketPath, { cniVersion: '0.4.0' }),
    });
    // env checks come first: the config is not read yet, so the latest version is used
    expect(r.json).toMatchObject({ cniVersion: '1.1.0', code: 4 });
    const r2 = await runPlugin({
      command: 'ADD',
      env: podEnv(),
      stdin: netConf(d.socketPath, { cniVersion: '0.4.0', timeout_seconds: 'x' }),
    });
    expect(r2.json).toMatchObject({ cniVersion: '0.4.0', code: 7 });
  });
});

describe('logging', () => {
  it('writes to log_file, never to stdout', async () => {
    const logFile = join(tempDir('eni-log-'), 'terway.log');
    const r = await add({ log_file: logFile });
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toBe('');
    const del = await runPlugin({ command: 'DEL', env: podEnv(), stdin: netConf(missingSocket, { log_file: logFile }) });
    expect(del.code).toBe(0);
    expect(del.stderr).toBe('');
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/info ADD c0ffee0123456789\/eth0 ADD ok 10\.0\.0\.5\/32/);
    expect(log).toMatch(/warn DEL .*daemon unreachable/);
  });
});
