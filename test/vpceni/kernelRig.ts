// Root-only set-up shared by the VPCENI kernel suites: the mock cloud with its kernel backend (sim/vpcsim),
// one in-process VPCENI daemon per simulated node with the real rawEni driver, and empty pod netns.
import { afterAll, beforeAll } from 'vitest';
import { startDaemon, type DaemonDeps, type DaemonHandle } from '../../daemon/daemon.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { attachKernel, cleanupStale, createPodNetns, netnsPath, type VpcKernel } from '../../sim/vpcsim/index.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

export interface KernelNode {
  handle: DaemonHandle;
  client: TestClient;
}

export interface KernelRig {
  mc: MockCloudHandle;
  kernel: VpcKernel;
  /** By instance id. */
  nodes: Map<string, KernelNode>;
  /** By the names given: the netns name and its path. */
  pods: Record<string, { name: string; path: string }>;
}

/**
 * Call inside a describe. beforeAll clears leftovers of `prefix`, starts the mock cloud and its kernel
 * (node netns `<prefix>-n1`, `-n2`, ... in `nodes` order), a daemon per node (VPCENI, rawEni, mtu 1500, plus
 * `config`), and creates the pod netns; then hands the rig to `ready`. afterAll stops and removes all of it.
 */
export function useVpcEniKernel(
  o: { prefix: string; nodes: string[]; pods: string[]; config: Record<string, unknown>; deps?: DaemonDeps },
  ready: (r: KernelRig) => void,
): void {
  let mc: MockCloudHandle | undefined;
  let kernel: VpcKernel | undefined;
  const nodes = new Map<string, KernelNode>();

  beforeAll(async () => {
    await cleanupStale(o.prefix);
    mc = await startMockCloud({ attachDelayMs: 20, detachDelayMs: 20 });
    kernel = await attachKernel(mc, {
      prefix: o.prefix,
      nodes: Object.fromEntries(o.nodes.map((id, i) => [id, { netns: `${o.prefix}-n${i + 1}` }])),
    });
    for (const id of o.nodes) {
      const config = mockCloudConfig(
        mc,
        tempDir(),
        { daemon_mode: 'VPCENI', driver: 'rawEni', host_netns_path: netnsPath(kernel.nodeNetns(id)), mtu: 1500, ...o.config },
        id,
      );
      const handle = await startDaemon(config, { logger: captureLog().logger, kube: null, ...o.deps });
      nodes.set(id, { handle, client: connect(handle.socketPath) });
    }
    const pods: KernelRig['pods'] = {};
    for (const p of o.pods) pods[p] = await createPodNetns(o.prefix, p);
    ready({ mc, kernel, nodes, pods });
  });

  afterAll(async () => {
    for (const n of nodes.values()) {
      n.client.close();
      await n.handle.stop();
    }
    await kernel?.destroy();
    await mc?.close();
    await cleanupStale(o.prefix);
  });
}
