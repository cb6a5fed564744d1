// AllocBatch on its own, with recording ports: one commit per turn, nothing resolved before it, a failed
// commit undone in reverse and failing the group only, waits and throwing stages kept per request.
import { describe, expect, it } from 'vitest';
import { AllocBatch, type AllocBatchPorts } from '../../pool/allocBatch.js';
import type { StoreOp } from '../../pool/store.js';

const turn = () => new Promise((r) => setImmediate(r));

function recorder(opts: { free: number; failCommit?: boolean; throwFor?: string }) {
  const log: string[] = [];
  let free = opts.free;
  const ports: AllocBatchPorts<string, string> = {
    stage: (key) => {
      if (key === opts.throwFor) throw new Error(`bug staging ${key}`);
      if (free === 0) return undefined;
      free--;
      log.push(`stage ${key}`);
      return {
        ops: [{ op: 'deletePod', podKey: key } satisfies StoreOp],
        result: `ip-of-${key}`,
        undo: () => {
          free++;
          log.push(`undo ${key}`);
        },
      };
    },
    commit: (ops) => {
      log.push(`commit ${ops.map((o) => (o.op === 'deletePod' ? o.podKey : o.op)).join(',')}`);
      if (opts.failCommit) throw new Error('disk I/O error');
    },
    wait: (key) => {
      log.push(`wait ${key}`);
      return Promise.resolve(`later-${key}`);
    },
    flushed: () => log.push('flushed'),
  };
  return { ports, log, free: () => free };
}

describe('AllocBatch', () => {
  it('requests of one turn are staged in order and committed once; each resolves only after the commit', async () => {
    const r = recorder({ free: 5 });
    const batch = new AllocBatch(r.ports);
    const settled: string[] = [];
    const ps = ['a', 'b', 'c'].map((k) => batch.add(k, k).then((v) => (settled.push(v), r.log.push(`resolved ${k}`), v)));
    expect(batch.add('a', 'a')).toBe(batch.promiseOf('a')); // one per key
    expect(batch.size).toBe(3);
    expect(r.log).toEqual([]); // nothing before the turn ends
    expect(await Promise.all(ps)).toEqual(['ip-of-a', 'ip-of-b', 'ip-of-c']);
    expect(r.log).toEqual(['stage a', 'stage b', 'stage c', 'commit a,b,c', 'flushed', 'resolved a', 'resolved b', 'resolved c']);
    expect(batch.size).toBe(0);
    // the next turn is its own group
    await batch.add('d', 'd');
    expect(r.log.filter((l) => l.startsWith('commit'))).toEqual(['commit a,b,c', 'commit d']);
  });

  it('a failed commit undoes the group in reverse and fails it; requests sent to wait are not touched', async () => {
    const r = recorder({ free: 2, failCommit: true });
    const batch = new AllocBatch(r.ports);
    const res = await Promise.allSettled(['a', 'b', 'c'].map((k) => batch.add(k, k)));
    expect(res.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([
      'disk I/O error',
      'disk I/O error',
      'later-c',
    ]);
    expect(r.log).toEqual(['stage a', 'stage b', 'wait c', 'commit a,b', 'undo b', 'undo a', 'flushed']);
    expect(r.free()).toBe(2);
  });

  it('no commit when nothing was staged; a throwing stage fails that request only', async () => {
    const r = recorder({ free: 1, throwFor: 'x' });
    const batch = new AllocBatch(r.ports);
    const res = await Promise.allSettled(['x', 'y', 'z'].map((k) => batch.add(k, k)));
    expect(res.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([
      'bug staging x',
      'ip-of-y',
      'later-z',
    ]);
    expect(r.log).toEqual(['stage y', 'wait z', 'commit y', 'flushed']);

    const none = recorder({ free: 0 });
    await new AllocBatch(none.ports).add('q', 'q');
    expect(none.log).toEqual(['wait q', 'flushed']);
  });

  it('fail() and failAll() settle queued requests before the flush, which then has nothing of theirs', async () => {
    const r = recorder({ free: 5 });
    const batch = new AllocBatch(r.ports);
    const a = batch.add('a', 'a').catch((e: Error) => e.message);
    const b = batch.add('b', 'b').catch((e: Error) => e.message);
    expect(batch.fail('a', new Error('released'))).toBe(true);
    expect(batch.fail('zz', new Error('released'))).toBe(false);
    batch.failAll(() => new Error('stopping'));
    expect([await a, await b]).toEqual(['released', 'stopping']);
    await turn();
    expect(r.log).toEqual([]);
  });
});
