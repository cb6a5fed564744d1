// The import rules bite: dependency-cruiser runs with OUR config (.dependency-cruiser.cjs) over throw-away
// trees, one breaking every rule once, one keeping to them. The real tree is checked by `npm run lint`
// (.ci/run), not here.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

type Tree = Record<string, string>;

const imp = (...paths: string[]): string => paths.map((p, i) => `import * as m${i} from '${p}';\nvoid m${i};\n`).join('') + 'export {};\n';

/** Imports every rule allows: daemon → pool, drivers, proto, lib; cni → proto; the controller → daemon/cloud; rig → product. */
const CLEAN: Tree = {
  'proto/version.ts': 'export const API_VERSION = 1;\n',
  'lib/ipv4.ts': 'export const IPV4_BITS = 32;\n',
  'cni/main.ts': imp('../proto/version.js'),
  'pool/index.ts': imp('../lib/ipv4.js'),
  'pool/cloud.ts': imp('./index.js'),
  'drivers/index.ts': imp('../lib/ipv4.js'),
  'daemon/cloud/client.ts': imp('../../pool/cloud.js', '../../lib/ipv4.js'),
  'daemon/daemon.ts': imp('../pool/index.js', '../drivers/index.js', '../proto/version.js', './cloud/client.js'),
  'controlplane/main.ts': imp('../daemon/cloud/client.js', '../pool/index.js'),
  'cli/main.ts': imp('../daemon/daemon.js'),
  'sim/mockcloud/index.ts': imp('../../lib/ipv4.js', '../../daemon/cloud/client.js'),
  'test/support/clock.ts': imp('../../sim/mockcloud/index.js', '../../daemon/daemon.js'),
  'bench/pool.ts': imp('../sim/mockcloud/index.js', '../pool/index.js'),
  'demo/main.ts': imp('../sim/mockcloud/index.js', '../cli/main.js'),
};

/** One file (or, for a cycle, two) per rule, each breaking exactly that rule; expected as `rule: from → to`. */
const BROKEN: Tree = {
  'cni/bad.ts': imp('../lib/ipv4.js'),
  'pool/bad.ts': imp('../daemon/daemon.js'),
  'drivers/bad.ts': imp('../pool/index.js'),
  'lib/bad.ts': imp('../proto/version.js'),
  'proto/bad.ts': imp('../lib/ipv4.js'),
  'daemon/bad.ts': imp('../cli/main.js'),
  'controlplane/bad.ts': imp('../daemon/daemon.js'),
  'daemon/rig.ts': imp('../sim/mockcloud/index.js'),
  'pool/testOnly.ts': imp('../test/support/clock.js'),
  'sim/bad.ts': imp('../test/support/clock.js'),
  'bench/bad.ts': imp('../test/support/clock.js'),
  'pool/cycleA.ts': imp('./cycleB.js'),
  'pool/cycleB.ts': imp('./cycleA.js'),
  'daemon/gone.ts': imp('./missing.js'),
};

const EXPECTED = [
  'cni-imports-only-proto: cni/bad.ts → lib/ipv4.ts',
  'pool-is-independent: pool/bad.ts → daemon/daemon.ts',
  'drivers-are-independent: drivers/bad.ts → pool/index.ts',
  'lib-is-a-leaf: lib/bad.ts → proto/version.ts',
  'proto-is-a-leaf: proto/bad.ts → lib/ipv4.ts',
  'daemon-not-plugin-or-controller: daemon/bad.ts → cli/main.ts',
  'controlplane-not-daemon-wiring: controlplane/bad.ts → daemon/daemon.ts',
  'product-not-rig: daemon/rig.ts → sim/mockcloud/index.ts',
  'product-not-rig: pool/testOnly.ts → test/support/clock.ts',
  'rig-not-tests: sim/bad.ts → test/support/clock.ts',
  'rig-not-tests: bench/bad.ts → test/support/clock.ts',
  'no-circular-in-product: pool/cycleA.ts → pool/cycleB.ts', // a cycle is reported once, at its first edge
  'not-to-unresolvable: daemon/gone.ts → ./missing.js',
];

interface Cruise {
  violations: string[];
  rules: string[];
  modules: number;
  dependencies: number;
}

/** Writes the tree (with a tsconfig like the project's) to a temp dir and cruises it as `npm run lint:imports` does. */
async function cruise(tree: Tree): Promise<Cruise> {
  const dir = tempDir('eni-lint-');
  const files = {
    ...tree,
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  const tops = [...new Set(Object.keys(tree).map((f) => f.split('/')[0]!))];
  const { stdout } = await promisify(execFile)(process.execPath, [DEPCRUISE, ...tops, '--config', CONFIG, '--output-type', 'json'], {
    cwd: dir,
    maxBuffer: 16 << 20,
  });
  const { summary } = JSON.parse(stdout) as {
    summary: {
      violations: { from: string; to: string; rule: { name: string } }[];
      totalCruised: number;
      totalDependenciesCruised: number;
      ruleSetUsed: { forbidden: { name: string }[] };
    };
  };
  return {
    violations: summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
    rules: summary.ruleSetUsed.forbidden.map((r) => r.name),
    modules: summary.totalCruised,
    dependencies: summary.totalDependenciesCruised,
  };
}

describe('import rules (.dependency-cruiser.cjs)', () => {
  it('a tree that keeps to them passes, every file read', async () => {
    const r = await cruise(CLEAN);
    expect(r.violations).toEqual([]);
    expect(r.modules).toBe(Object.keys(CLEAN).length);
    expect(r.dependencies).toBe(Object.values(CLEAN).join('').split('import ').length - 1);
  });

  it('breaking each rule on purpose is reported under that rule, and nothing else is', async () => {
    const r = await cruise({ ...CLEAN, ...BROKEN });
    expect([...r.violations].sort()).toEqual([...EXPECTED].sort());
    // Every rule of the config has its breaking case above: a new rule needs one here.
    expect(new Set(r.rules)).toEqual(new Set(EXPECTED.map((e) => e.split(':')[0])));
  });
});
