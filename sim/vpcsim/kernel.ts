// The mock cloud's kernel backend: a simulated VPC data plane in real network namespaces.
// A VPC-router netns routes every private IP (primary and secondary) to the veth of the ENI that holds it,
// so pods on different test "nodes" reach each other exactly as in a VPC: no overlay, no NAT.
// See plan.ts for the wiring; this file only sequences the kernel changes behind the mock's events.
import type { EventEmitter } from 'node:events';
import type { EniAttachedEvent, EniDetachedEvent, IpsChangedEvent, RouteEntryDump, WorldDump } from '../mockcloud/types.js';
import { ipBatch, ipJson, setSysctls } from './ip.js';
import { createNetns, deleteNetns, listNetns } from './netns.js';
import {
  type EniWiring,
  nextDeviceIndex,
  nodeIfName,
  nodePrimaryLines,
  routeAddLines,
  routeDelLines,
  routeEntryAddLines,
  routeEntryDelLines,
  routerAttachLines,
  routerIfName,
} from './plan.js';

/** What the backend needs of the mock cloud handle (structural, so it does not pin the mock's full type). */
export interface MockCloudLike {
  events: EventEmitter;
  dump(): WorldDump;
  /** Awaited by the mock before the ENI becomes InUse (so links exist when the daemon sees InUse). */
  setAttachHook?(hook: ((ev: EniAttachedEvent) => Promise<void>) | undefined): void;
  /** Awaited by the mock before the ENI becomes Available again. */
  setDetachHook?(hook: ((ev: EniDetachedEvent) => Promise<void>) | undefined): void;
}

export interface AttachKernelOptions {
  /** Short and unique per run; the router netns is `<prefix>-vpc`. Name node netns `<prefix>-...` too, so cleanupStale(prefix) finds them. */
  prefix: string;
  /** The test nodes: instance id -> the node's netns name (created when missing). */
  nodes: Record<string, { netns: string }>;
}

/** An attached ENI's links (as planned in EniWiring) and what is routed to it now. */
export interface EniLink extends EniWiring {
  /** Private IPs currently routed to this ENI (primary included). */
  routedIps: string[];
}

export interface RouterRoute {
  /** Destination IP (a /32). */
  ip: string;
  routerIfName: string;
  eniId?: string;
  instanceId?: string;
}

/** A custom VPC route entry the router carries (VPCIP mode). */
export interface RouterRouteEntry {
  destinationCidrBlock: string;
  nextHopInstanceId: string;
  routerIfName: string;
}

export interface VpcKernel {
  readonly prefix: string;
  readonly routerNetns: string;
  nodeNetns(instanceId: string): string;
  linkFor(eniId: string): EniLink | undefined;
  links(): EniLink[];
  /** The router's /32 routes as the kernel has them now (for assertions). */
  routes(): Promise<RouterRoute[]>;
  /** Custom route entries (CIDR -> instance) as the router's kernel has them now. */
  routeEntries(): Promise<RouterRouteEntry[]>;
  /** Resolves when every kernel change queued so far (from events) has been applied. */
  settled(): Promise<void>;
  /** Every failed kernel change, in order (a failing attach hook also rejects to the mock, which fails the attach). Empty in a healthy run. */
  readonly errors: Error[];
  /** Stops listening and removes every netns (and so every link) it made. Idempotent. */
  destroy(): Promise<void>;
}

interface NodeState {
  index: number;
  instanceId: string;
  netns: string;
}

interface LinkState extends EniWiring {
  routed: Set<string>;
}

class Kernel implements VpcKernel {
  readonly routerNetns: string;
  readonly errors: Error[] = [];
  private readonly nodes = new Map<string, NodeState>();
  private readonly byEni = new Map<string, LinkState>();
  /** Custom route entries: destination CIDR -> next-hop instance. */
  private readonly entries = new Map<string, string>();
  private readonly createdNetns: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private destroyed = false;
  private readonly listeners: [string, (ev: never) => void][] = [];

  constructor(
    readonly prefix: string,
    private readonly mc: MockCloudLike,
  ) {
    this.routerNetns = `${prefix}-vpc`;
  }

  nodeNetns(instanceId: string): string {
    const node = this.nodes.get(instanceId);
    if (!node) throw new Error(`vpcsim: ${instanceId} is not a simulated node`);
    return node.netns;
  }

  linkFor(eniId: string): EniLink | undefined {
    const l = this.byEni.get(eniId);
    return l ? toPublic(l) : undefined;
  }

