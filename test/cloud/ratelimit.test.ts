import { describe, expect, it } from 'vitest';
import { FakeClock } from '../support/clock.js';
import { RateLimiter, TokenBucket } from '../../daemon/cloud/ratelimit.js';

describe('TokenBucket (fake clock)', () => {
  it('lets a burst through at once, then one token per 1/rate seconds', () => {
    const clock = new FakeClock(0);
    const b = new TokenBucket({ ratePerSec: 2, burst: 3, clock });
    expect([b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 0, 0]);
    // The 4th and 5th callers are in debt: 500ms and 1000ms away.
    expect(b.reserve()).toBeCloseTo(500);
    expect(b.reserve()).toBeCloseTo(1000);
  });

  it('refills with time but never above the burst', async () => {
    const clock = new FakeClock(0);
    const b = new TokenBucket({ ratePerSec: 10, burst: 5, clock });
    for (let i = 0; i < 5; i++) b.reserve();
    expect(b.available()).toBeCloseTo(0);
    await clock.advanceAsync(300);
    expect(b.available()).toBeCloseTo(3);
    await clock.advanceAsync(10_000);
    expect(b.available()).toBe(5);
  });

  it('serves concurrent waiters in arrival order, each at its own instant', async () => {
    const clock = new FakeClock(0);
    const b = new TokenBucket({ ratePerSec: 1, burst: 1, clock });
    const doneAt: number[] = [];
    const all = [0, 1, 2, 3].map((i) => b.take().then(() => (doneAt[i] = clock.now())));
    await clock.advanceAsync(0);
    expect(doneAt.filter((x) => x !== undefined)).toEqual([0]);
    await clock.advanceAsync(1000);
    expect(doneAt[1]).toBe(1000);
    expect(doneAt[2]).toBeUndefined();
    await clock.advanceAsync(2000);
    await Promise.all(all);
    expect(doneAt).toEqual([0, 1000, 2000, 3000]);
  });

  it('is unlimited when the rate is Infinity or not positive', () => {
    const b = new TokenBucket({ ratePerSec: Infinity, burst: 1, clock: new FakeClock(0) });
    const z = new TokenBucket({ ratePerSec: 0, burst: 1, clock: new FakeClock(0) });
    for (let i = 0; i < 1000; i++) {
      expect(b.reserve()).toBe(0);
      expect(z.reserve()).toBe(0);
    }
  });
});

describe('RateLimiter', () => {
  it('bounds calls per window by the shared bucket: burst + qps × seconds', async () => {
    const clock = new FakeClock(0);
    const rl = new RateLimiter({ qps: 5, burst: 5, terwayDefaults: false, clock });
    let passed = 0;
    const waits = Array.from({ length: 40 }, () => rl.acquire('DescribeNetworkInterfaces').then(() => passed++));
    await clock.advanceAsync(0);
    expect(passed).toBe(5);
    await clock.advanceAsync(1000);
    expect(passed).toBe(10);
    await clock.advanceAsync(2000);
    expect(passed).toBe(20);
    await clock.advanceAsync(10_000);
    await Promise.all(waits);
    expect(passed).toBe(40);
    const s = rl.stats();
    expect(s.acquired).toBe(40);
    expect(s.delayed).toBe(35);
    expect(s.maxWaitMs).toBeCloseTo(7000);
  });

  it('applies per-API buckets in calls per minute (Terway rate_limit), burst = per-minute figure', async () => {
    const clock = new FakeClock(0);
    const rl = new RateLimiter({ qps: Infinity, perApiPerMinute: { AssignPrivateIpAddresses: 6 }, terwayDefaults: false, clock });
    let assign = 0;
    let other = 0;
    const a = Array.from({ length: 8 }, () => rl.acquire('AssignPrivateIpAddresses').then(() => assign++));
    const o = Array.from({ length: 50 }, () => rl.acquire('DescribeVSwitches').then(() => other++));
    await clock.advanceAsync(0);
    expect(assign).toBe(6); // burst 6
    expect(other).toBe(50); // no bucket for this API, shared one off
    await clock.advanceAsync(10_000); // 6/min = one per 10 s
    expect(assign).toBe(7);
    await clock.advanceAsync(10_000);
    await Promise.all([...a, ...o]);
    expect(assign).toBe(8);
  });

  it('merges Terway defaults under user overrides', () => {
    const rl = new RateLimiter({ perApiPerMinute: { DescribeNetworkInterfaces: 60 }, clock: new FakeClock(0) });
    expect(rl.bucket('DescribeNetworkInterfaces')!.ratePerSec).toBeCloseTo(1);
    expect(rl.bucket('CreateNetworkInterface')!.ratePerSec).toBeCloseTo(500 / 60);
    expect(rl.bucket('NoSuchApi')).toBeUndefined();
    expect(new RateLimiter({ terwayDefaults: false }).bucket('CreateNetworkInterface')).toBeUndefined();
  });
});
