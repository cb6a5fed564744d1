// The import rules of docs/ARCHITECTURE.md, checked by `npm run lint` (dependency-cruiser); test/lint/imports.test.ts
// proves each rule fires on a throw-away tree that breaks it.
// Product folders: cni, daemon, pool, drivers, proto, lib, cli, controlplane. Rig and tools: sim, test,
// bench, demo, scripts. Dependencies point one way: cni -> proto; daemon -> pool, drivers, proto, lib;
// controlplane -> pool, lib and the daemon's cloud / Kubernetes / log building blocks, never its process wiring.
const PRODUCT = '^(cni|daemon|pool|drivers|proto|lib|cli|controlplane)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'cni-imports-only-proto',
      comment: 'The plugin starts in every pod ADD: it may import proto/ and Node builtins, nothing else of ours.',
      severity: 'error',
      from: { path: '^cni/' },
      to: { path: '^(daemon|pool|drivers|lib|cli|controlplane|sim|test|bench|demo)/' },
    },
    {
      name: 'pool-is-independent',
      comment: 'The pool owns its ports (pool/cloud.ts, pool/store.ts); daemon/ implements them.',
      severity: 'error',
      from: { path: '^pool/' },
      to: { path: '^(daemon|drivers|cni|cli|controlplane)/' },
    },
    {
      name: 'drivers-are-independent',
      comment: 'Drivers wire netns; they know nothing of the pool or the daemon.',
      severity: 'error',
      from: { path: '^drivers/' },
      to: { path: '^(daemon|pool|cni|cli|controlplane)/' },
    },
    {
      name: 'lib-is-a-leaf',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(cni|daemon|pool|drivers|proto|cli|controlplane)/' },
    },
    {
      name: 'proto-is-a-leaf',
      severity: 'error',
      from: { path: '^proto/' },
      to: { path: '^(cni|daemon|pool|drivers|lib|cli|controlplane)/' },
    },
    {
      name: 'daemon-not-plugin-or-controller',
      severity: 'error',
      from: { path: '^daemon/' },
      to: { path: '^(cni|cli|controlplane)/' },
    },
    {
      name: 'controlplane-not-daemon-wiring',
      comment: 'The controller shares building blocks, not the node daemon process.',
      severity: 'error',
      from: { path: '^controlplane/' },
      to: { path: '^daemon/', pathNot: '^daemon/(cloud|k8s|log\\.ts|config/duration\\.ts)' },
    },
    {
      name: 'product-not-rig',
      comment: 'Nothing shipped imports the rig (mock cloud, vpcsim), tests, benches or the demo.',
      severity: 'error',
      from: { path: PRODUCT },
      to: { path: '^(sim|test|bench|demo|scripts)/' },
    },
    {
      name: 'rig-not-tests',
      comment: 'The rig, benches and demo use sim/, never test internals.',
      severity: 'error',
      from: { path: '^(sim|bench|demo|scripts)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular-in-product',
      comment: 'Shipped modules form layers: a cycle means two modules are really one, or a port is missing.',
      severity: 'error',
      from: { path: PRODUCT },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
