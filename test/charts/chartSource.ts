// Reads the chart's files and analyses its templates without helm: the static half of test/charts.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'eni-ipam');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readChartFile(rel: string): string {
  return readFileSync(join(CHART_DIR, rel), 'utf8');
}

export function loadYamlObject(rel: string): JsonObject {
  const v = yaml.load(readChartFile(rel), { filename: rel });
  if (!isObject(v)) throw new Error(`${rel} is not a YAML mapping`);
  return v;
}

/** Template sources by file name relative to the chart (templates/*). */
export function templateFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(CHART_DIR, 'templates')).sort()) {
    out.set(`templates/${name}`, readChartFile(`templates/${name}`));
  }
  return out;
}

/** The actions ({{ ... }}) of a template, comments dropped, trim markers removed. */
export function actions(src: string): string[] {
  const out: string[] = [];
  const re = /\{\{-?\s*([\s\S]*?)\s*-?\}\}/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const body = m[1]!;
    if (body.startsWith('/*')) continue;
    out.push(body);
  }
  return out;
}

/**
 * Checks that if/range/with/define/block actions are closed by end, in order. Returns problems
 * (empty when balanced). A cheap stand-in for the template parser when no helm is around.
 */
export function blockProblems(src: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const opens = src.split('{{').length - 1;
  const closes = src.split('}}').length - 1;
  if (opens !== closes) problems.push(`${opens} "{{" but ${closes} "}}"`);
  for (const a of actions(src)) {
    const word = /^([a-z]+)\b/.exec(a)?.[1];
    if (word === 'if' || word === 'range' || word === 'with' || word === 'define' || word === 'block') stack.push(a);
    else if (word === 'end') {
      if (stack.pop() === undefined) problems.push('"end" without an open block');
    }
  }
  for (const a of stack) problems.push(`unclosed block: {{ ${a} }}`);
  return problems;
}

/** Every `.Values.a.b.c` path the templates reference (`$.Values` too), as ["a","b","c"]. */
export function valuesPaths(src: string): string[][] {
  const out: string[][] = [];
  const re = /\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
  for (let m = re.exec(src); m; m = re.exec(src)) out.push(m[1]!.slice(1).split('.'));
  return out;
}

/** Whether values has the key path (a key holding null counts: it exists). */
export function hasPath(values: JsonObject, path: string[]): boolean {
  let cur: Json = values;
  for (const key of path) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return false;
    cur = cur[key]!;
  }
  return true;
}

export function definedTemplates(sources: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const src of sources) for (const m of src.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)) out.add(m[1]!);
  return out;
}

export function includedTemplates(src: string): string[] {
  return [...src.matchAll(/\binclude\s+"([^"]+)"/g)].map((m) => m[1]!);
}

export function filesReferenced(src: string): string[] {
  return [...src.matchAll(/\.Files\.Get\s+"([^"]+)"/g)].map((m) => m[1]!);
}

/** The text of a constant named template: {{- define "NAME" -}}TEXT{{- end -}}. */
export function constantTemplate(helpers: string, name: string): string {
  const re = new RegExp(`\\{\\{-?\\s*define\\s+"${name.replace(/\./g, '\\.')}"\\s*-?\\}\\}([^{]*)\\{\\{-?\\s*end\\s*-?\\}\\}`);
  const m = re.exec(helpers);
  if (!m) throw new Error(`no constant template "${name}" in _helpers.tpl`);
  return m[1]!.trim();
}

/** Keys the eni_conf template sets itself: `set $conf "KEY"`. */
export function chartSetEniConfKeys(helpers: string): string[] {
  return [...new Set([...helpers.matchAll(/set \$conf "([a-z_]+)"/g)].map((m) => m[1]!))];
}

function isEmptyForEniConf(v: Json | undefined): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v === '';
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

export interface ChartPaths {
  socketPath: string;
  socketDir: string;
  dbPath: string;
  pendingDelDir: string;
  stateDir: string;
  appDir: string;
  pluginImagePath: string;
  procSysPath: string;
  configMapName: string;
}