  links(): EniLink[] {
    return [...this.byEni.values()].map(toPublic);
  }

  /** The router's per-address routes: IPv4 /32s and IPv6 /128s (link-local and prefix routes left out). */
  async routes(): Promise<RouterRoute[]> {
    const [rows4, rows6] = await Promise.all([
      ipJson<{ dst: string; dev?: string }[]>(this.routerNetns, ['route', 'show', 'table', 'main']),
      ipJson<{ dst: string; dev?: string }[]>(this.routerNetns, ['-6', 'route', 'show', 'table', 'main']),
    ]);
    const byIf = new Map([...this.byEni.values()].map((l) => [l.routerIfName, l]));
    const hostRoute = (dst: string) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(dst) || (dst.includes(':') && !dst.includes('/') && !dst.startsWith('fe80'));
    return [...rows4, ...rows6]
      .filter((r) => r.dev !== undefined && hostRoute(r.dst))
      .map((r) => {
        const l = byIf.get(r.dev as string);
        return { ip: r.dst, routerIfName: r.dev as string, eniId: l?.eniId, instanceId: l?.instanceId };
      });
  }

  async routeEntries(): Promise<RouterRouteEntry[]> {
    const rows = await ipJson<{ dst: string; gateway?: string; dev?: string }[]>(this.routerNetns, ['route', 'show', 'table', 'main']);
    const byIf = new Map([...this.byEni.values()].map((l) => [l.routerIfName, l]));
    return rows
      .filter((r) => r.gateway !== undefined && r.dev !== undefined && r.dst.includes('/'))
      .map((r) => ({
        destinationCidrBlock: r.dst,
        nextHopInstanceId: byIf.get(r.dev as string)?.instanceId ?? '',
        routerIfName: r.dev as string,
      }));
  }

  settled(): Promise<void> {
    return this.chain;
  }

