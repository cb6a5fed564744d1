// The daemon's Kubernetes client against the fake API server, over both transports: @kubernetes/client-node with a
// generated kubeconfig, and the plain REST client (kube_api_server + token; the service account path uses it too).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKubeClient, KubeError, type KubeClientWithStats } from '../../daemon/k8s/index.js';
import { FakeApiServer } from '../../sim/kube/server.js';
import { FakeClock } from '../support/clock.js';
import { tempDir } from '../support/tmp.js';

// Raw JSON as the fake stores it; the assertions below check its shape.
type Json = Record<string, any>;

let fake: FakeApiServer;
let dir: string;

beforeAll(async () => {
  fake = await FakeApiServer.start();
  dir = tempDir('k8s-test-');
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.pods.clear();
  fake.nodes.clear();
  fake.events.length = 0;
  fake.requests.length = 0;
  fake.failWith(undefined);
  fake.hang(false);
  fake.maxPageSize = 500;
});

type Target = (token?: string) => { kubeconfig: string } | { server: string; token: string };
const TRANSPORTS: [string, Target][] = [
  ['kubeconfig (client-node)', (token) => ({ kubeconfig: fake.writeKubeconfig(dir, token) })],
  ['kube_api_server + token (REST)', (token) => ({ server: fake.url, token: token ?? fake.token })],
];

