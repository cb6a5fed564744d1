// In-memory test doubles for the daemon's dependencies: allocator, driver, instance metadata, the
// Kubernetes client and the event recorder.
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type PodRef, type PoolStats } from '../../pool/types.js';
import { DriverError, type Driver, type PodNetworkResult, type PodNetworkSpec, type TeardownSpec } from '../../drivers/types.js';
import type { InstanceMetadata } from '../../daemon/cloud/types.js';
import type { KubeClient, KubeEvent, NodeCondition, NodeInfo, PodInfo } from '../../daemon/k8s/index.js';
import type { EventRecord, EventRecorder } from '../../daemon/modes/index.js';

export const FAKE_METADATA: InstanceMetadata = {
  instanceId: 'i-test',
  regionId: 'cn-test',
  zoneId: 'cn-test-a',
  instanceType: 'ecs.g6.large',
  vpcId: 'vpc-test',
  vSwitchId: 'vsw-test',
  primaryMac: '02:00:00:00:00:00',
  eniMacs: ['02:00:00:00:00:00'],
};

/** A resolvable promise, to hold a call in flight until the test lets it go. */
export class Gate {
  private resolveFn!: () => void;
  readonly promise = new Promise<void>((r) => (this.resolveFn = r));
  open(): void {
    this.resolveFn();
  }
}

export class FakeAllocator implements IpAllocator {
  readonly allocs = new Map<string, IpAllocation>();
  private free: string[];
  allocateCalls = 0;
  releaseCalls = 0;
  started = false;
  stopped = false;
  /** When set, allocate() waits for it (to hold a call in flight). */
  gate?: Promise<void>;
  backoffUntil?: number;
  concurrentAllocs = 0;
  maxConcurrentAllocs = 0;

  constructor(ips: string[] = ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13']) {
    this.free = [...ips];
  }

  async allocate(pod: PodRef): Promise<IpAllocation> {
    this.allocateCalls++;
    this.concurrentAllocs++;
    this.maxConcurrentAllocs = Math.max(this.maxConcurrentAllocs, this.concurrentAllocs);
    try {
      if (this.gate) await this.gate;
      const key = podKeyOf(pod);
      const existing = this.allocs.get(key);
      if (existing) return existing;
      if (this.stopped) throw new PoolError('ShuttingDown', 'pool is stopping');
      const ip = this.free.shift();
      if (!ip) throw new PoolError('Exhausted', 'no free IP', { cloudCode: 'InvalidVSwitchId.IpNotEnough' });
      const a: IpAllocation = {
        podKey: key,
        namespace: pod.namespace,
        name: pod.name,
        containerId: pod.containerId,
        ifName: pod.ifName,
        networkName: pod.networkName,
        netns: pod.netns ?? '',
        ip,
        eniId: 'eni-fake1',
        eniMac: '02:00:00:00:00:01',
        primaryEni: false,
        vSwitchId: 'vsw-fake',
        vSwitchCidr: '10.0.1.0/24',
        gateway: '10.0.1.253',
        allocatedAt: Date.now(),
      };
      this.allocs.set(key, a);
      return a;
    } finally {
      this.concurrentAllocs--;
    }
  }

  async release(podKey: string): Promise<IpAllocation | undefined> {
    this.releaseCalls++;
    const a = this.allocs.get(podKey);
    if (!a) return undefined;
    this.allocs.delete(podKey);
    this.free.push(a.ip);
    return a;
  }

  get(podKey: string): IpAllocation | undefined {
    return this.allocs.get(podKey);
  }

  list(): IpAllocation[] {
    return [...this.allocs.values()];
  }

  stats(): PoolStats {
    return {
      enis: 1,
      total: this.free.length + this.allocs.size,
      free: this.free.length,
      assigned: this.allocs.size,
      cooling: 0,
      reserved: 0,
      releasing: 0,
      pendingRequests: 0,
      minPoolSize: 0,
      maxPoolSize: 5,
      backoffUntil: this.backoffUntil,
      backoffReason: this.backoffUntil ? 'InvalidVSwitchId.IpNotEnough' : undefined,
    };
  }

