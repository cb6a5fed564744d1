// Leader election on a Lease with client-go's semantics, on the in-memory API server and a fake clock.
import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../controlplane/leader.js';
import type { Lease } from '../../controlplane/ports.js';
import { ApiStore, LEASES } from '../../sim/kube/index.js';
import { FakeClock } from '../support/clock.js';

const quiet = { info() {}, warn() {} };

/** Walks the fake clock in small steps, letting the electors' API calls (each a few event-loop turns) finish in between. */
async function walk(clock: FakeClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) {
    await clock.advanceAsync(Math.min(50, left));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

function candidate(store: ApiStore, clock: FakeClock, identity: string) {
  const events: string[] = [];
  const e = new LeaderElector({
    leases: store.objectApi<Lease>(LEASES),
    name: 'eni-ipam-controlplane',
    namespace: 'kube-system',
    identity,
    now: clock.now,
    sleep: (ms) => clock.sleep(ms),
    random: () => 0,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    log: quiet,
  });
  return { e, events };
}

describe('LeaderElector', () => {
  it('one of two candidates leads; the other takes over only once the lease has run out unrenewed (a crash)', async () => {
    const store = new ApiStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    a.e.start();
    await walk(clock, 10);
    b.e.start();
    await walk(clock, 6_000);
    expect(a.e.isLeader()).toBe(true);
    expect(b.e.isLeader()).toBe(false);
    const lease = (await store.objectApi<Lease>(LEASES).get('eni-ipam-controlplane', 'kube-system'))!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });

    await a.e.stop(false); // killed: no release
    await walk(clock, 12_000);
    expect(b.e.isLeader()).toBe(false); // 15 s from b's last sight of a renew have not passed yet
    await walk(clock, 6_000);
    expect(b.e.isLeader()).toBe(true);
    expect(b.events).toEqual(['started']);
    const after = (await store.objectApi<Lease>(LEASES).get('eni-ipam-controlplane', 'kube-system'))!;
    expect(after.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.e.stop();
  });

  it('a graceful stop releases the lease: the standby takes over at its next try', async () => {
    const store = new ApiStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    a.e.start();
    await walk(clock, 10);
    b.e.start();
    await walk(clock, 4_000);
    await a.e.stop();
    expect(a.events).toEqual(['started', 'stopped']);
    await walk(clock, 2_500);
    expect(b.e.isLeader()).toBe(true);
    await b.e.stop();
  });

  it('a leader that cannot renew for the renew deadline stops leading before anyone else may lead', async () => {
    const store = new ApiStore();
    const clock = new FakeClock();
    const a = candidate(store, clock, 'a');
    a.e.start();
    await walk(clock, 10);
    expect(a.e.isLeader()).toBe(true);
    store.setUnreachable(true);
    await walk(clock, 9_000);
    expect(a.events).toEqual(['started']);
    await walk(clock, 2_500);
    expect(a.e.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
    store.setUnreachable(false);
    await walk(clock, 4_000);
    expect(a.e.isLeader()).toBe(true); // still its lease: it takes it back
    await a.e.stop();
  });

  it('two candidates racing for a free lease: the resourceVersion lets only one win', async () => {
    const store = new ApiStore();
    const clock = new FakeClock();
    const cs = ['a', 'b', 'c'].map((id) => candidate(store, clock, id));
    for (const c of cs) c.e.start();
    await walk(clock, 5_000);
    expect(cs.filter((c) => c.e.isLeader())).toHaveLength(1);
    for (const c of cs) await c.e.stop();
  });
});
