// Thin wrappers over iproute2 and `ip netns exec`. This is test infrastructure: it drives `ip` as a
// subprocess (batched through `ip -batch -` so one call applies many changes); the product's drivers use netlink.
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A failed `ip` (or other) command; carries the lines it was given so a broken step is easy to find. */
export class IpCommandError extends Error {
  readonly netns?: string;
  readonly code: number;
  readonly stderr: string;
  readonly lines: string[];
  constructor(opts: { netns?: string; code: number; stderr: string; lines: string[]; what: string }) {
    const where = opts.netns ? ` (netns ${opts.netns})` : '';
    super(
      `${opts.what}${where} exited ${opts.code}: ${opts.stderr.trim()}${opts.lines.length ? `\n  lines:\n    ${opts.lines.join('\n    ')}` : ''}`,
    );
    this.name = 'IpCommandError';
    this.netns = opts.netns;
    this.code = opts.code;
    this.stderr = opts.stderr;
    this.lines = opts.lines;
  }
}

/** Runs a command and collects its output; never throws for a non-zero exit (see `code`). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n[killed after ${opts.timeoutMs} ms]`;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading all input
    child.stdin.end(opts.input ?? '');
  });
}

function nsArgs(netns: string | undefined): string[] {
  return netns ? ['-n', netns] : [];
}

/** Applies `lines` (each an `ip` command without the leading `ip`) in one `ip [-n NETNS] -batch -` call. */
export async function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const res = await run('ip', [...nsArgs(netns), '-batch', '-'], { input: lines.join('\n') + '\n' });
  if (res.code !== 0) throw new IpCommandError({ netns, code: res.code, stderr: res.stderr, lines, what: 'ip -batch' });
}

/** Runs one `ip -j ...` query and parses its JSON output. */
export async function ipJson<T>(netns: string | undefined, args: string[]): Promise<T> {
  const res = await run('ip', [...nsArgs(netns), '-j', ...args]);
  if (res.code !== 0) throw new IpCommandError({ netns, code: res.code, stderr: res.stderr, lines: [args.join(' ')], what: 'ip -j' });
  const text = res.stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}

/** Runs `cmd` inside a named netns (`ip netns exec`). Resolves with the exit code; does not throw on non-zero. */
export function execIn(
  netns: string,
  cmd: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  if (cmd.length === 0) throw new Error('execIn: empty command');
  return run('ip', ['netns', 'exec', netns, ...cmd], opts);
}

/** Like execIn but throws IpCommandError on a non-zero exit. */
export async function mustExecIn(netns: string, cmd: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const res = await execIn(netns, cmd, opts);
  if (res.code !== 0)
    throw new IpCommandError({ netns, code: res.code, stderr: res.stderr, lines: [cmd.join(' ')], what: cmd[0] ?? 'exec' });
  return res.stdout;
}

/** Writes sysctls inside a netns through /proc/sys (no dependency on the procps `sysctl` binary). */
export async function setSysctls(netns: string, values: Record<string, string | number>): Promise<void> {
  const script = Object.entries(values)
    .map(([key, value]) => `echo ${String(value)} > /proc/sys/${key.replace(/\./g, '/')}`)
    .join(' && ');
  if (script) await mustExecIn(netns, ['sh', '-c', script]);
}
