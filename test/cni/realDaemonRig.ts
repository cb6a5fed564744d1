// The REAL daemon (startDaemon in-process: SDK-backed cloud client, real pool, SQLite pod DB, `none`
// driver) against the mock cloud, for running the built plugin against it as a runtime would.
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import type { DaemonConfig } from '../../daemon/config/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

export const NODE_ID = 'i-mock-node-1';
export const MIN_POOL = 3;

/** Cloud actions that change state: none of them may be called because of a refused invocation. */
const MUTATING = /^(Create|Delete|Attach|Detach|Assign|Unassign|Modify)/;

export interface DaemonState {
  /** The daemon allocator's allocations: podKey → ip. */
  allocations: Record<string, string>;
  /** Mock cloud calls of mutating actions, per action. */
  mutatingCalls: Record<string, number>;
  /** Pod addresses of the node's secondary ENIs (each one's primary and its secondary IPs), sorted. */
  nodeIps: string[];
}

export interface QuietState extends DaemonState {
  /** gRPC calls the daemon served, per method (from its RPC latency histogram). */
  rpcCalls: Record<string, number>;
}

export interface RealDaemonRig {
  mock: MockCloudHandle;
  handle: DaemonHandle;
  config: DaemonConfig;
  socketPath: string;
  /** Waits for the pool to sit at min_pool_size with no cloud call in flight, then reads the state. */
  quiet(): Promise<QuietState>;
  state(): DaemonState;
  /** Pod addresses of the node's secondary ENIs in the mock cloud (each one's primary and its secondary IPs). */
  nodePodAddresses(): string[];
  stopDaemon(): Promise<void>;
  /** Starts the daemon again on the same config, pod DB and socket (after stopDaemon). */
  restartDaemon(): Promise<void>;
  close(): Promise<void>;
}

export async function startRealDaemon(): Promise<RealDaemonRig> {
  const mock = await startMockCloud({ attachDelayMs: 20 });
  const dir = tempDir('eni-cr-');
  const config = mockCloudConfig(
    mock,
    dir,
    {
      vswitches: { 'cn-hangzhou-h': ['vsw-mock-b'] },
      // A secondary ENI holds 20 pod addresses: the file mostly stays on one (few cloud calls, fast).
      min_pool_size: MIN_POOL,
      max_pool_size: 15,
      ip_cooldown: '0s',
      db_path: join(dir, 'db', 'pods.db'),
      shutdown_timeout: '2s',
    },
    NODE_ID,
  );
  const log = captureLog();
  let handle = await startDaemon(config, { logger: log.logger });
  let stopped = false;

  const nodePodAddresses = (): string[] =>
    mock
      .dump()
      .enis.filter((e) => e.instanceId === NODE_ID && e.type === 'Secondary')
      .flatMap((e) => [e.primaryIp, ...e.secondaryIps])
      .sort();

  const state = (): DaemonState => {
    const allocations: Record<string, string> = {};
    for (const a of handle.allocator.list()) allocations[a.podKey] = a.ip;
    const mutatingCalls: Record<string, number> = {};
    for (const [action, n] of Object.entries(mock.counters())) if (MUTATING.test(action)) mutatingCalls[action] = n;
    return { allocations, mutatingCalls, nodeIps: nodePodAddresses() };
  };

  const rpcCalls = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const m of (await handle.metrics.rpcLatency.get()).values) {
      if (m.metricName?.endsWith('_count')) out[String(m.labels['rpc_api'])] = (out[String(m.labels['rpc_api'])] ?? 0) + m.value;
    }
    return out;
  };

  return {
    mock,
    get handle() {
      return handle;
    },
    config,
    socketPath: handle.socketPath,
    state,
    nodePodAddresses,
    async quiet() {
      await waitFor(() => handle.allocator.stats().free >= MIN_POOL, 'pool at min_pool_size', 10_000);
      await mock.settle();
      // Two equal reads a little apart: no refill or release was still on its way to the cloud.
      let prev = JSON.stringify(state());
      for (;;) {
        await new Promise((r) => setTimeout(r, 20));
        const now = JSON.stringify(state());
        if (now === prev) return { ...(JSON.parse(now) as DaemonState), rpcCalls: await rpcCalls() };
        prev = now;
      }
    },
    async stopDaemon() {
      if (stopped) return;
      stopped = true;
      await handle.stop();
    },
    async restartDaemon() {
      if (!stopped) throw new Error('restartDaemon: the daemon is running');
      handle = await startDaemon(config, { logger: log.logger });
      stopped = false;
    },
    async close() {
      if (!stopped) {
        stopped = true;
        await handle.stop();
      }
      await mock.close();
    },
  };
}
