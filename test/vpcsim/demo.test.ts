// `npm run demo` is the README's main job: run it end to end as a user would and check its account.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listNetns, probeKernelSupport } from '../../sim/vpcsim/netns.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The demo checks reachability with its own UDP echo: it needs no ping.
const support = await probeKernelSupport({ ping: false });

function runDemo(args: string[]): Promise<{ code: number | null; out: string; pid: number }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'demo', 'main.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code, out, pid: child.pid ?? 0 }));
  });
}

describe('npm run demo', () => {
  it.concurrent('allocation-only path: cloud walk-through, two daemons, pods added and deleted through the plugin', async () => {
    const { code, out } = await runDemo(['--alloc-only']);
    expect(out, out).toContain('i-mock-node-1 is back to 1 ENI(s)');
    expect(out).toMatch(/burst 1: 8\/8 pods addressed/);
    expect(out).toMatch(/burst 2: 4\/4 pods addressed/);
    expect(out).toContain('12 DELs exited 0');
    expect(out).toContain('nothing left behind');
    expect(out).toMatch(/demo finished: 12 pods on 2 nodes \(allocation only\)/);
    expect(code).toBe(0);
  });

  if (!support.ok) console.warn(`demo kernel path not tested: needs ${support.missing.join(', ')}`);
  (support.ok ? it.concurrent : it.skip)(
    'as root: pods in netns on two simulated VPC nodes reach each other across nodes (UDP echo, no ping), then all is torn down',
    async () => {
      const { code, out, pid } = await runDemo([]);
      expect(out, out).toContain('Two nodes in a simulated VPC');
      // Burst 2 outgrows the primary ENI: some pod sits on a hot-plugged ENI (eth1) and still answers.
      expect(out).toMatch(/default\/\S+\s+node-\d\s+2\s+10\.0\.\d+\.\d+\s+eni-\S+\s+eth1/);
      expect(out).toContain('probe: UDP echo to port 7');
      expect(out).toMatch(/(\d+)\/\1 UDP echoes answered/);
      expect(out).toMatch(/demo finished: 12 pods on 2 nodes, (\d+)\/\1 pod-to-pod UDP echoes answered/);
      expect(out).not.toContain('FAIL');
      expect(out).toContain('nothing left behind');
      expect(code).toBe(0);
      // Its own netns only (prefix ed<pid in base 36>): other checkouts may run a demo at the same time.
      const prefixes = (await listNetns()).filter((n) => n.startsWith(`ed${pid.toString(36)}-`));
      expect(prefixes).toEqual([]);
    },
  );
});