  /** Runs kernel changes one at a time, in event order. */
  private enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.destroyed) return;
      try {
        await fn();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `vpcsim ${what}: ${e.message}`;
        throw e;
      }
    });
    this.chain = next.catch((err: Error) => {
      this.errors.push(err);
    });
    return next;
  }

  async start(nodes: AttachKernelOptions['nodes']): Promise<void> {
    await createNetns(this.routerNetns);
    this.createdNetns.push(this.routerNetns);
    await setSysctls(this.routerNetns, {
      'net.ipv4.ip_forward': 1,
      // Dual stack: the VPC router forwards IPv6 too; routes are /128 per address with permanent neighbours.
      'net.ipv6.conf.all.forwarding': 1,
      // Links created later inherit these: answer ARP for any routed IP, never tell a node to go direct.
      'net.ipv4.conf.default.proxy_arp': 1,
      'net.ipv4.conf.all.send_redirects': 0,
      'net.ipv4.conf.default.send_redirects': 0,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
    });
    let index = 1;
    const existing = new Set(await listNetns());
    for (const [instanceId, { netns }] of Object.entries(nodes)) {
      if (!existing.has(netns)) {
        await createNetns(netns);
        this.createdNetns.push(netns);
      }
      // A Kubernetes node forwards between its ENIs and its pods.
      await setSysctls(netns, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 });
      this.nodes.set(instanceId, { index: index++, instanceId, netns });
    }

    // Subscribe before wiring what is already attached, so no change slips between the dump and the listener.
    this.on(
      'eniAttached',
      (ev: EniAttachedEvent) => void this.enqueue(`attach ${ev.eniId}`, () => this.wireEni(ev)).catch(() => undefined),
    );
    this.on(
      'eniDetached',
      (ev: EniDetachedEvent) => void this.enqueue(`detach ${ev.eniId}`, () => this.unwireEni(ev.eniId)).catch(() => undefined),
    );
    this.on(
      'ipsAssigned',
      (ev: IpsChangedEvent) => void this.enqueue(`assign ${ev.eniId}`, () => this.addIps(ev.eniId, ev.ips)).catch(() => undefined),
    );
    this.on(
      'ipsUnassigned',
      (ev: IpsChangedEvent) => void this.enqueue(`unassign ${ev.eniId}`, () => this.removeIps(ev.eniId, ev.ips)).catch(() => undefined),
    );
    this.on(
      'ipv6sAssigned',
      (ev: IpsChangedEvent) => void this.enqueue(`assign ${ev.eniId}`, () => this.addIps(ev.eniId, ev.ips)).catch(() => undefined),
    );
    this.on(
      'ipv6sUnassigned',
      (ev: IpsChangedEvent) => void this.enqueue(`unassign ${ev.eniId}`, () => this.removeIps(ev.eniId, ev.ips)).catch(() => undefined),
    );
    this.on(
      'routeCreated',
      (ev: RouteEntryDump) => void this.enqueue(`route ${ev.destinationCidrBlock}`, () => this.addRouteEntry(ev)).catch(() => undefined),
    );
    this.on(
      'routeDeleted',
      (ev: RouteEntryDump) => void this.enqueue(`route ${ev.destinationCidrBlock}`, () => this.delRouteEntry(ev)).catch(() => undefined),
    );
    this.mc.setAttachHook?.((ev) => this.enqueue(`attach ${ev.eniId}`, () => this.wireEni(ev)));
    this.mc.setDetachHook?.((ev) => this.enqueue(`detach ${ev.eniId}`, () => this.unwireEni(ev.eniId)));

    // ENIs attached before we started: the primary first, so it gets eth0.
    const world = this.mc.dump();
    for (const inst of world.instances) {
      if (!this.nodes.has(inst.instanceId)) continue;
      const ordered = [inst.primaryEniId, ...inst.eniIds.filter((id) => id !== inst.primaryEniId)];
      for (const eniId of ordered) {
        const eni = world.enis.find((e) => e.eniId === eniId);
        if (!eni || eni.instanceId !== inst.instanceId || eni.status !== 'InUse') continue;
        const vsw = world.vSwitches.find((v) => v.vSwitchId === eni.vSwitchId);
        if (!vsw) throw new Error(`vpcsim: vSwitch ${eni.vSwitchId} of ${eniId} not in the world`);
        const ev: EniAttachedEvent = {
          instanceId: inst.instanceId,
          eniId,
          mac: eni.mac,
          primaryIp: eni.primaryIp,
          secondaryIps: eni.secondaryIps,
          vSwitchId: eni.vSwitchId,
          gateway: vsw.gateway,
          cidr: vsw.cidr,
          ipv6s: eni.ipv6s,
          ...(vsw.ipv6Cidr !== undefined ? { ipv6Cidr: vsw.ipv6Cidr, ipv6Gateway: vsw.ipv6Gateway } : {}),
        };
        await this.enqueue(`attach ${eniId}`, () => this.wireEni(ev, eni.type === 'Primary'));
      }
    }
    for (const rt of world.routeTables) {
      for (const entry of rt.entries)
        if (entry.type === 'Custom') await this.enqueue(`route ${entry.destinationCidrBlock}`, () => this.addRouteEntry(entry));
    }
  }

  private primaryLinkOf(instanceId: string): LinkState | undefined {
    return [...this.byEni.values()].find((l) => l.instanceId === instanceId && l.deviceIndex === 0);
  }

  private async addRouteEntry(e: RouteEntryDump): Promise<void> {
    if (e.nextHopType !== 'Instance') return;
    const l = this.primaryLinkOf(e.nextHopId);
    if (!l) return; // next hop is not a simulated node
    await ipBatch(this.routerNetns, routeEntryAddLines(e.destinationCidrBlock, l.primaryIp, l.routerIfName));
    this.entries.set(e.destinationCidrBlock, e.nextHopId);
  }

  private async delRouteEntry(e: RouteEntryDump): Promise<void> {
    if (!this.entries.has(e.destinationCidrBlock)) return;
    await ipBatch(this.routerNetns, routeEntryDelLines(e.destinationCidrBlock));
    this.entries.delete(e.destinationCidrBlock);
  }

  private on<T>(event: string, fn: (ev: T) => void): void {
    this.mc.events.on(event, fn as (ev: unknown) => void);
    this.listeners.push([event, fn as (ev: never) => void]);
  }

  /** Creates the ENI's veth pair and routes its IPs. Idempotent: a second call for a wired ENI only syncs IPs. */
  private async wireEni(ev: EniAttachedEvent, primary = false): Promise<void> {
    const node = this.nodes.get(ev.instanceId);
    if (!node) return; // an instance without a simulated node: cloud state only
    const ips = [ev.primaryIp, ...ev.secondaryIps, ...(ev.ipv6s ?? [])];
    const known = this.byEni.get(ev.eniId);
    if (known) {
      if (known.instanceId === ev.instanceId) return this.addIps(ev.eniId, ips);
      await this.unwireEni(ev.eniId);
    }
    const used = [...this.byEni.values()].filter((l) => l.instanceId === ev.instanceId).map((l) => l.deviceIndex);
    const deviceIndex = primary ? 0 : nextDeviceIndex(used);
    const w: LinkState = {
      instanceId: ev.instanceId,
      eniId: ev.eniId,
      mac: ev.mac.toLowerCase(),
      deviceIndex,
      nodeNetns: node.netns,
      nodeIfName: nodeIfName(deviceIndex),
      routerIfName: routerIfName(node.index, deviceIndex),
      gateway: ev.gateway,
      cidr: ev.cidr,
      primaryIp: ev.primaryIp,
      ...(ev.ipv6Gateway ? { ipv6Gateway: ev.ipv6Gateway } : {}),
      routed: new Set(),
    };
    await ipBatch(this.routerNetns, [...routerAttachLines(w), ...routeAddLines(w.routerIfName, w.mac, ips)]);
    ips.forEach((ip) => w.routed.add(ip));
    this.byEni.set(w.eniId, w);
    if (primary) await ipBatch(node.netns, nodePrimaryLines(w));
  }

  private async unwireEni(eniId: string): Promise<void> {
    const l = this.byEni.get(eniId);
    if (!l) return;
    // Deleting one end of a veth deletes its peer (wherever a driver moved it) and every route on it.
    const links = await ipJson<{ ifname: string }[]>(this.routerNetns, ['link', 'show']);
    if (links.some((x) => x.ifname === l.routerIfName)) await ipBatch(this.routerNetns, [`link del ${l.routerIfName}`]);
    this.byEni.delete(eniId);
  }

  private async addIps(eniId: string, ips: string[]): Promise<void> {
    const l = this.byEni.get(eniId);
    if (!l) return; // not attached to a simulated node: routed when it attaches (the event carries its IPs)
    const toAdd = ips.filter((ip) => !l.routed.has(ip));
    await ipBatch(this.routerNetns, routeAddLines(l.routerIfName, l.mac, toAdd));
    toAdd.forEach((ip) => l.routed.add(ip));
  }

  private async removeIps(eniId: string, ips: string[]): Promise<void> {
    const l = this.byEni.get(eniId);
    if (!l) return;
    const toDel = ips.filter((ip) => l.routed.has(ip));
    await ipBatch(this.routerNetns, routeDelLines(l.routerIfName, toDel));
    toDel.forEach((ip) => l.routed.delete(ip));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const [event, fn] of this.listeners) this.mc.events.off(event, fn as (ev: unknown) => void);
    this.listeners.length = 0;
    this.mc.setAttachHook?.(undefined);
    this.mc.setDetachHook?.(undefined);
    await this.chain;
    const errs: Error[] = [];
    for (const ns of [...this.createdNetns].reverse()) {
      await deleteNetns(ns).catch((err: Error) => errs.push(err));
    }
    this.byEni.clear();
    if (errs.length > 0) throw new AggregateError(errs, `vpcsim destroy: ${errs.map((e) => e.message).join('; ')}`);
  }
}

function toPublic(l: LinkState): EniLink {
  return {
    instanceId: l.instanceId,
    eniId: l.eniId,
    mac: l.mac,
    deviceIndex: l.deviceIndex,
    nodeNetns: l.nodeNetns,
    nodeIfName: l.nodeIfName,
    routerIfName: l.routerIfName,
    gateway: l.gateway,
    cidr: l.cidr,
    primaryIp: l.primaryIp,
    routedIps: [...l.routed],
  };
}

/**
 * Backs the mock cloud's ENIs with real links: a VPC-router netns `<prefix>-vpc`, one netns per node, a veth pair
 * per attached ENI (node end `eth<N>` carrying the ENI's MAC), and a /32 route in the router for every private IP.
 * On failure part-way, everything made so far is removed.
 */
export async function attachKernel(mc: MockCloudLike, opts: AttachKernelOptions): Promise<VpcKernel> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,30}$/.test(opts.prefix)) throw new Error(`vpcsim: bad prefix ${JSON.stringify(opts.prefix)}`);
  const k = new Kernel(opts.prefix, mc);
  try {
    await k.start(opts.nodes);
  } catch (err) {
    await k.destroy().catch(() => undefined);
    throw err;
  }
  return k;
}
