import { describe, expect, it } from 'vitest';
import { CloudError } from '../../daemon/cloud/types.js';
import { defaultPoolConfig, resolvePoolConfig } from '../../pool/config.js';
import { errorCode, expireBackoffs, recordFailure } from '../../pool/backoff.js';
import { EniWorkers } from '../../pool/eniWorkers.js';
import { WaitQueue } from '../../pool/waitQueue.js';
import { ipv4CidrContains, vSwitchGateway } from '../../lib/ipv4.js';
import { PoolError } from '../../pool/types.js';

const cfg = defaultPoolConfig.backoff;
const err = (code: string) => new CloudError({ api: 'X', code, message: 'm', retryable: false });

describe('exhaustion back-off', () => {
  it.each([
    ['EniPerInstanceLimitExceeded', 'all', 60_000],
    ['QuotaExceeded.PrivateIpAddress', 'all', 600_000],
  ])('%s pauses the whole pool', (code, key, ms) => {
    const b = recordFailure({ vSwitches: {}, enis: {} }, errorCode(err(code)), { vSwitchId: 'vsw-a' }, 0, cfg);
    expect(b[key as 'all']).toEqual({ until: ms, code });
  });

  it('InvalidVSwitchId.IpNotEnough pauses only that vSwitch; other errors only that ENI or ENI creation', () => {
    let b = recordFailure({ vSwitches: {}, enis: {} }, 'InvalidVSwitchId.IpNotEnough', { vSwitchId: 'vsw-a' }, 0, cfg);
    expect(b.vSwitches).toEqual({ 'vsw-a': { until: 600_000, code: 'InvalidVSwitchId.IpNotEnough' } });
    expect(b.all).toBeUndefined();
    b = recordFailure(b, 'Throttling', { eniId: 'eni-1' }, 0, cfg);
    expect(b.enis['eni-1']?.code).toBe('Throttling');
    b = recordFailure(b, 'ServiceUnavailable', {}, 0, cfg);
    expect(b.create?.code).toBe('ServiceUnavailable');
    const later = expireBackoffs(b, 600_000);
    expect(later).toEqual({ vSwitches: {}, enis: {} });
  });

  it('reads the code from CloudError and PoolError', () => {
    expect(errorCode(err('Foo'))).toBe('Foo');
    expect(errorCode(new PoolError('Exhausted', 'x', { cloudCode: 'Bar' }))).toBe('Bar');
    expect(errorCode(new Error('x'))).toBe('Internal');
  });
});

describe('EniWorkers', () => {
  it('serializes one ENI, runs different ENIs in parallel, and reports change since a snapshot', async () => {
    const w = new EniWorkers(() => {});
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
    };
    const snap = w.snapshot();
    const all = Promise.all([w.run('a', step('a1', 20)), w.run('a', step('a2', 1)), w.run('b', step('b1', 5))]);
    expect(w.busy('a')).toBe(true);
    expect(w.changedSince(snap, 'c')).toBe(false);
    await all;
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(w.busy('a')).toBe(false);
    expect(w.changedSince(snap, 'a')).toBe(true);
  });

  it('a failing operation does not block the next one on the same ENI', async () => {
    const errors: unknown[] = [];
    const w = new EniWorkers((e) => errors.push(e));
    let ran = false;
    await Promise.all([
      w.run('a', async () => {
        throw new Error('boom');
      }),
      w.run('a', async () => {
        ran = true;
      }),
    ]);
    expect(ran).toBe(true);
    expect(errors).toHaveLength(1);
  });
});

describe('WaitQueue', () => {
  it('serves oldest first, shares one promise per key, fails the newest, and times out', async () => {
    const q = new WaitQueue<number, string>();
    const p1 = q.enqueue('k1', 1, 1000, () => new Error('t'));
    const p1b = q.enqueue('k1', 1, 1000, () => new Error('t'));
    expect(p1b).toBe(p1);
    const p2 = q.enqueue('k2', 2, 1000, () => new Error('t'));
    const p3 = q.enqueue('k3', 3, 1000, () => new Error('t'));
    const p4 = q.enqueue('k4', 4, 20, () => new Error('deadline'));
    let budget = 1;
    q.drain((r) => (budget-- > 0 ? `ip-${r}` : undefined));
    await expect(p1).resolves.toBe('ip-1');
    expect(q.failNewest(1, () => new Error('exhausted'))).toBe(1);
    await expect(p4).rejects.toThrow('exhausted');
    q.drain(() => 'ip');
    await expect(p2).resolves.toBe('ip');
    await expect(p3).resolves.toBe('ip');
    const p5 = q.enqueue('k5', 5, 10, () => new Error('deadline'));
    await expect(p5).rejects.toThrow('deadline');
    expect(q.length).toBe(0);
  });
});

describe('config and IPv4 helpers', () => {
  it('fills defaults and rejects nonsense', () => {
    expect(resolvePoolConfig({ minPoolSize: 3, backoff: { otherErrorMs: 1 } })).toMatchObject({
      minPoolSize: 3,
      maxPoolSize: 5,
      batchSize: 10,
      backoff: { otherErrorMs: 1, vSwitchIpNotEnoughMs: 600_000 },
    });
    expect(() => resolvePoolConfig({ minPoolSize: 6, maxPoolSize: 5 })).toThrow(RangeError);
    expect(() => resolvePoolConfig({ batchSize: 11 })).toThrow(RangeError);
  });

  it.each([
    ['10.0.0.0/24', '10.0.0.253'],
    ['10.0.0.0/23', '10.0.1.253'],
    ['192.168.16.0/20', '192.168.31.253'],
  ])('vSwitch %s has gateway %s', (cidr, gw) => {
    expect(vSwitchGateway(cidr)).toBe(gw);
    expect(ipv4CidrContains(cidr, gw)).toBe(true);
  });
});
