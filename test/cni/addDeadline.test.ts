// The built plugin: an ADD that hits its deadline while the daemon is still allocating gives the
// pod key back over the same connection, so the late allocation does not stay behind.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GrpcFault, startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';

let d: FakeDaemon;
beforeAll(async () => {
  await ensurePluginBuilt();
  d = await startFakeDaemon();
});
afterAll(async () => {
  await d?.stop();
});
beforeEach(() => d.reset());

describe('ADD with an unknown AllocIP outcome (built plugin)', () => {
  it('releases the pod key after the deadline passed and still answers 11', async () => {
    d.on(
      'AllocIP',
      () => new Promise((res) => setTimeout(() => res({ success: true, ips: [{ address: '10.0.0.5/32', family: 4 }] }), 3000)),
    );
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(d.socketPath, { timeout_seconds: 0.3 }) });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 11 });
    const rel = d.callsOf('ReleaseIP');
    expect(rel).toHaveLength(1);
    expect(rel[0]!.request.pod).toMatchObject({ k8sPodInfraContainerId: 'c0ffee0123456789', ifName: 'eth0' });
  });

  it('does not release when the daemon refused the request (INVALID_ARGUMENT)', async () => {
    d.on('AllocIP', () => {
      throw new GrpcFault(3, 'pod.netns is required');
    });
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(d.socketPath) });
    expect(r.json).toMatchObject({ code: 7 });
    expect(d.callsOf('ReleaseIP')).toHaveLength(0);
  });
});
