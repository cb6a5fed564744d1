// Run in a child process by lazy.test.ts: imports the daemon/k8s face, then loads client-node, and
// reports whether client-node's CommonJS dependency (node-fetch) was loaded at each step.
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);
const clientNodeLoaded = (): boolean => Object.keys(req.cache).some((p) => p.includes(`${'/node_modules/'}node-fetch/`));

const t0 = performance.now();
const k8s = await import('../../daemon/k8s/index.js');
const faceMs = performance.now() - t0;
const afterFace = clientNodeLoaded();
const t1 = performance.now();
await k8s.loadClientNode();
const loadMs = performance.now() - t1;
process.stdout.write(JSON.stringify({ afterFace, afterLoad: clientNodeLoaded(), faceMs, loadMs }) + '\n');
