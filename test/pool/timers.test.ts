// The pools' timers only wake the pool; vitest's fake timers stand in for time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeriodicTimers, WakeTimer } from '../../pool/timers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('WakeTimer', () => {
  it('keeps the earliest wake-up asked for; a later one never pushes it back', () => {
    vi.useFakeTimers();
    let woke = 0;
    const w = new WakeTimer(() => woke++);
    w.wakeAt(1_000, 0);
    w.wakeAt(5_000, 0); // later: ignored
    vi.advanceTimersByTime(999);
    expect(woke).toBe(0);
    w.wakeAt(500, 400); // earlier (100 ms from now): replaces
    vi.advanceTimersByTime(100);
    expect(woke).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(woke).toBe(1);
    w.wakeAt(10, 10); // already due: at least 1 ms
    w.clear();
    vi.advanceTimersByTime(10);
    expect(woke).toBe(1);
  });
});

describe('PeriodicTimers', () => {
  it('runs each job every period, reports failures (sync or async) and keeps going until cleared', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    let runs = 0;
    const t = new PeriodicTimers();
    t.every(
      100,
      () => {
        runs++;
        if (runs === 1) throw new Error('sync');
        return runs === 2 ? Promise.reject(new Error('async')) : undefined;
      },
      (e) => errors.push(e),
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync', 'async']);
    t.clear();
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toBe(3);
  });
});
