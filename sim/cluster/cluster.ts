// A small simulated cluster on one machine: the mock cloud (HTTP on loopback), the simulated VPC data plane
// (a router netns + one netns per node, ENI links with the ENI MACs), the mock reachable from inside every node
// netns (loopback bridge), and one real daemon per node running inside its node netns.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle, type WorldDump } from '../mockcloud/index.js';
import {
  attachKernel,
  bridgeLoopback,
  cleanupStale,
  listNetns,
  reapDeadRuns,
  type LoopbackBridge,
  type VpcKernel,
} from '../vpcsim/index.js';
import { NodeDaemon } from './daemonProc.js';

export const NODE_IDS = ['i-mock-node-1', 'i-mock-node-2'] as const;

export interface ClusterOptions {
  /** Short, unique per run (uniquePrefix(tag)): every netns is `<prefix>-...`. */
  prefix: string;
  /** The uniquePrefix tag: leftovers of this tag's runs whose process died are removed first. */
  reapTag?: string;
  /** How many of the default world's nodes to run (1 or 2). */
  nodes?: number;
  minPoolSize: number;
  maxPoolSize: number;
  ipCooldown?: string;
  attachDelayMs?: number;
  /** Extra eni_conf keys for every daemon. */
  extra?: Record<string, unknown>;
}

export interface ClusterNode {
  instanceId: string;
  netns: string;
  daemon: NodeDaemon;
  /** The node's own address (primary IP of its primary ENI, on eth0 of the node netns). */
  primaryIp: string;
}

export interface Cluster {
  prefix: string;
  dir: string;
  mc: MockCloudHandle;
  kernel: VpcKernel;
  bridge: LoopbackBridge;
  nodes: ClusterNode[];
  /** Stops daemons, relays, the kernel backend and the mock; removes every `<prefix>-` netns and the run folder. */
  destroy(): Promise<void>;
}

/**
 * Every pod address the cloud shows on `instanceId`'s secondary ENIs (each one's primary IP and its secondary IPs),
 * with the ENI that holds it. Pods use secondary ENIs only: eth0, the primary ENI, is the node's.
 */
export function cloudPodAddresses(dump: WorldDump, instanceId: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of dump.enis) {
    if (e.instanceId !== instanceId || e.type === 'Primary') continue;
    for (const ip of [e.primaryIp, ...e.secondaryIps]) out.set(ip, e.eniId);
  }
  return out;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const nodeCount = o.nodes ?? 2;
  if (o.reapTag) await reapDeadRuns(o.reapTag);
  await cleanupStale(o.prefix);
  const dir = join(tmpdir(), `eni-e2e-${o.prefix}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const undo: (() => Promise<void>)[] = [];
  const destroy = async (): Promise<void> => {
    const errors: string[] = [];
    for (const u of undo.reverse()) await u().catch((e: Error) => errors.push(e.message));
    undo.length = 0;
    await cleanupStale(o.prefix).catch((e: Error) => errors.push(e.message));
    if (errors.length === 0) rmSync(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`cluster ${o.prefix} teardown: ${errors.join('; ')}`);
  };

  try {
    const mc = await startMockCloud({ port: 0, attachDelayMs: o.attachDelayMs ?? 50 });
    undo.push(() => mc.close());
    const ids = NODE_IDS.slice(0, nodeCount);
    const nodeNs = Object.fromEntries(ids.map((id, i) => [id, { netns: `${o.prefix}-n${i + 1}` }]));
    const kernel = await attachKernel(mc, { prefix: o.prefix, nodes: nodeNs });
    undo.push(() => kernel.destroy());
    const port = Number(new URL(mc.url).port);
    const bridge = await bridgeLoopback(
      port,
      Object.values(nodeNs).map((n) => n.netns),
    );
    undo.push(() => bridge.close());

    const dump = mc.dump();
    const nodes: ClusterNode[] = [];
    for (const id of ids) {
      const netns = nodeNs[id]!.netns;
      const inst = dump.instances.find((i) => i.instanceId === id);
      const primary = dump.enis.find((e) => e.eniId === inst?.primaryEniId);
      if (!primary) throw new Error(`mock world has no primary ENI for ${id}`);
      const daemon = new NodeDaemon({
        instanceId: id,
        netns,
        dir: join(dir, id),
        cloud: mc,
        minPoolSize: o.minPoolSize,
        maxPoolSize: o.maxPoolSize,
        ipCooldown: o.ipCooldown,
        extra: o.extra,
      });
      undo.push(() => daemon.kill('SIGTERM', 5_000));
      nodes.push({ instanceId: id, netns, daemon, primaryIp: primary.primaryIp });
    }
    // Daemons start in parallel (each takes ~1 s to load the SDKs and warm its pool).
    await Promise.all(nodes.map((n) => n.daemon.start()));
    await kernel.settled();
    return { prefix: o.prefix, dir, mc, kernel, bridge, nodes, destroy };
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }
}

/** Netns names with this prefix that still exist (for the after-all check). */
export async function netnsWithPrefix(prefix: string): Promise<string[]> {
  return (await listNetns()).filter((n) => n === prefix || n.startsWith(`${prefix}-`));
}
