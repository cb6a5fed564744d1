// A launcher process living in a netns: it spawns the commands it is sent (JSON lines on stdin) in that netns and
// times each from spawn() to 'close'. Every command of a benchmark goes through the same launcher, so the reference
// CNI plugins (which wire "the host" = the netns they run in) touch only a netns the benchmark made, and every
// figure is measured the same way. The launcher itself runs with a clean environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cleanEnv } from './proc.js';
import type { TimedRun } from './proc.js';

const RUNNER = `
const { spawn } = require('node:child_process');
const rl = require('node:readline').createInterface({ input: process.stdin });
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
rl.on('line', (line) => {
  const job = JSON.parse(line);
  const startedAt = Date.now();
  const t0 = performance.now();
  let c;
  try {
    c = spawn(job.cmd, job.args, { env: job.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    return reply({ id: job.id, code: null, signal: null, ms: 0, stdout: '', stderr: String(e) });
  }
  let out = '', err = '';
  c.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  c.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  c.on('error', (e) => reply({ id: job.id, code: null, signal: null, ms: performance.now() - t0, stdout: out, stderr: err + String(e) }));
  c.on('close', (code, signal) => reply({ id: job.id, code, signal, ms: performance.now() - t0, startedAt, stdout: out, stderr: err }));
  c.stdin.on('error', () => {});
  c.stdin.end(job.stdin || '');
});
rl.on('close', () => process.exit(0));
`;

export interface NsJob {
  cmd: string;
  args?: string[];
  /** The whole environment of the command (nothing is inherited). */
  env: Record<string, string>;
  stdin?: string;
}

export class NsRunner {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (r: TimedRun) => void>();
  private nextId = 1;
  private exited = false;
  private stderr = '';

  private constructor(readonly netns: string | undefined) {
    const node = process.execPath;
    this.child = netns
      ? spawn('ip', ['netns', 'exec', netns, node, '-e', RUNNER], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(node, ['-e', RUNNER], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as TimedRun & { id: number };
      const done = this.pending.get(r.id);
      this.pending.delete(r.id);
      done?.({ code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: r.ms, startedAt: r.startedAt });
    });
    this.child.once('exit', () => {
      this.exited = true;
      for (const [, done] of this.pending) done({ code: null, signal: null, stdout: '', stderr: `runner exited: ${this.stderr}`, ms: 0 });
      this.pending.clear();
    });
  }

  /** Starts a launcher in `netns` (undefined: this process's netns). */
  static async start(netns?: string): Promise<NsRunner> {
    const r = new NsRunner(netns);
    const probe = await r.run({ cmd: 'true', env: cleanEnv() });
    if (probe.code !== 0) throw new Error(`launcher in ${netns ?? 'own netns'} does not work: ${probe.stderr}`);
    return r;
  }

  run(job: NsJob): Promise<TimedRun> {
    if (this.exited) return Promise.reject(new Error(`launcher exited: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ id, cmd: job.cmd, args: job.args ?? [], env: job.env, stdin: job.stdin ?? '' }) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin!.end();
      setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
    });
  }
}
