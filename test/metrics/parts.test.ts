// The pieces behind the Terway metrics and /v1/logs: the store tap's counting, the log ring's bounds and
// redaction, the /v1/logs route, and the text-format reader's strictness.
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MemoryPoolStore, type PodRecord, type StoreOp } from '../../pool/store.js';
import { TerwayMetrics } from '../../daemon/terwayMetrics.js';
import { LogRing } from '../../daemon/logRing.js';
import { Introspection } from '../../daemon/introspect.js';
import { createLogger } from '../../daemon/log.js';
import { testConfig } from '../support/daemon.js';
import { FakeAllocator } from '../support/fakes.js';
import { tempDir } from '../support/tmp.js';
import { family, parseExposition, single } from './promText.js';

function pod(podKey: string, ip: string): PodRecord {
  return {
    podKey,
    namespace: 'default',
    name: podKey,
    containerId: podKey,
    ifName: 'eth0',
    networkName: 'terway',
    netns: '',
    ip,
    eniId: 'eni-1',
    eniMac: '00:16:3e:00:00:01',
    primaryEni: false,
    vSwitchId: 'vsw-1',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    allocatedAt: 0,
    mode: 'ENIMultiIP',
    stateful: false,
  };
}
const ip = (addr: string, eniId = 'eni-1'): StoreOp => ({ op: 'putIp', ip: { ip: addr, eniId, state: 'free', since: 0 } });

async function counters(reg: Registry): Promise<{ allocated: number; disposed: number }> {
  const fams = parseExposition(await reg.metrics());
  const v = (name: string, labels: Record<string, string>) => {
    const f = family(fams, name);
    return f.series.length === 0 ? 0 : single(f, labels);
  };
  return {
    allocated: v('terway_resource_pool_allocated_count', { type: 'LocalIP' }),
    disposed: v('terway_resource_pool_disposed_count', { type: 'LocalIP', ipStack: 'ipv4' }),
  };
}

describe('TerwayMetrics.tapStore', () => {
  it('counts new pod keys as allocations and IP rows leaving the pool as disposals, after the commit', async () => {
    const reg = new Registry();
    const m = new TerwayMetrics(reg);
    const inner = new MemoryPoolStore();
    inner.apply([ip('10.0.0.1'), { op: 'putPod', pod: pod('old', '10.0.0.1') }]);
    const store = m.tapStore(inner);
    store.load(); // what the pool does at start: rows already there are not new
    store.apply([{ op: 'putPod', pod: pod('old', '10.0.0.1') }]); // rewrite of a known pod
    expect(await counters(reg)).toEqual({ allocated: 0, disposed: 0 });
    store.apply([ip('10.0.0.2'), ip('10.0.0.3'), ip('10.0.0.4', 'eni-2'), { op: 'putPod', pod: pod('new', '10.0.0.2') }]);
    expect(await counters(reg)).toEqual({ allocated: 1, disposed: 0 });
    store.apply([
      { op: 'deletePod', podKey: 'new' },
      { op: 'deleteIp', ip: '10.0.0.2' },
      { op: 'deleteIp', ip: '10.9.9.9' },
    ]);
    expect(await counters(reg)).toEqual({ allocated: 1, disposed: 1 });
    store.apply([{ op: 'putPod', pod: pod('new', '10.0.0.3') }]); // the same key again after its delete
    store.apply([{ op: 'deleteEni', eniId: 'eni-1' }]); // 10.0.0.1 and 10.0.0.3 go with it
    expect(await counters(reg)).toEqual({ allocated: 2, disposed: 3 });
    // A commit that fails counts nothing.
    inner.apply = () => {
      throw new Error('disk full');
    };
    expect(() =>
      store.apply([
        { op: 'putPod', pod: pod('x', '10.0.0.4') },
        { op: 'deleteIp', ip: '10.0.0.4' },
      ]),
    ).toThrow('disk full');
    expect(await counters(reg)).toEqual({ allocated: 2, disposed: 3 });
  });
});

