// The in-memory API server behaves like kube-apiserver where controllers depend on it: resourceVersion
// conflicts, the status subresource, watches in order with bookmarks, 410 after a compaction (and the
// reflector's re-list), Leases without a version. Each case runs twice: against the store in-process and
// over HTTP through @kubernetes/client-node (the production client).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeError } from '../../daemon/k8s/errors.js';
import { newNodeCr, NODE_CR, type NodeCr } from '../../daemon/k8s/nodeCr.js';
import { createObjectClients } from '../../daemon/k8s/objectClient.js';
import { updateObject } from '../../daemon/k8s/objectUpdate.js';
import type { KubeObject, ObjectApi, WatchEvent } from '../../daemon/k8s/objects.js';
import { Reflector } from '../../daemon/k8s/reflector.js';
import { ApiStore, FakeApiServer, LEASES, NODE_CRS } from '../../sim/kube/index.js';
import { waitFor } from '../support/wait.js';

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number };
}

const spec = (instanceID: string): NodeCr['spec'] => ({
  nodeMetadata: { regionID: 'cn-hangzhou', instanceType: 'ecs.g7.large', instanceID, zoneID: 'cn-hangzhou-h' },
  eni: { vSwitchOptions: ['vsw-1'], securityGroupIDs: ['sg-1'], vSwitchSelectPolicy: 'ordered', enableIPv4: true },
  pool: { maxPoolSize: 5, minPoolSize: 0 },
});

async function rejection(p: Promise<unknown>): Promise<KubeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
}

interface Rig {
  store: ApiStore;
  nodes: ObjectApi<NodeCr>;
  leases: ObjectApi<Lease>;
}

const rigs: [string, () => Promise<Rig & { close(): Promise<void> }>][] = [
  [
    'in-process',
    async () => {
      const store = new ApiStore([NODE_CRS]);
      return { store, nodes: store.objectApi(NODE_CR), leases: store.objectApi(LEASES), close: async () => {} };
    },
  ],
  [
    'over HTTP with client-node',
    async () => {
      const api = await FakeApiServer.start({ resources: [NODE_CRS] });
      const clients = await createObjectClients({ server: api.url, token: api.token, qps: 1000, burst: 1000 });
      return { store: api.store, nodes: clients.objects(NODE_CR), leases: clients.objects(LEASES), close: () => api.close() };
    },
  ],
];

