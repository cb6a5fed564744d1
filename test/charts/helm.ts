// Finds and runs a real helm binary, when there is one (see fetch-helm.sh).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import yaml from 'js-yaml';
import { CHART_DIR, REPO_ROOT, isObject, type JsonObject } from './chartSource.js';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $HELM_BIN, then helm on PATH, then the copy fetch-helm.sh leaves in node_modules/.cache. */
export function findHelm(): string | undefined {
  const candidates = [
    process.env.HELM_BIN,
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'helm')),
    join(REPO_ROOT, 'node_modules', '.cache', 'eni-ipam-helm', 'helm'),
  ];
  for (const c of candidates) {
    if (!c || !executable(c)) continue;
    const r = spawnSync(c, ['version', '--short'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0) return c;
  }
  return undefined;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runHelm(helm: string, args: string[]): HelmResult {
  // A private HOME/XDG dirs: helm must not read or write the user's repositories and cache.
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  try {
    const r = spawnSync(helm, args, {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CACHE_HOME: join(home, 'cache'),
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_DATA_HOME: join(home, 'data'),
      },
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `helm template` with a values override file; returns the manifests, or throws with helm's error. */
export function helmTemplate(helm: string, values: JsonObject = {}, release = 'eni-ipam', namespace = 'kube-system'): JsonObject[] {
  const r = helmTemplateRaw(helm, values, release, namespace);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  const docs = yaml.loadAll(r.stdout).filter((d) => d !== null && d !== undefined);
  for (const d of docs) if (!isObject(d)) throw new Error(`helm template produced a non-mapping document: ${JSON.stringify(d)}`);
  return docs as JsonObject[];
}

export function helmTemplateRaw(helm: string, values: JsonObject, release = 'eni-ipam', namespace = 'kube-system'): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, yaml.dump(values));
    return runHelm(helm, ['template', release, CHART_DIR, '--namespace', namespace, '-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function findDoc(docs: JsonObject[], kind: string, name?: string): JsonObject {
  const d = docs.find((x) => x.kind === kind && (name === undefined || (x.metadata as JsonObject | undefined)?.name === name));
  if (!d) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendered chart (kinds: ${docs.map((x) => x.kind).join(', ')})`);
  return d;
}