describe('LogRing', () => {
  it('keeps the newest lines within its line and byte bounds and counts what it dropped', () => {
    const ring = new LogRing({ maxLines: 3, maxBytes: 1024 });
    for (let i = 0; i < 5; i++) ring.write(`{"n":${i}}\n`);
    expect(ring.lines()).toMatchObject({ lines: ['{"n":2}', '{"n":3}', '{"n":4}'], dropped: 2 });
    const big = new LogRing({ maxLines: 100, maxBytes: 1024 });
    for (let i = 0; i < 10; i++) big.write(`${'x'.repeat(300)}${i}`);
    const kept = big.lines().lines;
    expect(kept.reduce((n, l) => n + l.length, 0)).toBeLessThanOrEqual(1024);
    expect(kept.at(-1)).toMatch(/9$/);
    expect(big.lines({ limit: 1 }).lines).toEqual([kept.at(-1)]);
  });

  it('filters by time and replaces secret values echoed in free text', () => {
    let now = 1_000;
    const ring = new LogRing({ now: () => now });
    const log = createLogger({ level: 'info', ring, destination: { write: () => {} } });
    ring.redactValues(['LTAIsecretvalue', undefined, '']);
    log.info('old line');
    now = 5_000;
    log.warn({ err: 'InvalidAccessKeyId: LTAIsecretvalue not found' }, 'cloud said LTAIsecretvalue');
    const all = ring.lines().lines.map((l) => JSON.parse(l) as { msg: string; err?: string });
    expect(all.map((l) => l.msg)).toEqual(['old line', 'cloud said <redacted>']);
    expect(all[1]!.err).toBe('InvalidAccessKeyId: <redacted> not found');
    expect(ring.lines({ sinceMs: 4_000 }).lines).toHaveLength(1);
  });

  it('GET /v1/logs serves it: ?since= (Go duration), ?limit=; 400 on bad values; 404 without a ring', async () => {
    const ring = new LogRing();
    for (let i = 0; i < 4; i++) ring.write(`{"i":${i}}`);
    const src = { instanceId: 'i-1', config: testConfig(tempDir()), allocator: new FakeAllocator() };
    const withRing = new Introspection({ ...src, logs: ring });
    const get = (intro: Introspection, q: string) => intro.route('GET', '/v1/logs', new URLSearchParams(q))!;
    expect(await get(withRing, 'since=1h&limit=2')).toMatchObject({ status: 200, body: { lines: ['{"i":2}', '{"i":3}'], dropped: 0 } });
    expect((await get(withRing, 'since=yesterday')).status).toBe(400);
    expect((await get(withRing, 'limit=-1')).status).toBe(400);
    expect((await get(new Introspection(src), '')).status).toBe(404);
  });
});

describe('the text-format reader used by the metric tests', () => {
  it("reads prom-client's output for every metric type, labels with escapes included", async () => {
    const reg = new Registry();
    new Counter({ name: 'c_total', help: 'c', labelNames: ['a'], registers: [reg] }).inc({ a: 'x"y\\z\nw' }, 2);
    new Gauge({ name: 'g', help: 'g', registers: [reg] }).set(-1.5);
    const h = new Histogram({ name: 'h', help: 'h', labelNames: ['k'], buckets: [1, 10], registers: [reg] });
    h.observe({ k: 'a' }, 5);
    h.observe({ k: 'b' }, 50);
    new Summary({ name: 's', help: 's', percentiles: [0.5], registers: [reg] }).observe(3);
    const fams = parseExposition(await reg.metrics());
    expect(single(family(fams, 'c_total'), { a: 'x"y\\z\nw' })).toBe(2);
    expect(single(family(fams, 'g'))).toBe(-1.5);
    const hf = family(fams, 'h');
    expect(hf.type).toBe('histogram');
    expect(hf.series.map((s) => [s.labels['k'], [...s.buckets!.entries()], s.count, s.sum])).toEqual([
      [
        'a',
        [
          [1, 0],
          [10, 1],
          [Infinity, 1],
        ],
        1,
        5,
      ],
      [
        'b',
        [
          [1, 0],
          [10, 0],
          [Infinity, 1],
        ],
        1,
        50,
      ],
    ]);
    expect(single(family(fams, 's'))).toBe(1);
  });

  it('rejects what a scraper rejects', () => {
    expect(() => parseExposition('# TYPE a gauge\na{x="\\q"} 1\n')).toThrow(/bad escape/);
    expect(() => parseExposition('# TYPE a gauge\na{x="1",x="2"} 1\n')).toThrow(/duplicate label/);
    expect(() => parseExposition('# TYPE a gauge\na one\n')).toThrow(/bad value/);
    expect(() => parseExposition('b 1\n')).toThrow(/no # TYPE/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n')).toThrow(
      /not cumulative/,
    );
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 1\nh_sum 1\n')).toThrow(/\+Inf bucket != _count/);
  });
});
