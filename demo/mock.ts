// The demo's cloud: the bundled mock cloud in-process, and an SDK-backed client pointed at it.
import { AliyunCloud } from '../daemon/cloud/client.js';
import { defaultWorldSpec, startMockCloud, type MockCloudHandle, type WorldSpec } from '../sim/mockcloud/index.js';
import type { Cleanup } from './cleanup.js';

/** The default world with both nodes on `instanceType` (ecs.g7.large: 3 ENIs x 6 IPv4, so a few pods need a second ENI). */
export function demoWorld(instanceType: string): Partial<WorldSpec> {
  const d = defaultWorldSpec();
  return { instances: d.instances.map((i) => ({ ...i, instanceType })) };
}

export async function startDemoCloud(
  cleanup: Cleanup,
  opts: { attachDelayMs?: number; world?: Partial<WorldSpec> } = {},
): Promise<MockCloudHandle> {
  const mc = await startMockCloud({ port: 0, attachDelayMs: opts.attachDelayMs ?? 150, world: opts.world });
  cleanup.push('stop the mock cloud', () => mc.close());
  return mc;
}

/** The daemon's own cloud client (official SDK, rate limiter, retries) as instance `instanceId` sees it. */
export function cloudFor(mc: MockCloudHandle, instanceId: string): AliyunCloud {
  return new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: mc.metadataUrl(instanceId),
    // The mock attaches in ~150 ms; poll faster than the real-cloud default so the demo stays brisk.
    attachPollMs: 50,
  });
}
