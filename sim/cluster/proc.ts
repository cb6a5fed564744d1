// Timed process launches with a clean environment (PATH + what the caller passes, nothing inherited):
// the shell's NODE_EXTRA_CA_CERTS alone slows every node start by ~80 ms, and a CNI runtime passes only CNI_*.
import { spawn } from 'node:child_process';

export interface TimedRun {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn() to the 'close' event, ms. */
  ms: number;
  /** Date.now() at spawn() (to line up with other processes' log timestamps). */
  startedAt?: number;
}

export const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** PATH (this process's, else a standard one) plus `extra`; undefined values are dropped. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? CLEAN_PATH };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `cmd args` with exactly `env`, writes `stdin` (if any), collects output, measures wall time. */
export function timedRun(
  cmd: string,
  args: string[],
  opts: { env: Record<string, string>; stdin?: string; timeoutMs?: number },
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Parses stdout as JSON (a CNI result or error), undefined when it is not. */
export function stdoutJson(r: { stdout: string }): Record<string, unknown> | undefined {
  try {
    const t = r.stdout.trim();
    return t ? (JSON.parse(t) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
