// `npm run lint`: runs every check (import rules, formatting) even when one fails, shows the output of
// those that failed, then one summary line per check and a verdict. Exit 1 when any check failed.
import { spawn } from 'node:child_process';

interface Check {
  name: string;
  /** The npm script that runs it (each can also be run alone). */
  script: string;
  /** What to do when it fails. */
  fix: string;
}

const CHECKS: Check[] = [
  { name: 'import rules', script: 'lint:imports', fix: 'move the import or the code; the rules and why: .dependency-cruiser.cjs' },
  { name: 'formatting', script: 'lint:format', fix: 'run `npm run format`' },
];

interface Outcome {
  check: Check;
  ok: boolean;
  output: string;
}

function run(check: Check): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', check.script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', (err) => resolve({ check, ok: false, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolve({ check, ok: code === 0, output }));
  });
}

/** The tool's own one-line verdict: its last non-empty line, without prettier's "[warn]" tag. */
function verdict(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.replace(/^\[\w+\]\s*/, '').trim())
    .filter(Boolean);
  return lines.at(-1) ?? '(no output)';
}

const outcomes = await Promise.all(CHECKS.map(run));
for (const o of outcomes.filter((x) => !x.ok))
  process.stdout.write(`\n── ${o.check.name} (npm run ${o.check.script}) ──\n${o.output.trimEnd()}\n`);
const width = Math.max(...CHECKS.map((c) => c.name.length));
process.stdout.write('\n');
for (const o of outcomes) {
  const line = `  ${o.check.name.padEnd(width)}  ${o.ok ? 'ok    ' : 'FAILED'}  ${verdict(o.output)}`;
  process.stdout.write(o.ok ? `${line}\n` : `${line}\n  ${' '.repeat(width)}          → ${o.check.fix}\n`);
}
const failed = outcomes.filter((o) => !o.ok).length;
process.stdout.write(
  failed === 0 ? `lint: all ${outcomes.length} checks passed\n` : `lint: ${failed} of ${outcomes.length} checks failed\n`,
);
process.exitCode = failed === 0 ? 0 : 1;
