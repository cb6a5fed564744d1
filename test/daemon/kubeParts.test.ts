// The Kubernetes pieces of the daemon without a server: config keys, the settings resolver, the
// bounded stateful lookup, the SufficientIP reporter, the AllocIP wrapper and the event recorders.
import { describe, expect, it } from 'vitest';
import { PoolError, type PodRef } from '../../pool/types.js';
import { ConfigError, parseDaemonConfig, resolveKubeSettings } from '../../daemon/config/index.js';
import {
  EniMultiIpService,
  FanOutEventRecorder,
  IpConditionReporter,
  KubeAwareService,
  createPodStatefulness,
  onThisNode,
  type EventRecord,
  type EventRecorder,
} from '../../daemon/modes/index.js';
import type { NodeCondition, PodInfo } from '../../daemon/k8s/index.js';
import { FakeAllocator, FakeDriver, Gate, RecordingEvents } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { podRef } from '../support/pods.js';

const parse = (raw: Record<string, unknown>) => parseDaemonConfig({ driver: 'none', ...raw });
const issuesOf = (raw: Record<string, unknown>): string[] => {
  try {
    parse(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => i.key);
    throw e;
  }
  return [];
};

describe('config keys', () => {
  it('defaults: no Kubernetes, Terway GC timing, client 20 qps / 30 burst, 2 s pod lookup', () => {
    const { config, warnings } = parse({});
    expect(config).toMatchObject({
      gcIntervalMs: 300_000,
      gcGraceMs: 120_000,
      kubeClientQps: 20,
      kubeClientBurst: 30,
      podLookupTimeoutMs: 2000,
      customStatefulWorkloadKinds: [],
    });
    expect(config.kubeconfig).toBeUndefined();
    expect(config.kubeApiServer).toBeUndefined();
    expect(config.nodeName).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('reads the Kubernetes keys (Terway names no longer warn)', () => {
    const { config, warnings } = parse({
      kube_api_server: 'https://10.0.0.1:6443/',
      kube_token_file: '/var/run/token',
      kube_ca_file: '/etc/ca.crt',
      node_name: 'cn-hangzhou.192.168.0.10',
      custom_stateful_workload_kinds: ['CloneSet', ' Workload ', 'CloneSet'],
      kube_client_qps: 5.5,
      kube_client_burst: 10,
      gc_interval: '1m',
      gc_grace: '0s',
      pod_lookup_timeout: '500ms',
    });
    expect(config).toMatchObject({
      kubeApiServer: 'https://10.0.0.1:6443',
      kubeTokenFile: '/var/run/token',
      kubeCaFile: '/etc/ca.crt',
      nodeName: 'cn-hangzhou.192.168.0.10',
      customStatefulWorkloadKinds: ['CloneSet', 'Workload'],
      kubeClientQps: 5.5,
      kubeClientBurst: 10,
      gcIntervalMs: 60_000,
      gcGraceMs: 0,
      podLookupTimeoutMs: 500,
    });
    expect(warnings).toEqual([]);
  });

  it('names every bad key', () => {
    expect(issuesOf({ kube_token_file: '/t' })).toEqual(['kube_token_file']);
    expect(issuesOf({ kube_ca_file: '/ca' })).toEqual(['kube_ca_file']);
    expect(issuesOf({ kube_api_server: 'ftp://x' })).toEqual(['kube_api_server']);
    expect(issuesOf({ node_name: 'Node_1' })).toEqual(['node_name']);
    expect(issuesOf({ custom_stateful_workload_kinds: 'CloneSet' })).toEqual(['custom_stateful_workload_kinds']);
    expect(issuesOf({ custom_stateful_workload_kinds: [''] })).toEqual(['custom_stateful_workload_kinds']);
    expect(issuesOf({ kube_client_qps: 0 })).toEqual(['kube_client_qps']);
    expect(issuesOf({ kube_client_burst: 0 })).toEqual(['kube_client_burst']);
    expect(issuesOf({ gc_interval: '0s' })).toEqual(['gc_interval']);
    expect(issuesOf({ pod_lookup_timeout: 'soon' })).toEqual(['pod_lookup_timeout']);
  });
});

describe('resolveKubeSettings', () => {
  const cfg = (raw: Record<string, unknown> = {}) => parse(raw).config;

  it('off without kubeconfig, API server or in-cluster env', () => {
    const s = resolveKubeSettings(cfg(), { NODE_NAME: 'n1' });
    expect(s.enabled).toBe(false);
  });

  it('in a pod: the service account, node name from NODE_NAME', () => {
    expect(resolveKubeSettings(cfg(), { KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' })).toMatchObject({
      enabled: true,
      source: 'in-cluster',
      clientOptions: { inCluster: true, qps: 20, burst: 30, nodeName: 'n1' },
      nodeName: 'n1',
    });
  });

  it('kube_api_server beats kubeconfig beats in-cluster; node_name beats NODE_NAME', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'from-env' };
    expect(
      resolveKubeSettings(
        cfg({ kubeconfig: '/k', kube_api_server: 'http://127.0.0.1:1', kube_token_file: '/t', node_name: 'from-conf' }),
        env,
      ),
    ).toMatchObject({
      source: 'kube_api_server',
      clientOptions: { server: 'http://127.0.0.1:1' },
      tokenFile: '/t',
      nodeName: 'from-conf',
    });
    expect(resolveKubeSettings(cfg({ kubeconfig: '/k', kube_client_qps: 3, kube_client_burst: 4 }), env)).toMatchObject({
      source: 'kubeconfig',
      clientOptions: { kubeconfig: '/k', qps: 3, burst: 4, nodeName: 'from-env' },
    });
  });

  it('no node name anywhere: enabled, nodeName unset', () => {
    const s = resolveKubeSettings(cfg({ kubeconfig: '/k' }), { NODE_NAME: '  ' });
    expect(s).toMatchObject({ enabled: true });
    expect(s.enabled && s.nodeName).toBeUndefined();
  });
});

function podInfo(over: Partial<PodInfo> = {}): PodInfo {
  return { namespace: 'ns', name: 'p', uid: 'u', annotations: {}, hostNetwork: false, ...over };
}

describe('createPodStatefulness', () => {
  it('StatefulSet, custom kinds and the reservation annotation are stateful; others not', async () => {
    const pods: Record<string, PodInfo> = {
      'ns/sts': podInfo({ ownerKind: 'StatefulSet' }),
      'ns/clone': podInfo({ ownerKind: 'CloneSet' }),
      'ns/annot': podInfo({ annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' } }),
      'ns/rs': podInfo({ ownerKind: 'ReplicaSet' }),
    };
    const s = createPodStatefulness({ getPod: async (ns, n) => pods[`${ns}/${n}`], customStatefulKinds: ['cloneset'], timeoutMs: 1000 });
    expect(await s.isStateful('ns', 'sts')).toBe(true);
    expect(await s.isStateful('ns', 'clone')).toBe(true);
    expect(await s.isStateful('ns', 'annot')).toBe(true);
    expect(await s.isStateful('ns', 'rs')).toBe(false);
  });

  it('caches answers for the TTL and shares one lookup between concurrent callers', async () => {
    let now = 0;
    let calls = 0;
    const gate = new Gate();
    const s = createPodStatefulness({
      getPod: async () => {
        calls++;
        await gate.promise;
        return podInfo({ ownerKind: 'StatefulSet' });
      },
      timeoutMs: 60_000,
      cacheTtlMs: 1000,
      now: () => now,
    });
    const a = s.isStateful('ns', 'p');
    const b = s.isStateful('ns', 'p');
    gate.open();
    expect(await Promise.all([a, b])).toEqual([true, true]);
    expect(calls).toBe(1);
    now = 999;
    expect(await s.isStateful('ns', 'p')).toBe(true);
    expect(calls).toBe(1);
    now = 1000;
    expect(await s.isStateful('ns', 'p')).toBe(true);
    expect(calls).toBe(2);
  });

  it('past the bound: not stateful at once; the late answer fills the cache for the next ADD', async () => {
    const gate = new Gate();
    const why: string[] = [];
    let calls = 0;
    const s = createPodStatefulness({
      getPod: async () => {
        calls++;
        await gate.promise;
        return podInfo({ ownerKind: 'StatefulSet' });
      },
      timeoutMs: 5,
      onFallback: (_ns, _n, w) => why.push(w),
    });
    expect(await s.isStateful('ns', 'slow')).toBe(false);
    expect(why).toEqual(['pod lookup took longer than 5 ms']);
    gate.open();
    await new Promise((r) => setImmediate(r));
    expect(await s.isStateful('ns', 'slow')).toBe(true);
    expect(calls).toBe(1);
  });

  it('errors and unknown pods: not stateful, not cached; empty names are not looked up', async () => {
    const why: string[] = [];
    let calls = 0;
    let fail = true;
    const s = createPodStatefulness({
      getPod: async () => {
        calls++;
        if (fail) throw new Error('connect ECONNREFUSED');
        return undefined;
      },
      timeoutMs: 1000,
      onFallback: (_ns, _n, w) => why.push(w),
    });
    expect(await s.isStateful('ns', 'p')).toBe(false);
    fail = false;
    expect(await s.isStateful('ns', 'p')).toBe(false);
    expect(await s.isStateful('ns', 'p')).toBe(false);
    expect(calls).toBe(3);
    expect(why).toEqual(['pod lookup failed: connect ECONNREFUSED', 'pod not found in the API server', 'pod not found in the API server']);
    expect(await s.isStateful('', '')).toBe(false);
    expect(calls).toBe(3);
  });
});

describe('IpConditionReporter', () => {
  function setup() {
    let now = 0;
    const writes: NodeCondition[] = [];
    let failNext = false;
    const r = new IpConditionReporter({
      write: async (c) => {
        if (failNext) {
          failNext = false;
          throw new Error('503');
        }
        writes.push(c);
      },
      holdMs: 10_000,
      refreshMs: 1000,
      now: () => now,
    });
    return { r, writes, at: (t: number) => (now = t), failOnce: () => (failNext = true) };
  }

  it('True once; False on exhaustion; back to True only after the hold', async () => {
    const { r, writes, at } = setup();
    await r.sufficient();
    await r.sufficient();
    expect(writes.map((w) => w.status)).toEqual(['True']);
    at(100);
    await r.exhausted('vSwitch full');
    at(200);
    await r.exhausted('vSwitch full'); // inside refreshMs: no write
    expect(writes.map((w) => [w.status, w.reason])).toEqual([
      ['True', 'SufficientIP'],
      ['False', 'InsufficientIP'],
    ]);
    at(5000);
    await r.sufficient(); // within the hold after the last exhaustion (t=200)
    expect(writes).toHaveLength(2);
    at(10_200);
    await r.sufficient();
    expect(writes.map((w) => w.status)).toEqual(['True', 'False', 'True']);
    expect(writes[1]!.message).toBe('vSwitch full');
  });

  it('a failed write is retried on the next call', async () => {
    const { r, writes, failOnce } = setup();
    failOnce();
    await r.sufficient();
    expect(writes).toHaveLength(0);
    await r.sufficient();
    expect(writes.map((w) => w.status)).toEqual(['True']);
  });
});

const pod = (id: string): PodRef => podRef(id, { namespace: 'ns', name: `p-${id}`, netns: '/proc/1/ns/net' });

describe('KubeAwareService', () => {
  function setup(allocator = new FakeAllocator(), driver = new FakeDriver(), stateful = true) {
    const inner = new EniMultiIpService({ allocator, driver, mtu: 1500, logger: captureLog().logger });
    const lookups: string[] = [];
    const seen: (boolean | undefined)[] = [];
    const orig = allocator.allocate.bind(allocator);
    allocator.allocate = async (p: PodRef) => {
      seen.push(p.stateful);
      return orig(p);
    };
    const events = new RecordingEvents();
    const conditions: string[] = [];
    const svc = new KubeAwareService({
      inner,
      hasAllocation: (p) => allocator.get(`${p.containerId}/${p.ifName}/${p.networkName}`) !== undefined,
      statefulness: {
        isStateful: async (ns, name) => {
          lookups.push(`${ns}/${name}`);
          return stateful;
        },
      },
      events,
      ipCondition: new IpConditionReporter({ write: async (c) => void conditions.push(c.status), now: () => 0 }),
      logger: captureLog().logger,
    });
    return { svc, lookups, seen, events, conditions, driver };
  }

  it('looks the pod up once, passes stateful to the pool, skips the lookup on a repeated ADD', async () => {
    const { svc, lookups, seen } = setup();
    await svc.start();
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    await svc.allocIp(pod('a'), { deadlineMs: 1000 });
    expect(lookups).toEqual(['ns/p-a']);
    expect(seen).toEqual([true, undefined]);
  });

  it('exhaustion: pod event AllocIPFailed with the cloud code and SufficientIP False', async () => {
    const { svc, events, conditions } = setup(new FakeAllocator([]));
    await svc.start();
    await expect(svc.allocIp(pod('x'), { deadlineMs: 1000 })).rejects.toBeInstanceOf(PoolError);
    expect(events.all).toEqual([
      {
        target: 'pod',
        namespace: 'ns',
        name: 'p-x',
        type: 'Warning',
        reason: 'AllocIPFailed',
        message: 'no free IP (cloud error InvalidVSwitchId.IpNotEnough)',
      },
    ]);
    await new Promise((r) => setImmediate(r));
    expect(conditions).toEqual(['False']);
  });

  it('a driver failure (the plugin records it) gets no daemon event', async () => {
    const driver = new FakeDriver();
    driver.failSetup = 'veth exists';
    const { svc, events } = setup(new FakeAllocator(), driver);
    await svc.start();
    await expect(svc.allocIp(pod('d'), { deadlineMs: 1000 })).rejects.toThrow(/veth exists/);
    expect(events.all).toEqual([]);
  });
});

describe('event recorders', () => {
  it('onThisNode names node events after this node and drops them without one', async () => {
    const rec = new RecordingEvents();
    const ev: EventRecord = { target: 'node', namespace: 'x', name: '', type: 'Normal', reason: 'R', message: 'm' };
    await onThisNode(rec, 'node-1').record(ev);
    await onThisNode(rec, undefined).record(ev);
    await onThisNode(rec, 'node-1').record({ ...ev, target: 'pod', namespace: 'ns', name: 'p' });
    expect(rec.all).toEqual([
      { ...ev, namespace: '', name: 'node-1' },
      { ...ev, target: 'pod', namespace: 'ns', name: 'p' },
    ]);
  });

  it('FanOutEventRecorder reaches every recorder and reports a failure', async () => {
    const a = new RecordingEvents();
    const b = new RecordingEvents();
    const failing: EventRecorder = { record: async () => Promise.reject(new Error('down')) };
    const ev: EventRecord = { target: 'pod', namespace: 'ns', name: 'p', type: 'Warning', reason: 'R', message: 'm' };
    await expect(new FanOutEventRecorder(a, failing, b).record(ev)).rejects.toThrow('down');
    expect(a.all).toEqual([ev]);
    expect(b.all).toEqual([ev]);
  });
});
