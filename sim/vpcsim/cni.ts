// Runs the real CNI plugin binary the way a container runtime does: CNI_* environment + network config on stdin.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './ip.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PLUGIN_PATH = join(ROOT, 'dist', 'cni', 'terway');

/** The plugin binary; bundled on the spot (esbuild, ~1 s) when `npm run build` has not produced it. */
export async function ensurePlugin(): Promise<{ path: string; built: boolean }> {
  if (existsSync(PLUGIN_PATH)) return { path: PLUGIN_PATH, built: false };
  const { buildPlugin } = await import('../../cni/build.js');
  return { path: await buildPlugin(PLUGIN_PATH), built: true };
}

export interface PodCni {
  containerId: string;
  namespace: string;
  name: string;
  /** Path of the pod netns (CNI_NETNS). */
  netnsPath: string;
  ifName: string;
}

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: CniIp[];
  routes?: { dst: string; gw?: string }[];
}

export interface PluginOutcome {
  code: number;
  /** Parsed stdout (a result, or a CNI error object with code / msg / details). */
  out: (CniResult & { code?: number; msg?: string; details?: string }) | undefined;
  stderr: string;
  ms: number;
}

export function netConf(socket: string, name = 'terway'): string {
  // The daemon's default records directory is beside its pod DB, in the same folder as its socket.
  return JSON.stringify({ cniVersion: '1.0.0', name, type: 'terway', socket, pending_del_dir: join(dirname(socket), 'pending-del') });
}

export async function execPlugin(
  plugin: string,
  command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS',
  pod: PodCni,
  conf: string,
): Promise<PluginOutcome> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.netnsPath,
    CNI_IFNAME: pod.ifName,
    CNI_PATH: dirname(plugin),
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
  };
  const t0 = performance.now();
  const res = await run(plugin, [], { input: conf, env, timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  let out: PluginOutcome['out'];
  try {
    out = res.stdout.trim() ? (JSON.parse(res.stdout) as PluginOutcome['out']) : undefined;
  } catch {
    out = { cniVersion: '', code: -1, msg: 'unparsable plugin output', details: res.stdout.slice(0, 200) };
  }
  return { code: res.code, out, stderr: res.stderr, ms };
}

/** "10.0.0.5/32" -> "10.0.0.5" */
export function firstIp(r: CniResult | undefined): string | undefined {
  return r?.ips?.[0]?.address.split('/')[0];
}

/** The IPv6 address of a result (dual stack), without its prefix. */
export function ipv6Of(r: CniResult | undefined): string | undefined {
  return r?.ips?.find((x) => x.address.includes(':'))?.address.split('/')[0];
}
