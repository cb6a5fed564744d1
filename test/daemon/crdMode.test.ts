// The daemon in ipam_type crd, as the chart runs it: no cloud credentials, Kubernetes over HTTP with the
// production client (@kubernetes/client-node) to the in-memory API server, the pod DB on disk, AllocIP over
// gRPC. The controller runs beside it on the same API server. Then the controller goes down and the daemon is
// restarted while the API server is unreachable too: pods on the warm IPs it persisted still start, and a
// pod beyond them is served once the API server and a controller are back.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../daemon/cloud/ratelimit.js';
import { startDaemon, type DaemonHandle } from '../../daemon/daemon.js';
import { NODE_CR, type NodeCr } from '../../daemon/k8s/nodeCr.js';
import type { Controller } from '../../controlplane/controller.js';
import { API_VERSION } from '../../proto/version.js';
import { cloudClient, newController, scaleWorld, SCALE_INSTANCE_TYPE, SCALE_SG, SCALE_ZONE } from '../../sim/central/rig.js';
import { FakeApiServer, NODE_CRS } from '../../sim/kube/index.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { testConfig } from '../support/daemon.js';
import { connect, podMsg, type TestClient } from '../support/daemonClient.js';
import { FAKE_METADATA } from '../support/fakes.js';
import { captureLog } from '../support/log.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

type Json = Record<string, any>;
const NODE = 'node-crd';

describe('daemon with ipam_type crd', () => {
  const world = scaleWorld(1, 100);
  const instanceId = world.instanceIds[0]!;
  let mc: MockCloudHandle;
  let api: FakeApiServer;
  let controller: Controller | undefined;
  let handle: DaemonHandle | undefined;
  let client: TestClient | undefined;
  let config: ReturnType<typeof testConfig>;
  const log = captureLog();
  const nodes = () => api.store.objectApi<NodeCr>(NODE_CR);
  const metadata = {
    ...FAKE_METADATA,
    instanceId,
    regionId: 'cn-hangzhou',
    zoneId: SCALE_ZONE,
    instanceType: SCALE_INSTANCE_TYPE,
    vSwitchId: world.vSwitchOf(0),
  };

  const startController = async (): Promise<Controller> => {
    const limiter = new RateLimiter({ qps: 1000, burst: 1000, terwayDefaults: false });
    const c = newController({ nodes: nodes(), cloud: cloudClient(mc, { limiter }), limiter, attachPollMs: 20, tickMs: 50, newcomerMs: 20 });
    await c.start();
    return c;
  };
  const start = async (): Promise<void> => {
    handle = await startDaemon(config, { metadata, logger: log.logger });
    client = connect(handle.socketPath);
  };
  const stop = async (): Promise<void> => {
    client?.close();
    await handle?.stop();
    client = undefined;
    handle = undefined;
  };
  const alloc = (id: string, deadlineMs = 20_000) =>
    client!.call<Json>('AllocIP', { pod: podMsg(id), api_version: API_VERSION }, deadlineMs);

  beforeAll(async () => {
    mc = await startMockCloud({ world: world.spec, attachDelayMs: 20 });
    api = await FakeApiServer.start({ resources: [NODE_CRS] });
    api.addNode(NODE);
    const dir = tempDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, api.token, { mode: 0o600 });
    // No access key, no cloud endpoint: a cloud call from this daemon could only fail.
    config = testConfig(dir, {
      ipam_type: 'crd',
      instance_id: instanceId,
      node_name: NODE,
      kube_api_server: api.url,
      kube_token_file: tokenFile,
      min_pool_size: 2,
      max_pool_size: 5,
      ip_cooldown: '0s',
      security_groups: [SCALE_SG],
      vswitches: { [SCALE_ZONE]: [world.vSwitchOf(0)] },
    });
    controller = await startController();
    await start();
  });

  afterAll(async () => {
    await stop();
    await controller?.stop();
    await api?.close();
    await mc?.close();
  });

  it('creates its Node resource with its spec, and AllocIP answers with an address the controller placed', async () => {
    const r = await alloc('crd-a');
    expect(r).toMatchObject({ success: true, ip_type: 'ENI_MULTI_IP' });
    const ip = (r.ips[0].address as string).replace('/32', '');
    const cr = (await nodes().get(NODE))!;
    expect(cr.spec.nodeMetadata).toEqual({
      regionID: 'cn-hangzhou',
      instanceType: SCALE_INSTANCE_TYPE,
      instanceID: instanceId,
      zoneID: SCALE_ZONE,
    });
    expect(cr.spec.pool).toMatchObject({ minPoolSize: 2, maxPoolSize: 5 });
    // A secondary ENI's address (its own primary one first: ADR 0007), never eth0's.
    const eni = mc.dump().enis.find((e) => e.primaryIp === ip || e.secondaryIps.includes(ip))!;
    expect(eni.instanceId).toBe(instanceId);
    expect(eni.type).toBe('Secondary');
    expect(r.eni_id).toBe(eni.eniId);
    await waitFor(async () => {
      const cur = (await nodes().get(NODE))!;
      return cur.status?.networkInterfaces?.[eni.eniId]?.ipv4[ip]?.podID === 'default/pod-crd-a';
    }, 'the holder on the resource');
    await waitFor(() => handle!.allocator.stats().free >= 2, 'refilled to min_pool_size by the controller');
  });

  it('restarted while the controller is down and the API server unreachable, it still serves pods on its warm IPs', async () => {
    await controller!.stop();
    controller = undefined;
    const callsBefore = JSON.stringify(mc.counters());
    await stop();
    api.store.setUnreachable(true);
    await start();
    expect(handle!.allocator.get('crd-a/eth0/eni-net')).toBeDefined();
    const warm = handle!.allocator.stats().free;
    expect(warm).toBeGreaterThanOrEqual(2);
    const served = await Promise.all(Array.from({ length: warm }, (_, i) => alloc(`crd-w${i}`)));
    expect(served.every((r) => r.success)).toBe(true);
    expect(JSON.stringify(mc.counters())).toBe(callsBefore); // the node makes no cloud call at all
    // Beyond the warm IPs a pod waits: for the API server and a controller.
    const waiting = alloc('crd-late', 30_000);
    await new Promise((r) => setTimeout(r, 200));
    api.store.setUnreachable(false);
    controller = await startController();
    const late = await waiting;
    expect(late.success).toBe(true);
    await waitFor(async () => {
      const cur = (await nodes().get(NODE))!;
      const holders = Object.values(cur.status?.networkInterfaces ?? {})
        .flatMap((n) => Object.values(n.ipv4))
        .filter((ip) => ip.use === 'assigned');
      return holders.length === warm + 2;
    }, 'every holder reported once the API server is back');
  });
});
