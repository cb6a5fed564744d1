// The SDK-backed cloud client pointed at the mock cloud, tuned for tests: no Terway per-API limits, a
// generous token bucket, short attach polls and retries.
import { AliyunCloud } from '../../daemon/cloud/client.js';
import type { MockCloudHandle } from '../../sim/mockcloud/index.js';

/** The first instance of the mock's default world. */
export const MOCK_NODE = 'i-mock-node-1';

/** Where the mock cloud listens and its keys (a MockCloudHandle, or the same fields passed to a child process). */
export type MockCloudAddress = Pick<MockCloudHandle, 'regionId' | 'url' | 'accessKeyId' | 'accessKeySecret' | 'metadataUrl'>;

export function mockCloudClient(mc: MockCloudAddress, instanceId = MOCK_NODE, opts: { qps?: number } = {}): AliyunCloud {
  return new AliyunCloud({
    regionId: mc.regionId,
    endpoint: mc.url,
    accessKeyId: mc.accessKeyId,
    accessKeySecret: mc.accessKeySecret,
    metadataBaseUrl: mc.metadataUrl(instanceId),
    qps: opts.qps ?? 1000,
    burst: 1000,
    terwayRateLimitDefaults: false,
    attachPollMs: 20,
    retry: { attempts: 4, baseMs: 20, factor: 2, capMs: 200, jitter: 0.1 },
  });
}
