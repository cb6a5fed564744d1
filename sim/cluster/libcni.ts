// Runs a CNI network config list the way libcni (containerd, CRI-O, podman's CNI backend) does, so a conflist
// can be tried with real chained plugins without a runtime:
// - each plugin gets its own entry plus the list's `name` and `cniVersion`, `runtimeConfig` limited to the
//   capabilities it declares, and `prevResult`: on ADD the previous plugin's result, on CHECK and DEL the
//   cached result of the whole ADD (DEL only from 0.4.0 on, as libcni);
// - ADD and CHECK run the plugins in order, DEL in reverse; each verb stops at the first plugin that fails
//   (libcni's DelNetworkList returns at the first error: the plugins before it in the list never see DEL);
// - a plugin is `<dir>/<type>` for the first dir of `pluginDirs` holding it, run with a clean environment
//   (PATH + CNI_*), inside `netns` (the node) through nsenter when given.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { netnsPath } from '../vpcsim/netns.js';
import { timedRun } from './proc.js';

export type JsonObject = Record<string, unknown>;

export interface Conflist {
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  plugins: JsonObject[];
}

export interface Attachment {
  containerId: string;
  /** CNI_NETNS: path of the pod netns. */
  netnsPath: string;
  ifName: string;
  /** CNI_ARGS. */
  args?: string;
  /** Values for the plugins' declared capabilities (portMappings, bandwidth, ...). */
  capabilityArgs?: JsonObject;
}

export interface PluginCall {
  type: string;
  verb: 'ADD' | 'CHECK' | 'DEL';
  code: number | null;
  stdout: string;
  stderr: string;
}

export class ChainError extends Error {
  constructor(readonly call: PluginCall) {
    super(`${call.verb} stopped at plugin ${call.type} (exit ${call.code}): ${call.stdout.trim()} ${call.stderr.trim()}`.trim());
    this.name = 'ChainError';
  }
}

export interface LibcniOptions {
  pluginDirs: string[];
  /** Node netns name: plugins run inside it (they wire "the host" = the netns they run in). */
  netns?: string;
  /** Picks the version libcni >= 1.2 would, else the top-level cniVersion (what libcni < 1.2 reads). */
  version?: string;
}

/** A conflist bound to a version and a set of plugin directories; keeps each ADD's result as libcni caches it. */
export class Libcni {
  readonly version: string;
  /** Every plugin invocation, in order (for assertions on who ran and who stopped a chain). */
  readonly calls: PluginCall[] = [];
  private readonly cache = new Map<string, JsonObject>();

  constructor(
    readonly list: Conflist,
    private readonly o: LibcniOptions,
  ) {
    this.version = o.version ?? list.cniVersion;
  }

  private key(a: Attachment): string {
    return `${this.list.name}/${a.containerId}/${a.ifName}`;
  }

  cachedResult(a: Attachment): JsonObject | undefined {
    return this.cache.get(this.key(a));
  }

  private pluginPath(type: string): string {
    for (const dir of this.o.pluginDirs) if (existsSync(join(dir, type))) return join(dir, type);
    throw new Error(`plugin ${type} not found in ${this.o.pluginDirs.join(':')}`);
  }

  private stdin(plugin: JsonObject, a: Attachment, prevResult: JsonObject | undefined): string {
    const conf: JsonObject = { ...plugin, name: this.list.name, cniVersion: this.version };
    const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
    const runtimeConfig: JsonObject = {};
    for (const [cap, value] of Object.entries(a.capabilityArgs ?? {})) if (caps[cap]) runtimeConfig[cap] = value;
    if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    if (prevResult) conf.prevResult = prevResult;
    return JSON.stringify(conf);
  }

  private async exec(verb: PluginCall['verb'], plugin: JsonObject, a: Attachment, prev: JsonObject | undefined): Promise<PluginCall> {
    const type = String(plugin.type);
    const env = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: verb,
      CNI_CONTAINERID: a.containerId,
      CNI_NETNS: a.netnsPath,
      CNI_IFNAME: a.ifName,
      CNI_ARGS: a.args ?? '',
      CNI_PATH: this.o.pluginDirs.join(':'),
    };
    const path = this.pluginPath(type);
    const [cmd, args] = this.o.netns ? ['nsenter', [`--net=${netnsPath(this.o.netns)}`, path]] : [path, []];
    const r = await timedRun(cmd, args, { env, stdin: this.stdin(plugin, a, prev), timeoutMs: 60_000 });
    const call: PluginCall = { type, verb, code: r.code, stdout: r.stdout, stderr: r.stderr };
    this.calls.push(call);
    if (r.code !== 0) throw new ChainError(call);
    return call;
  }

  /** ADD through every plugin in order; the last result is cached (as libcni does) and returned. */
  async add(a: Attachment): Promise<JsonObject> {
    let prev: JsonObject | undefined;
    for (const p of this.list.plugins) {
      const call = await this.exec('ADD', p, a, prev);
      prev = JSON.parse(call.stdout) as JsonObject;
    }
    if (!prev) throw new Error('empty plugin list');
    this.cache.set(this.key(a), prev);
    return prev;
  }

  /** CHECK through every plugin (or only the `types` given) in order with the cached result. */
  async check(a: Attachment, types?: readonly string[]): Promise<void> {
    const cached = this.cachedResult(a);
    if (!cached) throw new Error(`no cached result for ${this.key(a)}`);
    for (const p of this.list.plugins) if (!types || types.includes(String(p.type))) await this.exec('CHECK', p, a, cached);
  }

  /** DEL through every plugin in reverse order; stops at the first failure; the cache entry goes on success. */
  async del(a: Attachment): Promise<void> {
    const cached = this.versionAtLeast('0.4.0') ? this.cachedResult(a) : undefined;
    for (const p of [...this.list.plugins].reverse()) await this.exec('DEL', p, a, cached);
    this.cache.delete(this.key(a));
  }

  versionAtLeast(v: string): boolean {
    const n = (s: string) => s.split('.').map(Number);
    const [a, b] = [n(this.version), n(v)];
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    return true;
  }
}

/** supportedVersions from `<plugin> VERSION`. */
export async function pluginVersions(path: string): Promise<string[]> {
  const r = await timedRun(path, [], {
    env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION' },
    stdin: '{"cniVersion":"0.4.0"}',
    timeoutMs: 10_000,
  });
  return (JSON.parse(r.stdout) as { supportedVersions: string[] }).supportedVersions;
}
