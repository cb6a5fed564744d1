// podman as the container runtime of one simulated node: run inside the node's netns (nsenter, not `ip netns
// exec`, which remounts /sys), with the CNI backend reading the node's network config dir and plugin dir.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PODMAN_RUN_FLAGS } from '../podman.js';
import type { NodeHost } from './k8s.js';

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws (a spawn failure or a timeout is a non-zero code with the reason). */
export function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 180_000): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const code = typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: stderr || err.message });
    });
  });
}

export async function must(cmd: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string> {
  const r = await exec(cmd, args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** podman in the host's netns (images, the node daemon's containers: they name their netns themselves). */
export const podman = (args: string[], timeoutMs?: number): Promise<string> => must('podman', args, process.env, timeoutMs);

export const POD_IMAGE = 'localhost/eni-ipam-rehearse-pod:latest';

/** A busybox-static root imported as an image (no registry here); made once. */
export async function ensurePodImage(workDir: string): Promise<void> {
  if ((await exec('podman', ['image', 'exists', POD_IMAGE])).code === 0) return;
  const root = join(workDir, 'pod-rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
  const applets = ['sh', 'sleep', 'ping', 'ip', 'cat', 'ls'];
  await must('sh', ['-c', applets.map((a) => `ln -sf busybox ${join(root, 'bin', a)}`).join(' && ')]);
  await must('sh', ['-c', `tar -C ${root} -c . | podman import --change 'ENV PATH=/bin' - ${POD_IMAGE}`]);
}

/** The pod runtime of one node: podman with the CNI backend, in the node's netns. */
export class NodeRuntime {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly node: NodeHost,
    /** Network config dir (the node's /etc/cni/net.d as this runtime reads it). */
    confDir: string,
    workDir: string,
  ) {
    const file = join(workDir, `containers-${node.name}.conf`);
    writeFileSync(
      file,
      [
        '[network]',
        'network_backend = "cni"',
        // the node's plugins (what the init container installed), then the distribution's (loopback, portmap, ...)
        `cni_plugin_dirs = ["${join(node.root, 'opt/cni/bin')}", "/usr/lib/cni"]`,
        `network_config_dir = "${confDir}"`,
        '',
      ].join('\n'),
    );
    this.env = { ...process.env, CONTAINERS_CONF: file };
  }

  /** The shell command line that is this runtime (for a person to type). */
  commandLine(): string {
    return `nsenter --net=/run/netns/${this.node.netns} env CONTAINERS_CONF=${this.env.CONTAINERS_CONF} podman`;
  }

  run(args: string[]): Promise<Exec> {
    return exec('nsenter', [`--net=/run/netns/${this.node.netns}`, 'podman', ...args], this.env);
  }

  async must(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0)
      throw new Error(`[${this.node.name}] podman ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Starts a pod container on `network`; resolves its IPv4 address. */
  async startPod(name: string, network: string): Promise<string> {
    await this.must([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      '--cap-add',
      'NET_RAW',
      ...PODMAN_RUN_FLAGS,
      POD_IMAGE,
      'sleep',
      '3600',
    ]);
    return this.podIp(name, network);
  }

  async podIp(name: string, network: string): Promise<string> {
    return (await this.must(['inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name])).trim();
  }

  /** The address the pod's own eth0 carries (what the pod sees, whatever the runtime remembers). */
  async podSeenIp(name: string): Promise<string | undefined> {
    const out = await this.must(['exec', name, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    return /inet (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
  }

  async ping(from: string, ip: string): Promise<boolean> {
    for (let i = 0; i < 3; i++) if ((await this.run(['exec', from, 'ping', '-c1', '-W2', ip])).code === 0) return true;
    return false;
  }

  /** `podman rm -f`: the runtime's CNI DEL runs here. */
  removePod(name: string): Promise<string> {
    return this.must(['rm', '-f', '-t', '2', name]);
  }
}
