// eni-ipam-cli: reads the daemon's introspection endpoints (/v1/*) and prints tables or JSON.
// Exit codes: 0 fine; 1 `mapping` found a mismatch (as terway-cli mapping does); 2 usage, connection or server error.
import { parseArgs } from 'node:util';
import { loadDaemonConfig, type ListenAddress } from '../daemon/config/index.js';
import type { CapacityView, MappingReport, PodView, PoolView } from '../daemon/introspect.js';
import { capacityFromCloud, capacityPath, hasCloudCredentials, parseMode } from './maxPods.js';
import { CliError, getJson, parseAddr } from './client.js';
import { formatMapping, formatPods, formatPool } from './format.js';
import { writeSupportBundle } from './supportBundle.js';

export const USAGE = `usage: eni-ipam-cli [--addr ADDR | --config FILE] COMMAND [--json] [--pod NS/NAME] [--eni ENI_ID]
       eni-ipam-cli [--addr ADDR | --config FILE] max-pods [--instance-type TYPE] [--mode MODE] [--json]
       eni-ipam-cli [--addr ADDR | --config FILE] support-bundle [--out FILE] [--since DURATION]
                    [--cni-conf-dir DIR] [--cni-bin-dir DIR]

commands:
  pods            pod allocations (namespace, name, container, ifname, IP, ENI)
  pool            pool statistics and per-ENI IPs by state
  mapping         cross-check pod DB, pool and cloud; exits 1 on a mismatch
  config          the daemon's configuration (credentials redacted), JSON
  max-pods        pods a node holds in the daemon's mode, for kubelet's --max-pods (prints the number;
                  --json: with the arithmetic). Without --instance-type: this node, from its daemon.
                  --instance-type TYPE: a node of that type, from DescribeInstanceTypes, asked with the
                  credentials of --config (access_key / credential_path) or else by the running daemon;
                  --mode: ENIMultiIP, VPCENI or VPCIP instead of eni_conf daemon_mode.
  support-bundle  one .tar.gz for a bug report: the daemon's redacted config, pool, pods, mapping,
                  metrics and recent logs (--since 1h: only the last hour), ip link/addr/rule/route/neigh,
                  rp_filter / forwarding sysctls, the CNI configs and plugin version, the pod DB schema.
                  Parts that fail (daemon down, no ip) are recorded as <file>.error inside it.
                  No credentials: never in the daemon's answers, and scrubbed again using --config.

ADDR: the daemon's metrics_listen: unix:/path, /path, host:port or :port.
Without --addr it is read from the eni_conf file given by --config (or env ENI_CONFIG);
the daemon has no default introspection listener.
`;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const COMMANDS = ['pods', 'pool', 'mapping', 'config', 'max-pods', 'support-bundle'] as const;
type Command = (typeof COMMANDS)[number];

