// The controller as the chart runs it: `controlplane/main.ts` processes with a config file, talking to the
// in-memory API server over HTTP with @kubernetes/client-node (kubeconfig) and to the mock cloud. Two replicas:
// one leads (the Lease says so), serves /metrics and /v1/nodes, and places IPs for a node; SIGKILLed, the
// other takes the lease once it runs out and carries on; SIGTERM releases the lease and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeCr } from '../../daemon/k8s/nodeCr.js';
import { NODE_CR } from '../../daemon/k8s/nodeCr.js';
import type { Lease } from '../../controlplane/ports.js';
import { scaleWorld, SCALE_VPC, startNodeSide, type RigNode } from '../../sim/central/rig.js';
import { FakeApiServer, LEASES, NODE_CRS } from '../../sim/kube/index.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { numberedPod } from '../support/pods.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('controlplane/main.ts, two replicas', () => {
  const world = scaleWorld(1, 100);
  let mc: MockCloudHandle;
  let api: FakeApiServer;
  let side: RigNode;
  let configFile = '';
  const procs: ChildProcess[] = [];

  const replica = (name: string): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'controlplane/main.ts'), '--config', configFile], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', POD_NAME: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(child);
    return child;
  };
  const exited = (c: ChildProcess): Promise<number | null> =>
    new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
  const holder = async (): Promise<string | undefined> =>
    (await api.store.objectApi<Lease>(LEASES).get('eni-ipam-controlplane', 'kube-system'))?.spec.holderIdentity;

  beforeAll(async () => {
    mc = await startMockCloud({ world: world.spec, attachDelayMs: 20 });
    api = await FakeApiServer.start({ resources: [NODE_CRS] });
    const dir = tempDir();
    configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        regionID: mc.regionId,
        vpcID: SCALE_VPC,
        accessKey: mc.accessKeyId,
        accessSecret: mc.accessKeySecret,
        cloudEndpoint: mc.url,
        kubeconfig: api.writeKubeconfig(dir),
        openAPIQPS: 100,
        terwayRateLimits: false,
        leaseDuration: '1500ms',
        renewDeadline: '1s',
        retryPeriod: '200ms',
        attachPollPeriod: '100ms',
        metricsBindAddress: '127.0.0.1:0',
        logLevel: 'warn',
      }),
    );
    side = await startNodeSide({
      api: api.store.objectApi<NodeCr>(NODE_CR),
      name: world.nodeNames[0]!,
      instanceId: world.instanceIds[0]!,
      vSwitchId: world.vSwitchOf(0),
    });
  });

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await side?.pool.stop();
    await api?.close();
    await mc?.close();
  });

  it('one replica leads and places IPs; killed, the other takes over; SIGTERM releases the lease', async () => {
    const a = replica('replica-a');
    await waitFor(async () => (await holder()) === 'replica-a', 'replica-a holds the lease', 30_000);
    const b = replica('replica-b');
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => side.pool.allocate(numberedPod(i), { deadlineMs: 30_000 })));
    expect(first).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 500)); // b is up and campaigning
    a.kill('SIGKILL');
    await waitFor(async () => (await holder()) === 'replica-b', 'replica-b takes the lease over', 30_000);
    const more = await Promise.all(Array.from({ length: 25 }, (_, i) => side.pool.allocate(numberedPod(100 + i), { deadlineMs: 30_000 })));
    expect(new Set([...first, ...more].map((x) => x.ip)).size).toBe(30);
    b.kill('SIGTERM');
    expect(await exited(b)).toBe(0);
    expect(await holder()).toBe('');
  });
});
