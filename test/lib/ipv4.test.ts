// lib/ipv4.ts: the one IPv4 helper module every folder uses (addresses, CIDR blocks, vSwitch reservations).
import { describe, expect, it } from 'vitest';
import {
  compareIpv4,
  formatIpv4Cidr,
  intToIpv4,
  ipv4BlockSize,
  ipv4CidrContains,
  ipv4CidrsOverlap,
  ipv4CidrWithin,
  ipv4Netmask,
  ipv4ToInt,
  isIpv4,
  parseIpv4Cidr,
  splitIpv4Cidr,
  vSwitchGateway,
  vSwitchUsableRange,
} from '../../lib/ipv4.js';

describe('addresses', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.1.5', 167772421],
    ['192.168.31.253', 3232243709],
    ['255.255.255.255', 0xffffffff],
  ])('%s ⇄ %d', (ip, n) => {
    expect(ipv4ToInt(ip)).toBe(n);
    expect(intToIpv4(n)).toBe(ip);
    expect(isIpv4(ip)).toBe(true);
  });

  it.each(['', '10.0.1', '10.0.1.5.6', '10.0.1.256', '10.0.1.-1', '10.0.1.1e2', '10.0.1. 5', '10.0.1.0005', 'fd00::1', '10.0.1.5/24'])(
    'rejects %j',
    (s) => {
      expect(isIpv4(s)).toBe(false);
      expect(() => ipv4ToInt(s)).toThrow(RangeError);
    },
  );

  it('refuses numbers that are no address', () => {
    for (const n of [-1, 2 ** 32, 1.5, NaN]) expect(() => intToIpv4(n)).toThrow(RangeError);
  });

  it('sorts numerically, non-addresses last', () => {
    const ips = ['10.0.0.10', '-', '10.0.0.9', '9.255.255.255', '', '10.0.1.0'];
    expect([...ips].sort(compareIpv4)).toEqual(['9.255.255.255', '10.0.0.9', '10.0.0.10', '10.0.1.0', '', '-']);
  });
});

describe('CIDR blocks', () => {
  it('splits and checks both parts, keeping host bits as written', () => {
    expect(splitIpv4Cidr('10.0.1.5/24')).toEqual({ ip: '10.0.1.5', prefix: 24 });
    expect(splitIpv4Cidr('0.0.0.0/0')).toEqual({ ip: '0.0.0.0', prefix: 0 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/2a', '10.0.0.0/24/1', '/24'])
      expect(() => splitIpv4Cidr(bad), bad).toThrow(/not an IPv4 CIDR/);
    expect(() => splitIpv4Cidr('300.0.0.0/24')).toThrow(/not an IPv4 address: 300\.0\.0\.0/);
  });

  it('parses to network, prefix and size; host bits cleared, or refused when strict', () => {
    expect(parseIpv4Cidr('10.0.1.5/23')).toEqual({ network: ipv4ToInt('10.0.0.0'), prefix: 23, size: 512 });
    expect(parseIpv4Cidr('10.0.0.0/32')).toEqual({ network: ipv4ToInt('10.0.0.0'), prefix: 32, size: 1 });
    expect(parseIpv4Cidr('0.0.0.0/0')).toEqual({ network: 0, prefix: 0, size: 2 ** 32 });
    expect(parseIpv4Cidr('172.20.1.0/24', { strict: true }).prefix).toBe(24);
    expect(() => parseIpv4Cidr('172.20.1.7/24', { strict: true })).toThrow(
      /172\.20\.1\.7\/24 has host bits set \(network is 172\.20\.1\.0\/24\)/,
    );
    expect(formatIpv4Cidr(parseIpv4Cidr('10.0.1.5/23'))).toBe('10.0.0.0/23');
    expect(ipv4BlockSize(20)).toBe(4096);
  });

  it('contains: the block from network to broadcast, given as text or parsed, the address as text or number', () => {
    const c = parseIpv4Cidr('10.0.2.0/23');
    expect(ipv4CidrContains(c, '10.0.2.0')).toBe(true);
    expect(ipv4CidrContains(c, '10.0.3.255')).toBe(true);
    expect(ipv4CidrContains(c, '10.0.4.0')).toBe(false);
    expect(ipv4CidrContains(c, '10.0.1.255')).toBe(false);
    expect(ipv4CidrContains('10.0.2.0/23', ipv4ToInt('10.0.3.1'))).toBe(true);
    expect(ipv4CidrContains('0.0.0.0/0', '255.255.255.255')).toBe(true);
  });

  it('within and overlap', () => {
    const vpc = parseIpv4Cidr('10.0.0.0/16');
    const a = parseIpv4Cidr('10.0.0.0/24');
    const b = parseIpv4Cidr('10.0.0.128/25');
    const c = parseIpv4Cidr('10.0.1.0/24');
    expect(ipv4CidrWithin(a, vpc)).toBe(true);
    expect(ipv4CidrWithin(vpc, a)).toBe(false);
    expect(ipv4CidrWithin(parseIpv4Cidr('10.1.0.0/24'), vpc)).toBe(false);
    expect(ipv4CidrsOverlap(a, b)).toBe(true);
    expect(ipv4CidrsOverlap(b, a)).toBe(true);
    expect(ipv4CidrsOverlap(a, c)).toBe(false);
  });

  it.each([
    [0, '0.0.0.0'],
    [8, '255.0.0.0'],
    [23, '255.255.254.0'],
    [32, '255.255.255.255'],
  ])('netmask of /%d is %s', (prefix, mask) => {
    expect(ipv4Netmask(prefix)).toBe(mask);
  });
});

describe('vSwitch reservations (Alibaba Cloud keeps the first address and the last three)', () => {
  it('a /24 hands out .1 to .252; the gateway is .253', () => {
    const r = vSwitchUsableRange(parseIpv4Cidr('10.0.2.0/24'));
    expect(intToIpv4(r.first)).toBe('10.0.2.1');
    expect(intToIpv4(r.last)).toBe('10.0.2.252');
    expect(intToIpv4(r.gateway)).toBe('10.0.2.253');
  });

  it('the gateway of any vSwitch size is its third address from the top, inside the block', () => {
    const gateways = ['10.0.0.0/23', '192.168.16.0/20', '172.16.0.8/29'].map((c) => [c, vSwitchGateway(c)]);
    expect(gateways).toEqual([
      ['10.0.0.0/23', '10.0.1.253'],
      ['192.168.16.0/20', '192.168.31.253'],
      ['172.16.0.8/29', '172.16.0.13'],
    ]);
    for (const [c, gw] of gateways) expect(ipv4CidrContains(c!, gw!)).toBe(true);
  });
});
