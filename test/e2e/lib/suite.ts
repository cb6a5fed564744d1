// Suite lifecycle shared by the cluster e2e files: plugin binary, cluster, node snapshots, and the
// final check that nothing with the suite's netns prefix survives.
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { snapshotNodes } from '../../../sim/cluster/checks.js';
import { netnsWithPrefix, startCluster, type Cluster, type ClusterOptions } from '../../../sim/cluster/cluster.js';
import { buildPluginTo, destroyPod, type Pod } from '../../../sim/cluster/pods.js';
import type { NetnsSnapshot } from '../../../sim/cluster/snapshot.js';
import { tempDir } from '../../support/tmp.js';

export interface E2eCluster {
  c: Cluster;
  /** Path of the freshly built plugin binary. */
  plugin: string;
  /** Every node netns as it was before any pod. */
  before: Map<string, NetnsSnapshot>;
}

/**
 * Call inside a describe. beforeAll builds the plugin into a temp dir, starts the cluster and snapshots
 * its nodes, then hands them to `ready`. afterAll destroys `pods()` (best effort: a test may have done it)
 * and the cluster, and expects no `<prefix>-` netns left.
 */
export function useE2eCluster(o: ClusterOptions, pods: () => readonly Pod[], ready: (r: E2eCluster) => void): void {
  let c: Cluster | undefined;

  beforeAll(async () => {
    const plugin = await buildPluginTo(join(tempDir('e2e-plugin-'), 'terway'));
    c = await startCluster(o);
    const before = await snapshotNodes(c);
    ready({ c, plugin, before });
  }, 90_000);

  afterAll(async () => {
    for (const p of pods()) await destroyPod(p).catch(() => undefined);
    await c?.destroy();
    expect(await netnsWithPrefix(o.prefix)).toEqual([]);
  }, 60_000);
}
