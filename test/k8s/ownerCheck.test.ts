// Owner check: which allocations' pods are gone. Runs the real client against the fake API server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createKubeClient,
  createOwnerCheck,
  KubeError,
  ownerVerdict,
  type KubeClient,
  type PodInfo,
  type VerdictContext,
} from '../../daemon/k8s/index.js';
import type { IpAllocation } from '../../pool/types.js';
import { FakeApiServer } from '../../sim/kube/server.js';
import { FakeClock } from '../support/clock.js';
import { tempDir } from '../support/tmp.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

let seq = 0;
function alloc(namespace: string, name: string, allocatedAt: number): IpAllocation {
  seq++;
  return {
    podKey: `c${seq}/eth0/net`,
    namespace,
    name,
    containerId: `c${seq}`,
    ifName: 'eth0',
    networkName: 'net',
    netns: `/var/run/netns/cni-${seq}`,
    ip: `10.0.0.${seq % 250}`,
    eniId: 'eni-1',
    eniMac: '00:16:3e:00:00:01',
    primaryEni: false,
    vSwitchId: 'vsw-1',
    vSwitchCidr: '10.0.0.0/24',
    gateway: '10.0.0.253',
    allocatedAt,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('ownerVerdict', () => {
  const ctx: VerdictContext = { nodeName: 'node-a', now: T0 + 60 * MIN, graceMs: 5 * MIN, clockSkewMs: 2 * MIN };
  const a = alloc('ns', 'p', T0);
  const pod = (p: Partial<PodInfo> = {}): PodInfo => ({
    namespace: 'ns',
    name: 'p',
    uid: 'u1',
    nodeName: 'node-a',
    annotations: {},
    hostNetwork: false,
    phase: 'Running',
    createdAt: iso(T0 - MIN),
    ...p,
  });
  const cases: Array<[string, PodInfo | undefined, Partial<VerdictContext>, string]> = [
    ['running pod', pod(), {}, 'alive'],
    ['404', undefined, {}, 'missing'],
    ['404 but allocation young', undefined, { now: T0 + MIN }, 'young'],
    ['other uid than recorded', pod(), { expectedUid: 'u0' }, 'uidMismatch'],
    ['same uid as recorded', pod(), { expectedUid: 'u1' }, 'alive'],
    ['same name on another node', pod({ nodeName: 'node-b' }), {}, 'otherNode'],
    ['not yet bound (no nodeName)', pod({ nodeName: undefined }), {}, 'alive'],
    ['created after the allocation', pod({ createdAt: iso(T0 + 10 * MIN) }), {}, 'recreated'],
    ['created after, within clock skew', pod({ createdAt: iso(T0 + MIN) }), {}, 'alive'],
    ['Succeeded', pod({ phase: 'Succeeded', ownerKind: 'Job' }), {}, 'completed'],
    ['Failed', pod({ phase: 'Failed' }), {}, 'completed'],
    ['Failed StatefulSet pod keeps its IP', pod({ phase: 'Failed', ownerKind: 'StatefulSet' }), {}, 'alive'],
    ['Failed custom stateful kind', pod({ phase: 'Failed', ownerKind: 'CloneSet' }), { customStatefulKinds: ['CloneSet'] }, 'alive'],
    ['Failed with ip reservation', pod({ phase: 'Failed', annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' } }), {}, 'alive'],
    ['terminating (CNI DEL still to come)', pod({ deletionTimestamp: iso(T0 + 59 * MIN) }), {}, 'alive'],
    ['Pending', pod({ phase: 'Pending' }), {}, 'alive'],
  ];
  it.each(cases)('%s', (_n, p, over, want) => {
    expect(ownerVerdict(a, p, { ...ctx, ...over })).toBe(want);
  });
});

describe('createOwnerCheck against the fake API server', () => {
  let fake: FakeApiServer;
  let dir: string;
  let kube: KubeClient;
  let clock: FakeClock;

  beforeAll(async () => {
    fake = await FakeApiServer.start();
    dir = tempDir('k8s-owner-');
    kube = await createKubeClient({ kubeconfig: fake.writeKubeconfig(dir) });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.pods.clear();
    fake.requests.length = 0;
    fake.failWith(undefined);
    clock = new FakeClock(T0 + 60 * MIN);
  });

  it('reports only gone pods, keeps young ones, with one LIST and a GET per missing pod', async () => {
    const created = iso(T0 - MIN);
    fake.addPod({ namespace: 'web', name: 'alive', nodeName: 'node-a', createdAt: created });
    fake.addPod({ namespace: 'web', name: 'job', nodeName: 'node-a', phase: 'Succeeded', ownerKind: 'Job', createdAt: created });
    fake.addPod({ namespace: 'db', name: 'pg-0', nodeName: 'node-a', phase: 'Failed', ownerKind: 'StatefulSet', createdAt: created });
    fake.addPod({ namespace: 'web', name: 'moved', nodeName: 'node-b', createdAt: iso(T0 + 30 * MIN) });
    fake.addPod({ namespace: 'web', name: 'reborn', nodeName: 'node-a', createdAt: iso(T0 + 30 * MIN) });
    fake.addPod({ namespace: 'web', name: 'ending', nodeName: 'node-a', createdAt: created, deletionTimestamp: iso(T0 + 59 * MIN) });

    const allocs = {
      alive: alloc('web', 'alive', T0),
      job: alloc('web', 'job', T0),
      pg: alloc('db', 'pg-0', T0),
      moved: alloc('web', 'moved', T0),
      reborn: alloc('web', 'reborn', T0),
      ending: alloc('web', 'ending', T0),
      deleted: alloc('web', 'deleted', T0),
      deletedYoung: alloc('web', 'deleted-young', clock.t - 10_000),
    };
    const seen: string[] = [];
    const check = createOwnerCheck(kube, { nodeName: 'node-a', graceMs: 5 * MIN, clock, onGone: (a, v) => seen.push(`${a.name}:${v}`) });
    const gone = await check.goneOwners(Object.values(allocs));
    expect(gone.map((a) => a.name).sort()).toEqual(['deleted', 'job', 'moved', 'reborn']);
    expect(seen.sort()).toEqual(['deleted:missing', 'job:completed', 'moved:otherNode', 'reborn:recreated']);
    const calls = fake.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.filter((c) => c === 'GET /api/v1/pods')).toHaveLength(1);
    // only pods absent from the node list are confirmed one by one; the young allocation is not looked up
    expect(calls.filter((c) => c.includes('/namespaces/')).sort()).toEqual([
      'GET /api/v1/namespaces/web/pods/deleted',
      'GET /api/v1/namespaces/web/pods/moved',
    ]);
  });

  it('uses the recorded uid when the daemon supplies one', async () => {
    fake.addPod({ namespace: 'web', name: 'p', uid: 'new-uid', nodeName: 'node-a', createdAt: iso(T0 - MIN) });
    const a = alloc('web', 'p', T0);
    const check = createOwnerCheck(kube, { nodeName: 'node-a', graceMs: 0, clock, uidOf: () => 'old-uid' });
    expect(await check.goneOwners([a])).toEqual([a]);
    const same = createOwnerCheck(kube, { nodeName: 'node-a', graceMs: 0, clock, uidOf: () => 'new-uid' });
    expect(await same.goneOwners([a])).toEqual([]);
  });

  it('keeps everything when the API errors', async () => {
    const a = alloc('web', 'deleted', T0);
    const errors: KubeError[] = [];
    const check = createOwnerCheck(kube, { nodeName: 'node-a', graceMs: 0, clock, onError: (e) => errors.push(e) });
    expect(await check.goneOwners([a])).toEqual([a]); // sanity: with the API up it is gone
    fake.failWith(500);
    expect(await check.goneOwners([a])).toEqual([]);
    expect(errors[0]).toMatchObject({ name: 'KubeError', status: 500 });
  });

  it('keeps everything when the token is rejected', async () => {
    const bad = await createKubeClient({ kubeconfig: fake.writeKubeconfig(dir, 'wrong') });
    const errors: KubeError[] = [];
    const check = createOwnerCheck(bad, { nodeName: 'node-a', graceMs: 0, clock, onError: (e) => errors.push(e) });
    expect(await check.goneOwners([alloc('web', 'deleted', T0)])).toEqual([]);
    expect(errors[0]).toMatchObject({ status: 401, reason: 'Unauthorized' });
  });

  it('keeps everything when a confirming GET fails after a good LIST', async () => {
    const flaky: KubeClient = {
      getPod: async () => {
        throw new KubeError(0, 'Timeout', 'get pod: request timed out');
      },
      listNodePods: (n) => kube.listNodePods(n),
      recordEvent: async () => undefined,
      setNodeExtendedResource: async () => undefined,
      setNodeCondition: async () => undefined,
      getNode: (n) => kube.getNode(n),
      annotateNode: async () => undefined,
      getConfigMapData: async () => undefined,
    };
    const check = createOwnerCheck(flaky, { nodeName: 'node-a', graceMs: 0, clock });
    expect(await check.goneOwners([alloc('web', 'deleted', T0)])).toEqual([]);
  });

  it('makes no API call when every allocation is young', async () => {
    const check = createOwnerCheck(kube, { nodeName: 'node-a', graceMs: 5 * MIN, clock });
    expect(await check.goneOwners([alloc('web', 'x', clock.t - 1000)])).toEqual([]);
    expect(fake.requests).toHaveLength(0);
  });
});
