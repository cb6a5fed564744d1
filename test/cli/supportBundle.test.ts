// eni-ipam-cli support-bundle against a real daemon process (daemon/main.ts on the mock cloud): every
// part is in the tarball (opened with the system's tar), the daemon's recent logs come from /v1/logs,
// no credential string appears anywhere in the archive, and a dead daemon or a missing file becomes an
// error file instead of a failed bundle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { startNodeDaemon, type NodeDaemon } from '../../sim/vpcsim/daemon.js';
import { ensurePlugin } from '../../sim/vpcsim/cni.js';
import { API_VERSION } from '../../proto/version.js';
import { runCli } from '../../cli/run.js';
import { connect, podMsg } from '../support/daemonClient.js';
import { tempDir } from '../support/tmp.js';

const NODE = 'i-mock-node-1';
const hasTar = spawnSync('tar', ['--version']).status === 0;
const sentinel = (tag: string): string => `${tag}${randomBytes(12).toString('hex')}`;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
  return { code, out, err };
}

/** Extracts with the system tar (what a maintainer does) and returns name -> content. */
function untar(file: string, into: string): Map<string, string> {
  mkdirSync(into, { recursive: true });
  const r = spawnSync('tar', ['-xzf', file, '-C', into], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf: ${r.stderr}`);
  const [root] = readdirSync(into);
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, readFileSync(p, 'utf8'));
    }
  };
  walk(join(into, root!), '');
  return out;
}

describe('eni-ipam-cli support-bundle', () => {
  const secrets = {
    configKeyId: sentinel('LTAIconf'),
    configSecret: sentinel('confSecret'),
    fileKeyId: sentinel('LTAIfile'),
    fileSecret: sentinel('fileSecret'),
    fileToken: sentinel('stsToken'),
  };
  let mock: MockCloudHandle;
  let daemon: NodeDaemon;
  let dir: string;
  let confDir: string;
  let binDir: string;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    mock = await startMockCloud({
      attachDelayMs: 10,
      world: {
        accessKeys: [
          { id: secrets.configKeyId, secret: secrets.configSecret },
          { id: secrets.fileKeyId, secret: secrets.fileSecret },
        ],
      },
    });
    dir = tempDir('eni-sb-');
    const credFile = join(dir, 'credential.json');
    writeFileSync(
      credFile,
      JSON.stringify({ AccessKeyId: secrets.fileKeyId, AccessKeySecret: secrets.fileSecret, SecurityToken: secrets.fileToken }),
    );
    daemon = await startNodeDaemon(
      {
        instanceId: NODE,
        label: 'sb',
        dir: join(dir, 'node'),
        mc: mock,
        driver: 'none',
        minPoolSize: 1,
        maxPoolSize: 3,
        extraConf: { access_key: secrets.configKeyId, access_secret: secrets.configSecret, credential_path: credFile },
      },
      { push: (_what, run) => stops.push(run) },
    );
    const client = connect(daemon.socketPath);
    await client.call('AllocIP', { pod: podMsg('sb-a'), api_version: API_VERSION }, 30_000);
    client.close();

    // The node's CNI dirs: the real plugin, its conflist, and a chained plugin config holding a secret.
    confDir = join(dir, 'net.d');
    binDir = join(dir, 'bin');
    mkdirSync(confDir);
    mkdirSync(binDir);
    copyFileSync(join(import.meta.dirname, '..', '..', 'cni', '10-terway.conflist'), join(confDir, '10-terway.conflist'));
    writeFileSync(join(confDir, '20-extra.conf'), JSON.stringify({ type: 'extra', apiKey: secrets.configSecret }));
    copyFileSync((await ensurePlugin()).path, join(binDir, 'terway'));
    spawnSync('chmod', ['+x', join(binDir, 'terway')]);
  });

  afterAll(async () => {
    for (const s of stops.reverse()) await s();
    await mock?.close();
  });

  const assertNoSecret = (tgz: string): void => {
    const gz = readFileSync(tgz);
    const raw = gunzipSync(gz);
    for (const [what, s] of Object.entries(secrets)) {
      expect(raw.includes(s), `${what} in the tarball`).toBe(false);
      expect(gz.includes(s), `${what} in the gzip bytes`).toBe(false);
    }
  };

  (hasTar ? it : it.skip)('with --config: every part, opened by tar; no credential anywhere in it', async () => {
    const out = join(dir, 'bundle-config.tar.gz');
    const configPath = join(dir, 'node', 'eni_conf.json');
    // The daemon's own eni_conf holds the credentials: the CLI reads it for the address and the scrub list.
    expect(readFileSync(configPath, 'utf8')).toContain(secrets.configSecret);
    const r = await cli([
      '--config',
      configPath,
      'support-bundle',
      '--out',
      out,
      '--since',
      '1h',
      '--cni-conf-dir',
      confDir,
      '--cni-bin-dir',
      binDir,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(out);
    assertNoSecret(out);

    const files = untar(out, join(dir, 'x1'));
    const manifest = JSON.parse(files.get('manifest.json')!) as { files: { file: string; ok: boolean; error?: string }[] };
    // Everything collected: nothing recorded as an error on a healthy node.
    expect(manifest.files.filter((f) => !f.ok)).toEqual([]);
    for (const f of [
      'daemon/config.json',
      'daemon/pool.json',
      'daemon/pods.json',
      'daemon/mapping.json',
      'daemon/metrics.txt',
      'daemon/healthz.txt',
      'daemon/logs.jsonl',
      'node/eni_conf.redacted.json',
      'node/ip-d-link.txt',
      'node/ip-addr.txt',
      'node/ip-rule.txt',
      'node/ip-6-rule.txt',
      'node/ip-route-table-all.txt',
      'node/ip-6-route-table-all.txt',
      'node/ip-neigh.txt',
      'node/ip-netns.txt',
      'node/sysctl.txt',
      'node/pod-db-schema.json',
      'cni/net.d/10-terway.conflist',
      'cni/net.d/20-extra.conf',
      'cni/plugin-version.txt',
    ])
      expect(files.has(f), f).toBe(true);

    const config = JSON.parse(files.get('daemon/config.json')!) as Record<string, unknown>;
    expect(config['accessKey']).toBe('<redacted>');
    expect(config['credentialPath']).toBe(join(dir, 'credential.json'));
    expect(JSON.parse(files.get('daemon/pods.json')!).pods.map((p: { name: string }) => p.name)).toEqual(['pod-sb-a']);
    expect(JSON.parse(files.get('daemon/mapping.json')!).ok).toBe(true);
    expect(files.get('daemon/metrics.txt')).toMatch(/^terway_rpc_latency_count\{rpc_api="AllocIP",error="false"\} 1$/m);
    expect(files.get('daemon/healthz.txt')!.trim()).toBe('ok');
    // The daemon's own log lines, from its ring (JSON, one per line).
    const logs = files
      .get('daemon/logs.jsonl')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toContain('daemon ready');
    expect(files.get('node/sysctl.txt')).toMatch(/^net\.ipv4\.ip_forward = [01]$/m);
    expect(files.get('node/sysctl.txt')).toMatch(/^net\.ipv4\.conf\.all\.rp_filter = \d$/m);
    expect(files.get('node/ip-d-link.txt')).toMatch(/^1: lo: /m);
    expect(JSON.parse(files.get('node/pod-db-schema.json')!)).toMatchObject({ schemaVersion: 3, thisBuildSchemaVersion: 3 });
    expect(files.get('cni/plugin-version.txt')).toMatch(/CNI plugin terway \(eni-ipam\)/);
    expect(files.get('cni/plugin-version.txt')).toMatch(/"supportedVersions"/);
    // The chained plugin's key was scrubbed by the CLI (the daemon never saw that file).
    expect(files.get('cni/net.d/20-extra.conf')).toContain('"apiKey":"<redacted>"');
    expect(JSON.parse(files.get('node/eni_conf.redacted.json')!)).toMatchObject({ accessKey: '<redacted>', accessSecret: '<redacted>' });
  });

  (hasTar ? it : it.skip)('with --addr only (no eni_conf to read secrets from): the daemon side still leaks none', async () => {
    const out = join(dir, 'bundle-addr.tar.gz');
    const r = await cli([
      '--addr',
      daemon.metricsSocket,
      'support-bundle',
      '--out',
      out,
      '--cni-conf-dir',
      confDir,
      '--cni-bin-dir',
      binDir,
    ]);
    expect(r.code, r.err).toBe(0);
    const files = untar(out, join(dir, 'x2'));
    expect(files.has('daemon/logs.jsonl')).toBe(true);
    // Without --config the CLI cannot know the chained plugin's key: only daemon-side redaction is tested here.
    const gz = gunzipSync(readFileSync(out)).toString('latin1');
    for (const s of [secrets.configKeyId, secrets.fileKeyId, secrets.fileSecret, secrets.fileToken]) expect(gz.includes(s)).toBe(false);
  });

  (hasTar ? it : it.skip)('daemon down, no CNI dir: those parts become .error files, the rest is collected, exit 0', async () => {
    const out = join(dir, 'bundle-down.tar.gz');
    const r = await cli([
      '--addr',
      join(dir, 'nobody-listens.sock'),
      'support-bundle',
      '--out',
      out,
      '--cni-conf-dir',
      join(dir, 'missing'),
      '--cni-bin-dir',
      join(dir, 'missing'),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/recorded as errors/);
    const files = untar(out, join(dir, 'x3'));
    expect(files.get('daemon/pool.json.error')).toMatch(/cannot reach the daemon/);
    expect(files.get('daemon/logs.jsonl.error')).toMatch(/cannot reach the daemon/);
    expect(files.get('cni/net.d.error')).toMatch(/ENOENT/);
    expect(files.get('cni/plugin-version.txt.error')).toMatch(/ENOENT/);
    expect(files.has('node/ip-rule.txt')).toBe(true);
    expect(files.has('node/sysctl.txt')).toBe(true);
    const manifest = JSON.parse(files.get('manifest.json')!) as { files: { file: string; ok: boolean }[] };
    expect(manifest.files.find((f) => f.file === 'daemon/pool.json.error')?.ok).toBe(false);
  });

  it('--since must be a Go duration', async () => {
    const r = await cli(['--addr', daemon.metricsSocket, 'support-bundle', '--out', join(dir, 'never.tar.gz'), '--since', 'yesterday']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--since yesterday/);
    expect(existsSync(join(dir, 'never.tar.gz'))).toBe(false);
  });
});
