// The real plugin with a dual-stack daemon reply (IPv4 /32 via 169.254.1.1 and IPv6 /128 via fe80::1, as the
// veth driver wires them): the result lists both addresses with their interface index and routes for both
// families in every supported CNI version; CHECK compares both addresses with the daemon's allocation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';

let d: FakeDaemon;
beforeAll(async () => {
  await ensurePluginBuilt();
  d = await startFakeDaemon();
});
afterAll(async () => {
  await d?.stop();
});
beforeEach(() => {
  d.reset();
  d.on('AllocIP', () => ({
    success: true,
    ipType: 'ENI_MULTI_IP',
    ips: [
      { address: '10.0.0.5/32', gateway: '169.254.1.1', family: 4 },
      { address: 'fd00:0:0:100::5/128', gateway: 'fe80::1', family: 6 },
    ],
    routes: [
      { dst: '0.0.0.0/0', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::1' },
    ],
    interface: { name: 'eth0', mac: '02:00:00:00:00:05', hostIfName: 'eni0123456789a', hostIfMac: 'ee:ee:ee:ee:ee:ee' },
    eniId: 'eni-fake0001',
    eniMac: '00:16:3e:00:00:01',
    vswitchId: 'vsw-fake',
  }));
  d.on('GetIPInfo', () => ({
    success: true,
    found: true,
    ipType: 'ENI_MULTI_IP',
    ips: [
      { address: '10.0.0.5/32', gateway: '10.0.0.253', family: 4 },
      { address: 'fd00:0:0:100::5/128', gateway: 'fd00::100:ffff:ffff:ffff:fffd', family: 6 },
    ],
  }));
});

describe('ADD, dual stack', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    it(`lists both addresses on the pod interface and routes for both families (${v})`, async () => {
      const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(d.socketPath, { cniVersion: v }) });
      expect(r.code, r.stdout).toBe(0);
      const v4 = { address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 };
      const v6 = { address: 'fd00:0:0:100::5/128', gateway: 'fe80::1', interface: 1 };
      const old = v.startsWith('0.');
      expect(r.json).toEqual({
        cniVersion: v,
        interfaces: [
          { name: 'eni0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
          { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/cni-test' },
        ],
        ips: old
          ? [
              { version: '4', ...v4 },
              { version: '6', ...v6 },
            ]
          : [v4, v6],
        routes: [
          { dst: '0.0.0.0/0', gw: '169.254.1.1' },
          { dst: '::/0', gw: 'fe80::1' },
        ],
      });
    });
  }
});

describe('CHECK, dual stack', () => {
  const prevResult = {
    cniVersion: '1.1.0',
    interfaces: [
      { name: 'eni0123456789a', mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/var/run/netns/cni-test' },
    ],
    ips: [
      { address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 },
      { address: 'fd00:0:0:100::5/128', gateway: 'fe80::1', interface: 1 },
    ],
  };
  const check = (prev: unknown) => runPlugin({ command: 'CHECK', env: podEnv(), stdin: netConf(d.socketPath, { prevResult: prev }) });

  it('passes when both addresses match the daemon', async () => {
    const r = await check(prevResult);
    expect(r.code, r.stdout).toBe(0);
    expect(d.calls.map((c) => c.method)).toEqual(['GetIPInfo', 'CheckIP']);
  });

  it('fails (103) when prevResult lacks the IPv6 address the daemon holds, or lists another one', async () => {
    const r = await check({ ...prevResult, ips: prevResult.ips.slice(0, 1) });
    expect(r.json).toMatchObject({ code: 103 });
    expect(String(r.json!.details)).toContain('fd00:0:0:100::5/128');
    const other = await check({ ...prevResult, ips: [prevResult.ips[0], { address: 'fd00:0:0:100::6/128', interface: 1 }] });
    expect(other.json).toMatchObject({ code: 103 });
    expect(d.callsOf('CheckIP')).toHaveLength(0);
  });
});
