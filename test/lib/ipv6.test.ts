// lib/ipv6.ts: the one IPv6 helper module (addresses as bigint, RFC 5952 text, CIDR blocks, vSwitch reservations).
import { describe, expect, it } from 'vitest';
import {
  bigIntToIpv6,
  canonicalIpv6,
  compareIpv6,
  formatIpv6Cidr,
  ipv6BlockSize,
  ipv6CidrContains,
  ipv6CidrsOverlap,
  ipv6CidrWithin,
  ipv6ToBigInt,
  isIpv6,
  parseIpv6Cidr,
  splitIpv6Cidr,
  vSwitchIpv6Gateway,
  vSwitchIpv6UsableRange,
} from '../../lib/ipv6.js';

describe('addresses', () => {
  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['fd00::1', 0xfd00_0000_0000_0000_0000_0000_0000_0001n],
    ['2408:4005:39c:8700::5', 0x2408_4005_039c_8700_0000_0000_0000_0005n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
    ['fe80::1', 0xfe80_0000_0000_0000_0000_0000_0000_0001n],
    ['::ffff:10.0.1.5', 0xffff_0a00_0105n],
  ])('%s ⇄ %s', (ip, n) => {
    expect(ipv6ToBigInt(ip)).toBe(n);
    expect(bigIntToIpv6(n)).toBe(ip);
    expect(isIpv6(ip)).toBe(true);
  });

  it.each([
    ['FD00:0000:0000:0000:0000:0000:0000:0001', 'fd00::1'],
    ['fd00:0:0::01', 'fd00::1'],
    // RFC 5952 4.2.2: one zero group is not shortened; 4.2.3: the longest run, the first on a tie.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['::ffff:0a00:0105', '::ffff:10.0.1.5'],
  ])('canonical text of %s is %s', (input, canonical) => {
    expect(canonicalIpv6(input)).toBe(canonical);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:::2',
    ':1',
    '1:',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4::5:6:7:8',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '::ffff:10.0.1.256',
    '10.0.1.5',
    'fd00::/64',
    ' fd00::1',
  ])('rejects %j', (s) => {
    expect(isIpv6(s)).toBe(false);
    expect(() => ipv6ToBigInt(s)).toThrow(RangeError);
  });

  it('refuses values that are no address', () => {
    for (const n of [-1n, 1n << 128n]) expect(() => bigIntToIpv6(n)).toThrow(RangeError);
  });

  it('sorts numerically, non-addresses last', () => {
    const ips = ['fd00::10', '-', 'fd00::9', '::1', '', 'fd00::1:0'];
    expect([...ips].sort(compareIpv6)).toEqual(['::1', 'fd00::9', 'fd00::10', 'fd00::1:0', '', '-']);
  });
});

describe('CIDR blocks', () => {
  it('splits and checks both parts', () => {
    expect(splitIpv6Cidr('fd00::5/64')).toEqual({ ip: 'fd00::5', prefix: 64 });
    expect(splitIpv6Cidr('::/0')).toEqual({ ip: '::', prefix: 0 });
    for (const bad of ['fd00::', 'fd00::/129', 'fd00::/', 'fd00::/6a', '/64', 'fd00::/64/1'])
      expect(() => splitIpv6Cidr(bad), bad).toThrow(/not an IPv6 CIDR/);
    expect(() => splitIpv6Cidr('fd00:::/64')).toThrow(/not an IPv6 address: fd00:::/);
  });

  it('parses to network, prefix and size; host bits cleared, or refused when strict', () => {
    expect(parseIpv6Cidr('fd00:1:2:3::5/64')).toEqual({ network: ipv6ToBigInt('fd00:1:2:3::'), prefix: 64, size: 1n << 64n });
    expect(parseIpv6Cidr('fd00::1/128')).toEqual({ network: ipv6ToBigInt('fd00::1'), prefix: 128, size: 1n });
    expect(parseIpv6Cidr('::/0')).toEqual({ network: 0n, prefix: 0, size: 1n << 128n });
    expect(formatIpv6Cidr(parseIpv6Cidr('fd00:1:2:3ff::/56'))).toBe('fd00:1:2:300::/56');
    expect(() => parseIpv6Cidr('fd00:1:2:3::5/64', { strict: true })).toThrow(
      /fd00:1:2:3::5\/64 has host bits set \(network is fd00:1:2:3::\/64\)/,
    );
    expect(ipv6BlockSize(120)).toBe(256n);
  });

  it('contains: text or parsed block, text or value address', () => {
    const c = parseIpv6Cidr('fd00:0:0:1::/64');
    expect(ipv6CidrContains(c, 'fd00:0:0:1::')).toBe(true);
    expect(ipv6CidrContains(c, 'fd00:0:0:1:ffff:ffff:ffff:ffff')).toBe(true);
    expect(ipv6CidrContains(c, 'fd00:0:0:2::')).toBe(false);
    expect(ipv6CidrContains(c, 'fd00::ffff:ffff:ffff:ffff')).toBe(false);
    expect(ipv6CidrContains('fd00:0:0:1::/64', ipv6ToBigInt('fd00:0:0:1::7'))).toBe(true);
    expect(ipv6CidrContains('::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
  });

  it('within and overlap: a /64 vSwitch out of the VPC /56', () => {
    const vpc = parseIpv6Cidr('fd00:0:0:100::/56');
    const a = parseIpv6Cidr('fd00:0:0:100::/64');
    const b = parseIpv6Cidr('fd00:0:0:100::/65');
    const c = parseIpv6Cidr('fd00:0:0:1ff::/64');
    expect(ipv6CidrWithin(a, vpc)).toBe(true);
    expect(ipv6CidrWithin(c, vpc)).toBe(true);
    expect(ipv6CidrWithin(parseIpv6Cidr('fd00:0:0:200::/64'), vpc)).toBe(false);
    expect(ipv6CidrWithin(vpc, a)).toBe(false);
    expect(ipv6CidrsOverlap(a, b)).toBe(true);
    expect(ipv6CidrsOverlap(b, a)).toBe(true);
    expect(ipv6CidrsOverlap(a, c)).toBe(false);
  });

  it('a vSwitch keeps its first address and the last three; the gateway is the third from last', () => {
    const r = vSwitchIpv6UsableRange(parseIpv6Cidr('fd00:0:0:100::/64'));
    expect(bigIntToIpv6(r.first)).toBe('fd00:0:0:100::1');
    expect(bigIntToIpv6(r.last)).toBe('fd00::100:ffff:ffff:ffff:fffc');
    expect(bigIntToIpv6(r.gateway)).toBe('fd00::100:ffff:ffff:ffff:fffd');
    expect(vSwitchIpv6Gateway('fd00:0:0:100::/64')).toBe('fd00::100:ffff:ffff:ffff:fffd');
  });
});
