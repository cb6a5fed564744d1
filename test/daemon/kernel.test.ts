// Root only: the daemon in VPCIP mode with the real veth driver, wiring a pod netns whose
// "node" side is another netns. Checks the kernel state after AllocIP, CheckIP and ReleaseIP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { API_VERSION } from '../../proto/version.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { mockCloudConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (creates network namespaces)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs the iproute2 `ip` command';
  }
  return undefined;
}
const why = missing();
if (why) console.warn(`skipping daemon kernel test: ${why}`);

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const tag = `ed${process.pid}`;
const NODE = `${tag}-node`;
const POD = `${tag}-pod`;

describe.skipIf(!!why)('VPCIP + veth driver on real netns', () => {
  let mock: MockCloudHandle;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;

  beforeAll(async () => {
    for (const ns of [NODE, POD]) {
      if (existsSync(`/var/run/netns/${ns}`)) ip('netns', 'del', ns);
      ip('netns', 'add', ns);
    }
    mock = await startMockCloud();
    const dir = tempDir();
    const config = mockCloudConfig(mock, dir, {
      daemon_mode: 'VPCIP',
      pod_cidr: '172.20.9.0/24',
      driver: 'veth',
      host_netns_path: `/var/run/netns/${NODE}`,
      mtu: 1400,
    });
    handle = await startDaemon(config, { logger: captureLog().logger });
    client = connect(handle.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await mock?.close();
    for (const ns of [NODE, POD]) if (existsSync(`/var/run/netns/${ns}`)) ip('netns', 'del', ns);
  });

  const pod = () => podMsg('k1', { netns: `/var/run/netns/${POD}` });
  const call = (method: string, req: unknown) => client!.call<Record<string, any>>(method, req, 15_000);

  it('AllocIP wires the pod: address, default route via the link-local gateway, host /32 route', async () => {
    const r = await call('AllocIP', { pod: pod(), api_version: API_VERSION });
    expect(r).toMatchObject({ success: true, ip_type: 'VPC_IP', ips: [{ address: '172.20.9.2/32', gateway: '169.254.1.1' }] });
    expect(ip('-n', POD, '-4', 'addr', 'show', 'dev', 'eth0')).toContain('inet 172.20.9.2/32');
    expect(ip('-n', POD, 'link', 'show', 'dev', 'eth0')).toContain('mtu 1400');
    expect(ip('-n', POD, 'route', 'show', 'default')).toContain('default via 169.254.1.1 dev eth0');
    const hostIf = r.interface.host_if_name as string;
    expect(ip('-n', NODE, 'route', 'show', '172.20.9.2')).toContain(`dev ${hostIf}`);
    expect(await call('CheckIP', { pod: pod(), api_version: API_VERSION })).toMatchObject({ success: true });
  });

  it('CheckIP notices a removed address; ReleaseIP removes the wiring', async () => {
    ip('-n', POD, 'addr', 'del', '172.20.9.2/32', 'dev', 'eth0');
    expect(await call('CheckIP', { pod: pod(), api_version: API_VERSION })).toMatchObject({
      success: false,
      failure_reason: 'CHECK_FAILED',
    });
    expect(await call('ReleaseIP', { pod: pod(), api_version: API_VERSION })).toMatchObject({ success: true, released_ip: '172.20.9.2' });
    expect(ip('-n', POD, 'link', 'show')).not.toContain('eth0');
    expect(ip('-n', NODE, 'route', 'show', '172.20.9.2')).toBe('');
  });
});
