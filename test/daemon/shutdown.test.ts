// SIGTERM on a daemon child process: in-flight requests finish, then it exits 0 and removes its socket.
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../../proto/version.js';
import { connect, podMsg } from '../support/daemonClient.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

function spawnTs(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, lines, stderr, exited };
}

async function until(child: Child, pred: (l: Record<string, unknown>) => boolean, what: string, n = 1): Promise<void> {
  await waitFor(
    () => {
      if (child.lines.filter(pred).length >= n) return true;
      if (child.proc.exitCode !== null) throw new Error(`child exited (${child.proc.exitCode}) before ${what}: ${child.stderr.join('')}`);
      return false;
    },
    what,
    20_000,
  );
}

describe('daemon process', () => {
  it('SIGTERM: in-flight AllocIPs complete, then exit 0 and the socket is gone', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'eni.socket');
    const cfg = join(dir, 'eni_conf.json');
    writeFileSync(cfg, JSON.stringify({ socket_path: socketPath, driver: 'none', instance_id: 'i-child', shutdown_timeout: '10s' }));
    const child = spawnTs('test/daemon/fixtures/childDaemon.ts', [cfg]);
    try {
      await until(child, (l) => l['msg'] === 'daemon ready', 'daemon ready');
      const client = connect(socketPath);
      const calls = ['a', 'b', 'c'].map((id) =>
        client.call<Record<string, any>>('AllocIP', { pod: podMsg(id), api_version: API_VERSION }, 20_000),
      );
      await until(child, (l) => l['msg'] === 'fixture: setup held until SIGTERM', 'three setups in flight', 3);
      child.proc.kill('SIGTERM');
      const replies = await Promise.all(calls);
      expect(replies.map((r) => r.success)).toEqual([true, true, true]);
      expect(new Set(replies.map((r) => r.ips[0].address)).size).toBe(3);
      expect(await child.exited).toBe(0);
      client.close();
      expect(existsSync(socketPath)).toBe(false);
      const msgs = child.lines.map((l) => l['msg']);
      expect(msgs).toContain('signal received: shutting down');
      expect(child.lines.find((l) => l['msg'] === 'stopping: draining in-flight requests')).toMatchObject({ inFlight: 3 });
      expect(msgs.indexOf('stopped')).toBeGreaterThan(msgs.lastIndexOf('AllocIP done'));
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    }
  });

  it('main.ts: a bad config exits 2 naming the key', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'eni_conf.json');
    writeFileSync(cfg, JSON.stringify({ max_pool_size: 'abc', access_secret: 'hidden-value', access_key: 'x' }));
    const child = spawnTs('daemon/main.ts', ['--config', cfg]);
    expect(await child.exited).toBe(2);
    const err = child.stderr.join('');
    expect(err).toContain('config error: eni_conf.max_pool_size: must be an integer >= min_pool_size (0), at most 10000 (got "abc")');
    expect(JSON.stringify(child.lines)).not.toContain('hidden-value');
    expect(child.lines[0]).toMatchObject({ level: 'fatal', msg: 'invalid configuration' });
  });

  it('main.ts: no --config is a usage error', async () => {
    const child = spawnTs('daemon/main.ts', []);
    expect(await child.exited).toBe(2);
    expect(child.stderr.join('')).toMatch(/--config is required/);
  });
});
