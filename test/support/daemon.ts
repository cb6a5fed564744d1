// Daemon configs for tests: one with no cloud (fake allocator and driver passed in), one that finds the
// mock cloud and its metadata service. Files (socket, pod DB) go in the caller's temp dir.
import { join } from 'node:path';
import { parseDaemonConfig, type DaemonConfig } from '../../daemon/config/index.js';
import type { MockCloudHandle } from '../../sim/mockcloud/index.js';
import { MOCK_NODE } from './mockCloud.js';

/** Driver `none`, instance `i-test`; `over` uses the eni_conf keys. */
export function testConfig(dir: string, over: Record<string, unknown> = {}): DaemonConfig {
  return parseDaemonConfig({
    socket_path: join(dir, 'eni.socket'),
    db_path: join(dir, 'pods.db'),
    driver: 'none',
    instance_id: 'i-test',
    shutdown_timeout: '5s',
    ...over,
  }).config;
}

/** The mock cloud's endpoint, keys and region, its metadata as `instanceId`; driver `none` unless `over` says. */
export function mockCloudConfig(
  mc: MockCloudHandle,
  dir: string,
  over: Record<string, unknown> = {},
  instanceId = MOCK_NODE,
): DaemonConfig {
  return parseDaemonConfig({
    region_id: mc.regionId,
    access_key: mc.accessKeyId,
    access_secret: mc.accessKeySecret,
    cloud_endpoint: mc.url,
    metadata_endpoint: mc.metadataUrl(instanceId),
    socket_path: join(dir, 'eni.socket'),
    db_path: join(dir, 'pods.db'),
    driver: 'none',
    ...over,
  }).config;
}
