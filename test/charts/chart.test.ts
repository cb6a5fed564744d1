// The Helm chart (charts/eni-ipam). Without a helm binary: structure, values, schema, the
// eni_conf/conflist the chart renders checked against the daemon's and the plugin's own parsers,
// and the two scripts the pods run, executed for real. With one (HELM_BIN, PATH, or
// test/charts/fetch-helm.sh): helm lint, helm template, and the rendered pod spec's install step
// replayed on a fake node.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../cni/build.js';
import { DEFAULT_SOCKET, parseNetConf } from '../../cni/spec.js';
import { DEFAULTS, isIgnoredTerwayKey, loadDaemonConfig, parseDaemonConfig } from '../../daemon/config/index.js';
import { HEALTH_PROTO_PATH, LOADER_OPTIONS } from '../../daemon/server/proto.js';
import { parseControlplaneConfig } from '../../controlplane/config.js';
import {
  CHART_DIR,
  REPO_ROOT,
  blockProblems,
  chartPaths,
  chartSetEniConfKeys,
  definedTemplates,
  emulateConflist,
  emulateControlplaneConfig,
  emulateEniConf,
  filesReferenced,
  hasPath,
  includedTemplates,
  isObject,
  loadYamlObject,
  mergeValues,
  readChartFile,
  templateFiles,
  valuesPaths,
  type Json,
  type JsonObject,
} from './chartSource.js';
import { findDoc, findHelm, helmTemplate, helmTemplateRaw, runHelm } from './helm.js';
import { unsupportedKeywords, validate } from './miniSchema.js';
import { tempDir } from '../support/tmp.js';

const values = loadYamlObject('values.yaml');
const chart = loadYamlObject('Chart.yaml');
const schema = JSON.parse(readChartFile('values.schema.json')) as JsonObject;
const helpers = readChartFile('templates/_helpers.tpl');
const templates = templateFiles();
const paths = chartPaths(helpers);
const INSTALL_SCRIPT = join(CHART_DIR, 'files', 'install-cni.cjs');
const HEALTH_SCRIPT = join(CHART_DIR, 'files', 'healthcheck.cjs');

/** The daemon's verdict on one eni_conf key: accepted, ignored (known Terway key it skips) or unknown. */
function daemonKeyVerdict(key: string): 'accepted' | 'ignored' | 'unknown' {
  // null reads as "unset" in the parser but still marks the key as seen: no value errors.
  const { warnings } = parseDaemonConfig({ [key]: null });
  const w = warnings.find((x) => x.startsWith(`eni_conf.${key}:`));
  if (w?.includes('unknown key')) return 'unknown';
  // A Terway key left unset (null) is silent, as when switched off: the table says whether it is implemented.
  return isIgnoredTerwayKey(key) ? 'ignored' : 'accepted';
}

type RunResult = { status: number | null; stdout: string; stderr: string };

/** Runs a node script asynchronously (the fake API server below lives in this process). */
function runScript(script: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => res({ status, stdout, stderr }));
  });
}

function runInstall(env: Record<string, string>): Promise<RunResult> {
  return runScript(INSTALL_SCRIPT, env);
}

