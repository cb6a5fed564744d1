// In-memory test doubles for the daemon's dependencies (tests only).
import { PoolError, podKeyOf, type IpAllocation, type IpAllocator, type PodRef, type PoolStats } from '../../pool/types.js';
import { DriverError, type Driver, type PodNetworkResult, type PodNetworkSpec, type TeardownSpec } from '../../drivers/types.js';
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../../daemon/server/proto.js';
import type { InstanceMetadata } from '../../daemon/cloud/types.js';

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

// ---- a promisified gRPC client over the daemon socket ----------------------------------------

type Unary = (req: unknown, opts: { deadline?: number }, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export interface TestClient {
  call<T = Record<string, unknown>>(method: string, req: unknown, deadlineMs?: number): Promise<T>;
  health(service?: string): Promise<{ status: string }>;
  close(): void;
}

export function connect(socketPath: string): TestClient {
  const { EniBackendClient, HealthClient } = loadServices();
  const target = `unix:${socketPath}`;
  const c = new EniBackendClient(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  const h = new HealthClient(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  const invoke = <T>(client: Record<string, Unary>, method: string, req: unknown, deadlineMs = 10_000): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  return {
    call: (method, req, deadlineMs) => invoke(c, method, req, deadlineMs),
    health: (service = '') => invoke(h, 'Check', { service }),
    close: () => {
      c.close();
      h.close();
    },
  };
}

export function podMsg(containerId: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    k8s_pod_name: `pod-${containerId}`,
    k8s_pod_namespace: 'default',
    k8s_pod_infra_container_id: containerId,
    netns: `/var/run/netns/cni-${containerId}`,
    if_name: 'eth0',
    network_name: 'eni-net',
    ...over,
  };
}