describe.each(TRANSPORTS)('%s', (_transport, target) => {
  describe('pods', () => {
    it('getPod maps the pod and answers undefined on 404', async () => {
      const kube = await createKubeClient(target());
      fake.addPod({
        namespace: 'db',
        name: 'pg-0',
        uid: 'uid-pg-0',
        nodeName: 'node-a',
        ownerKind: 'StatefulSet',
        annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' },
        phase: 'Running',
        createdAt: '2026-01-02T03:04:05Z',
      });
      const pod = await kube.getPod('db', 'pg-0');
      expect(pod).toEqual({
        namespace: 'db',
        name: 'pg-0',
        uid: 'uid-pg-0',
        nodeName: 'node-a',
        ownerKind: 'StatefulSet',
        annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' },
        phase: 'Running',
        deletionTimestamp: undefined,
        createdAt: '2026-01-02T03:04:05.000Z',
        hostNetwork: false,
      });
      expect(await kube.getPod('db', 'nope')).toBeUndefined();
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /api/v1/namespaces/db/pods/pg-0',
        'GET /api/v1/namespaces/db/pods/nope',
      ]);
    });

    it('maps hostNetwork and deletionTimestamp', async () => {
      const kube = await createKubeClient(target());
      fake.addPod({
        namespace: 'kube-system',
        name: 'agent',
        nodeName: 'node-a',
        hostNetwork: true,
        deletionTimestamp: '2026-01-02T03:04:05Z',
      });
      const pod = await kube.getPod('kube-system', 'agent');
      expect(pod?.hostNetwork).toBe(true);
      expect(pod?.deletionTimestamp).toBe('2026-01-02T03:04:05.000Z');
      expect(pod?.ownerKind).toBeUndefined();
    });

    it('listNodePods asks for spec.nodeName and follows continue tokens', async () => {
      const kube = await createKubeClient(target());
      for (let i = 0; i < 5; i++) fake.addPod({ namespace: 'default', name: `a-${i}`, nodeName: 'node-a' });
      fake.addPod({ namespace: 'default', name: 'b-0', nodeName: 'node-b' });
      fake.addPod({ namespace: 'default', name: 'pending' });
      fake.maxPageSize = 2;
      const pods = await kube.listNodePods('node-a');
      expect(pods.map((p) => p.name).sort()).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);
      const lists = fake.requests.filter((r) => r.path === '/api/v1/pods');
      expect(lists).toHaveLength(3);
      expect(lists.every((r) => r.query.fieldSelector === 'spec.nodeName=node-a')).toBe(true);
      expect(lists.map((r) => r.query.continue)).toEqual([undefined, '2', '4']);
      expect(await kube.listNodePods('node-c')).toEqual([]);
    });
  });

  describe('errors', () => {
    it('a bad token gives KubeError 401 Unauthorized', async () => {
      const bad = await createKubeClient(target('wrong-token'));
      fake.addPod({ namespace: 'default', name: 'p', nodeName: 'node-a' });
      const err = await bad.getPod('default', 'p').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeError);
      expect(err).toMatchObject({ status: 401, reason: 'Unauthorized', retryable: false });
      await expect(bad.listNodePods('node-a')).rejects.toMatchObject({ status: 401, reason: 'Unauthorized' });
    });

    it('server + token options work without a file, and a wrong token is refused', async () => {
      const good = await createKubeClient({ server: fake.url, token: fake.token });
      fake.addPod({ namespace: 'default', name: 'p', nodeName: 'node-a' });
      expect((await good.getPod('default', 'p'))?.name).toBe('p');
      const bad = await createKubeClient({ server: fake.url, token: 'nope' });
      await expect(bad.getPod('default', 'p')).rejects.toMatchObject({ name: 'KubeError', status: 401 });
    });

    it('5xx carries the Status reason and is retryable', async () => {
      const kube = await createKubeClient(target());
      fake.failWith(503);
      const err = (await kube.listNodePods('node-a').catch((e: unknown) => e)) as KubeError;
      expect(err).toBeInstanceOf(KubeError);
      expect(err.status).toBe(503);
      expect(err.reason).toBe('InternalError'); // what the fake's Status body says
      expect(err.message).toContain('injected failure 503');
      expect(err.retryable).toBe(true);
    });

    it('a hanging server gives a Timeout KubeError', async () => {
      const kube = await createKubeClient({ ...target(), requestTimeoutMs: 150 });
      fake.hang();
      await expect(kube.getPod('default', 'p')).rejects.toMatchObject({ name: 'KubeError', status: 0, reason: 'Timeout', retryable: true });
    });

    it('a closed port gives an Unreachable KubeError', async () => {
      const srv = http.createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as AddressInfo).port;
      await new Promise<void>((r) => srv.close(() => r()));
      const kube = await createKubeClient({ server: `http://127.0.0.1:${port}`, token: 't' });
      await expect(kube.getPod('default', 'p')).rejects.toMatchObject({ name: 'KubeError', status: 0, reason: 'Unreachable' });
    });

    it('no configuration is a NotConfigured KubeError', async () => {
      await expect(createKubeClient({})).rejects.toMatchObject({ name: 'KubeError', reason: 'NotConfigured' });
      await expect(createKubeClient({ kubeconfig: path.join(dir, 'missing.yaml') })).rejects.toMatchObject({ reason: 'NotConfigured' });
    });
  });

  describe('events', () => {
    let clock: FakeClock;
    let kube: KubeClientWithStats;
    beforeEach(async () => {
      clock = new FakeClock(Date.parse('2026-03-01T10:00:00Z'));
      kube = await createKubeClient({ ...target(), nodeName: 'node-a', clock, eventDedupeWindowMs: 60_000 });
    });

    it('posts a core/v1 Event for a pod with the pod uid and reporting controller eni-ipam', async () => {
      fake.addPod({ namespace: 'web', name: 'api-1', uid: 'uid-api-1', nodeName: 'node-a' });
      await kube.recordEvent({
        target: 'Pod',
        namespace: 'web',
        name: 'api-1',
        type: 'Warning',
        reason: 'AllocIPFailed',
        message: 'vSwitch vsw-1 has no free IP',
      });
      expect(fake.events).toHaveLength(1);
      const ev = fake.events[0] as Json;
      expect(ev.metadata.namespace).toBe('web');
      expect(ev.metadata.name).toMatch(/^api-1\.[0-9a-f]+$/);
      expect(ev.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Pod', name: 'api-1', namespace: 'web', uid: 'uid-api-1' });
      expect(ev).toMatchObject({
        type: 'Warning',
        reason: 'AllocIPFailed',
        message: 'vSwitch vsw-1 has no free IP',
        count: 1,
        source: { component: 'eni-ipam', host: 'node-a' },
        reportingComponent: 'eni-ipam',
        reportingInstance: 'node-a',
      });
      expect(Date.parse(ev.firstTimestamp)).toBe(clock.t);
      expect(Date.parse(ev.lastTimestamp)).toBe(clock.t);
      expect(fake.requests.find((r) => r.method === 'POST')?.path).toBe('/api/v1/namespaces/web/events');
    });

    it('node events go to default with uid = node name', async () => {
      await kube.recordEvent({ target: 'Node', name: 'node-a', type: 'Warning', reason: 'AllocIPFailed', message: 'quota reached' });
      const ev = fake.events[0] as Json;
      expect(ev.metadata.namespace).toBe('default');
      expect(ev.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: 'node-a' });
      // no pod lookup for a node event
      expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(0);
    });

    it('folds identical events within the window and carries the count into the next write', async () => {
      fake.addPod({ namespace: 'web', name: 'api-1', uid: 'u1', nodeName: 'node-a' });
      const ev = {
        target: 'Pod' as const,
        namespace: 'web',
        name: 'api-1',
        uid: 'u1',
        type: 'Warning' as const,
        reason: 'AllocIPFailed',
        message: 'no IP',
      };
      await kube.recordEvent(ev);
      clock.t += 1_000;
      await kube.recordEvent(ev);
      clock.t += 1_000;
      await kube.recordEvent(ev);
      expect(fake.events).toHaveLength(1);
      // a different message is a different event
      await kube.recordEvent({ ...ev, message: 'other' });
      expect(fake.events).toHaveLength(2);
      // after the window: written again, counting the two folded repeats
      clock.t += 60_000;
      await kube.recordEvent(ev);
      expect(fake.events).toHaveLength(3);
      const third = fake.events[2] as Json;
      expect(third.count).toBe(3);
      expect(Date.parse(third.firstTimestamp)).toBe(Date.parse('2026-03-01T10:00:01Z'));
      expect(Date.parse(third.lastTimestamp)).toBe(clock.t);
      expect(kube.eventStats()).toEqual({ posted: 3, folded: 2, dropped: 0 });
    });

    it('a failed write is not folded: the next identical event is written', async () => {
      const ev = { target: 'Node' as const, name: 'node-a', type: 'Normal' as const, reason: 'Ready', message: 'pool warm' };
      fake.failWith(500);
      await expect(kube.recordEvent(ev)).rejects.toMatchObject({ name: 'KubeError', status: 500 });
      fake.failWith(undefined);
      await kube.recordEvent(ev);
      expect(fake.events).toHaveLength(1);
    });

    it('a pod event for a pod that is gone is still written, without uid', async () => {
      await kube.recordEvent({ target: 'Pod', namespace: 'web', name: 'ghost', type: 'Warning', reason: 'PodDeleteFailed', message: 'x' });
      expect((fake.events[0] as Json).involvedObject).toEqual({ apiVersion: 'v1', kind: 'Pod', name: 'ghost', namespace: 'web' });
    });
  });

  describe('node status', () => {
    it('extended resource lands in capacity and allocatable with a merge patch', async () => {
      const kube = await createKubeClient(target());
      fake.addNode('node-a');
      await kube.setNodeExtendedResource('node-a', 'aliyun/eni', 7);
      const node = fake.nodes.get('node-a') as Json;
      expect(node.status.capacity).toEqual({ cpu: '4', memory: '8Gi', pods: '110', 'aliyun/eni': '7' });
      expect(node.status.allocatable['aliyun/eni']).toBe('7');
      const patch = fake.requests.find((r) => r.method === 'PATCH');
      expect(patch).toMatchObject({ path: '/api/v1/nodes/node-a/status', contentType: 'application/merge-patch+json' });
      await kube.setNodeExtendedResource('node-a', 'aliyun/eni', 3);
      expect((fake.nodes.get('node-a') as Json).status.capacity['aliyun/eni']).toBe('3');
      await expect(kube.setNodeExtendedResource('node-a', 'eni', 1)).rejects.toMatchObject({ reason: 'Invalid' });
      await expect(kube.setNodeExtendedResource('node-a', 'aliyun/eni', -1)).rejects.toMatchObject({ reason: 'Invalid' });
      await expect(kube.setNodeExtendedResource('node-x', 'aliyun/eni', 1)).rejects.toMatchObject({ status: 404, reason: 'NotFound' });
    });

    it('node condition merges by type, keeps Ready, and moves lastTransitionTime only on a flip', async () => {
      const clock = new FakeClock(Date.parse('2026-03-01T10:00:00Z'));
      const kube = await createKubeClient({ ...target(), clock });
      fake.addNode('node-a');
      const cond = (n: Json, type: string): Json => (n.status.conditions as Json[]).find((c) => c.type === type)!;

      await kube.setNodeCondition('node-a', { type: 'SufficientIP', status: 'True', reason: 'SufficientIP', message: 'pool has free IPs' });
      let node = fake.nodes.get('node-a') as Json;
      expect(cond(node, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      expect(cond(node, 'SufficientIP')).toEqual({
        type: 'SufficientIP',
        status: 'True',
        reason: 'SufficientIP',
        message: 'pool has free IPs',
        lastHeartbeatTime: '2026-03-01T10:00:00Z',
        lastTransitionTime: '2026-03-01T10:00:00Z',
      });
      expect(fake.requests.find((r) => r.method === 'PATCH')?.contentType).toBe('application/strategic-merge-patch+json');

      // Same thing again soon after: read, no write.
      clock.t += 30_000;
      const patches = (): number => fake.requests.filter((r) => r.method === 'PATCH').length;
      await kube.setNodeCondition('node-a', { type: 'SufficientIP', status: 'True', reason: 'SufficientIP', message: 'pool has free IPs' });
      expect(patches()).toBe(1);

      // Flip: transition time moves.
      clock.t += 30_000;
      await kube.setNodeCondition('node-a', {
        type: 'SufficientIP',
        status: 'False',
        reason: 'InsufficientIP',
        message: 'vSwitch exhausted',
      });
      node = fake.nodes.get('node-a') as Json;
      expect(cond(node, 'SufficientIP')).toMatchObject({
        status: 'False',
        reason: 'InsufficientIP',
        lastTransitionTime: '2026-03-01T10:01:00Z',
      });
      expect(node.status.conditions).toHaveLength(2);

      // Same status, new message: written, transition time kept.
      clock.t += 10_000;
      await kube.setNodeCondition('node-a', { type: 'SufficientIP', status: 'False', reason: 'InsufficientIP', message: 'quota reached' });
      node = fake.nodes.get('node-a') as Json;
      expect(cond(node, 'SufficientIP')).toMatchObject({
        message: 'quota reached',
        lastHeartbeatTime: '2026-03-01T10:01:10Z',
        lastTransitionTime: '2026-03-01T10:01:00Z',
      });
    });
  });
});