describe.each(rigs)('in-memory API server, %s', (_name, make) => {
  let rig: Rig & { close(): Promise<void> };
  let n = 0;
  const fresh = (): string => `node-${++n}`;
  beforeAll(async () => {
    rig = await make();
  });
  afterAll(() => rig.close());

  it('creates with a uid, a resourceVersion and generation 1, ignoring a status in the body; a second create is AlreadyExists', async () => {
    const name = fresh();
    const made = await rig.nodes.create({ ...newNodeCr(name, spec('i-1')), status: { demand: { waitingPods: 3 } } });
    expect(made.metadata).toMatchObject({ name, generation: 1 });
    expect(made.metadata.uid).toBeTruthy();
    expect(made.metadata.resourceVersion).toBeTruthy();
    expect(made.status).toBeUndefined();
    expect((await rejection(rig.nodes.create(newNodeCr(name, spec('i-1'))))).reason).toBe('AlreadyExists');
    expect(await rig.nodes.get('no-such-node')).toBeUndefined();
  });

  it('refuses an update with a stale resourceVersion (409 Conflict) and one without any (422)', async () => {
    const name = fresh();
    const v1 = await rig.nodes.create(newNodeCr(name, spec('i-1')));
    const v2 = await rig.nodes.replaceStatus({ ...v1, status: { demand: { waitingPods: 1 } } });
    expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    const stale = await rejection(rig.nodes.replaceStatus({ ...v1, status: { demand: { waitingPods: 2 } } }));
    expect(stale.status).toBe(409);
    expect(stale.reason).toBe('Conflict');
    const noVersion = await rejection(rig.nodes.replace({ ...v2, metadata: { name } }));
    expect(noVersion.status).toBe(422);
    expect((await rig.nodes.get(name))!.status).toEqual({ demand: { waitingPods: 1 } });
  });

  it('status subresource: a main update keeps status, a status update keeps spec; generation follows spec only', async () => {
    const name = fresh();
    const v1 = await rig.nodes.create(newNodeCr(name, spec('i-1')));
    const v2 = await rig.nodes.replaceStatus({ ...v1, spec: spec('i-other'), status: { demand: { waitingPods: 4 } } });
    expect(v2.spec.nodeMetadata.instanceID).toBe('i-1');
    expect(v2.metadata.generation).toBe(1);
    const v3 = await rig.nodes.replace({ ...v2, spec: spec('i-2'), status: { demand: { waitingPods: 0 } } });
    expect(v3.spec.nodeMetadata.instanceID).toBe('i-2');
    expect(v3.status).toEqual({ demand: { waitingPods: 4 } });
    expect(v3.metadata.generation).toBe(2);
    const v4 = await rig.nodes.replace({ ...v3, metadata: { ...v3.metadata, labels: { a: 'b' } } });
    expect(v4.metadata.generation).toBe(2);
    expect(v4.metadata.labels).toEqual({ a: 'b' });
  });

  it('two writers of one object both get their fields in: a conflict is re-read and re-applied', async () => {
    const name = fresh();
    const first = await rig.nodes.create(newNodeCr(name, spec('i-1')));
    const setDemand = (w: number) => (cr: NodeCr) => ({ ...cr, status: { ...cr.status, demand: { waitingPods: w } } });
    const setSync = (cr: NodeCr) => ({ ...cr, status: { ...cr.status, lastSyncOpenAPITime: '2026-01-01T00:00:00.000Z' } });
    // Both start from the same (soon stale) copy: one of them conflicts and re-applies onto the other's write.
    await Promise.all([
      updateObject(rig.nodes, { name, target: 'status', current: first, mutate: setDemand(7) }),
      updateObject(rig.nodes, { name, target: 'status', current: first, mutate: setSync }),
    ]);
    expect((await rig.nodes.get(name))!.status).toEqual({ demand: { waitingPods: 7 }, lastSyncOpenAPITime: '2026-01-01T00:00:00.000Z' });
    expect(rig.store.stats.conflicts).toBeGreaterThan(0);
  });

  it('a watch from a list replays what followed in order, filters by name, and sends bookmarks', async () => {
    const a = fresh();
    const b = fresh();
    const list = await rig.nodes.list();
    const all: WatchEvent<NodeCr>[] = [];
    const onlyA: WatchEvent<NodeCr>[] = [];
    const h1 = rig.nodes.watch(
      { resourceVersion: list.resourceVersion },
      (e) => all.push(e),
      () => {},
    );
    const h2 = rig.nodes.watch(
      { resourceVersion: list.resourceVersion, fieldSelector: `metadata.name=${a}` },
      (e) => onlyA.push(e),
      () => {},
    );
    let cr = await rig.nodes.create(newNodeCr(a, spec('i-a')));
    await rig.nodes.create(newNodeCr(b, spec('i-b')));
    for (let w = 1; w <= 5; w++) cr = await rig.nodes.replaceStatus({ ...cr, status: { demand: { waitingPods: w } } });
    await waitFor(() => onlyA.length >= 6, 'six events for node a');
    rig.store.bookmark();
    await waitFor(() => onlyA.some((e) => e.type === 'BOOKMARK'), 'a bookmark');
    h1.stop();
    h2.stop();
    const mine = onlyA.filter((e) => e.type !== 'BOOKMARK');
    expect(mine.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'MODIFIED']);
    expect(mine.map((e) => (e.type === 'MODIFIED' ? e.object.status?.demand?.waitingPods : 0))).toEqual([0, 1, 2, 3, 4, 5]);
    const versions = mine.map((e) => (e.type === 'ADDED' || e.type === 'MODIFIED' ? Number(e.object.metadata.resourceVersion) : 0));
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(all.filter((e) => e.type === 'ADDED').map((e) => (e.type === 'ADDED' ? e.object.metadata.name : ''))).toEqual(
      expect.arrayContaining([a, b]),
    );
    const bm = onlyA.find((e) => e.type === 'BOOKMARK');
    expect(bm?.type === 'BOOKMARK' && Number(bm.resourceVersion)).toBeGreaterThanOrEqual(versions[versions.length - 1]!);
  });

  it('a watch from a compacted version ends with ERROR 410; the reflector lists again and reports what changed meanwhile', async () => {
    const keep = fresh();
    const gone = fresh();
    await rig.nodes.create(newNodeCr(keep, spec('i-k')));
    await rig.nodes.create(newNodeCr(gone, spec('i-g')));
    const old = (await rig.nodes.list()).resourceVersion;
    const g = (await rig.nodes.get(gone))!;
    await rig.nodes.replaceStatus({ ...g, status: { demand: { waitingPods: 1 } } });
    rig.store.compact();
    const events: WatchEvent<NodeCr>[] = [];
    await new Promise<void>((resolve) =>
      rig.nodes.watch(
        { resourceVersion: old },
        (e) => events.push(e),
        () => resolve(),
      ),
    );
    expect(events).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);

    const upserts: string[] = [];
    const deletes: string[] = [];
    const refl = new Reflector(rig.nodes, {
      handlers: { onUpsert: (o) => upserts.push(o.metadata.name), onDelete: (o) => deletes.push(o.metadata.name) },
      retryMs: 10,
    });
    refl.start();
    await waitFor(() => refl.synced, 'first list');
    expect(refl.get(gone)).toBeDefined();
    // While its watch is down an object goes and the history is compacted: the resumed watch gets 410.
    rig.store.failNext('watch', 500, { count: 1_000 });
    rig.store.closeWatches();
    await rig.nodes.delete(gone);
    rig.store.compact();
    rig.store.clearFaults();
    await waitFor(() => deletes.includes(gone), 'the delete seen through a re-list');
    expect(refl.lists).toBeGreaterThanOrEqual(2);
    expect(refl.get(gone)).toBeUndefined();
    const cur = (await rig.nodes.get(keep))!;
    await rig.nodes.replaceStatus({ ...cur, status: { demand: { waitingPods: 9 } } });
    await waitFor(() => refl.get(keep)?.status?.demand?.waitingPods === 9, 'a later change through the new watch');
    refl.stop();
  });

  it('leases: create, renew without a version (allowed for Leases), and a stale version conflicts', async () => {
    const lease: Lease = {
      metadata: { name: 'eni-ipam-controlplane', namespace: 'kube-system' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
    };
    const made = await rig.leases.create(lease);
    expect(made.metadata.namespace).toBe('kube-system');
    const renewed = await rig.leases.replace({ ...made, spec: { ...made.spec, holderIdentity: 'a' } });
    expect((await rejection(rig.leases.replace({ ...made, spec: { holderIdentity: 'b' } }))).status).toBe(409);
    const free = await rig.leases.replace({
      ...renewed,
      metadata: { name: made.metadata.name, namespace: 'kube-system' },
      spec: { holderIdentity: 'c' },
    });
    expect(free.spec.holderIdentity).toBe('c');
    expect((await rig.leases.get('eni-ipam-controlplane', 'kube-system'))!.spec.holderIdentity).toBe('c');
  });

  it('an unreachable API server fails calls and ends watches with an error', async () => {
    const closed = new Promise<Error | undefined>((resolve) =>
      rig.nodes.watch({ resourceVersion: rig.store.resourceVersion }, () => {}, resolve),
    );
    await new Promise((r) => setTimeout(r, 20));
    rig.store.setUnreachable(true);
    try {
      expect((await rejection(rig.nodes.list())).status).toBe(0);
      expect(await closed).toBeInstanceOf(Error);
    } finally {
      rig.store.setUnreachable(false);
    }
    await expect(rig.nodes.list()).resolves.toBeDefined();
  });
});
