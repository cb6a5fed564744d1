// The BUILT plugin (dist/cni/terway) run as a separate process exactly as a runtime runs it (clean env
// with CNI_*, config on stdin, stdout and exit code read) against the REAL daemon (startDaemon: SDK cloud
// client, real pool, SQLite, `none` driver) and the mock cloud. One daemon for the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { API_VERSION } from '../../proto/version.js';
import { connect, type TestClient } from '../support/daemonClient.js';
import { waitFor } from '../support/wait.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin, type RunPluginResult } from './runPlugin.js';
import { startRealDaemon, type RealDaemonRig } from './realDaemonRig.js';
import { tempDir } from '../support/tmp.js';

const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
const NET = 'terway';
const missingSocket = join(tempDir('eni-none-'), 'absent.socket');

let rig: RealDaemonRig;
let client: TestClient;

beforeAll(async () => {
  [, rig] = await Promise.all([ensurePluginBuilt(), startRealDaemon()]);
  client = connect(rig.socketPath);
}, 30_000);
afterAll(async () => {
  client?.close();
  await rig?.close();
});

/** A pod's CNI environment, its container id (= infra container id) given. */
const envFor = (cid: string, over: Record<string, string | undefined> = {}) =>
  podEnv({
    CNI_CONTAINERID: cid,
    CNI_NETNS: `/var/run/netns/${cid}`,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-${cid};K8S_POD_INFRA_CONTAINER_ID=${cid}`,
    ...over,
  });
const conf = (over: Record<string, unknown> = {}) => netConf(rig.socketPath, { name: NET, ...over });
const run = (command: string, cid: string, over: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}) =>
  runPlugin({ command, env: envFor(cid, env), stdin: conf(over) });
const keyOf = (cid: string, ifName = 'eth0') => `${cid}/${ifName}/${NET}`;

const getIPInfo = (cid: string) =>
  client.call<{ found: boolean; ips: { address: string }[] }>('GetIPInfo', {
    pod: {
      k8s_pod_name: `pod-${cid}`,
      k8s_pod_namespace: 'default',
      k8s_pod_infra_container_id: cid,
      if_name: 'eth0',
      network_name: NET,
      netns: '',
    },
    api_version: API_VERSION,
  });

function expectCniError(r: RunPluginResult, code: number, cniVersion?: string): void {
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.json, r.stdout).toMatchObject({ code });
  expect(typeof r.json!.msg).toBe('string');
  expect(String(r.json!.msg).length).toBeGreaterThan(0);
  if (cniVersion) expect(r.json!.cniVersion).toBe(cniVersion);
}

/** The only IP of our ADD result (the last entry of `ips`), without the prefix length. */
function resultIp(r: RunPluginResult): string {
  const ips = r.json!.ips as { address: string }[];
  return ips[ips.length - 1]!.address.split('/')[0]!;
}

describe('VERSION', () => {
  it('lists every supported version', async () => {
    const r = await runPlugin({ command: 'VERSION' });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
  });
});

describe.each(VERSIONS)('cniVersion %s: ADD, repeated ADD, CHECK, DEL, repeated DEL', (v) => {
  const cid = `v${v.replace(/\./g, '')}pod`;
  let added: RunPluginResult;

  it('ADD allocates an address of one of the node secondary ENIs and answers in the shape of that version', async () => {
    added = await run('ADD', cid, { cniVersion: v });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.stdout.trim().split('\n')).toHaveLength(1);
    const ip = resultIp(added);

    // the mock cloud: the IP is a secondary IP of one of this node's ENIs, in that ENI's vSwitch
    const dump = rig.mock.dump();
    const eni = dump.enis.find((e) => e.type === 'Secondary' && [e.primaryIp, ...e.secondaryIps].includes(ip));
    expect(eni, `${ip} on no secondary ENI`).toBeDefined();
    expect(eni!.instanceId).toBe('i-mock-node-1');
    expect(rig.nodePodAddresses()).toContain(ip);
    const vsw = dump.vSwitches.find((s) => s.vSwitchId === eni!.vSwitchId)!;

    // the result, exactly, in the shape of version v (`none` driver: no host veth, no pod MAC)
    const ipEntry: Record<string, unknown> = { address: `${ip}/32`, gateway: vsw.gateway, interface: 0 };
    expect(added.json).toEqual({
      cniVersion: v,
      interfaces: [{ name: 'eth0', sandbox: `/var/run/netns/${cid}` }],
      ips: [v.startsWith('0.') ? { version: '4', ...ipEntry } : ipEntry],
      routes: [{ dst: '0.0.0.0/0', gw: vsw.gateway }],
    });

    // the daemon: allocator and GetIPInfo hold it for this pod key
    expect(rig.handle.allocator.list().filter((a) => a.ip === ip)).toEqual([
      expect.objectContaining({
        podKey: keyOf(cid),
        containerId: cid,
        ifName: 'eth0',
        networkName: NET,
        name: `pod-${cid}`,
        namespace: 'default',
        eniId: eni!.eniId,
      }),
    ]);
    const info = await getIPInfo(cid);
    expect(info.found).toBe(true);
    expect(info.ips.map((i) => i.address)).toEqual([`${ip}/32`]);
  });

  it('a repeated ADD answers the same IP and allocates nothing more', async () => {
    const before = rig.state();
    const again = await run('ADD', cid, { cniVersion: v });
    expect(again.code, again.stdout).toBe(0);
    expect(resultIp(again)).toBe(resultIp(added));
    expect(again.json).toEqual(added.json);
    expect(rig.state().allocations).toEqual(before.allocations);
  });

  if (v === '0.3.0' || v === '0.3.1') {
    it('CHECK is refused with code 1 (needs 0.4.0) and changes nothing', async () => {
      const before = await rig.quiet();
      const r = await run('CHECK', cid, { cniVersion: v, prevResult: added.json });
      expectCniError(r, 1, v);
      expect(await rig.quiet()).toEqual(before);
    });
  } else {
    it('CHECK with the ADD result as prevResult passes silently', async () => {
      const r = await run('CHECK', cid, { cniVersion: v, prevResult: added.json });
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toBe('');
    });
    it('CHECK with a prevResult naming another address fails with 103', async () => {
      const prev = JSON.parse(JSON.stringify(added.json)) as { ips: { address: string }[] };
      prev.ips[0]!.address = '192.0.2.77/32';
      const r = await run('CHECK', cid, { cniVersion: v, prevResult: prev });
      expectCniError(r, 103, v);
      expect(String(r.json!.details)).toContain(resultIp(added)); // names the daemon's address
      expect(rig.state().allocations[keyOf(cid)]).toBe(resultIp(added)); // a failed CHECK releases nothing
    });
  }

  it('DEL releases the allocation; a repeated DEL still succeeds', async () => {
    const ip = resultIp(added);
    const del = await run('DEL', cid, { cniVersion: v });
    expect(del.code, del.stdout).toBe(0);
    expect(del.stdout).toBe('');
    expect(rig.handle.allocator.list().some((a) => a.podKey === keyOf(cid) || a.ip === ip)).toBe(false);
    expect((await getIPInfo(cid)).found).toBe(false);
    const again = await run('DEL', cid, { cniVersion: v });
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toBe('');
  });

  if (v !== '0.3.0' && v !== '0.3.1') {
    it('CHECK after DEL fails with 103 (allocation gone)', async () => {
      const r = await run('CHECK', cid, { cniVersion: v, prevResult: added.json });
      expectCniError(r, 103, v);
    });
  }
});

describe('chaining (prevResult from an earlier plugin)', () => {
  const cid = 'chainpod';
  const prev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'dummy0', mac: '11:22:33:44:55:66', sandbox: `/var/run/netns/${cid}` }],
    ips: [{ address: '192.168.9.2/24', interface: 0 }],
    routes: [{ dst: '192.168.0.0/16' }],
  };
  let added: RunPluginResult;

  it('ADD keeps the earlier interfaces, ips and routes and appends ours', async () => {
    added = await run('ADD', cid, { cniVersion: '1.0.0', prevResult: prev });
    expect(added.code, added.stdout).toBe(0);
    const ip = resultIp(added);
    const gw = rig.handle.allocator.list().find((a) => a.podKey === keyOf(cid))!.gateway;
    expect(added.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [prev.interfaces[0], { name: 'eth0', sandbox: `/var/run/netns/${cid}` }],
      ips: [prev.ips[0], { address: `${ip}/32`, gateway: gw, interface: 1 }],
      routes: [prev.routes[0], { dst: '0.0.0.0/0', gw }],
    });
    expect(rig.nodePodAddresses()).toContain(ip);
    expect(rig.state().allocations[keyOf(cid)]).toBe(ip);
  });

  it('ADD in a 0.4.0 chain gives every ip the version field', async () => {
    const cid2 = 'chainpod4';
    const r = await run('ADD', cid2, { cniVersion: '0.4.0', prevResult: { ...prev, cniVersion: '0.4.0' } });
    expect(r.code, r.stdout).toBe(0);
    expect((r.json!.ips as Record<string, unknown>[]).map((i) => i.version)).toEqual(['4', '4']);
    expect(rig.state().allocations[keyOf(cid2)]).toBe(resultIp(r));
    expect((await run('DEL', cid2, { cniVersion: '0.4.0' })).code).toBe(0);
  });

  it('CHECK with the chained result as prevResult passes', async () => {
    const r = await run('CHECK', cid, { cniVersion: '1.0.0', prevResult: added.json });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('CHECK with a chained prevResult that lacks our interface fails with 103', async () => {
    const r = await run('CHECK', cid, { cniVersion: '1.0.0', prevResult: prev });
    expectCniError(r, 103, '1.0.0');
  });

  it('DEL with the prevResult releases', async () => {
    const r = await run('DEL', cid, { cniVersion: '1.0.0', prevResult: added.json });
    expect(r.code).toBe(0);
    expect(rig.state().allocations[keyOf(cid)]).toBeUndefined();
  });
});

describe('runtime patterns', () => {
  it('parallel ADDs of different pods get distinct IPs; parallel DELs release them all', async () => {
    const cids = ['par1', 'par2', 'par3', 'par4', 'par5', 'par6'];
    const adds = await Promise.all(cids.map((c) => run('ADD', c)));
    for (const r of adds) expect(r.code, r.stdout).toBe(0);
    const ips = adds.map(resultIp);
    expect(new Set(ips).size).toBe(cids.length);
    const allocs = rig.state().allocations;
    cids.forEach((c, i) => expect(allocs[keyOf(c)]).toBe(ips[i]));
    for (const ip of ips) expect(rig.nodePodAddresses()).toContain(ip);
    const dels = await Promise.all(cids.map((c) => run('DEL', c)));
    for (const r of dels) expect(r.code, r.stdout).toBe(0);
    expect(rig.state().allocations).toEqual({});
  });

  it('parallel ADDs of the same pod (a runtime retry) answer one IP and hold one allocation', async () => {
    const adds = await Promise.all([run('ADD', 'samepod'), run('ADD', 'samepod'), run('ADD', 'samepod')]);
    for (const r of adds) expect(r.code, r.stdout).toBe(0);
    expect(new Set(adds.map(resultIp)).size).toBe(1);
    expect(rig.state().allocations).toEqual({ [keyOf('samepod')]: resultIp(adds[0]!) });
    expect((await run('DEL', 'samepod')).code).toBe(0);
  });

  it('two interfaces of one container are two allocations; DEL of one leaves the other', async () => {
    const a = await run('ADD', 'twoif');
    const b = await run('ADD', 'twoif', {}, { CNI_IFNAME: 'eth1' });
    expect(a.code, a.stdout).toBe(0);
    expect(b.code, b.stdout).toBe(0);
    expect(b.json!.interfaces).toEqual([{ name: 'eth1', sandbox: '/var/run/netns/twoif' }]);
    expect(resultIp(a)).not.toBe(resultIp(b));
    expect((await run('DEL', 'twoif', {}, { CNI_IFNAME: 'eth1' })).code).toBe(0);
    expect(rig.state().allocations).toEqual({ [keyOf('twoif')]: resultIp(a) });
    // DEL once the netns is gone (no CNI_NETNS) still releases
    const del = await run('DEL', 'twoif', {}, { CNI_NETNS: undefined });
    expect(del.code, del.stdout).toBe(0);
    expect(rig.state().allocations).toEqual({});
  });

  it('a 64-hex container id without CNI_ARGS (a non-Kubernetes runtime): ADD, CHECK, DEL', async () => {
    const cid = 'f'.repeat(32) + '0123456789abcdef0123456789abcdef';
    const env = { CNI_ARGS: undefined };
    const a = await run('ADD', cid, {}, env);
    expect(a.code, a.stdout).toBe(0);
    expect(rig.state().allocations).toEqual({ [keyOf(cid)]: resultIp(a) });
    expect(rig.handle.allocator.list()[0]).toMatchObject({ containerId: cid, name: '', namespace: '' });
    const c = await run('CHECK', cid, { prevResult: a.json }, env);
    expect(c.code, c.stdout).toBe(0);
    expect((await run('DEL', cid, {}, env)).code).toBe(0);
    expect(rig.state().allocations).toEqual({});
  });

  it('DEL with a damaged prevResult still releases (DEL ignores prevResult)', async () => {
    expect((await run('ADD', 'badprev')).code).toBe(0);
    const r = await run('DEL', 'badprev', { prevResult: { cniVersion: '1.1.0', interfaces: 'x', ips: 5 } });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    expect(rig.state().allocations).toEqual({});
  });

  it('ADD that times out waiting on a slow cloud → 11, and no allocation is left behind once the cloud answers', async () => {
    await rig.quiet();
    const { free, total: totalBefore } = rig.handle.allocator.stats();
    rig.mock.faults.setLatency('AssignPrivateIpAddresses', 2000);
    const alloc = rig.handle.allocator;
    const drained = Array.from({ length: free }, (_, i) => ({
      namespace: 'default',
      name: `drain${i}`,
      containerId: `drain${i}`,
      ifName: 'eth0',
      networkName: NET,
    }));
    try {
      // drain the warm pool in-process (fast, so the refill starts just before the plugin runs):
      // the next ADD has to wait for the slow cloud
      await Promise.all(drained.map((p) => alloc.allocate(p)));
      expect(alloc.stats().free).toBe(0);
      const slow = await run('ADD', 'slowpod', { timeout_seconds: 0.3 });
      expectCniError(slow, 11, '1.1.0');
      // the refill lands after the plugin gave up: the pod must not end up holding an IP
      await waitFor(() => alloc.stats().total > totalBefore, 'the slow refill to land', 10_000);
      await rig.quiet();
      expect(rig.state().allocations[keyOf('slowpod')]).toBeUndefined();
      expect((await getIPInfo('slowpod')).found).toBe(false);
    } finally {
      rig.mock.faults.clear();
      for (const p of drained) await alloc.release(`${p.containerId}/eth0/${NET}`);
    }
    expect(rig.state().allocations).toEqual({});
  });

  it('a 0.3.1 chain keeps the earlier result and adds a versioned ip', async () => {
    const prev = {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'lo0' }],
      ips: [{ version: '4', address: '172.16.0.2/24', interface: 0 }],
    };
    const r = await run('ADD', 'chain031', { cniVersion: '0.3.1', prevResult: prev });
    expect(r.code, r.stdout).toBe(0);
    const ip = resultIp(r);
    const gw = rig.handle.allocator.list().find((x) => x.podKey === keyOf('chain031'))!.gateway;
    expect(r.json).toEqual({
      cniVersion: '0.3.1',
      interfaces: [{ name: 'lo0' }, { name: 'eth0', sandbox: '/var/run/netns/chain031' }],
      ips: [prev.ips[0], { version: '4', address: `${ip}/32`, gateway: gw, interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw }],
    });
    expect((await run('DEL', 'chain031', { cniVersion: '0.3.1' })).code).toBe(0);
  });
});

describe('GC (1.1.0)', () => {
  it('releases only the attachment missing from cni.dev/valid-attachments', async () => {
    const keep = await run('ADD', 'gckeep');
    const drop = await run('ADD', 'gcdrop');
    // same container, another network: not this network's GC to release
    const other = await runPlugin({ command: 'ADD', env: envFor('gcdrop'), stdin: conf({ name: 'othernet' }) });
    for (const r of [keep, drop, other]) expect(r.code, r.stdout).toBe(0);
    const before = rig.state().allocations;
    expect(before[keyOf('gckeep')]).toBe(resultIp(keep));
    expect(before[keyOf('gcdrop')]).toBe(resultIp(drop));
    expect(before['gcdrop/eth0/othernet']).toBe(resultIp(other));
    const r = await runPlugin({
      command: 'GC',
      env: { CNI_PATH: '/opt/cni/bin' },
      stdin: conf({ 'cni.dev/valid-attachments': [{ containerID: 'gckeep', ifname: 'eth0' }] }),
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    const after = rig.state().allocations;
    expect(after).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k !== keyOf('gcdrop'))));
    expect((await getIPInfo('gcdrop')).found).toBe(false);
    expect((await run('DEL', 'gckeep')).code).toBe(0);
    expect((await runPlugin({ command: 'DEL', env: envFor('gcdrop'), stdin: conf({ name: 'othernet' }) })).code).toBe(0);
    expect(rig.state().allocations).toEqual({});
  });

  it('without the list it is refused with 7 and releases nothing', async () => {
    await run('ADD', 'gcnolist');
    const before = await rig.quiet();
    const r = await runPlugin({ command: 'GC', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf() });
    expectCniError(r, 7);
    expect(await rig.quiet()).toEqual(before);
    expect((await run('DEL', 'gcnolist')).code).toBe(0);
  });
});

describe('bad input: a clear CNI error, non-zero exit, the daemon untouched', () => {
  // One pod stays allocated throughout, so "untouched" also means "not released".
  const holder = 'badholder';
  beforeAll(async () => {
    const r = await run('ADD', holder);
    expect(r.code, r.stdout).toBe(0);
  });

  const base = () => ({ cniVersion: '1.1.0', name: NET, type: 'terway', socket: rig.socketPath });
  const stdinCases: [string, () => unknown, number][] = [
    ['not JSON', () => '{"cniVersion": "1.1.0", "name": ', 6],
    ['empty stdin', () => '', 6],
    ['a JSON array', () => '[1,2]', 6],
    ['a JSON number', () => '42', 6],
    ['a numeric name', () => ({ ...base(), name: 7 }), 7],
    ['a numeric cniVersion', () => ({ ...base(), cniVersion: 1 }), 7],
    ['a non-string socket', () => ({ ...base(), socket: ['x'] }), 7],
    ['a string timeout_seconds', () => ({ ...base(), timeout_seconds: '5' }), 7],
    ['a non-object dns', () => ({ ...base(), dns: 'x' }), 7],
    ['a non-object prevResult', () => ({ ...base(), prevResult: 'x' }), 7],
    ['a prevResult with wrongly typed ips', () => ({ ...base(), prevResult: { cniVersion: '1.0.0', interfaces: [], ips: 'x' } }), 7],
    ['no name', () => ({ cniVersion: '1.1.0', type: 'terway', socket: rig.socketPath }), 7],
    ['no cniVersion', () => ({ name: NET, type: 'terway', socket: rig.socketPath }), 1],
    ['an unsupported cniVersion', () => ({ ...base(), cniVersion: '0.2.0' }), 1],
  ];
  for (const command of ['ADD', 'DEL', 'CHECK']) {
    for (const [what, stdin, code] of stdinCases) {
      // DEL ignores prevResult (cni/README.md): a damaged cached result must not block the release.
      if (command === 'DEL' && what.includes('prevResult')) continue;
      it(`${command} with ${what} → ${code}`, async () => {
        const before = await rig.quiet();
        const s = stdin();
        const r = await runPlugin({ command, env: envFor(holder), stdin: typeof s === 'string' ? s : JSON.stringify(s) });
        expectCniError(r, code);
        expect(await rig.quiet()).toEqual(before);
      });
    }
  }

  // GC would release every allocation of the network not listed: a bad list must release nothing.
  const gcCases: [string, string, () => unknown, number][] = [
    ['GC', 'not JSON', () => '{"cniVersion":"1.1.0",', 6],
    ['GC', 'a string valid-attachments', () => ({ ...base(), 'cni.dev/valid-attachments': 'badholder' }), 7],
    ['GC', 'a null valid-attachments', () => ({ ...base(), 'cni.dev/valid-attachments': null }), 7],
    ['GC', 'an attachment without ifname', () => ({ ...base(), 'cni.dev/valid-attachments': [{ containerID: 'x' }] }), 7],
    ['GC', 'a numeric containerID', () => ({ ...base(), 'cni.dev/valid-attachments': [{ containerID: 1, ifname: 'eth0' }] }), 7],
    ['STATUS', 'not JSON', () => 'nope', 6],
    ['STATUS', 'a numeric name', () => ({ ...base(), name: 3 }), 7],
  ];
  for (const [command, what, stdin, code] of gcCases) {
    it(`${command} with ${what} → ${code}`, async () => {
      const before = await rig.quiet();
      const s = stdin();
      const r = await runPlugin({ command, env: { CNI_PATH: '/opt/cni/bin' }, stdin: typeof s === 'string' ? s : JSON.stringify(s) });
      expectCniError(r, code);
      expect(await rig.quiet()).toEqual(before);
    });
  }

  const envCases: [string, string, Record<string, string | undefined>, string][] = [
    ['no CNI_COMMAND', '', {}, 'CNI_COMMAND'],
    ['an unknown command', 'FROB', {}, 'FROB'],
    ['a lower-case command', 'del', {}, 'del'],
    ['ADD without CNI_CONTAINERID', 'ADD', { CNI_CONTAINERID: undefined }, 'CNI_CONTAINERID'],
    ['ADD without CNI_NETNS', 'ADD', { CNI_NETNS: undefined }, 'CNI_NETNS'],
    ['ADD without CNI_IFNAME', 'ADD', { CNI_IFNAME: undefined }, 'CNI_IFNAME'],
    ['ADD without CNI_PATH', 'ADD', { CNI_PATH: undefined }, 'CNI_PATH'],
    ['ADD with an over-long CNI_IFNAME', 'ADD', { CNI_IFNAME: 'eth0123456789abcd' }, 'CNI_IFNAME'],
    ['ADD with a malformed CNI_ARGS', 'ADD', { CNI_ARGS: 'K8S_POD_NAME=x;junk' }, 'CNI_ARGS'],
    ['DEL without CNI_CONTAINERID', 'DEL', { CNI_CONTAINERID: undefined }, 'CNI_CONTAINERID'],
    ['DEL with a bad CNI_IFNAME', 'DEL', { CNI_IFNAME: 'a/b' }, 'CNI_IFNAME'],
    ['DEL with a CNI_CONTAINERID starting with "-"', 'DEL', { CNI_CONTAINERID: '-x' }, 'CNI_CONTAINERID'],
    ['CHECK without CNI_NETNS', 'CHECK', { CNI_NETNS: undefined }, 'CNI_NETNS'],
  ];
  for (const [what, command, env, named] of envCases) {
    it(`${what} → 4 naming ${named}`, async () => {
      const before = await rig.quiet();
      const r = await runPlugin({ command, env: envFor(holder, env), stdin: conf() });
      expectCniError(r, 4);
      expect(`${String(r.json!.msg)} ${String(r.json!.details ?? '')}`).toContain(named);
      expect(await rig.quiet()).toEqual(before);
    });
  }

  it('STATUS / GC under 1.1.0 are refused with 1, daemon untouched', async () => {
    const before = await rig.quiet();
    const s = await runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf({ cniVersion: '1.0.0' }) });
    expectCniError(s, 1, '1.0.0');
    const g = await runPlugin({
      command: 'GC',
      env: { CNI_PATH: '/opt/cni/bin' },
      stdin: conf({ cniVersion: '0.4.0', 'cni.dev/valid-attachments': [] }),
    });
    expectCniError(g, 1, '0.4.0');
    expect(await rig.quiet()).toEqual(before);
  });

  it('the holder pod is still allocated with its address', async () => {
    expect((await getIPInfo(holder)).found).toBe(true);
    expect((await run('DEL', holder)).code).toBe(0);
  });
});

describe('daemon unreachable (socket absent)', () => {
  it('ADD → 11, DEL → 0, CHECK → 11, STATUS → 50', async () => {
    const sock = { socket: missingSocket };
    const add = await run('ADD', 'gonepod', sock);
    expectCniError(add, 11);
    const del = await run('DEL', 'gonepod', sock);
    expect(del.code).toBe(0);
    expect(del.stdout).toBe('');
    expectCniError(
      await run('CHECK', 'gonepod', {
        ...sock,
        prevResult: {
          cniVersion: '1.1.0',
          interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/gonepod' }],
          ips: [{ address: '10.0.0.9/32', interface: 0 }],
        },
      }),
      11,
    );
    expectCniError(await runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf(sock) }), 50);
  });
});

// Last: stops (and restarts) the daemon.
describe('STATUS (1.1.0) and a daemon that goes away', () => {
  it('STATUS succeeds while the daemon is up, 50 once it is stopped; ADD → 11, DEL → 0 meanwhile', async () => {
    expect((await run('ADD', 'downpod')).code).toBe(0);
    const held = rig.state().allocations[keyOf('downpod')];
    expect(held).toBeDefined();
    const up = await runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf() });
    expect(up.code, up.stdout).toBe(0);
    expect(up.stdout).toBe('');
    client.close();
    await rig.stopDaemon();
    const down = await runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf() });
    expectCniError(down, 50, '1.1.0');
    expectCniError(await run('ADD', 'afterstop'), 11);
    expectCniError(await run('GC', 'afterstop', { 'cni.dev/valid-attachments': [] }), 11);
    // DEL succeeds (the runtime must not be blocked) although nothing was released
    const del = await run('DEL', 'downpod');
    expect(del.code, del.stdout).toBe(0);
    expect(del.stdout).toBe('');
  });

  it('after a restart the allocation DEL could not release is still held; a runtime GC releases it', async () => {
    await rig.restartDaemon();
    client = connect(rig.socketPath);
    const up = await runPlugin({ command: 'STATUS', env: { CNI_PATH: '/opt/cni/bin' }, stdin: conf() });
    expect(up.code, up.stdout).toBe(0);
    expect(Object.keys(rig.state().allocations)).toEqual([keyOf('downpod')]);
    expect((await run('ADD', 'afterstop')).code).toBe(0);
    const gc = await runPlugin({
      command: 'GC',
      env: { CNI_PATH: '/opt/cni/bin' },
      stdin: conf({ 'cni.dev/valid-attachments': [{ containerID: 'afterstop', ifname: 'eth0' }] }),
    });
    expect(gc.code, gc.stdout).toBe(0);
    expect(Object.keys(rig.state().allocations)).toEqual([keyOf('afterstop')]);
    expect((await run('DEL', 'afterstop')).code).toBe(0);
    expect(rig.state().allocations).toEqual({});
  });
});
