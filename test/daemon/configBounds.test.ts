// Every eni_conf duration and number has a range (daemon/config/ranges.ts): nothing above what a timer holds,
// no 1e300, no config of defaults from a malformed wrapper, no stack overflow on a deeply nested file.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatDuration, loadDaemonConfig, parseDaemonConfig } from '../../daemon/config/index.js';
import { CLOUD_APIS } from '../../daemon/config/cloudKeys.js';
import { DURATION_RANGES, INT_RANGES, MAX_CONFIG_BYTES, MAX_TIMER_MS } from '../../daemon/config/ranges.js';
import { tempDir } from '../support/tmp.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function issues(raw: unknown): ConfigError {
  try {
    parseDaemonConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(raw).slice(0, 200)}`);
}

describe('durations', () => {
  it('no range reaches past a timer', () => {
    for (const [key, [, max]] of Object.entries(DURATION_RANGES)) expect(max, key).toBeLessThanOrEqual(MAX_TIMER_MS);
  });

  it.each(Object.entries(DURATION_RANGES))(
    '%s: its maximum is taken, a millisecond more and "720h" are refused naming the key',
    (key, [min, max]) => {
      expect(parseDaemonConfig({ [key]: formatDuration(max) }).config).toBeDefined();
      if (min > 0) expect(parseDaemonConfig({ [key]: formatDuration(min) }).config).toBeDefined();
      for (const v of [`${max + 1}ms`, '720h', '99999999999999999999h']) {
        const e = issues({ [key]: v });
        expect(e.issues.map((i) => i.key)).toEqual([key]);
        expect(e.message).toContain(`up to ${formatDuration(max)}`);
      }
      if (min > 0) expect(issues({ [key]: `${min / 2}ms` }).issues[0]!.key).toBe(key);
    },
  );

  it('gc_interval "720h" is refused at load, not turned into a ~1 ms timer', () => {
    expect(issues({ gc_interval: '720h' }).message).toBe(
      'config error: eni_conf.gc_interval: must be a positive duration like "30s", "10m" or "1h30m", from 1s up to 24h (got "720h")',
    );
  });

  it('backoff_override durations stop at 24h too', () => {
    expect(issues({ backoff_override: { eni_ops: { cap: '720h' } } }).issues[0]!.key).toBe('backoff_override.eni_ops.cap');
    expect(issues({ backoff_override: { eni_ops: { duration: 1e30 } } }).issues[0]!.key).toBe('backoff_override.eni_ops.duration');
    expect(
      parseDaemonConfig({ backoff_override: { eni_ops: { cap: '24h', duration: 86_400e9 } } }).config.backoffOverride.eni_ops,
    ).toMatchObject({
      capMs: 86_400_000,
      durationMs: 86_400_000,
    });
  });
});

describe('numbers', () => {
  it.each(Object.entries(INT_RANGES))('%s: its range is taken, 1e300 and one past the maximum are refused', (key, [min, max]) => {
    const base = key === 'max_pool_size' ? { min_pool_size: 0 } : {};
    expect(parseDaemonConfig({ ...base, [key]: max }).config).toBeDefined();
    expect(parseDaemonConfig({ ...base, [key]: min }).config).toBeDefined();
    for (const v of [1e300, max + 1, Number.MAX_SAFE_INTEGER]) {
      const e = issues({ ...base, [key]: v });
      expect(e.issues.map((i) => i.key)).toEqual([key]);
      expect(e.message).toContain(`${max}`);
    }
  });

  it('QPS, jitter, per-API limits and backoff numbers refuse 1e300', () => {
    expect(issues({ kube_client_qps: 1e300 }).issues[0]!.key).toBe('kube_client_qps');
    expect(issues({ idle_ip_reclaim_jitter_factor: 1e300 }).issues[0]!.key).toBe('idle_ip_reclaim_jitter_factor');
    expect(issues({ rate_limit: { DescribeNetworkInterfaces: 1e300 } }).issues[0]!.key).toBe('rate_limit.DescribeNetworkInterfaces');
    expect(issues({ backoff_override: { eni_ops: { factor: 1e300 } } }).issues[0]!.key).toBe('backoff_override.eni_ops.factor');
    expect(issues({ backoff_override: { eni_ops: { steps: 1e300 } } }).issues[0]!.key).toBe('backoff_override.eni_ops.steps');
    expect(issues({ backoff_override: { eni_ops: { jitter: 1e300 } } }).issues[0]!.key).toBe('backoff_override.eni_ops.jitter');
  });
});

describe('rate_limit names', () => {
  it('warns about an API the daemon never calls, and keeps quiet about the ones it does', () => {
    const { warnings, config } = parseDaemonConfig({ rate_limit: { DescribeNetworkInterface: 100, AssignPrivateIpAddresses: 200 } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/rate_limit\."DescribeNetworkInterface": the daemon calls no API of that name/);
    expect(config.rateLimit).toEqual({ DescribeNetworkInterface: 100, AssignPrivateIpAddresses: 200 });
  });

  it('the list holds every API the cloud client calls', () => {
    const called = new Set<string>();
    for (const f of ['daemon/cloud/ecsCalls.ts', 'daemon/cloud/vpcCalls.ts']) {
      for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/const api = '([A-Za-z0-9]+)'/g)) called.add(m[1]!);
    }
    expect(called.size).toBeGreaterThan(8);
    expect([...called].sort()).toEqual([...CLOUD_APIS].sort());
  });
});

describe('shape', () => {
  it('{"eni_conf": 5} is a configuration error, not a start on every default', () => {
    for (const wrapped of [5, null, { max_pool_size: 5 }, ['x']]) {
      expect(issues({ eni_conf: wrapped }).message).toMatch(/eni_conf must hold the config as a JSON string/);
    }
    expect(parseDaemonConfig({ eni_conf: '{"max_pool_size": 7}' }).config.maxPoolSize).toBe(7);
    expect(issues({ eni_conf: '{"eni_conf": "{}"}' }).message).toMatch(/wraps another eni_conf/);
  });

  it('a config nested 100,000 deep is refused with a message, not a stack overflow', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const raw = JSON.parse(`{"eni_tags": ${deep(100_000)}}`) as unknown;
    expect(issues(raw).message).toMatch(/^config error: eni_conf\.eni_tags\[0\]\[0\].*: nested deeper than 32 levels$/);
    expect(issues({ eni_conf: `{"x": ${deep(100_000)}}` }).message).toMatch(/nested deeper than 32 levels/);
    expect(issues(JSON.parse(deep(100_000))).message).toMatch(/nested deeper than 32 levels/);
  });

  it('strings, lists and maps are bounded', () => {
    expect(issues({ region_id: 'r'.repeat(5000) }).issues[0]!.key).toBe('region_id');
    expect(issues({ security_groups: Array.from({ length: 300 }, (_, i) => `sg-${i}`) }).issues[0]!.key).toBe('security_groups');
    expect(issues({ eni_tags: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }).issues[0]!.key).toBe('eni_tags');
    expect(issues({ eni_tags: { k: 'v'.repeat(257) } }).issues[0]!.key).toBe('eni_tags.k');
  });

  it('loadDaemonConfig refuses a file over 1 MiB and a deep one', async () => {
    const dir = tempDir('cfg-');
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ version: 'x'.repeat(MAX_CONFIG_BYTES) }));
    await expect(loadDaemonConfig(big)).rejects.toThrow(/larger than 1048576 bytes/);
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"eni_tags": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    await expect(loadDaemonConfig(deep)).rejects.toThrow(/nested deeper than 32 levels/);
  });

  it('the daemon exits 2 on {"eni_conf": 5} and on a 100,000-deep config, naming the problem', async () => {
    const dir = tempDir('cfg-');
    const run = (file: string) =>
      new Promise<{ code: number | null; stderr: string }>((res) => {
        const c = spawn(process.execPath, ['--import', 'tsx', 'daemon/main.ts', '--config', file], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.once('exit', (code) => res({ code, stderr }));
      });
    writeFileSync(join(dir, 'five.json'), '{"eni_conf": 5}');
    writeFileSync(join(dir, 'deep.json'), `{"eni_tags": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const five = await run(join(dir, 'five.json'));
    expect(five.code).toBe(2);
    expect(five.stderr).toMatch(/config error: eni_conf: eni_conf must hold the config as a JSON string \(got 5\)/);
    const deep = await run(join(dir, 'deep.json'));
    expect(deep.code).toBe(2);
    expect(deep.stderr).toMatch(/nested deeper than 32 levels/);
    expect(deep.stderr).not.toMatch(/Maximum call stack/);
  });
});
