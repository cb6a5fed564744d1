// Runs the BUILT plugin exactly as a CNI runtime does: a separate process with a clean
// environment (PATH and CNI_* only), the network config on stdin, stdout and the exit code read.
// Reusable by end-to-end suites against the real daemon.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { buildPlugin, DEFAULT_PLUGIN_PATH } from '../../cni/build.js';

export { DEFAULT_PLUGIN_PATH };

export interface RunPluginOptions {
  /** CNI_COMMAND. */
  command: string;
  /** Further variables (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH, ...). */
  env?: Record<string, string | undefined>;
  /** The network config: an object is JSON-encoded; a string is sent as is; undefined sends nothing. */
  stdin?: unknown;
  /** Plugin file; default dist/cni/terway. */
  pluginPath?: string;
  /** Kill the plugin after this long (ms); default 30 s. */
  timeoutMs?: number;
  /** Close the read end of the plugin's stdout at once (its result write then fails with EPIPE). */
  closeStdout?: boolean;
}

export interface RunPluginResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when stdout is empty / not JSON. */
  json: Record<string, unknown> | undefined;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

let built: Promise<string> | undefined;

/**
 * Another build to put through the same suites, e.g. the one-file plugin nodes get:
 * `ENI_PLUGIN_UNDER_TEST=/tmp/terway npx vitest run test/cni` after `npx tsx scripts/pluginExe.ts bun /tmp/terway`.
 */
const UNDER_TEST = process.env.ENI_PLUGIN_UNDER_TEST;

/** Builds dist/cni/terway once per test process (build is atomic, so parallel files are safe). */
export function ensurePluginBuilt(): Promise<string> {
  built ??= UNDER_TEST ? Promise.resolve(UNDER_TEST) : buildPlugin();
  return built;
}

export function runPlugin(opts: RunPluginOptions): Promise<RunPluginResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: opts.command };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(opts.pluginPath ?? UNDER_TEST ?? DEFAULT_PLUGIN_PATH, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (opts.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolvePromise({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), json, ms: performance.now() - started });
    });
    child.stdin.on('error', () => {
      /* the plugin may exit before reading stdin (e.g. VERSION) */
    });
    if (opts.stdin === undefined) child.stdin.end();
    else child.stdin.end(typeof opts.stdin === 'string' ? opts.stdin : JSON.stringify(opts.stdin));
  });
}

/** A typical kubelet invocation environment for one pod interface. */
export function podEnv(over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_CONTAINERID: 'c0ffee0123456789',
    CNI_NETNS: '/var/run/netns/cni-test',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee0123456789',
    ...over,
  };
}

/** A network config for the plugin as a runtime passes it (after conflist expansion). */
export function netConf(socketPath: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  // Records of DELs the daemon could not take go beside the test's socket, never to the node-wide default.
  return {
    cniVersion: '1.1.0',
    name: 'terway',
    type: 'terway',
    socket: socketPath,
    pending_del_dir: join(dirname(socketPath), 'pending-del'),
    ...over,
  };
}