async function resolveAddr(addr: string | undefined, configPath: string | undefined): Promise<ListenAddress> {
  if (addr) return parseAddr(addr);
  if (!configPath) throw new CliError('no daemon address: give --addr, or --config FILE (env ENI_CONFIG) whose metrics_listen is set');
  const { config } = await loadDaemonConfig(configPath);
  if (!config.metricsListen)
    throw new CliError(`${configPath}: metrics_listen is not set, so the daemon serves no introspection; set it or give --addr`);
  const a = config.metricsListen;
  return a.kind === 'tcp' && (a.host === '0.0.0.0' || a.host === '::') ? { ...a, host: '127.0.0.1' } : a;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let values: {
    addr?: string;
    config?: string;
    json?: boolean;
    pod?: string;
    eni?: string;
    help?: boolean;
    out?: string;
    since?: string;
    'cni-conf-dir'?: string;
    'cni-bin-dir'?: string;
    'instance-type'?: string;
    mode?: string;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        addr: { type: 'string', short: 'a' },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        pod: { type: 'string', short: 'p' },
        eni: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        out: { type: 'string', short: 'o' },
        since: { type: 'string' },
        'cni-conf-dir': { type: 'string' },
        'cni-bin-dir': { type: 'string' },
        'instance-type': { type: 'string', short: 't' },
        mode: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [cmd, ...extra] = positionals;
  if (!cmd || !(COMMANDS as readonly string[]).includes(cmd) || extra.length > 0) {
    io.err(`${cmd ? `unknown command ${JSON.stringify([cmd, ...extra].join(' '))}` : 'a command is required'}\n${USAGE}`);
    return 2;
  }
  const command = cmd as Command;
  if (command === 'support-bundle') return supportBundle(values, io);
  if (command === 'max-pods') return maxPods(values, io);
  try {
    const addr = await resolveAddr(values.addr, values.config ?? io.env['ENI_CONFIG']);
    const q = new URLSearchParams();
    if (values.pod && (command === 'pods' || command === 'mapping')) q.set('pod', values.pod);
    if (values.eni && command === 'pool') q.set('eni', values.eni);
    const path = `/v1/${command}${q.size > 0 ? `?${q.toString()}` : ''}`;
    const reply = await getJson(addr, path);
    if (reply.status !== 200) {
      const msg = (reply.body as { error?: string } | null)?.error ?? JSON.stringify(reply.body);
      io.err(`${path}: HTTP ${reply.status}: ${msg}\n`);
      return 2;
    }
    if (values.json || command === 'config') io.out(`${JSON.stringify(reply.body, null, 2)}\n`);
    else if (command === 'pods') io.out(formatPods(reply.body as { pods: PodView[] }));
    else if (command === 'pool') io.out(formatPool(reply.body as PoolView));
    else io.out(formatMapping(reply.body as MappingReport));
    return command === 'mapping' && !(reply.body as MappingReport).ok ? 1 : 0;
  } catch (e) {
    io.err(`eni-ipam-cli: ${(e as Error).message}\n`);
    return 2;
  }
}

async function maxPods(
  values: { addr?: string; config?: string; json?: boolean; 'instance-type'?: string; mode?: string },
  io: CliIo,
): Promise<number> {
  try {
    const mode = parseMode(values.mode);
    const instanceType = values['instance-type'];
    const configPath = values.config ?? io.env['ENI_CONFIG'];
    let view: CapacityView | undefined;
    if (instanceType && configPath && !values.addr) {
      const { config } = await loadDaemonConfig(configPath);
      if (hasCloudCredentials(config)) view = await capacityFromCloud(config, instanceType, mode);
    }
    if (!view) {
      if (mode && !instanceType) throw new CliError('--mode needs --instance-type (this node is counted in its own mode)');
      const path = capacityPath(instanceType, mode);
      const reply = await getJson(await resolveAddr(values.addr, configPath), path);
      if (reply.status !== 200) {
        io.err(`${path}: HTTP ${reply.status}: ${(reply.body as { error?: string } | null)?.error ?? JSON.stringify(reply.body)}\n`);
        return 2;
      }
      view = reply.body as CapacityView;
    }
    io.out(values.json ? `${JSON.stringify(view, null, 2)}\n` : `${view.pods}\n`);
    return 0;
  } catch (e) {
    io.err(`eni-ipam-cli: ${(e as Error).message}\n`);
    return 2;
  }
}

async function supportBundle(
  values: { addr?: string; config?: string; out?: string; since?: string; 'cni-conf-dir'?: string; 'cni-bin-dir'?: string },
  io: CliIo,
): Promise<number> {
  const configPath = values.config ?? io.env['ENI_CONFIG'];
  let addr: ListenAddress | undefined;
  let addrError: string | undefined;
  try {
    addr = await resolveAddr(values.addr, configPath);
  } catch (e) {
    addrError = (e as Error).message; // the node's half of the bundle is still worth having
  }
  try {
    const r = await writeSupportBundle({
      addr,
      addrError,
      configPath,
      since: values.since,
      out: values.out,
      cniConfDir: values['cni-conf-dir'] ?? '/etc/cni/net.d',
      cniBinDir: values['cni-bin-dir'] ?? '/opt/cni/bin',
    });
    const failed = r.files.filter((f) => !f.ok);
    for (const f of failed) io.err(`  ${f.file}: ${f.error}\n`);
    io.out(
      `${r.path} (${r.files.length - failed.length} files collected${failed.length ? `, ${failed.length} recorded as errors` : ''})\n`,
    );
    return 0;
  } catch (e) {
    io.err(`eni-ipam-cli: ${(e as Error).message}\n`);
    return 2;
  }
}
