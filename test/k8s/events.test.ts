// The event correlator alone (no HTTP): folding window, per-object spam budget, eviction.
import { describe, expect, it } from 'vitest';
import { EventCorrelator, type KubeEvent } from '../../daemon/k8s/index.js';
import { FakeClock } from '../support/clock.js';

const ev = (over: Partial<KubeEvent> = {}): KubeEvent => ({
  target: 'Pod',
  namespace: 'ns',
  name: 'p',
  type: 'Warning',
  reason: 'AllocIPFailed',
  message: 'm',
  ...over,
});

describe('EventCorrelator', () => {
  it('folds identical events inside the window only', () => {
    const clock = new FakeClock(0);
    const c = new EventCorrelator(clock, { windowMs: 1000 });
    expect(c.observe(ev()).action).toBe('post');
    clock.t = 500;
    expect(c.observe(ev())).toMatchObject({ action: 'fold', count: 2 });
    expect(c.observe(ev({ namespace: 'other' })).action).toBe('post');
    expect(c.observe(ev({ type: 'Normal' })).action).toBe('post');
    expect(c.observe(ev({ reason: 'X' })).action).toBe('post');
    clock.t = 999;
    expect(c.observe(ev()).action).toBe('fold');
    clock.t = 1000;
    expect(c.observe(ev())).toEqual({ action: 'post', key: expect.any(String), count: 3, firstTimestamp: 500 });
    clock.t = 1001;
    expect(c.observe(ev()).action).toBe('fold');
  });

  it('node events ignore the namespace', () => {
    const c = new EventCorrelator(new FakeClock(0));
    expect(c.observe(ev({ target: 'Node', name: 'n1', namespace: 'a' })).action).toBe('post');
    expect(c.observe(ev({ target: 'Node', name: 'n1', namespace: 'b' })).action).toBe('fold');
  });

  it('drops distinct events past the per-object budget and refills over time', () => {
    const clock = new FakeClock(0);
    const c = new EventCorrelator(clock, { burst: 3, refillMs: 1000 });
    const actions = [0, 1, 2, 3, 4].map((i) => c.observe(ev({ message: `m${i}` })).action);
    expect(actions).toEqual(['post', 'post', 'post', 'drop', 'drop']);
    // another object has its own budget
    expect(c.observe(ev({ name: 'q', message: 'm9' })).action).toBe('post');
    clock.t = 1000;
    expect(c.observe(ev({ message: 'm5' })).action).toBe('post');
    expect(c.observe(ev({ message: 'm6' })).action).toBe('drop');
    expect(c.stats()).toEqual({ posted: 5, folded: 0, dropped: 3 });
  });

  it('forget() lets the next identical event through', () => {
    const c = new EventCorrelator(new FakeClock(0));
    const d = c.observe(ev());
    c.forget(d.key);
    expect(c.observe(ev()).action).toBe('post');
  });

  it('keeps at most maxKeys series', () => {
    const c = new EventCorrelator(new FakeClock(0), { maxKeys: 2, burst: 100 });
    c.observe(ev({ message: 'a' }));
    c.observe(ev({ message: 'b' }));
    c.observe(ev({ message: 'c' })); // evicts 'a' (oldest)
    expect(c.observe(ev({ message: 'a' })).action).toBe('post');
    expect(c.observe(ev({ message: 'c' })).action).toBe('fold');
  });
});

describe('kubeEventRecorder', () => {
  it('maps the daemon record shape and reports failures instead of throwing', async () => {
    const { kubeEventRecorder, KubeError } = await import('../../daemon/k8s/index.js');
    const got: KubeEvent[] = [];
    let fail = false;
    const errors: string[] = [];
    const rec = kubeEventRecorder(
      {
        recordEvent: async (e) => {
          if (fail) throw new KubeError(503, 'ServiceUnavailable', 'down');
          got.push(e);
        },
      },
      (err) => errors.push(err.reason),
    );
    await rec.record({ target: 'pod', namespace: 'web', name: 'p', type: 'Warning', reason: 'AllocIPFailed', message: 'm' });
    await rec.record({ target: 'node', namespace: '', name: 'n1', type: 'Normal', reason: 'R', message: 'm' });
    expect(got).toEqual([
      { target: 'Pod', namespace: 'web', name: 'p', type: 'Warning', reason: 'AllocIPFailed', message: 'm' },
      { target: 'Node', name: 'n1', type: 'Normal', reason: 'R', message: 'm' },
    ]);
    fail = true;
    await expect(
      rec.record({ target: 'node', namespace: '', name: 'n1', type: 'Normal', reason: 'R', message: 'm' }),
    ).resolves.toBeUndefined();
    expect(errors).toEqual(['ServiceUnavailable']);
  });
});