export function chartPaths(helpers: string = readChartFile('templates/_helpers.tpl')): ChartPaths {
  const c = (n: string): string => constantTemplate(helpers, `eni-ipam.${n}`);
  return {
    socketPath: c('socketPath'),
    socketDir: c('socketDir'),
    dbPath: c('dbPath'),
    pendingDelDir: c('pendingDelDir'),
    stateDir: c('stateDir'),
    appDir: c('appDir'),
    pluginImagePath: c('pluginImagePath'),
    procSysPath: c('procSysPath'),
    configMapName: c('configMapName'),
  };
}

/**
 * What templates/_helpers.tpl "eni-ipam.eniConf" renders, re-stated in TypeScript: eniConf's
 * non-empty keys plus the chart-set ones. When a helm binary is present the test compares this with
 * helm's own output, so the two cannot drift apart unnoticed.
 */
export function emulateEniConf(values: JsonObject, paths: ChartPaths): JsonObject {
  const eniConf = isObject(values.eniConf) ? values.eniConf : {};
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(eniConf)) if (!isEmptyForEniConf(v)) out[k] = v;
  const metrics = values.metrics as JsonObject;
  const creds = values.credentials as JsonObject;
  out.daemon_mode = values.daemonMode!;
  out.log_level = values.logLevel!;
  out.socket_path = paths.socketPath;
  out.db_path = paths.dbPath;
  out.pending_del_dir = paths.pendingDelDir;
  out.proc_sys_path = paths.procSysPath;
  if (metrics.enabled) {
    let addr = String(metrics.bindAddress ?? '');
    if (addr.includes(':')) addr = `[${addr}]`;
    out.metrics_listen = `${addr}:${Number(metrics.port)}`;
  }
  if (values.centralizedIPAM) out.ipam_type = 'crd';
  else if (creds.credentialPath) out.credential_path = creds.credentialPath;
  return out;
}

/** Re-statement of "eni-ipam.controlplaneConfig" (the controller's config.json). */
export function emulateControlplaneConfig(values: JsonObject, releaseNamespace: string, controlplaneName: string): JsonObject {
  const cp = values.controlplane as JsonObject;
  const eniConf = values.eniConf as JsonObject;
  const out: JsonObject = {
    regionID: (cp.regionID as string) || (eniConf.region_id as string) || '',
    vpcID: cp.vpcID!,
    openAPIQPS: cp.openAPIQPS!,
    openAPIBurst: cp.openAPIBurst!,
    rateLimit: cp.rateLimit ?? {},
    leaderElection: true,
    leaseLockName: controlplaneName,
    leaseLockNamespace: releaseNamespace,
    leaseDuration: cp.leaseDuration!,
    renewDeadline: cp.renewDeadline!,
    retryPeriod: cp.retryPeriod!,
    multiIPNodeSyncPeriod: cp.multiIPNodeSyncPeriod!,
    leakedENIGracePeriod: cp.leakedENIGracePeriod!,
    attachPollPeriod: cp.attachPollPeriod!,
    kubeClientQPS: cp.kubeClientQPS!,
    kubeClientBurst: cp.kubeClientBurst!,
    metricsBindAddress: `:${Number(cp.metricsPort)}`,
    logLevel: cp.logLevel!,
  };
  if (cp.clusterID) out.clusterID = cp.clusterID;
  for (const [k, v] of Object.entries((cp.extraConfig as JsonObject) ?? {})) out[k] = v;
  return out;
}

/** Re-statement of "eni-ipam.cniConflist". */
export function emulateConflist(values: JsonObject, paths: ChartPaths): JsonObject {
  const cni = values.cni as JsonObject;
  const eniConf = values.eniConf as JsonObject;
  const plugin: JsonObject = {
    type: 'terway',
    socket: paths.socketPath,
    pending_del_dir: paths.pendingDelDir,
    mtu: Math.trunc(Number(eniConf.mtu || 1500)),
  };
  if (cni.delWaitSeconds) plugin.del_wait_seconds = cni.delWaitSeconds;
  if (cni.timeoutSeconds) plugin.timeout_seconds = cni.timeoutSeconds;
  if (cni.logFile) plugin.log_file = cni.logFile;
  const chained = Array.isArray(cni.chainedPlugins) ? cni.chainedPlugins : [];
  return { cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'], name: cni.networkName!, plugins: [plugin, ...chained] };
}

/** Deep merge of overrides into values, as helm merges -f/--set over values.yaml. */
export function mergeValues(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeValues(b, v) : v;
  }
  return out;
}
