// Pods for the end-to-end suites: a netns per pod, ADD / DEL through the real plugin binary as a CNI runtime
// runs it (separate process, clean environment: PATH + CNI_* only, network config on stdin).
import { dirname, join } from 'node:path';
import { buildPlugin } from '../../cni/build.js';
import { createNetns, deleteNetns, netnsPath } from '../vpcsim/netns.js';
import type { NodeDaemon } from './daemonProc.js';
import { cleanEnv, stdoutJson, timedRun, type TimedRun } from './proc.js';

export const NETWORK_NAME = 'terway';
export const POD_IFNAME = 'eth0';

/** Bundles the plugin from the current sources to `outFile` (one per run: parallel suites never share it). */
export function buildPluginTo(outFile: string): Promise<string> {
  return buildPlugin(outFile);
}

export interface Pod {
  name: string;
  netns: string;
  netnsPath: string;
  containerId: string;
  ifName: string;
  node: NodeDaemon;
  /** Set by a successful ADD. */
  ip?: string;
  /** Dual stack: the pod's IPv6 address from the ADD result. */
  ipv6?: string;
  hostVeth?: string;
  gateway?: string;
}

export interface CniOutcome extends TimedRun {
  json: Record<string, unknown> | undefined;
}

export class CniCallError extends Error {
  constructor(
    readonly verb: string,
    readonly pod: string,
    readonly run: CniOutcome,
    daemonLogTail = '',
  ) {
    super(
      `${verb} ${pod}: plugin exited ${run.code}${run.signal ? ` (${run.signal})` : ''}: ${run.stdout.trim()} ${run.stderr.trim()}` +
        (daemonLogTail ? `\n  daemon log tail:\n${daemonLogTail}` : ''),
    );
    this.name = 'CniCallError';
  }
}

/** Creates the pod's netns `<prefix>-p-<name>` (loopback up). */
export async function createPod(prefix: string, name: string, node: NodeDaemon): Promise<Pod> {
  const netns = `${prefix}-p-${name}`;
  await createNetns(netns);
  return { name, netns, netnsPath: netnsPath(netns), containerId: `ctr-${prefix}-${name}`, ifName: POD_IFNAME, node };
}

export function podEnv(pod: Pod, command: string): Record<string, string> {
  return cleanEnv({
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.netnsPath,
    CNI_IFNAME: pod.ifName,
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
  });
}

export function netConf(socketPath: string): Record<string, unknown> {
  // The daemon's default records directory is beside its pod DB, in the same folder as its socket.
  return {
    cniVersion: '1.0.0',
    name: NETWORK_NAME,
    type: 'terway',
    socket: socketPath,
    pending_del_dir: join(dirname(socketPath), 'pending-del'),
  };
}

/** The pod key the daemon files the allocation under (GetIPInfo / CHECK). */
export function podRefOf(pod: Pod): {
  k8sPodName: string;
  k8sPodNamespace: string;
  k8sPodInfraContainerId: string;
  netns: string;
  ifName: string;
  networkName: string;
} {
  return {
    k8sPodName: pod.name,
    k8sPodNamespace: 'e2e',
    k8sPodInfraContainerId: pod.containerId,
    netns: pod.netnsPath,
    ifName: pod.ifName,
    networkName: NETWORK_NAME,
  };
}

export async function runCni(pluginPath: string, pod: Pod, command: 'ADD' | 'DEL' | 'CHECK'): Promise<CniOutcome> {
  const r = await timedRun(pluginPath, [], {
    env: podEnv(pod, command),
    stdin: JSON.stringify(netConf(pod.node.socketPath)),
    timeoutMs: 60_000,
  });
  return { ...r, json: stdoutJson(r) };
}

interface CniResultShape {
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
}

/** ADD; throws CniCallError unless the plugin exits 0 with a result carrying one IPv4 /32. Fills pod.ip etc. */
export async function addPod(pluginPath: string, pod: Pod): Promise<CniOutcome> {
  const r = await runCni(pluginPath, pod, 'ADD');
  const res = r.json as CniResultShape | undefined;
  const ip = res?.ips?.[0];
  if (r.code !== 0 || !ip || !/^\d+\.\d+\.\d+\.\d+\/32$/.test(ip.address)) throw new CniCallError('ADD', pod.name, r, pod.node.logTail(8));
  pod.ip = ip.address.split('/')[0];
  const ip6 = res?.ips?.find((a) => a.address.includes(':'));
  if (ip6) pod.ipv6 = ip6.address.split('/')[0];
  pod.gateway = ip.gateway;
  pod.hostVeth = res?.interfaces?.find((i) => !i.sandbox)?.name;
  return r;
}

/** DEL; throws CniCallError unless the plugin exits 0. */
export async function delPod(pluginPath: string, pod: Pod): Promise<CniOutcome> {
  const r = await runCni(pluginPath, pod, 'DEL');
  if (r.code !== 0) throw new CniCallError('DEL', pod.name, r, pod.node.logTail(8));
  return r;
}

export async function destroyPod(pod: Pod): Promise<void> {
  await deleteNetns(pod.netns);
}

/** CNI GC (cniVersion 1.1.0) on `socketPath`'s daemon: every attachment not in `valid` is stale. */
export async function runGc(pluginPath: string, socketPath: string, valid: readonly Pod[]): Promise<CniOutcome> {
  const conf = {
    ...netConf(socketPath),
    cniVersion: '1.1.0',
    'cni.dev/valid-attachments': valid.map((p) => ({ containerID: p.containerId, ifname: p.ifName })),
  };
  const r = await timedRun(pluginPath, [], {
    env: cleanEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }),
    stdin: JSON.stringify(conf),
    timeoutMs: 60_000,
  });
  return { ...r, json: stdoutJson(r) };
}
