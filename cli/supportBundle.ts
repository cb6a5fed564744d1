// `eni-ipam-cli support-bundle`: everything a maintainer asks for first, in one .tar.gz (AWS VPC CNI's
// aws-cni-support.sh, terway-cli's list / mapping): the daemon's redacted config, pool, pods, mapping,
// metrics, health and recent logs; the node's links, addresses, rules, routes, neighbours and the
// sysctls that break pod traffic; the CNI configs and the plugin's version; the pod DB schema version.
// A section that fails (daemon down, no `ip`) becomes `<file>.error` in the bundle, never a failed bundle.
// No secret leaves the node: the daemon redacts its answers and every file is scrubbed again here.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULTS, loadDaemonConfig, parseGoDuration, redactConfig, type ListenAddress } from '../daemon/config/index.js';
import { schemaVersion } from '../daemon/store/migrations.js';
import { CliError, getText } from './client.js';
import { scrub, secretsOf } from './secrets.js';
import { tar, type TarEntry } from './tar.js';

export interface BundleOptions {
  /** The daemon's introspection listener; undefined when it could not be resolved (`addrError` says why). */
  addr?: ListenAddress;
  addrError?: string;
  /** The node's eni_conf: a redacted copy, the secrets to scrub, the DB path. */
  configPath?: string;
  /** Go duration: only log lines this recent. Default: every line the daemon kept. */
  since?: string;
  /** Output file; default `eni-ipam-support-<host>-<time>.tar.gz` in the working directory. */
  out?: string;
  cniConfDir: string;
  cniBinDir: string;
  now?: Date;
}

export interface BundleFile {
  file: string;
  ok: boolean;
  bytes: number;
  error?: string;
}

export interface BundleResult {
  path: string;
  files: BundleFile[];
}

interface Section {
  file: string;
  collect: () => Promise<string>;
}

/** Runs a command without a shell; its stdout, or a CliError naming what failed. */
function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new CliError(e.code === 'ENOENT' ? `${cmd}: not found${cmd === 'ip' ? ' (install iproute2)' : ''}` : `${cmd}: ${e.message}`)),
    );
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(out)
        : reject(new CliError(`${cmd} ${args.join(' ')}: ${signal ?? `exit ${code}`}: ${err.trim() || out.trim()}`)),
    );
  });
}

function daemonSection(
  file: string,
  addr: ListenAddress | undefined,
  addrError: string | undefined,
  path: string,
  format: 'json' | 'text' | 'logs',
): Section {
  return {
    file,
    collect: async () => {
      if (!addr) throw new CliError(addrError ?? 'no daemon address');
      const r = await getText(addr, path);
      if (r.status !== 200) throw new CliError(`GET ${path}: HTTP ${r.status}: ${r.text.trim().slice(0, 2000)}`);
      if (format === 'text') return r.text;
      const body = JSON.parse(r.text) as { lines?: string[] };
      if (format === 'json') return `${JSON.stringify(body, null, 2)}\n`;
      const lines = body.lines ?? [];
      return lines.length > 0 ? `${lines.join('\n')}\n` : '';
    },
  };
}

