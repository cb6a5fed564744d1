// The controller's pure decisions: the node's plan from its resource (the pool's planner, fed by the
// controller's fields and the node's), who writes which field, and the dispatcher's order.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import type { CrNic, NodeCr } from '../../daemon/k8s/nodeCr.js';
import { controllerStatusOf, nodeFieldsOf, withControllerStatus, type ControllerStatus } from '../../controlplane/crModel.js';
import { Dispatcher } from '../../controlplane/dispatcher.js';
import { onTheirWay, planNode, type NodeView } from '../../controlplane/nodePlan.js';
import { reconcileNode } from '../../controlplane/crReconcile.js';
import { placementOf } from '../../daemon/modes/crd/nodeCrView.js';
import type { Eni } from '../../pool/cloud.js';
import { noBackoffs } from '../../pool/backoff.js';
import { NODE_CAPACITY_REACHED } from '../../pool/planner.js';
import { FakeClock } from '../support/clock.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const spec: NodeCr['spec'] = {
  nodeMetadata: { regionID: 'r', instanceType: 't', instanceID: 'i-1', zoneID: 'z' },
  eni: { vSwitchOptions: ['vsw-1'], securityGroupIDs: ['sg-1'], vSwitchSelectPolicy: 'ordered', enableIPv4: true },
  pool: { maxPoolSize: 5, minPoolSize: 0 },
};

function nic(id: string, ips: [string, CrNic['ipv4'][string]['status']][], over: Partial<CrNic> = {}): CrNic {
  const own = `10.9.${id.length}.1`;
  const ipv4: CrNic['ipv4'] = { [own]: { ip: own, primary: true, status: 'Valid' } };
  for (const [ip, status] of ips) ipv4[ip] = { ip, primary: false, status };
  return {
    id,
    status: 'InUse',
    macAddress: '00:16:3e:00:00:01',
    vSwitchID: 'vsw-1',
    securityGroupIDs: ['sg-1'],
    primaryIPAddress: own,
    ipv4CIDR: '10.0.0.0/16',
    networkInterfaceType: 'Secondary',
    creationTime: '2026-01-01T00:00:00.000Z',
    ipv4,
    ...over,
  };
}

function view(model: ControllerStatus, over: Partial<NodeView> = {}): NodeView {
  return {
    now: NOW,
    spec,
    model,
    node: new Map(),
    waitingPods: 0,
    limits: { eniQuantity: 8, ipv4PerEni: 20, instanceTypeId: 'ecs.g7.4xlarge' },
    foreign: 0,
    inFlight: { busy: new Set(), runningOps: new Set(), attaching: new Set() },
    backoffs: noBackoffs(),
    recentCreates: [],
    lastModifiedAt: NOW,
    freeSince: new Map(),
    ...over,
  };
}

