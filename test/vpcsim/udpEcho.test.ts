// The demo's own reachability probe: UDP echo between network namespaces, sockets opened inside each
// netns through drivers/netns.ts (setns). Needs root, iproute2, netns + veth (no ping).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadsOutsideHomeNetns } from '../../drivers/netns.js';
import {
  cleanupStale,
  createNetns,
  ipBatch,
  netnsPath,
  probeKernelSupport,
  startEchoResponder,
  udpEcho,
  uniquePrefix,
} from '../../sim/vpcsim/index.js';

const support = await probeKernelSupport({ ping: false });
if (!support.ok) console.warn(`test/vpcsim/udpEcho.test.ts skipped: needs ${support.missing.join(', ')}`);

(support.ok ? describe : describe.skip)('UDP echo between pod netns', () => {
  const prefix = uniquePrefix('ue');
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await createNetns(a);
    await createNetns(b);
    await ipBatch(a, [`link add va type veth peer name vb netns ${b}`, 'addr add 10.99.0.1/24 dev va', 'link set va up']);
    await ipBatch(b, ['addr add 10.99.0.2/24 dev vb', 'link set vb up']);
  });

  afterAll(async () => {
    for (const c of closers) await c();
    await cleanupStale(prefix);
  });

  it('answers across a veth pair; no answer without a responder or a route', async () => {
    expect(await udpEcho(netnsPath(a), '10.99.0.2', { timeoutMs: 300 })).toBe(false); // nobody listens yet
    const r = await startEchoResponder(netnsPath(b));
    closers.push(r.close);
    expect(await udpEcho(netnsPath(a), '10.99.0.2', { attempts: 3 })).toBe(true);
    expect(await udpEcho(netnsPath(a), '10.98.0.9', { timeoutMs: 300 })).toBe(false); // no route in a
    // The setns window closed each time: no thread of this process stayed in a pod netns.
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  it('each socket lives in its own netns: two responders on the same port, one per netns', async () => {
    const r = await startEchoResponder(netnsPath(a));
    closers.push(r.close);
    expect(await udpEcho(netnsPath(b), '10.99.0.1', { attempts: 3 })).toBe(true);
    // The same port in one netns twice is refused by the kernel.
    await expect(startEchoResponder(netnsPath(a))).rejects.toThrow(/bind\(:7\)/);
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });
});