/** rp_filter of every interface plus forwarding: what silently drops pod traffic when wrong. */
async function sysctls(): Promise<string> {
  const keys = ['net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding'];
  for (const dev of (await readdir('/proc/sys/net/ipv4/conf')).sort()) keys.push(`net/ipv4/conf/${dev}/rp_filter`);
  const lines: string[] = [];
  for (const k of keys) {
    let v: string;
    try {
      v = (await readFile(`/proc/sys/${k}`, 'utf8')).trim();
    } catch (e) {
      v = `<${(e as NodeJS.ErrnoException).code ?? 'unreadable'}>`;
    }
    lines.push(`${k.replace(/\//g, '.')} = ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

async function cniConfigs(dir: string): Promise<Section[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(conf|conflist|json)$/.test(n)).sort();
  } catch (e) {
    return [
      { file: 'cni/net.d', collect: () => Promise.reject(new CliError(`${dir}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`)) },
    ];
  }
  if (names.length === 0) return [{ file: 'cni/net.d', collect: () => Promise.reject(new CliError(`${dir}: no CNI config files`)) }];
  return names.map((n) => ({ file: `cni/net.d/${n}`, collect: () => readFile(join(dir, n), 'utf8') }));
}

/** The plugin's CNI VERSION answer, its about line (printed when run with no CNI_COMMAND), and the file's hash. */
async function pluginVersion(binDir: string): Promise<string> {
  const bin = join(binDir, 'terway');
  const data = await readFile(bin);
  const path = process.env.PATH ?? '/usr/bin:/bin';
  const versions = await exec(bin, [], { PATH: path, CNI_COMMAND: 'VERSION' });
  const about = await new Promise<string>((resolve) => {
    const c = spawn(bin, [], { env: { PATH: path }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    let err = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    c.on('error', (e) => resolve(e.message));
    c.on('close', () => resolve(err.split('\n').find((l) => l.startsWith('CNI plugin')) ?? err.trim()));
  });
  return `${bin}\nsha256 ${createHash('sha256').update(data).digest('hex')}  ${data.length} bytes\n${about}\nCNI_COMMAND=VERSION: ${versions.trim()}\n`;
}

async function dbSchema(dbPath: string): Promise<string> {
  // Loaded here only: the native module is not needed by any other command.
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database>;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new CliError(`${dbPath}: ${(e as Error).message}`);
  }
  try {
    const userVersion = db.pragma('user_version', { simple: true }) as number;
    return `${JSON.stringify({ path: dbPath, schemaVersion: userVersion, thisBuildSchemaVersion: schemaVersion }, null, 2)}\n`;
  } finally {
    db.close();
  }
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // V8 quotes the start of the text in a JSON error: of a config file, that could be a secret.
  return msg.includes('is not valid JSON') ? msg.replace(/is not valid JSON.*$/s, 'is not valid JSON') : msg;
}

const stamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export async function writeSupportBundle(o: BundleOptions): Promise<BundleResult> {
  const now = o.now ?? new Date();
  const sinceMs = o.since === undefined ? 0 : parseGoDuration(o.since);
  if (sinceMs === undefined || sinceMs < 0) throw new CliError(`--since ${o.since}: want a Go duration such as 30m or 2h`);
  const secrets = await secretsOf(o.configPath);
  const local = o.configPath
    ? await loadDaemonConfig(o.configPath).then(
        (r) => r.config,
        (e: unknown) => e as Error,
      )
    : undefined;
  const localConfig = local instanceof Error ? undefined : local;
  const { addr, addrError } = o;
  const d = (file: string, path: string, format: 'json' | 'text' | 'logs' = 'json'): Section =>
    daemonSection(file, addr, addrError, path, format);

  let dbPath = localConfig?.dbPath;
  const sections: Section[] = [
    {
      file: 'daemon/config.json',
      collect: async () => {
        const text = await d('daemon/config.json', '/v1/config').collect();
        dbPath ??= (JSON.parse(text) as { dbPath?: string }).dbPath;
        return text;
      },
    },
    d('daemon/pool.json', '/v1/pool'),
    d('daemon/pods.json', '/v1/pods'),
    d('daemon/mapping.json', '/v1/mapping'),
    d('daemon/metrics.txt', '/metrics', 'text'),
    d('daemon/healthz.txt', '/healthz', 'text'),
    d('daemon/logs.jsonl', `/v1/logs${o.since ? `?since=${encodeURIComponent(o.since)}` : ''}`, 'logs'),
  ];
  if (o.configPath) {
    sections.push({
      file: 'node/eni_conf.redacted.json',
      collect: async () => {
        if (local instanceof Error) throw local;
        return `${JSON.stringify({ path: o.configPath, ...redactConfig(local!) }, null, 2)}\n`;
      },
    });
  }
  const ip = (file: string, ...args: string[]): Section => ({ file: `node/${file}`, collect: () => exec('ip', args) });
  sections.push(
    ip('ip-d-link.txt', '-d', 'link', 'show'),
    ip('ip-addr.txt', 'addr', 'show'),
    ip('ip-rule.txt', 'rule', 'show'),
    ip('ip-6-rule.txt', '-6', 'rule', 'show'),
    ip('ip-route-table-all.txt', 'route', 'show', 'table', 'all'),
    ip('ip-6-route-table-all.txt', '-6', 'route', 'show', 'table', 'all'),
    ip('ip-neigh.txt', 'neigh', 'show'),
    ip('ip-netns.txt', 'netns', 'list'),
    { file: 'node/sysctl.txt', collect: sysctls },
    ...(await cniConfigs(o.cniConfDir)),
    { file: 'cni/plugin-version.txt', collect: () => pluginVersion(o.cniBinDir) },
    // After daemon/config.json: its dbPath is the fallback when no local eni_conf was given.
    { file: 'node/pod-db-schema.json', collect: () => dbSchema(dbPath ?? DEFAULTS.dbPath) },
  );

  const root = `eni-ipam-support-${hostname()}-${stamp(now)}`;
  const mtime = now.getTime() / 1000;
  const entries: TarEntry[] = [];
  const files: BundleFile[] = [];
  for (const s of sections) {
    try {
      const text = scrub(await s.collect(), secrets);
      entries.push({ name: `${root}/${s.file}`, data: text, mtime });
      files.push({ file: s.file, ok: true, bytes: Buffer.byteLength(text) });
    } catch (e) {
      const text = `${scrub(errorText(e), secrets)}\n`;
      entries.push({ name: `${root}/${s.file}.error`, data: text, mtime });
      files.push({ file: `${s.file}.error`, ok: false, bytes: Buffer.byteLength(text), error: text.trim() });
    }
  }
  const manifest = {
    createdAt: now.toISOString(),
    host: hostname(),
    kernel: release(),
    daemonAddress: addr ? (addr.kind === 'unix' ? `unix:${addr.path}` : `${addr.host}:${addr.port}`) : null,
    since: o.since ?? null,
    files,
  };
  entries.unshift({ name: `${root}/manifest.json`, data: scrub(`${JSON.stringify(manifest, null, 2)}\n`, secrets), mtime });
  const path = o.out ?? `${root}.tar.gz`;
  await writeFile(path, gzipSync(tar(entries)), { mode: 0o600 });
  return { path, files };
}
