// Pure CNI rules of cni/spec.ts, in-process.
import { describe, expect, it } from 'vitest';
import {
  buildAddResult,
  checkPrevResult,
  CniError,
  compareVersions,
  parseCniArgs,
  parseEnv,
  parseNetConf,
  peekCniVersion,
  type Attached,
} from '../../cni/spec.js';

const attached: Attached = {
  ifName: 'eth0',
  mac: '02:00:00:00:00:05',
  netns: '/var/run/netns/x',
  hostIfName: '',
  hostIfMac: '',
  ips: [{ address: '10.0.0.5/32', gateway: '', family: 4 }],
  routes: [{ dst: '0.0.0.0/0', gw: '' }],
};

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
};

describe('spec helpers', () => {
  it('compares versions numerically', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(codeOf(() => compareVersions('1.0', '1.0.0'))).toBe(6);
  });

  it('parses CNI_ARGS, keeping unknown keys and "=" inside values', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web-0;FOO=a=b;;X=')).toEqual({
      IgnoreUnknown: '1',
      K8S_POD_NAME: 'web-0',
      FOO: 'a=b',
      X: '',
    });
    expect(parseCniArgs('')).toEqual({});
    expect(codeOf(() => parseCniArgs('=v'))).toBe(4);
  });

  it('requires per verb only what the spec requires', () => {
    expect(parseEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_PATH: '/p' }).netns).toBe('');
    expect(parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/p' }).command).toBe('GC');
    expect(codeOf(() => parseEnv({ CNI_COMMAND: 'STATUS' }))).toBe(4);
    expect(codeOf(() => parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: 'eth 0', CNI_PATH: '/p' }))).toBe(
      4,
    );
  });

  it('peeks the cniVersion for error replies only when supported', () => {
    expect(peekCniVersion('{"cniVersion":"0.4.0"}')).toBe('0.4.0');
    expect(peekCniVersion('{"cniVersion":"9.9.9"}')).toBeUndefined();
    expect(peekCniVersion('nope')).toBeUndefined();
  });

  it('reads the GC list and config knobs', () => {
    const c = parseNetConf(
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'n',
        'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
        timeout_seconds: 3,
      }),
      'GC',
    );
    expect(c.validAttachments).toEqual([{ containerID: 'a', ifname: 'eth0' }]);
    expect(c.timeoutSeconds).toBe(3);
    expect(c.socket).toBe('/var/run/eni/eni.socket');
    expect(
      codeOf(() =>
        parseNetConf(JSON.stringify({ cniVersion: '1.1.0', name: 'n', 'cni.dev/valid-attachments': [{ containerID: 1 }] }), 'GC'),
      ),
    ).toBe(7);
  });
});

describe('ADD result', () => {
  it('omits empty gateway / gw / mac, and prefers the config dns over prevResult dns', () => {
    const r = buildAddResult(
      { ...attached, mac: '' },
      '1.0.0',
      { cniVersion: '1.0.0', dns: { nameservers: ['1.1.1.1'] } },
      { nameservers: ['10.96.0.10'] },
    );
    expect(r).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/x' }],
      ips: [{ address: '10.0.0.5/32', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.96.0.10'] },
    });
  });

  it('does not modify the prevResult it merges', () => {
    const prev = { cniVersion: '0.4.0', interfaces: [{ name: 'a' }], ips: [{ version: '4', address: '1.2.3.4/24', interface: 0 }] };
    const copy = JSON.parse(JSON.stringify(prev)) as unknown;
    buildAddResult(attached, '1.1.0', prev, undefined);
    expect(prev).toEqual(copy);
  });
});

describe('CHECK against prevResult', () => {
  const prev = buildAddResult(
    { ...attached, hostIfName: 'veth1', ips: [...attached.ips, { address: 'FD00::5/128', gateway: '', family: 6 }] },
    '1.1.0',
    undefined,
    undefined,
  );
  it('passes when the daemon holds the same addresses (case-insensitive)', () => {
    expect(() => checkPrevResult(prev, 'eth0', '/var/run/netns/x', ['10.0.0.5/32', 'fd00::5/128'])).not.toThrow();
  });
  it('fails on a missing or extra address, another netns or interface', () => {
    expect(codeOf(() => checkPrevResult(prev, 'eth0', '/var/run/netns/x', ['10.0.0.5/32']))).toBe(103);
    expect(codeOf(() => checkPrevResult(prev, 'eth0', '/var/run/netns/x', ['10.0.0.5/32', 'fd00::5/128', '10.0.0.6/32']))).toBe(103);
    expect(codeOf(() => checkPrevResult(prev, 'eth0', '/var/run/netns/other', ['10.0.0.5/32', 'fd00::5/128']))).toBe(103);
    expect(codeOf(() => checkPrevResult(prev, 'eth1', '/var/run/netns/x', ['10.0.0.5/32', 'fd00::5/128']))).toBe(103);
  });
});

describe("network config keys for the daemon (Terway's 10-terway.conf)", () => {
  const terway = JSON.stringify({
    cniVersion: '0.4.0',
    name: 'terway',
    type: 'terway',
    capabilities: { bandwidth: true },
    network_policy_provider: 'ebpf',
    auto_mtu: false,
    eniip_virtual_type: 'IPVlan',
    host_stack_cidrs: ['169.254.20.10/32'],
    veth_prefix: 'cali',
    mtu: 1450,
    runtimeConfig: { bandwidth: { ingressRate: 1 } },
  });

  it('mtu, eniip_virtual_type (lower-cased) and veth_prefix go to the daemon; the rest is named, CNI keys are not', () => {
    expect(parseNetConf(terway, 'ADD').daemonOptions).toEqual({
      mtu: 1450,
      eniipVirtualType: 'ipvlan',
      vethPrefix: 'cali',
      ignoredKeys: ['auto_mtu', 'host_stack_cidrs', 'network_policy_provider', 'runtimeConfig.bandwidth'],
    });
    expect(parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'terway', socket: '/s' }), 'ADD').daemonOptions).toEqual({
      ignoredKeys: [],
    });
  });

  it.each([[20], [70000], ['1500'], [1.5]])('mtu %j is refused with 7', (mtu) => {
    expect(codeOf(() => parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', mtu }), 'ADD'))).toBe(7);
  });
});
