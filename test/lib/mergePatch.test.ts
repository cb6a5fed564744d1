// RFC 7396 JSON Merge Patch: the RFC's own examples (Appendix A), and Terway's dynamic-config example.
import { describe, expect, it } from 'vitest';
import { mergePatch, type Json } from '../../lib/mergePatch.js';

describe('mergePatch (RFC 7396)', () => {
  // Appendix A: original, patch, result.
  it.each<[Json, Json, Json]>([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, want) => {
    const before = JSON.stringify(target);
    expect(mergePatch(target, patch)).toEqual(want);
    expect(JSON.stringify(target)).toBe(before); // the target is not modified
  });

  it("Terway's docs/dynamic-config.md example: nested objects merge, null removes a zone", () => {
    const base: Json = {
      version: '1',
      max_pool_size: 5,
      min_pool_size: 0,
      vswitches: { 'cn-hangzhou-g': ['vsw-xxx'], 'cn-hangzhou-i': ['vsw-yyy'] },
    };
    expect(mergePatch(base, { vswitches: { 'cn-hangzhou-g': ['vsw-10000'] }, max_pool_size: 10 })).toEqual({
      version: '1',
      max_pool_size: 10,
      min_pool_size: 0,
      vswitches: { 'cn-hangzhou-g': ['vsw-10000'], 'cn-hangzhou-i': ['vsw-yyy'] },
    });
    expect(mergePatch(base, { vswitches: { 'cn-hangzhou-g': ['vsw-10000'], 'cn-hangzhou-i': null } })).toMatchObject({
      vswitches: { 'cn-hangzhou-g': ['vsw-10000'] },
    });
  });
});
