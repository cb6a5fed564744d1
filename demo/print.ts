// Plain-text output for the demo: section headings, aligned tables, short durations.
import type { ApiStats } from '../daemon/cloud/types.js';

export type Log = (line: string) => void;

export const log: Log = (line) => process.stdout.write(`${line}\n`);

export function heading(out: Log, title: string): void {
  out('');
  out(`== ${title} ${'='.repeat(Math.max(0, 72 - title.length))}`);
}

/** Renders rows as an aligned text table with a header rule. */
export function table(headers: string[], rows: (string | number)[][]): string[] {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(fmt)];
}

export function printTable(out: Log, headers: string[], rows: (string | number)[][], indent = '  '): void {
  for (const line of table(headers, rows)) out(`${indent}${line}`);
}

export function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
}

/** Per-API call counts from Cloud.stats(), busiest first. */
export function printApiStats(out: Log, stats: Record<string, ApiStats>, indent = '  '): number {
  const rows = Object.entries(stats)
    .filter(([, s]) => s.calls > 0)
    .sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]));
  const total = rows.reduce((n, [, s]) => n + s.calls, 0);
  printTable(
    out,
    ['API', 'calls', 'errors', 'throttled', 'retries', 'avg latency'],
    [
      ...rows.map(([api, s]) => [api, s.calls, s.errors, s.throttled, s.retries, ms(s.calls ? s.totalLatencyMs / s.calls : 0)]),
      ['total', total, '', '', '', ''],
    ],
    indent,
  );
  return total;
}
