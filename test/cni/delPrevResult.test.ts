// DEL must release even when the runtime hands it a damaged prevResult (its cached ADD result):
// DEL does not use it, and failing would keep the address until a GC.
import { describe, expect, it } from 'vitest';
import { CniError, parseNetConf } from '../../cni/spec.js';

const conf = (prevResult: unknown) => JSON.stringify({ cniVersion: '1.0.0', name: 'terway', type: 'terway', prevResult });

describe('prevResult per verb', () => {
  it.each([
    ['ips not an array', { ips: 'x' }],
    ['not an object', 'oops'],
    ['address not a string', { ips: [{ address: 5 }] }],
  ])('DEL accepts a config whose prevResult is damaged (%s)', (_what, prev) => {
    const c = parseNetConf(conf(prev), 'DEL');
    expect(c.name).toBe('terway');
    expect(c.prevResult).toBeUndefined();
  });

  it('ADD and CHECK still refuse a damaged prevResult with 7', () => {
    for (const verb of ['ADD', 'CHECK'] as const) {
      let err: unknown;
      try {
        parseNetConf(conf({ ips: 'x' }), verb);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).code).toBe(7);
    }
  });
});