/** A fake API server answering GET /api/v1/nodes/NAME from a table; records the requests. */
class FakeApiServer {
  readonly requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  private server?: Server;
  constructor(readonly nodes: Record<string, JsonObject>) {}
  private url?: string;
  /** Listens on a loopback port (once; later calls return the same URL). */
  async start(): Promise<string> {
    if (this.url) return this.url;
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      const m = /^\/api\/v1\/nodes\/([^/?]+)$/.exec(req.url ?? '');
      const node = m ? this.nodes[decodeURIComponent(m[1]!)] : undefined;
      if (req.headers.authorization !== 'Bearer sa-token' || !node) {
        res.writeHead(req.headers.authorization !== 'Bearer sa-token' ? 401 : 404, { 'content-type': 'application/json' });
        res.end('{"kind":"Status"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(node));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this.url;
  }
  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function serviceAccountDir(): string {
  const dir = tempDir('chart-sa-');
  writeFileSync(join(dir, 'token'), 'sa-token\n');
  return dir;
}

function runPlugin(plugin: string, command: string, stdin: string): { status: number | null; stdout: string; stderr: string } {
  // execFile of the plugin itself: its #! line must name a working interpreter.
  const r = spawnSync(plugin, [], {
    encoding: 'utf8',
    input: stdin,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_PATH: dirname(plugin) },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr ?? String(r.error) };
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listTree(p).map((x) => `${e.name}/${x}`));
    else out.push(e.name);
  }
  return out.sort();
}

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('chart files', () => {
  it('Chart.yaml is a Helm 3 (apiVersion v2) application chart whose appVersion is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('eni-ipam');
    expect(chart.type).toBe('application');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    // A string, not a YAML number: the image tag defaults to it.
    expect(chart.appVersion).toBe('0.1.0');
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('values.yaml has the documented defaults', () => {
    expect(values.daemonMode).toBe('ENIMultiIP');
    expect(values.priorityClassName).toBe('system-node-critical');
    expect(values.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(values.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(values.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    expect((values.image as JsonObject).repository).toBeTruthy();
    // The least the daemon needs (found by the install rehearsal); no privileged container.
    expect(values.privileged).toBe(false);
    expect(values.capabilities).toEqual(['NET_ADMIN', 'SYS_ADMIN']);
    const metrics = values.metrics as JsonObject;
    expect((metrics.service as JsonObject).enabled).toBe(false);
    expect((metrics.serviceMonitor as JsonObject).enabled).toBe(false);
    expect(metrics.grafanaDashboard).toEqual({ enabled: false, namespace: '', labels: { grafana_dashboard: '1' }, annotations: {} });
    expect((values.credentials as JsonObject).existingSecret).toBe('');
  });

  it('no tabs in templates, values, schema or scripts', () => {
    const files: [string, string][] = [
      ...templates,
      ['values.yaml', readChartFile('values.yaml')],
      ['Chart.yaml', readChartFile('Chart.yaml')],
      ['values.schema.json', readChartFile('values.schema.json')],
      ['files/install-cni.cjs', readChartFile('files/install-cni.cjs')],
      ['files/healthcheck.cjs', readChartFile('files/healthcheck.cjs')],
    ];
    const withTabs = files.filter(([, src]) => src.includes('\t')).map(([n]) => n);
    expect(withTabs).toEqual([]);
  });

  it('template blocks and delimiters balance', () => {
    const problems = [...templates].flatMap(([name, src]) => blockProblems(src).map((p) => `${name}: ${p}`));
    expect(problems).toEqual([]);
    // The checker itself catches what it is for.
    expect(blockProblems('{{ if .x }}a{{ if .y }}b{{ end }}')).toHaveLength(1);
    expect(blockProblems('{{ end }}')).toHaveLength(1);
    expect(blockProblems('{{ .x }')).toHaveLength(1);
  });

  it('every .Values path a template uses exists in values.yaml', () => {
    const missing: string[] = [];
    let count = 0;
    for (const [name, src] of templates) {
      for (const p of valuesPaths(src)) {
        count++;
        if (!hasPath(values, p)) missing.push(`${name}: .Values.${p.join('.')}`);
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(30);
    expect(hasPath(values, ['eniConf', 'no_such_key'])).toBe(false);
  });

  it('every included template is defined and every .Files.Get file exists', () => {
    const defined = definedTemplates(templates.values());
    const undefinedRefs: string[] = [];
    const missingFiles: string[] = [];
    for (const [name, src] of templates) {
      for (const t of includedTemplates(src)) if (!defined.has(t)) undefinedRefs.push(`${name}: ${t}`);
      for (const f of filesReferenced(src)) if (!existsSync(join(CHART_DIR, f))) missingFiles.push(`${name}: ${f}`);
    }
    expect(undefinedRefs).toEqual([]);
    expect(missingFiles).toEqual([]);
    expect([...templates.values()].flatMap(filesReferenced).sort()).toEqual([
      'files/grafana-dashboard.json',
      'files/healthcheck.cjs',
      'files/install-cni.cjs',
    ]);
  });

  it('the chart renders ConfigMap eni-config with keys eni_conf and 10-terway.conflist', () => {
    const cm = templates.get('templates/configmap.yaml')!;
    expect(paths.configMapName).toBe('eni-config');
    expect(cm).toMatch(/^ {2}eni_conf: \|$/m);
    expect(cm).toMatch(/^ {2}10-terway\.conflist: \|$/m);
    expect(cm).toContain('include "eni-ipam.eniConf"');
    expect(cm).toContain('include "eni-ipam.cniConflist"');
    expect(helpers).toMatch(/toPrettyJson \$conf/);
  });
});

describe('values.schema.json', () => {
  it('uses only keywords the local checker implements (helm applies the full spec)', () => {
    expect(unsupportedKeywords(schema)).toEqual([]);
  });

  it('accepts the default values and covers every top-level key', () => {
    expect(validate(values, schema, schema)).toEqual([]);
    expect(Object.keys(values).filter((k) => !(k in (schema.properties as JsonObject)))).toEqual([]);
  });

  it.each<[string, JsonObject, RegExp]>([
    ['an unknown daemonMode', { daemonMode: 'Overlay' }, /daemonMode/],
    ['a misspelt top-level key', { deamonMode: 'VPCENI' }, /additional property deamonMode/],
    ['a bad duration', { eniConf: { idle_ip_reclaim_after: '5x' } }, /idle_ip_reclaim_after/],
    ['a negative pool size', { eniConf: { max_pool_size: -1 } }, /max_pool_size/],
    ['eleven security groups', { eniConf: { security_groups: Array.from({ length: 11 }, (_, i) => `sg-${i}`) } }, /security_groups/],
    ['a relative credentialPath', { credentials: { credentialPath: 'etc/token' } }, /credentialPath/],
    ['a chained plugin without type', { cni: { chainedPlugins: [{ name: 'x' }] } }, /chainedPlugins/],
  ])('rejects %s', (_what, over, re) => {
    const errs = validate(mergeValues(values, over), schema, schema);
    expect(errs.join('\n')).toMatch(re);
  });
});

describe('rendered eni_conf and conflist against the daemon and the plugin', () => {
  it('every eniConf key in values.yaml and the schema, and every key the chart sets, is one the daemon implements', () => {
    const keys = new Set([
      ...Object.keys(values.eniConf as JsonObject),
      ...Object.keys(((schema.properties as JsonObject).eniConf as JsonObject).properties as JsonObject),
      ...chartSetEniConfKeys(helpers),
    ]);
    expect(chartSetEniConfKeys(helpers).sort()).toEqual([
      'credential_path',
      'daemon_mode',
      'db_path',
      'ipam_type',
      'log_level',
      'metrics_listen',
      'pending_del_dir',
      'proc_sys_path',
      'socket_path',
    ]);
    const notAccepted = [...keys].filter((k) => daemonKeyVerdict(k) !== 'accepted').map((k) => `${k}: ${daemonKeyVerdict(k)}`);
    expect(notAccepted).toEqual([]);
    // The probe tells the three verdicts apart.
    expect(daemonKeyVerdict('no_such_key')).toBe('unknown');
    expect(daemonKeyVerdict('enable_eni_trunking')).toBe('ignored');
  });

  it('the paths the chart fixes agree with the daemon, the plugin and the mounts', () => {
    expect(paths.socketPath).toBe(DEFAULTS.socketPath);
    expect(paths.socketPath).toBe(DEFAULT_SOCKET);
    expect(posix.dirname(paths.socketPath)).toBe(paths.socketDir);
    expect(posix.dirname(paths.dbPath)).toBe(paths.stateDir);
    // The plugin on the host writes pending-DEL records where the daemon reads them: on the state hostPath.
    expect(posix.dirname(paths.pendingDelDir)).toBe(paths.stateDir);
    expect(paths.pluginImagePath.startsWith(`${paths.appDir}/`)).toBe(true);
    // The scripts' defaults are the chart's paths.
    expect(readChartFile('files/healthcheck.cjs')).toContain(`'${paths.socketPath}'`);
    expect(readChartFile('files/install-cni.cjs')).toContain(`'${paths.pluginImagePath}'`);
  });

  it('the default eni_conf loads in the daemon without errors or warnings', () => {
    const conf = emulateEniConf(values, paths);
    const { config, warnings } = parseDaemonConfig(conf);
    expect(warnings).toEqual([]);
    expect(config.daemonMode).toBe('ENIMultiIP');
    expect(config.socketPath).toBe(paths.socketPath);
    expect(config.dbPath).toBe(paths.dbPath);
    expect(config.pendingDelDir).toBe(paths.pendingDelDir);
    expect(config.maxPoolSize).toBe(5);
    expect(config.idleIpReclaimIntervalMs).toBe(600_000);
    expect(config.mtu).toBe(1500);
    expect(config.metricsListen).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 9190 });
    // Empty defaults are left out, so the daemon's own defaults apply.
    expect(conf).not.toHaveProperty('region_id');
    expect(conf).not.toHaveProperty('vswitches');
    expect(conf).not.toHaveProperty('security_groups');
    expect(conf).toHaveProperty('min_pool_size', 0);
  });

  it('a filled-in eni_conf (VPCENI, vSwitches, credential file, IPv6 metrics bind) loads in the daemon', () => {
    const v = mergeValues(values, {
      daemonMode: 'VPCENI',
      logLevel: 'debug',
      eniConf: {
        region_id: 'cn-hangzhou',
        vswitches: { 'cn-hangzhou-h': ['vsw-a', 'vsw-b'], 'cn-hangzhou-i': ['vsw-c'] },
        security_groups: ['sg-1', 'sg-2'],
        service_cidr: '172.21.0.0/20',
        min_pool_size: 2,
        max_pool_size: 10,
        idle_ip_reclaim_after: '5m',
        eni_tags: { team: 'net' },
        rate_limit: { DescribeNetworkInterfaces: 800 },
        mtu: 9000,
        cloud_endpoint: 'ecs-vpc.cn-hangzhou.aliyuncs.com',
      },
      credentials: { credentialPath: '/var/addon/token-config' },
      metrics: { bindAddress: '::1', port: 9300 },
    });
    const { config, warnings } = parseDaemonConfig(emulateEniConf(v, paths));
    expect(warnings).toEqual([]);
    expect(config.daemonMode).toBe('VPCENI');
    expect(config.driver).toBe('rawEni');
    expect(config.vSwitches).toEqual({ 'cn-hangzhou-h': ['vsw-a', 'vsw-b'], 'cn-hangzhou-i': ['vsw-c'] });
    expect(config.credentialPath).toBe('/var/addon/token-config');
    expect(config.metricsListen).toEqual({ kind: 'tcp', host: '::1', port: 9300 });
    expect(config.idleIpReclaimAfterMs).toBe(300_000);
    expect(config.mtu).toBe(9000);
    expect(config.logLevel).toBe('debug');
  });

  it('centralizedIPAM: the daemon runs ipam_type crd with no credentials at all; the controller gets its own, and its config loads', () => {
    const v = mergeValues(values, {
      centralizedIPAM: true,
      eniConf: { region_id: 'cn-hangzhou' },
      credentials: { existingSecret: 'node-ak', credentialPath: '/var/addon/token-config' },
      controlplane: {
        vpcID: 'vpc-1',
        credentials: { accessKey: 'LTAIx', accessSecret: 'secret' },
        rateLimit: { AssignPrivateIpAddresses: 600 },
      },
    });
    expect(validate(v, schema, schema)).toEqual([]);
    const { config, warnings } = parseDaemonConfig(emulateEniConf(v, paths));
    expect(warnings).toEqual([]);
    expect(config.ipamType).toBe('crd');
    expect(config.credentialPath).toBeUndefined();
    expect(config.accessKey).toBeUndefined();
    // The daemon's Secret and credential file are mounted only through helpers that are empty with centralizedIPAM.
    const ds = templates.get('templates/daemonset.yaml')!;
    expect(ds).toContain('include "eni-ipam.daemonSecret"');
    expect(ds).toContain('include "eni-ipam.daemonCredentialPath"');
    expect(ds).not.toMatch(/\.Values\.credentials\./);
    expect(helpers).toMatch(/define "eni-ipam\.daemonSecret"[\s\S]*?if not \.Values\.centralizedIPAM/);
    expect(helpers).toMatch(/define "eni-ipam\.daemonCredentialPath"[\s\S]*?if not \.Values\.centralizedIPAM/);
    // The controller: a Deployment of 2 replicas on the host network, its Lease RBAC, its credentials from its own Secret.
    const cp = templates.get('templates/controlplane.yaml')!;
    expect(cp).toMatch(/^kind: Deployment$/m);
    expect(cp).toContain('hostNetwork: true');
    expect(cp).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    expect(cp).toMatch(/^kind: Secret$/m);
    expect((v.controlplane as JsonObject).replicas).toBe(2);
    const rbac = templates.get('templates/controlplane-rbac.yaml')!;
    expect(rbac).toContain('coordination.k8s.io');
    expect(rbac).toContain('nodes/status');
    expect(readChartFile('crds/nodes.network.alibabacloud.com.yaml')).toContain('status: {}');
    const cpConfig = parseControlplaneConfig(emulateControlplaneConfig(v, 'kube-system', 'eni-ipam-controlplane'), {
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIx',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret',
    });
    expect(cpConfig).toMatchObject({
      regionID: 'cn-hangzhou',
      vpcID: 'vpc-1',
      openAPIQPS: 20,
      leaseLockNamespace: 'kube-system',
      metricsBindAddress: ':9191',
      accessKey: 'LTAIx',
    });
    expect(cpConfig.rateLimit).toEqual({ AssignPrivateIpAddresses: 600 });
  });

  it("the conflist says CNI 1.0.0 (newer in cniVersions) and its terway entry passes the plugin's own config check", () => {
    const list = emulateConflist(values, paths);
    // Runtimes on libcni before 1.2 (containerd 1.6/1.7, podman 4) read only cniVersion and stop at 1.0.0.
    expect(list.cniVersion).toBe('1.0.0');
    expect(list.cniVersions).toEqual(['0.4.0', '1.0.0', '1.1.0']);
    const plugins = list.plugins as JsonObject[];
    expect(plugins).toHaveLength(1);
    expect(plugins[0]).toEqual({ type: 'terway', socket: paths.socketPath, pending_del_dir: paths.pendingDelDir, mtu: 1500 });
    // libcni hands each plugin its entry plus the list's name and the cniVersion it picked.
    for (const cniVersion of list.cniVersions as string[]) {
      const stdin = JSON.stringify({ ...plugins[0], name: list.name, cniVersion });
      const cmds = cniVersion === '1.1.0' ? (['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'] as const) : (['ADD', 'DEL', 'CHECK'] as const);
      for (const cmd of cmds) {
        const conf = parseNetConf(stdin, cmd);
        expect(conf.type).toBe('terway');
        expect(conf.socket).toBe(paths.socketPath);
      }
    }
    const tuned = emulateConflist(
      mergeValues(values, { cni: { timeoutSeconds: 30, delWaitSeconds: 3, logFile: '/var/log/eni-ipam-cni.log' } }),
      paths,
    );
    const conf = parseNetConf(JSON.stringify({ ...(tuned.plugins as JsonObject[])[0], name: 'terway', cniVersion: '1.1.0' }), 'ADD');
    expect(conf.timeoutSeconds).toBe(30);
    expect(conf.delWaitSeconds).toBe(3);
    expect(conf.pendingDelDir).toBe(paths.pendingDelDir);
    expect(conf.logFile).toBe('/var/log/eni-ipam-cni.log');
  });
});

describe('files/install-cni.cjs (the init container)', () => {
  let pluginBundle: string;
  beforeAll(async () => {
    const dir = tempDir('chart-plugin-');
    pluginBundle = await buildPlugin(join(dir, 'terway'));
  }, 60_000);

  function fakeNode(opts: { secret?: Record<string, string>; eniConf?: string } = {}) {
    const root = tempDir('chart-install-');
    const cm = join(root, 'etc/eni-config');
    mkdirSync(cm, { recursive: true });
    writeFileSync(join(cm, 'eni_conf'), opts.eniConf ?? JSON.stringify(emulateEniConf(values, paths), null, 2));
    writeFileSync(join(cm, '10-terway.conflist'), JSON.stringify(emulateConflist(values, paths), null, 2));
    let secretDir = '';
    if (opts.secret) {
      secretDir = join(root, 'etc/eni-secret');
      mkdirSync(secretDir, { recursive: true });
      for (const [k, v] of Object.entries(opts.secret)) writeFileSync(join(secretDir, k), v);
    }
    const host = join(root, 'host');
    const env: Record<string, string> = {
      ENI_CONF_SRC: join(cm, 'eni_conf'),
      ENI_CONF_DST: join(root, 'etc/eni/eni_conf'),
      SECRET_DIR: secretDir,
      CONFLIST_SRC: join(cm, '10-terway.conflist'),
      CONFLIST_DST: join(host, 'etc/cni/net.d/10-terway.conflist'),
      PLUGIN_SRC: pluginBundle,
      PLUGIN_DST: join(host, 'opt/cni/bin/terway'),
    };
    return { root, host, env };
  }

  it('merges the Secret into eni_conf (0600), installs the one-file plugin (0755) and the conflist; the plugin runs', async () => {
    const n = fakeNode({ secret: { access_key: 'LTAI-test-id\n', access_secret: 'test-secret\n' } });
    const r = await runInstall(n.env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('test-secret');

    expect(mode(n.env.ENI_CONF_DST!)).toBe(0o600);
    const loaded = await loadDaemonConfig(n.env.ENI_CONF_DST!);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.accessKey).toBe('LTAI-test-id');
    expect(loaded.config.accessSecret).toBe('test-secret');

    // Byte for byte: the image's plugin is one self-contained executable, nothing beside it.
    expect(readFileSync(n.env.PLUGIN_DST!).equals(readFileSync(pluginBundle))).toBe(true);
    expect(mode(n.env.PLUGIN_DST!)).toBe(0o755);
    expect(JSON.parse(readFileSync(n.env.CONFLIST_DST!, 'utf8'))).toEqual(emulateConflist(values, paths));
    expect(mode(n.env.CONFLIST_DST!)).toBe(0o644);
    // Only the targets: no temp files left behind.
    expect(listTree(n.host)).toEqual(['etc/cni/net.d/10-terway.conflist', 'opt/cni/bin/terway']);

    const v = runPlugin(n.env.PLUGIN_DST!, 'VERSION', '{"cniVersion":"1.1.0"}');
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    expect((JSON.parse(v.stdout) as { supportedVersions: string[] }).supportedVersions).toContain('1.1.0');
  }, 60_000);

  it('is idempotent and replaces a plugin in place by rename (a running copy keeps its inode)', async () => {
    const n = fakeNode();
    expect((await runInstall(n.env)).status).toBe(0);
    const before = statSync(n.env.PLUGIN_DST!).ino;
    const r = await runInstall(n.env);
    expect(r.status).toBe(0);
    expect(statSync(n.env.PLUGIN_DST!).ino).not.toBe(before);
    expect(listTree(n.host)).toEqual(['etc/cni/net.d/10-terway.conflist', 'opt/cni/bin/terway']);
  });

  it('without a Secret no access key is written', async () => {
    const n = fakeNode();
    const r = await runInstall(n.env);
    expect(r.status).toBe(0);
    const conf = JSON.parse(readFileSync(n.env.ENI_CONF_DST!, 'utf8')) as JsonObject;
    expect(conf).not.toHaveProperty('access_key');
    expect(conf).toEqual(emulateEniConf(values, paths));
  });

  it('fails before touching the node when eni_conf is not JSON', async () => {
    const n = fakeNode({ eniConf: '{"max_pool_size": 5,' });
    const r = await runInstall(n.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/eni_conf is not valid JSON/);
    expect(existsSync(n.host)).toBe(false);
  });

  it('fails when the Secret holds only one of access_key / access_secret', async () => {
    const n = fakeNode({ secret: { access_key: 'LTAI-only' } });
    const r = await runInstall(n.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/both access_key and access_secret/);
    expect(existsSync(n.env.CONFLIST_DST!)).toBe(false);
  });
});

describe('files/install-cni.cjs in VPCIP mode: the node pod CIDR', () => {
  const api = new FakeApiServer({
    'node-a': { kind: 'Node', spec: { podCIDR: '172.20.1.0/24', podCIDRs: ['172.20.1.0/24', 'fd00:1::/64'] } },
    'node-v6-first': { kind: 'Node', spec: { podCIDRs: ['fd00:2::/64', '172.20.2.0/24'] } },
    'node-old': { kind: 'Node', spec: { podCIDR: '172.20.3.0/24' } },
    'node-none': { kind: 'Node', spec: {} },
  });
  let url: string;
  let sa: string;
  beforeAll(async () => {
    url = await api.start();
    sa = serviceAccountDir();
  });
  afterAll(() => api.stop());

  function vpcipNode(extra: JsonObject = {}) {
    const root = tempDir('chart-vpcip-');
    const conf = { ...emulateEniConf(mergeValues(values, { daemonMode: 'VPCIP' }), paths), ...extra };
    writeFileSync(join(root, 'eni_conf'), JSON.stringify(conf));
    writeFileSync(join(root, 'conflist'), JSON.stringify(emulateConflist(values, paths)));
    writeFileSync(join(root, 'plugin'), '#!/usr/bin/env node\n');
    const env = {
      ENI_CONF_SRC: join(root, 'eni_conf'),
      ENI_CONF_DST: join(root, 'out/eni_conf'),
      CONFLIST_SRC: join(root, 'conflist'),
      CONFLIST_DST: join(root, 'host/10-terway.conflist'),
      PLUGIN_SRC: join(root, 'plugin'),
      PLUGIN_DST: join(root, 'host/terway'),
      KUBE_API_URL: url,
      SERVICE_ACCOUNT_DIR: sa,
    };
    return { root, env };
  }

  it.each([
    ['node-a', '172.20.1.0/24'],
    ['node-v6-first', '172.20.2.0/24'],
    ['node-old', '172.20.3.0/24'],
  ])("writes %s's IPv4 pod CIDR into eni_conf, and the daemon accepts it", async (nodeName, cidr) => {
    const n = vpcipNode();
    const r = await runInstall({ ...n.env, NODE_NAME: nodeName });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const last = api.requests.at(-1)!;
    expect(last.url).toBe(`/api/v1/nodes/${nodeName}`);
    expect(last.headers.authorization).toBe('Bearer sa-token');
    const loaded = await loadDaemonConfig(n.env.ENI_CONF_DST);
    expect(loaded.config.daemonMode).toBe('VPCIP');
    expect(JSON.parse(readFileSync(n.env.ENI_CONF_DST, 'utf8'))).toHaveProperty('pod_cidr', cidr);
  });

  it('keeps a pod_cidr eni_conf already has, without asking the API server', async () => {
    const n = vpcipNode({ pod_cidr: '10.99.0.0/24' });
    const before = api.requests.length;
    const r = await runInstall(n.env); // no NODE_NAME: it must not need one
    expect(r.status).toBe(0);
    expect(api.requests.length).toBe(before);
    expect(JSON.parse(readFileSync(n.env.ENI_CONF_DST, 'utf8'))).toHaveProperty('pod_cidr', '10.99.0.0/24');
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a node without a pod CIDR', { NODE_NAME: 'node-none' }, /has no IPv4 pod CIDR.*allocate-node-cidrs/],
    ['an unknown node', { NODE_NAME: 'node-x' }, /HTTP 404/],
    ['no NODE_NAME', {}, /NODE_NAME is not set/],
    ['a rejected token', { NODE_NAME: 'node-a', SERVICE_ACCOUNT_DIR: '' }, /token|HTTP 401/],
  ])('fails on %s and installs nothing on the node', async (_what, env, re) => {
    const n = vpcipNode();
    const badSa = tempDir('chart-sa-bad-');
    writeFileSync(join(badSa, 'token'), 'wrong');
    const r = await runInstall({ ...n.env, ...env, ...(env.SERVICE_ACCOUNT_DIR === '' ? { SERVICE_ACCOUNT_DIR: badSa } : {}) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(re);
    expect(existsSync(join(n.root, 'host'))).toBe(false);
  });
});

describe('files/healthcheck.cjs (the probes)', () => {
  let server: grpc.Server;
  let socket: string;
  let status: string = 'SERVING';
  let respond = true;
  const seen: string[] = [];

  beforeAll(async () => {
    const dir = tempDir('chart-health-');
    socket = join(dir, 'eni.socket');
    const def = protoLoader.loadSync(HEALTH_PROTO_PATH, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    server = new grpc.Server();
    server.addService(pkg.grpc.health.v1.Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<{ status: string }>) => {
        seen.push(call.request.service);
        if (respond) cb(null, { status });
        // else: never answer, so the probe's deadline fires
      },
      Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    });
    await new Promise<void>((res, rej) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
    );
  });
  afterAll(() => server?.forceShutdown());

  function probe(env: Record<string, string> = {}, script = HEALTH_SCRIPT): Promise<{ code: number | null; stdout: string }> {
    return new Promise((res) => {
      const child = spawn(process.execPath, [script], {
        env: { PATH: process.env.PATH ?? '', ENI_SOCKET: socket, ...env },
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => res({ code, stdout }));
    });
  }

  it('exits 0 when the daemon answers SERVING', async () => {
    status = 'SERVING';
    respond = true;
    const r = await probe();
    expect(r.stdout.trim()).toBe('SERVING');
    expect(r.code).toBe(0);
    expect(seen.at(-1)).toBe('');
  });

  it('exits 1 on NOT_SERVING and on SERVICE_UNKNOWN, and sends the service name it is given', async () => {
    respond = true;
    status = 'NOT_SERVING';
    const r = await probe();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT_SERVING/);
    status = 'SERVICE_UNKNOWN';
    const s = await probe({ ENI_HEALTH_SERVICE: 'eniipam.v1.EniBackend' });
    expect(s.code).toBe(1);
    expect(seen.at(-1)).toBe('eniipam.v1.EniBackend');
  });

  it('exits 1 when there is no daemon, and when it does not answer in time', async () => {
    const gone = await probe({ ENI_SOCKET: join(dirname(socket), 'absent.socket') });
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/unhealthy/);
    respond = false;
    const slow = await probe({ ENI_HEALTH_TIMEOUT_MS: '300' });
    expect(slow.code).toBe(1);
    expect(slow.stdout).toMatch(/timed out/);
    respond = true;
  });

  it('needs nothing but node (run from a folder with no node_modules anywhere above it)', async () => {
    const dir = tempDir('probe-alone-');
    status = 'SERVING';
    copyFileSync(HEALTH_SCRIPT, join(dir, 'healthcheck.cjs'));
    const r = await probe({}, join(dir, 'healthcheck.cjs'));
    expect(r.stdout).toBe('SERVING\n');
    expect(r.code).toBe(0);
  });
});

const helm = findHelm();
if (!helm) {
  console.warn('test/charts: no helm binary (HELM_BIN, PATH, or run test/charts/fetch-helm.sh): skipping helm lint/template checks');
}

describe.skipIf(!helm)('helm lint and helm template', () => {
  const h = helm!;
  let docs: JsonObject[];
  beforeAll(() => {
    docs = helmTemplate(h);
  }, 60_000);

  const podSpec = (d: JsonObject[]): JsonObject => ((findDoc(d, 'DaemonSet').spec as JsonObject).template as JsonObject).spec as JsonObject;
  const container = (spec: JsonObject, name: string, init = false): JsonObject =>
    ((init ? spec.initContainers : spec.containers) as JsonObject[]).find((c) => c.name === name)!;
  const envOf = (c: JsonObject): Record<string, string> =>
    Object.fromEntries(
      ((c.env as JsonObject[]) ?? []).filter((e) => typeof e.value === 'string').map((e) => [e.name as string, e.value as string]),
    );
  const configMapData = (d: JsonObject[], name: string): Record<string, string> =>
    findDoc(d, 'ConfigMap', name).data as Record<string, string>;

  it('helm lint --strict passes', () => {
    const r = runHelm(h, ['lint', '--strict', CHART_DIR]);
    expect(r.stderr + r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(r.status).toBe(0);
  });

  it('renders ServiceAccount, ClusterRole(+Binding), Role(+Binding), two ConfigMaps and the DaemonSet; no Service by default', () => {
    expect(docs.map((d) => `${d.kind}/${(d.metadata as JsonObject).name}`).sort()).toEqual([
      'ClusterRole/eni-ipam',
      'ClusterRoleBinding/eni-ipam',
      'ConfigMap/eni-config',
      'ConfigMap/eni-ipam-scripts',
      'DaemonSet/eni-ipam',
      'Role/eni-ipam',
      'RoleBinding/eni-ipam',
      'ServiceAccount/eni-ipam',
    ]);
    const rulesOf = (kind: string) =>
      (findDoc(docs, kind).rules as JsonObject[]).map((r) => `${(r.resources as string[]).join(',')}:${(r.verbs as string[]).join(',')}`);
    expect(rulesOf('ClusterRole')).toEqual(['pods:get,list,watch', 'nodes:get,patch', 'nodes/status:patch', 'events:create,patch']);
    // terway-config ConfigMaps: read, in the daemon's namespace only
    expect(rulesOf('Role')).toEqual(['configmaps:get']);
    expect((findDoc(docs, 'Role').metadata as JsonObject).namespace).toBe((findDoc(docs, 'RoleBinding').metadata as JsonObject).namespace);
  });

  it('helm renders exactly the eni_conf and conflist the emulation predicts, for defaults and overrides', () => {
    const overrides: JsonObject[] = [
      {},
      {
        daemonMode: 'VPCENI',
        eniConf: {
          vswitches: { z1: ['vsw-1'] },
          security_groups: ['sg-1'],
          idle_ip_reclaim_after: '1m',
          mtu: 1450,
          eni_tags: { a: 'b' },
          max_eni: 3,
        },
        credentials: { credentialPath: '/var/addon/token-config' },
        metrics: { enabled: false },
        cni: { timeoutSeconds: 20, chainedPlugins: [{ type: 'portmap', capabilities: { portMappings: true } }] },
      },
    ];
    for (const over of overrides) {
      const d = over === overrides[0] ? docs : helmTemplate(h, over);
      const data = configMapData(d, 'eni-config');
      const v = mergeValues(values, over);
      const eniConf = JSON.parse(data.eni_conf!) as JsonObject;
      expect(eniConf).toEqual(emulateEniConf(v, paths));
      expect(parseDaemonConfig(eniConf).warnings).toEqual([]);
      expect(JSON.parse(data['10-terway.conflist']!)).toEqual(emulateConflist(v, paths));
    }
  }, 60_000);

  it('the DaemonSet has the host network, priority, tolerations, update strategy, capabilities and NODE_NAME', () => {
    const ds = findDoc(docs, 'DaemonSet');
    const spec = podSpec(docs);
    expect(spec.hostNetwork).toBe(true);
    // /proc/<host pid>/ns/net netns paths resolve only in the host PID namespace.
    expect(spec.hostPID).toBe(true);
    // Cluster DNS runs in pods that need this daemon first.
    expect(spec.dnsPolicy).toBe('Default');
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect((ds.spec as JsonObject).updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    const daemon = container(spec, 'daemon');
    expect(daemon.command).toEqual(['node', `${paths.appDir}/dist/daemon/main.js`, '--config', '/etc/eni/eni_conf']);
    // Least privilege (found by the install rehearsal): not privileged, all capabilities dropped but two,
    // read-only root; the init container needs none at all.
    const sc = daemon.securityContext as JsonObject;
    expect(sc.privileged).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect((sc.capabilities as JsonObject).drop).toEqual(['ALL']);
    expect((sc.capabilities as JsonObject).add).toEqual(['NET_ADMIN', 'SYS_ADMIN']);
    const initSc = container(spec, 'install-cni', true).securityContext as JsonObject;
    expect(initSc.readOnlyRootFilesystem).toBe(true);
    expect((initSc.capabilities as JsonObject).drop).toEqual(['ALL']);
    expect((initSc.capabilities as JsonObject).add).toBeUndefined();
    const nodeName = (daemon.env as JsonObject[]).find((e) => e.name === 'NODE_NAME')!;
    expect(nodeName.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(daemon.image).toBe('eni-ipam:0.1.0');
    // The checksum annotations roll the pods when the config changes.
    const annotations = ((ds.spec as JsonObject).template as JsonObject).metadata as JsonObject;
    expect(Object.keys(annotations.annotations as JsonObject)).toEqual(expect.arrayContaining(['checksum/config', 'checksum/scripts']));
  });

  it('every mount names a volume; socket, DB, CNI dirs and netns are the right hostPaths; probes run the shipped script', () => {
    const spec = podSpec(docs);
    const volumes = new Map((spec.volumes as JsonObject[]).map((v) => [v.name as string, v]));
    const daemon = container(spec, 'daemon');
    const init = container(spec, 'install-cni', true);
    const mounts = (c: JsonObject): JsonObject[] => c.volumeMounts as JsonObject[];
    for (const c of [daemon, init]) for (const m of mounts(c)) expect(volumes.has(m.name as string), `${c.name}: ${m.name}`).toBe(true);
    const hostPathAt = (c: JsonObject, dir: string): string | undefined => {
      const m = mounts(c).find((x) => x.mountPath === dir);
      const v = m && volumes.get(m.name as string);
      return v && isObject(v.hostPath) ? ((v.hostPath as JsonObject).path as string) : undefined;
    };
    expect(hostPathAt(daemon, paths.socketDir)).toBe(paths.socketDir);
    expect(hostPathAt(daemon, paths.stateDir)).toBe(paths.stateDir);
    expect(hostPathAt(daemon, '/var/run/netns')).toBe('/var/run/netns');
    expect(mounts(daemon).find((m) => m.mountPath === '/var/run/netns')!.mountPropagation).toBe('HostToContainer');
    // The daemon's config dir is the emptyDir the init container writes.
    const confMount = mounts(daemon).find((m) => m.mountPath === '/etc/eni')!;
    expect(volumes.get(confMount.name as string)!.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
    expect(mounts(init).find((m) => m.mountPath === '/etc/eni')!.name).toBe(confMount.name);
    // The init container writes where the host's CNI dirs are mounted.
    const env = envOf(init);
    expect(hostPathAt(init, posix.dirname(env.CONFLIST_DST!))).toBe('/etc/cni/net.d');
    expect(hostPathAt(init, posix.dirname(env.PLUGIN_DST!))).toBe('/opt/cni/bin');
    // Sysctls go through the host's /proc/sys/net, mounted where eni_conf's proc_sys_path points.
    expect(hostPathAt(daemon, `${paths.procSysPath}/net`)).toBe('/proc/sys/net');
    expect(env.PLUGIN_SRC).toBe(paths.pluginImagePath);
    // Both scripts come from the scripts ConfigMap, mounted where the commands look.
    const scripts = configMapData(docs, 'eni-ipam-scripts');
    expect(scripts['install-cni.cjs']).toBe(readChartFile('files/install-cni.cjs'));
    expect(scripts['healthcheck.cjs']).toBe(readChartFile('files/healthcheck.cjs'));
    const scriptMount = (c: JsonObject, file: string): void => {
      const m = mounts(c).find((x) => x.mountPath === posix.dirname(file))!;
      expect(volumes.get(m.name as string)!.configMap).toEqual({ name: 'eni-ipam-scripts' });
      expect(scripts).toHaveProperty(posix.basename(file));
    };
    scriptMount(init, (init.command as string[])[1]!);
    for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const cmd = ((daemon[p] as JsonObject).exec as JsonObject).command as string[];
      expect(cmd[0]).toBe('node');
      scriptMount(daemon, cmd[1]!);
    }
  });

  it('credentials: the Secret is mounted only into the init container; the credential file dir is mounted read-only', () => {
    const d = helmTemplate(h, { credentials: { existingSecret: 'eni-ipam-ak', credentialPath: '/var/addon/token-config' } });
    const spec = podSpec(d);
    const secretVol = (spec.volumes as JsonObject[]).find((v) => isObject(v.secret))!;
    expect((secretVol.secret as JsonObject).secretName).toBe('eni-ipam-ak');
    const init = container(spec, 'install-cni', true);
    const daemon = container(spec, 'daemon');
    const secretMount = (init.volumeMounts as JsonObject[]).find((m) => m.name === secretVol.name)!;
    expect(envOf(init).SECRET_DIR).toBe(secretMount.mountPath);
    expect((daemon.volumeMounts as JsonObject[]).some((m) => m.name === secretVol.name)).toBe(false);
    const credMount = (daemon.volumeMounts as JsonObject[]).find((m) => m.mountPath === '/var/addon')!;
    expect(credMount.readOnly).toBe(true);
    const credVol = (spec.volumes as JsonObject[]).find((v) => v.name === credMount.name)!;
    expect(credVol.hostPath).toEqual({ path: '/var/addon', type: 'Directory' });
    expect(JSON.stringify(configMapData(d, 'eni-config'))).not.toMatch(/access_(key|secret)/);
  }, 30_000);

  it('metrics Service and ServiceMonitor only when asked for', () => {
    const d = helmTemplate(h, { metrics: { service: { enabled: true }, serviceMonitor: { enabled: true } } });
    const svc = findDoc(d, 'Service');
    expect((svc.spec as JsonObject).clusterIP).toBe('None');
    expect(((svc.spec as JsonObject).ports as JsonObject[])[0]).toMatchObject({ name: 'metrics', port: 9190, targetPort: 'metrics' });
    const sm = findDoc(d, 'ServiceMonitor');
    expect(((sm.spec as JsonObject).endpoints as JsonObject[])[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    const off = helmTemplate(h, { metrics: { enabled: false, serviceMonitor: { enabled: true } } });
    expect(off.some((x) => x.kind === 'Service' || x.kind === 'ServiceMonitor')).toBe(false);
    expect(container(podSpec(off), 'daemon').ports).toBeUndefined();
  }, 30_000);

  it('the Grafana dashboard ConfigMap only when asked for: the sidecar label and the dashboard file as is', () => {
    expect(docs.some((x) => (x.metadata as JsonObject | undefined)?.name === 'eni-ipam-grafana-dashboard')).toBe(false);
    const d = helmTemplate(h, { metrics: { grafanaDashboard: { enabled: true, namespace: 'monitoring' } } });
    const cm = findDoc(d, 'ConfigMap', 'eni-ipam-grafana-dashboard');
    const meta = cm.metadata as JsonObject;
    expect(meta.namespace).toBe('monitoring');
    expect((meta.labels as JsonObject).grafana_dashboard).toBe('1');
    const json = (cm.data as JsonObject)['eni-ipam.json'] as string;
    expect(JSON.parse(json)).toEqual(JSON.parse(readChartFile('files/grafana-dashboard.json')));
  }, 30_000);

  it.each<[string, JsonObject, RegExp]>([
    ['an unknown daemonMode (schema)', { daemonMode: 'Overlay' }, /daemonMode/],
    ['a chart-owned key in eniConf', { eniConf: { socket_path: '/tmp/x.sock' } }, /eniConf\.socket_path is set by the chart/],
    ['an access key in eniConf', { eniConf: { access_key: 'LTAI' } }, /use credentials\.existingSecret/],
    ['a misspelt value (schema)', { deamonMode: 'VPCENI' }, /deamonMode/],
  ])(
    'helm template refuses %s',
    (_what, over, re) => {
      const r = helmTemplateRaw(h, over);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(re);
    },
    30_000,
  );

  const api = new FakeApiServer({ 'node-1': { kind: 'Node', spec: { podCIDRs: ['172.20.7.0/24'] } } });
  afterAll(() => api.stop());

  it.each<[string, JsonObject]>([
    ['ENIMultiIP with a credentials Secret', { credentials: { existingSecret: 'ak' } }],
    ['VPCIP (pod CIDR from the Node object)', { daemonMode: 'VPCIP' }],
  ])(
    'replays the rendered init container on a fake node (%s): the daemon loads what it wrote, the plugin runs',
    async (_what, over) => {
      const d = helmTemplate(h, over);
      const spec = podSpec(d);
      const init = container(spec, 'install-cni', true);
      const root = tempDir('chart-replay-');
      const hostRoot = join(root, 'host');
      const imageRoot = join(root, 'image');
      // The image: the plugin bundle where the chart expects it.
      await buildPlugin(join(imageRoot, paths.pluginImagePath));
      // Container paths resolve through the rendered mounts to stand-ins for each volume.
      const volumes = new Map((spec.volumes as JsonObject[]).map((v) => [v.name as string, v]));
      const mountDirs: [string, string][] = [];
      for (const m of init.volumeMounts as JsonObject[]) {
        const v = volumes.get(m.name as string)!;
        let dir: string;
        if (isObject(v.hostPath)) dir = join(hostRoot, (v.hostPath as JsonObject).path as string);
        else dir = join(root, 'volumes', m.name as string);
        mkdirSync(dir, { recursive: true });
        if (isObject(v.configMap)) {
          const data = configMapData(d, (v.configMap as JsonObject).name as string);
          for (const [k, text] of Object.entries(data)) writeFileSync(join(dir, k), text);
        }
        if (isObject(v.secret)) {
          writeFileSync(join(dir, 'access_key'), 'LTAI-replay');
          writeFileSync(join(dir, 'access_secret'), 'replay-secret');
        }
        mountDirs.push([m.mountPath as string, dir]);
      }
      mountDirs.sort((a, b) => b[0].length - a[0].length);
      const resolve = (p: string): string => {
        const hit = mountDirs.find(([mp]) => p === mp || p.startsWith(`${mp}/`));
        return hit ? hit[1] + p.slice(hit[0].length) : join(imageRoot, p);
      };
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(envOf(init))) {
        env[k] = v.startsWith('/') ? resolve(v) : v;
      }
      // What kubelet would supply: the downward-API node name and the pod's service account.
      const nodeNameEnv = (init.env as JsonObject[]).find((e) => e.name === 'NODE_NAME')!;
      expect(nodeNameEnv.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
      env.NODE_NAME = 'node-1';
      env.KUBE_API_URL = await api.start();
      env.SERVICE_ACCOUNT_DIR = serviceAccountDir();
      expect(init.command).toEqual(['node', expect.stringMatching(/install-cni\.cjs$/)]);
      const script = resolve((init.command as string[])[1]!);
      const r = await runScript(script, env);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);

      // What the daemon container will read: its --config path through its own mounts.
      const daemon = container(spec, 'daemon');
      const configArg = (daemon.command as string[])[3]!;
      const confMount = (daemon.volumeMounts as JsonObject[]).find((m) => configArg.startsWith(`${m.mountPath as string}/`))!;
      const written = join(root, 'volumes', confMount.name as string, configArg.slice((confMount.mountPath as string).length));
      const loaded = await loadDaemonConfig(written);
      expect(loaded.warnings).toEqual([]);
      expect(loaded.config.socketPath).toBe(paths.socketPath);
      if (over.daemonMode === 'VPCIP') {
        expect(loaded.config.daemonMode).toBe('VPCIP');
        expect(JSON.parse(readFileSync(written, 'utf8'))).toHaveProperty('pod_cidr', '172.20.7.0/24');
      } else {
        expect(loaded.config.accessKey).toBe('LTAI-replay');
      }

      const conflist = JSON.parse(readFileSync(join(hostRoot, 'etc/cni/net.d/10-terway.conflist'), 'utf8')) as { plugins: Json[] };
      expect(conflist.plugins).toHaveLength(1);
      const v = runPlugin(join(hostRoot, 'opt/cni/bin/terway'), 'VERSION', '{"cniVersion":"1.1.0"}');
      expect(v.stderr).toBe('');
      expect(v.status).toBe(0);
      expect(v.stdout).toContain('supportedVersions');
    },
    60_000,
  );
});
