// Run in a child process by kubeLazy.test.ts: starts a daemon without Kubernetes, then one with an API server (the
// REST transport the service account uses too), then one with a kubeconfig file, and reports after each whether
// @kubernetes/client-node (seen through its CommonJS dependency node-fetch) got loaded.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startDaemon } from '../../daemon/daemon.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/log.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver } from '../support/fakes.js';

const req = createRequire(import.meta.url);
const clientNodeLoaded = (): boolean => Object.keys(req.cache).some((p) => p.includes('/node_modules/node-fetch/'));

const dir = mkdtempSync(join(tmpdir(), 'eni-lz-'));
const config = parseDaemonConfig({ socket_path: join(dir, 's'), db_path: ':memory:', driver: 'none', instance_id: 'i-test' }).config;
const sink = new Writable({ write: (_c, _e, cb) => cb() });
const handle = await startDaemon(config, {
  allocator: new FakeAllocator(),
  driver: new FakeDriver(),
  metadata: FAKE_METADATA,
  logger: createLogger({ destination: sink }),
  env: {},
});
const loaded = clientNodeLoaded();
await handle.stop();
// The same with an API server configured (never contacted here): now it is loaded.
const withKube = parseDaemonConfig({
  socket_path: join(dir, 's2'),
  db_path: ':memory:',
  driver: 'none',
  instance_id: 'i-test',
  kube_api_server: 'http://127.0.0.1:1',
}).config;
const h2 = await startDaemon(withKube, {
  allocator: new FakeAllocator(),
  driver: new FakeDriver(),
  metadata: FAKE_METADATA,
  logger: createLogger({ destination: sink }),
  env: {},
});
const loadedWithKube = clientNodeLoaded();
await h2.stop();
// A kubeconfig file (any auth method it may name): client-node reads it.
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n',
);
const withKubeconfig = parseDaemonConfig({
  socket_path: join(dir, 's3'),
  db_path: ':memory:',
  driver: 'none',
  instance_id: 'i-test',
  kubeconfig,
}).config;
const h3 = await startDaemon(withKubeconfig, {
  allocator: new FakeAllocator(),
  driver: new FakeDriver(),
  metadata: FAKE_METADATA,
  logger: createLogger({ destination: sink }),
  env: {},
});
const loadedWithKubeconfig = clientNodeLoaded();
await h3.stop();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    loaded,
    kube: handle.kube !== undefined,
    loadedWithKube,
    kube2: h2.kube !== undefined,
    loadedWithKubeconfig,
    kube3: h3.kube !== undefined,
  }) + '\n',
);
