// The controller's pure decisions: the node's plan from its resource (the pool's planner, fed by the
// controller's fields and the node's), who writes which field, and the dispatcher's order.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import type { CrNic, NodeCr } from '../../daemon/k8s/nodeCr.js';
import { controllerStatusOf, nodeFieldsOf, withControllerStatus, type ControllerStatus } from '../../controlplane/crModel.js';
import { Dispatcher } from '../../controlplane/dispatcher.js';
import { onTheirWay, planNode, type NodeView } from '../../controlplane/nodePlan.js';
import { noBackoffs } from '../../pool/backoff.js';
import { FakeClock } from '../support/clock.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const spec: NodeCr['spec'] = {
  nodeMetadata: { regionID: 'r', instanceType: 't', instanceID: 'i-1', zoneID: 'z' },
  eni: { vSwitchOptions: ['vsw-1'], securityGroupIDs: ['sg-1'], vSwitchSelectPolicy: 'ordered', enableIPv4: true },
  pool: { maxPoolSize: 5, minPoolSize: 0 },
};

function nic(id: string, ips: [string, CrNic['ipv4'][string]['status']][], over: Partial<CrNic> = {}): CrNic {
  const ipv4: CrNic['ipv4'] = { [`10.9.${id.length}.1`]: { ip: `10.9.${id.length}.1`, primary: true, status: 'Valid' } };
  for (const [ip, status] of ips) ipv4[ip] = { ip, primary: false, status };
  return {
    id,
    status: 'InUse',
    macAddress: '00:16:3e:00:00:01',
    vSwitchID: 'vsw-1',
    securityGroupIDs: ['sg-1'],
    primaryIPAddress: `10.9.${id.length}.1`,
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
    limits: { eniQuantity: 8, ipv4PerEni: 20 },
    foreign: 0,
    inFlight: { busy: new Set(), runningOps: new Set(), attaching: new Set() },
    backoffs: noBackoffs(),
    recentCreates: [],
    lastReclaimAt: 0,
    freeSince: new Map(),
    ...over,
  };
}

const primary = (ips: [string, CrNic['ipv4'][string]['status']][] = []): CrNic => nic('eni-p', ips, { networkInterfaceType: 'Primary' });

