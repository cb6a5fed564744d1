// Bundles the plugin into one executable file: dist/cni/terway (`npm run build:cni`).
// The file must run both where it is installed (/opt/cni/bin: no package.json, so CommonJS) and
// from dist/cni inside this "type": "module" package (extensionless file, so ES module). The
// bundle therefore has no import/export statements and gets node builtins from `require` when
// there is one and from process.getBuiltinModule (Node >= 20.16) otherwise.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PLUGIN_PATH = join(root, 'dist', 'cni', 'terway');

const BANNER = [
  '#!/usr/bin/env node',
  // CommonJS: the wrapper's require. ES module: no require, use getBuiltinModule.
  "var require = typeof require === 'function' ? require : (id) => process.getBuiltinModule(id);",
].join('\n');

/** Builds the plugin to outFile (atomically: concurrent runners never see a half-written file). */
export async function buildPlugin(outFile: string = DEFAULT_PLUGIN_PATH): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}-${Date.now()}`;
  await build({
    entryPoints: [join(root, 'cni', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    banner: { js: BANNER },
    define: { __PLUGIN_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  chmodSync(tmp, 0o755);
  renameSync(tmp, outFile);
  // Inside this "type": "module" package the extensionless bundle would load as an ES module, which
  // costs a few ms per exec; a package.json beside it makes it load as CommonJS, as it does once
  // installed in /opt/cni/bin.
  if (outFile.startsWith(root + '/')) writeFileSync(join(dirname(outFile), 'package.json'), '{ "type": "commonjs" }\n');
  return outFile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildPlugin(process.argv[2] ? resolve(process.argv[2]) : undefined).then(
    (p) => console.log(`built ${p}`),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