  async gcExcept(valid: Set<string>): Promise<string[]> {
    const gone = [...this.allocs.keys()].filter((k) => !valid.has(k));
    for (const k of gone) await this.release(k);
    return gone;
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

export class FakeDriver implements Driver {
  readonly name = 'none' as const;
  readonly setups: PodNetworkSpec[] = [];
  readonly teardowns: TeardownSpec[] = [];
  failSetup?: string;
  failTeardown?: string;
  failCheck?: string;
  /** When set, setup() waits for it. */
  gate?: Promise<void>;

  async setup(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    if (this.gate) await this.gate;
    this.setups.push(spec);
    if (this.failSetup) throw new DriverError('setup', this.failSetup, { errno: 'EEXIST', netns: spec.netnsPath });
    return {
      podIfMac: '0a:58:0a:00:01:0a',
      hostIfName: `eni${spec.containerId.slice(0, 8)}`,
      hostIfMac: 'ee:ee:ee:ee:ee:ee',
      podGateway: '169.254.1.1',
      ...(spec.ipv6 ? { podGatewayV6: 'fe80::1' } : {}),
    };
  }

  async teardown(spec: TeardownSpec): Promise<void> {
    this.teardowns.push(spec);
    if (this.failTeardown) throw new DriverError('teardown', this.failTeardown, { errno: 'EBUSY' });
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    if (this.failCheck) throw new DriverError('check', this.failCheck, { netns: spec.netnsPath });
  }
}

/**
 * The Kubernetes client as the daemon uses it, no API server: every pod looked up exists (Running, owned by
 * a ReplicaSet) unless its name is in `gone`; the node's pod list is the pods looked up so far, less the
 * gone. Extended resources written to the node are recorded.
 */
export class FakeKube implements KubeClient {
  readonly gone = new Set<string>();
  readonly known = new Set<string>();
  readonly resources: { node: string; resource: string; quantity: number }[] = [];
  private pod(namespace: string, name: string): PodInfo {
    return {
      namespace,
      name,
      uid: `uid-${name}`,
      nodeName: 'node-1',
      ownerKind: 'ReplicaSet',
      annotations: {},
      hostNetwork: false,
      phase: 'Running',
    };
  }
  async getPod(namespace: string, name: string): Promise<PodInfo | undefined> {
    this.known.add(name);
    return this.gone.has(name) ? undefined : this.pod(namespace, name);
  }
  async listNodePods(): Promise<PodInfo[]> {
    return [...this.known].filter((n) => !this.gone.has(n)).map((n) => this.pod('default', n));
  }
  async recordEvent(_ev: KubeEvent): Promise<void> {}
  async setNodeExtendedResource(node: string, resource: string, quantity: number): Promise<void> {
    this.resources.push({ node, resource, quantity });
  }
  async setNodeCondition(_node: string, _c: NodeCondition): Promise<void> {}
  /** The node's labels and annotations (annotateNode writes here); ConfigMaps by `namespace/name`. */
  readonly labels: Record<string, string> = {};
  readonly annotations: Record<string, string> = {};
  readonly configMaps = new Map<string, Record<string, string>>();
  async getNode(name: string): Promise<NodeInfo> {
    return { name, labels: { ...this.labels }, annotations: { ...this.annotations } };
  }
  async annotateNode(_node: string, annotations: Record<string, string | null>): Promise<void> {
    for (const [k, v] of Object.entries(annotations)) {
      if (v === null) delete this.annotations[k];
      else this.annotations[k] = v;
    }
  }
  async getConfigMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.configMaps.get(`${namespace}/${name}`);
  }
}

/** Collects the Kubernetes Events the daemon records. */
export class RecordingEvents implements EventRecorder {
  readonly all: EventRecord[] = [];
  async record(ev: EventRecord): Promise<void> {
    this.all.push(ev);
  }
}
