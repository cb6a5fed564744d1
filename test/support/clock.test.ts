// The shared fake clock: a jump (advance) for code that reads now(), a walk (advanceAsync) for code that sleeps.
import { describe, expect, it } from 'vitest';
import { FAKE_EPOCH_MS, FakeClock, settle } from './clock.js';

describe('FakeClock', () => {
  it('starts at a plausible epoch, or where told; now() works detached', () => {
    expect(new FakeClock().now()).toBe(FAKE_EPOCH_MS);
    const { now } = new FakeClock(5);
    expect(now()).toBe(5);
  });

  it('advance jumps at once and wakes the sleepers now due, in time order', async () => {
    const clock = new FakeClock(0);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    void clock.sleep(900).then(() => woke.push('late'));
    clock.advance(500);
    expect(clock.now()).toBe(500);
    await settle();
    expect(woke).toEqual(['a@500', 'b@500']);
    expect(clock.pending()).toBe(1);
  });

  it('advanceAsync walks from sleeper to sleeper, so one that sleeps again wakes within the same advance', async () => {
    const clock = new FakeClock(0);
    const woke: number[] = [];
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        woke.push(clock.now());
      }
    };
    const done = loop();
    await clock.advanceAsync(250);
    expect(woke).toEqual([100, 200]);
    expect(clock.now()).toBe(250);
    await clock.advanceAsync(50);
    await done;
    expect(woke).toEqual([100, 200, 300]);
  });
});