/** eth0 as an older version left it in the resource: its own address and a secondary IP nobody holds. */
const eth0 = (): CrNic => ({ ...nic('eni-p', [['10.0.9.9', 'Valid']]), networkInterfaceType: 'Primary' });
const range = (prefix: string, n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + from}`);
const valid = (ips: string[]): [string, 'Valid'][] => ips.map((ip) => [ip, 'Valid']);
const held = (ips: string[]) => new Map(ips.map((ip, i) => [ip, { use: 'assigned' as const, podID: `default/p${i}` }]));
const withSpec = (over: { eni?: Partial<NodeCr['spec']['eni']>; pool?: Partial<NodeCr['spec']['pool']> }): NodeCr['spec'] => ({
  ...spec,
  eni: { ...spec.eni, ...over.eni },
  pool: { ...spec.pool, ...over.pool },
});

describe('planNode', () => {
  it('pods waiting on an empty node: secondary ENIs are created, each bringing its primary address and secondary IPs; eth0 is never grown', () => {
    const p = planNode(view({ networkInterfaces: { 'eni-p': eth0() }, cloudOperations: {} }, { waitingPods: 30 }));
    // 30 addresses = one ENI of 20 (its primary + 10 at creation, 9 assigned after the attach) + one of 10 (primary + 9).
    expect(p.steps).toEqual([
      { kind: 'createEni', vSwitchId: 'vsw-1', secondaryCount: 9, expectIps: 10 },
      { kind: 'createEni', vSwitchId: 'vsw-1', secondaryCount: 10, expectIps: 20 },
    ]);
    expect(p.priority).toBe(0);
  });

  it("an ENI's own primary address counts: an ENI of 20 with its primary and 9 secondary IPs gets 10 more, not 11", () => {
    const model: ControllerStatus = { networkInterfaces: { 'eni-a': nic('eni-a', valid(range('10.0.1.', 9))) }, cloudOperations: {} };
    const node = held(Object.keys(model.networkInterfaces['eni-a']!.ipv4));
    const p = planNode(view(model, { node, waitingPods: 10 }));
    expect(p.steps).toEqual([{ kind: 'assign', eniId: 'eni-a', count: 10 }]);
  });

  it('what is recorded in the resource counts as on its way (a new leader plans no second create or assign)', () => {
    const model: ControllerStatus = {
      networkInterfaces: {
        'eni-a': nic('eni-a', valid(range('10.0.1.', 9))),
        'eni-new': nic('eni-new', valid(range('10.0.2.', 10)), { status: 'Attaching' }),
        'eni-old': nic('eni-old', valid(range('10.0.3.', 3)), { status: 'Attaching' }),
      },
      cloudOperations: {
        t1: { api: 'AssignPrivateIpAddresses', eniID: 'eni-a', count: 10, startedAt: '' },
        t2: { api: 'CreateNetworkInterface', vSwitchID: 'vsw-1', count: 10, expectIps: 20, eniID: 'eni-new', startedAt: '' },
      },
    };
    // An Attaching ENI without a record brings every address it carries, its own primary included.
    expect(onTheirWay(model)).toEqual({
      creating: [],
      incoming: new Map([
        ['eni-a', 10],
        ['eni-new', 20],
        ['eni-old', 4],
      ]),
    });
    const node = held(Object.keys(model.networkInterfaces['eni-a']!.ipv4));
    const p = planNode(view(model, { node, waitingPods: 34 }));
    // Re-issue the recorded assign, attach both ENIs; nothing new.
    expect(p.steps.map((s) => s.kind).sort()).toEqual(['attach', 'attach', 'resumeOp']);
  });

  it('above max_pool_size: asks the node for free secondary IPs (never an ENI primary), unassigns only what it released, withdraws the ask where it uses the IP', () => {
    const ips = range('10.0.0.', 11, 10);
    const model: ControllerStatus = { networkInterfaces: { 'eni-a': nic('eni-a', valid(ips)) }, cloudOperations: {} };
    const idle = new Map(ips.map((ip) => [ip, NOW - 3_600_000]));
    const p = planNode(view(model, { freeSince: idle }));
    // 12 free addresses, max_pool_size 5: the 7 above it go at once; the ENI's primary address stays.
    expect(p.reclaim).toHaveLength(7);
    expect(p.reclaim).not.toContain(model.networkInterfaces['eni-a']!.primaryIPAddress);
    expect(p.steps).toEqual([]);

    for (const ip of p.reclaim) model.networkInterfaces['eni-a']!.ipv4[ip]!.status = 'Reclaiming';
    const [r1, r2, r3] = p.reclaim;
    const node = new Map([
      [r1!, { use: 'released' as const }],
      [r2!, { use: 'released' as const }],
      [r3!, { use: 'assigned' as const, podID: 'default/web' }],
    ]);
    const next = planNode(view(model, { node, freeSince: idle }));
    expect(next.steps).toEqual([{ kind: 'unassign', eniId: 'eni-a', ips: [r1!, r2!].sort() }]);
    expect(next.cancel).toEqual([r3]);
  });

  it('idle reclaim as the node-local pool runs it: armed once the node is quiet for idle_ip_reclaim_after, one batch per interval down to min_pool_size', () => {
    const idleSpec = withSpec({
      pool: { minPoolSize: 4, maxPoolSize: 20, reclaim: { after: '10m', interval: '1m', batchSize: 3, jitterFactor: '0' } },
    });
    const ips = range('10.0.0.', 9, 10);
    const model: ControllerStatus = { networkInterfaces: { 'eni-a': nic('eni-a', valid(ips)) }, cloudOperations: {} };
    const busy = planNode(view(model, { spec: idleSpec, lastModifiedAt: NOW - 60_000 }));
    expect(busy.reclaim).toEqual([]);
    expect(busy.nextReclaimAt).toBeUndefined();

    const armed = planNode(view(model, { spec: idleSpec, lastModifiedAt: NOW - 11 * 60_000, reclaimIntervalMs: 60_000 }));
    expect(armed.reclaim).toEqual([]);
    expect(armed.nextReclaimAt).toBe(NOW + 60_000);
    expect(armed.reclaimIntervalUsed).toBe(true);
    expect(armed.wakeAt).toBe(NOW + 60_000);

    const due = planNode(
      view(model, {
        spec: idleSpec,
        now: NOW + 60_000,
        lastModifiedAt: NOW - 11 * 60_000,
        nextReclaimAt: NOW + 60_000,
        reclaimIntervalMs: 60_000,
      }),
    );
    expect(due.reclaim).toHaveLength(3);
    expect(due.nextReclaimAt).toBe(NOW + 120_000);
  });

  it('an idle ENI of ours goes whole: every address asked back, its primary included; deleted once the node released them all', () => {
    const model: ControllerStatus = {
      networkInterfaces: { 'eni-p': eth0(), 'eni-x': nic('eni-x', valid(['10.0.2.1', '10.0.2.2'])) },
      cloudOperations: {},
    };
    const own = model.networkInterfaces['eni-x']!.primaryIPAddress;
    const p = planNode(view(model, { spec: withSpec({ pool: { maxPoolSize: 0 } }) }));
    expect(p.reclaim.sort()).toEqual([own, '10.0.2.1', '10.0.2.2'].sort());
    for (const ip of p.reclaim) model.networkInterfaces['eni-x']!.ipv4[ip]!.status = 'Reclaiming';

    const node = new Map(p.reclaim.map((ip) => [ip, { use: 'released' as const }]));
    expect(planNode(view(model, { node })).steps).toEqual([{ kind: 'deleteEni', eniId: 'eni-x' }]);
  });

  it('an ENI that cannot go whole (a pod took one of its addresses) gets its primary address back and only its secondary IPs are unassigned', () => {
    const model: ControllerStatus = {
      networkInterfaces: {
        'eni-x': nic('eni-x', [
          ['10.0.2.1', 'Reclaiming'],
          ['10.0.2.2', 'Reclaiming'],
        ]),
      },
      cloudOperations: {},
    };
    const own = model.networkInterfaces['eni-x']!.primaryIPAddress;
    model.networkInterfaces['eni-x']!.ipv4[own]!.status = 'Reclaiming';
    const node = new Map([
      [own, { use: 'released' as const }],
      ['10.0.2.1', { use: 'released' as const }],
      ['10.0.2.2', { use: 'assigned' as const, podID: 'default/a' }],
    ]);
    const p = planNode(view(model, { node }));
    expect(p.steps).toEqual([{ kind: 'unassign', eniId: 'eni-x', ips: ['10.0.2.1'] }]);
    expect(p.cancel.sort()).toEqual(['10.0.2.2', own].sort());

    // Placed Valid again while the node still reports it released: on its way back, neither released nor free.
    model.networkInterfaces['eni-x']!.ipv4[own]!.status = 'Valid';
    model.networkInterfaces['eni-x']!.ipv4['10.0.2.2']!.status = 'Valid';
    delete model.networkInterfaces['eni-x']!.ipv4['10.0.2.1'];
    const after = planNode(view(model, { node: new Map([...node].filter(([ip]) => ip !== '10.0.2.1')) }));
    expect(after.steps).toEqual([]);
    expect(after.cancel).toEqual([]);
  });

  it('max_eni counts secondary ENIs, eni_cap_ratio scales the quota; past the capacity the node is blocked with the arithmetic', () => {
    const capped = planNode(
      view({ networkInterfaces: {}, cloudOperations: {} }, { waitingPods: 30, spec: withSpec({ eni: { maxENI: 1 } }) }),
    );
    expect(capped.steps).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-1', secondaryCount: 10, expectIps: 20 }]);
    expect(capped.blocked).toEqual({
      code: NODE_CAPACITY_REACHED,
      message: 'node capacity reached: 20 pods = max_eni 1 × 20 IPs (ecs.g7.4xlarge)',
    });

    const full = nic('eni-a', valid(range('10.0.1.', 19)));
    const node = held(Object.keys(full.ipv4));
    const ratio = planNode(
      view(
        { networkInterfaces: { 'eni-a': full }, cloudOperations: {} },
        { node, waitingPods: 3, limits: { eniQuantity: 4, ipv4PerEni: 20 }, spec: withSpec({ eni: { eniCapRatio: '0.5' } }) },
      ),
    );
    expect(ratio.steps).toEqual([]);
    expect(ratio.blocked).toEqual({ code: NODE_CAPACITY_REACHED, message: 'node capacity reached: 20 pods = (4 ENIs × 0.5 − 1) × 20 IPs' });
  });

  it('min_eni sets min_pool_size to min_eni × IPs per ENI, as the node-local pool derives it', () => {
    const p = planNode(
      view({ networkInterfaces: {}, cloudOperations: {} }, { spec: withSpec({ eni: { minENI: 1 }, pool: { maxPoolSize: 50 } }) }),
    );
    expect(p.steps).toEqual([{ kind: 'createEni', vSwitchId: 'vsw-1', secondaryCount: 10, expectIps: 20 }]);
    expect(p.priority).toBe(1);
  });
});

describe("reconcileNode (pure): the resource against the cloud, with the pool's verdict", () => {
  const cloudEni = (id: string, over: Partial<Eni>): Eni => ({
    eniId: id,
    mac: '00:16:3e:00:00:02',
    type: 'Secondary',
    status: 'InUse',
    instanceId: 'i-1',
    vSwitchId: 'vsw-1',
    zoneId: 'z',
    vpcId: 'vpc',
    securityGroupIds: ['sg-1'],
    primaryIp: '10.0.5.1',
    secondaryIps: [],
    ipv6s: [],
    tags: { creator: 'eni-ipam', node: 'i-1' },
    ...over,
  });
  const reconcile = (model: ControllerStatus, attached: Eni[], node = new Map()) =>
    reconcileNode({
      now: NOW,
      model,
      node,
      instanceId: 'i-1',
      tagFilter: {},
      attached,
      vSwitchCidr: () => '10.0.0.0/16',
      busy: () => false,
    });

  it('adopts an ENI of ours with every address, its own primary included (as such); never adopts eth0', () => {
    const r = reconcile({ networkInterfaces: {}, cloudOperations: {} }, [
      cloudEni('eni-ours', { secondaryIps: ['10.0.5.2', '10.0.5.3'] }),
      cloudEni('eni-eth0', { type: 'Primary', primaryIp: '10.0.6.1', secondaryIps: ['10.0.6.2'], tags: {} }),
    ]);
    expect(Object.keys(r.model.networkInterfaces)).toEqual(['eni-ours']);
    expect(r.model.networkInterfaces['eni-ours']!.ipv4).toEqual({
      '10.0.5.1': { ip: '10.0.5.1', primary: true, status: 'Valid' },
      '10.0.5.2': { ip: '10.0.5.2', primary: false, status: 'Valid' },
      '10.0.5.3': { ip: '10.0.5.3', primary: false, status: 'Valid' },
    });
  });

  it('eth0 left in the resource by an older version keeps only what pods hold, and goes with the last of them', () => {
    const attached = [cloudEni('eni-p', { type: 'Primary', primaryIp: '10.9.5.1', secondaryIps: ['10.0.9.8', '10.0.9.9'], tags: {} })];
    const old = (): ControllerStatus => ({
      networkInterfaces: { 'eni-p': { ...nic('eni-p', valid(['10.0.9.8', '10.0.9.9'])), networkInterfaceType: 'Primary' } },
      cloudOperations: {},
    });
    const kept = reconcile(old(), attached, new Map([['10.0.9.8', { use: 'assigned' as const, podID: 'default/old' }]]));
    expect(Object.keys(kept.model.networkInterfaces['eni-p']!.ipv4).filter((ip) => ip !== '10.9.5.1')).toEqual(['10.0.9.8']);
    expect(kept.findings).toContainEqual({ kind: 'leavePrimaryIp', eniId: 'eni-p', ip: '10.0.9.9' });
    const gone = reconcile(old(), attached);
    expect(gone.model.networkInterfaces).toEqual({});
  });
});

describe("placementOf: the node's view of its resource", () => {
  it("places a secondary ENI's own primary address like its secondary IPs, never eth0's own address", () => {
    const cr: NodeCr = {
      metadata: { name: 'n' },
      spec,
      status: {
        lastSyncOpenAPITime: '2026-01-01T00:00:00Z',
        networkInterfaces: { 'eni-a': nic('eni-a', valid(['10.0.1.1'])), 'eni-p': eth0() },
        cloudOperations: {},
      },
    };
    const p = placementOf(cr)!;
    const ips = (id: string) =>
      p.enis
        .find((e) => e.eniId === id)!
        .ips.map((i) => i.ip)
        .sort();
    expect(ips('eni-a')).toEqual(['10.0.1.1', '10.9.5.1']);
    expect(ips('eni-p')).toEqual(['10.0.9.9']);
  });
});

describe('who writes which field', () => {
  it("the controller's write keeps the node's holders, acknowledgements and demand; the node's fields never enter its model", () => {
    const cr: NodeCr = {
      metadata: { name: 'n', resourceVersion: '5' },
      spec,
      status: {
        networkInterfaces: {
          'eni-a': nic('eni-a', [
            ['10.0.0.1', 'Valid'],
            ['10.0.0.2', 'Reclaiming'],
          ]),
        },
        cloudOperations: {},
        demand: { waitingPods: 2 },
      },
    };
    cr.status!.networkInterfaces!['eni-a']!.ipv4['10.0.0.1']!.use = 'assigned';
    cr.status!.networkInterfaces!['eni-a']!.ipv4['10.0.0.1']!.podID = 'default/a';
    cr.status!.networkInterfaces!['eni-a']!.ipv4['10.0.0.2']!.use = 'released';
    const model = controllerStatusOf(cr);
    expect(model.networkInterfaces['eni-a']!.ipv4['10.0.0.1']).toEqual({ ip: '10.0.0.1', primary: false, status: 'Valid' });
    model.networkInterfaces['eni-a']!.ipv4['10.0.0.2']!.status = 'Deleting';
    model.networkInterfaces['eni-a']!.ipv4['10.0.0.3'] = { ip: '10.0.0.3', primary: false, status: 'Valid' };
    const out = withControllerStatus(cr, model)!;
    expect(out.status!.demand).toEqual({ waitingPods: 2 });
    expect(out.status!.networkInterfaces!['eni-a']!.ipv4).toMatchObject({
      '10.0.0.1': { status: 'Valid', use: 'assigned', podID: 'default/a' },
      '10.0.0.2': { status: 'Deleting', use: 'released' },
      '10.0.0.3': { status: 'Valid' },
    });
    expect(nodeFieldsOf(out).get('10.0.0.3')).toBeUndefined();
    expect(withControllerStatus(out, model)).toBeUndefined(); // nothing left to write
  });
});

describe('Dispatcher', () => {
  it('starts work only when its API has a token, most urgent first, and skips to other APIs when one is spent', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ qps: 1, burst: 2, perApiPerMinute: { AssignPrivateIpAddresses: 1 }, terwayDefaults: false, clock });
    limiter.bucket('AssignPrivateIpAddresses')!.reserve(); // the assign bucket: empty now
    const launched: string[] = [];
    const work = [
      { api: 'AssignPrivateIpAddresses', name: 'urgent-assign' },
      { api: 'CreateNetworkInterface', name: 'urgent-create' },
      { api: 'UnassignPrivateIpAddresses', name: 'reclaim' },
    ];
    const d = new Dispatcher({
      limiter,
      candidates: () =>
        work
          .filter((w) => !launched.includes(w.name))
          .map((w) => ({
            api: w.api,
            launch: () => {
              launched.push(w.name);
              limiter.bucket()!.reserve(); // the call takes its token
              if (limiter.bucket(w.api)) limiter.bucket(w.api)!.reserve();
              d.spend(w.api);
              return true;
            },
          })),
      sleep: (ms) => clock.sleep(ms),
      onError: (e) => {
        throw e;
      },
    });
    d.start();
    await clock.advanceAsync(0);
    // Two shared tokens: the assign has none of its own yet, so the create and then the reclaim go.
    expect(launched).toEqual(['urgent-create', 'reclaim']);
    await clock.advanceAsync(30_000);
    expect(launched).toEqual(['urgent-create', 'reclaim']);
    await clock.advanceAsync(31_000); // its own bucket (1 a minute) has a token again
    expect(launched).toEqual(['urgent-create', 'reclaim', 'urgent-assign']);
    await d.stop();
  });
});