describe('planNode', () => {
  it('pods waiting on an empty node: the pool planner fills the primary ENI and creates one ENI, creates first, highest priority', () => {
    const p = planNode(view({ networkInterfaces: { 'eni-p': primary() }, cloudOperations: {} }, { waitingPods: 30 }));
    expect(p.steps).toEqual([
      { kind: 'createEni', vSwitchId: 'vsw-1', secondaryCount: 10, expectIps: 11 },
      { kind: 'assign', eniId: 'eni-p', count: 10 },
      { kind: 'assign', eniId: 'eni-p', count: 9 },
    ]);
    expect(p.priority).toBe(0);
  });

  it('what is recorded in the resource counts as on its way (a new leader plans no second create or assign)', () => {
    const model: ControllerStatus = {
      networkInterfaces: {
        'eni-p': primary(),
        'eni-new': nic(
          'eni-new',
          Array.from({ length: 10 }, (_, i): [string, 'Valid'] => [`10.0.1.${i}`, 'Valid']),
          { status: 'Attaching' },
        ),
      },
      cloudOperations: {
        t1: { api: 'AssignPrivateIpAddresses', eniID: 'eni-p', count: 10, startedAt: '' },
        t2: { api: 'AssignPrivateIpAddresses', eniID: 'eni-p', count: 9, startedAt: '' },
        t3: { api: 'CreateNetworkInterface', vSwitchID: 'vsw-1', count: 10, expectIps: 11, eniID: 'eni-new', startedAt: '' },
      },
    };
    expect(onTheirWay(model)).toEqual({
      creating: [],
      incoming: new Map([
        ['eni-p', 19],
        ['eni-new', 11],
      ]),
    });
    const p = planNode(view(model, { waitingPods: 30 }));
    // Re-issue the two recorded assigns, attach the created ENI; nothing new.
    expect(p.steps.map((s) => s.kind).sort()).toEqual(['attach', 'resumeOp', 'resumeOp']);
    expect(p.steps.filter((s) => s.kind === 'resumeOp').map((s) => (s.kind === 'resumeOp' ? s.token : ''))).toEqual(['t1', 't2']);
  });

  it('above max_pool_size: asks the node for idle IPs (Reclaiming), unassigns only what the node released, withdraws the ask where the node uses it', () => {
    const ips = Array.from({ length: 12 }, (_, i): [string, 'Valid'] => [`10.0.0.${i + 10}`, 'Valid']);
    const model: ControllerStatus = { networkInterfaces: { 'eni-p': primary(ips) }, cloudOperations: {} };
    const idle = new Map(ips.map(([ip]) => [ip, NOW - 3_600_000]));
    const p = planNode(view(model, { freeSince: idle }));
    expect(p.reclaim).toHaveLength(5); // a batch of idle_ip_reclaim_batch_size, leaving 7 (the next batch waits the interval)
    expect(p.steps).toEqual([]);

    for (const ip of p.reclaim) model.networkInterfaces['eni-p']!.ipv4[ip]!.status = 'Reclaiming';
    const [r1, r2, r3] = p.reclaim;
    const node = new Map([
      [r1!, { use: 'released' as const }],
      [r2!, { use: 'released' as const }],
      [r3!, { use: 'assigned' as const, podID: 'default/web' }],
    ]);
    const next = planNode(view(model, { node, freeSince: idle, lastReclaimAt: NOW }));
    expect(next.steps).toEqual([{ kind: 'unassign', eniId: 'eni-p', ips: [r1!, r2!].sort() }]);
    expect(next.cancel).toEqual([r3]);
  });

  it('an ENI of ours whose every IP the node released goes whole (one detach + delete, not unassigns)', () => {
    const model: ControllerStatus = {
      networkInterfaces: {
        'eni-p': primary(),
        'eni-x': nic('eni-x', [
          ['10.0.2.1', 'Reclaiming'],
          ['10.0.2.2', 'Reclaiming'],
        ]),
      },
      cloudOperations: {},
    };
    const node = new Map([
      ['10.0.2.1', { use: 'released' as const }],
      ['10.0.2.2', { use: 'released' as const }],
    ]);
    expect(planNode(view(model, { node })).steps).toEqual([{ kind: 'deleteEni', eniId: 'eni-x' }]);
  });

  it('exhaustion (the instance ENI limit) marks the node blocked so its waiting pods fail at once', () => {
    const model: ControllerStatus = {
      networkInterfaces: { 'eni-p': primary(Array.from({ length: 19 }, (_, i): [string, 'Valid'] => [`10.0.3.${i}`, 'Valid'])) },
      cloudOperations: {},
    };
    const node = new Map(Object.keys(model.networkInterfaces['eni-p']!.ipv4).map((ip) => [ip, { use: 'assigned' as const }]));
    const p = planNode(view(model, { node, waitingPods: 3, limits: { eniQuantity: 1, ipv4PerEni: 20 } }));
    expect(p.blocked).toMatchObject({ message: 'node ENI/IP capacity reached' });
  });
});

describe('who writes which field', () => {
  it("the controller's write keeps the node's holders, acknowledgements and demand; the node's fields never enter its model", () => {
    const cr: NodeCr = {
      metadata: { name: 'n', resourceVersion: '5' },
      spec,
      status: {
        networkInterfaces: {
          'eni-p': {
            ...primary([
              ['10.0.0.1', 'Valid'],
              ['10.0.0.2', 'Reclaiming'],
            ]),
          },
        },
        cloudOperations: {},
        demand: { waitingPods: 2 },
      },
    };
    cr.status!.networkInterfaces!['eni-p']!.ipv4['10.0.0.1']!.use = 'assigned';
    cr.status!.networkInterfaces!['eni-p']!.ipv4['10.0.0.1']!.podID = 'default/a';
    cr.status!.networkInterfaces!['eni-p']!.ipv4['10.0.0.2']!.use = 'released';
    const model = controllerStatusOf(cr);
    expect(model.networkInterfaces['eni-p']!.ipv4['10.0.0.1']).toEqual({ ip: '10.0.0.1', primary: false, status: 'Valid' });
    model.networkInterfaces['eni-p']!.ipv4['10.0.0.2']!.status = 'Deleting';
    model.networkInterfaces['eni-p']!.ipv4['10.0.0.3'] = { ip: '10.0.0.3', primary: false, status: 'Valid' };
    const out = withControllerStatus(cr, model)!;
    expect(out.status!.demand).toEqual({ waitingPods: 2 });
    expect(out.status!.networkInterfaces!['eni-p']!.ipv4).toMatchObject({
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
