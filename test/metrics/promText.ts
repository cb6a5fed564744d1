// A strict reader of the Prometheus text exposition format (version 0.0.4), for reading /metrics the way a
// scraper does instead of matching our own output strings. It checks what a scraper would reject: metric
// and label name syntax, label value escapes, duplicate label names, samples outside their declared
// family, and histogram consistency (cumulative buckets, +Inf bucket = _count).
// (parse-prometheus-text-format was tried first: it merges every labelled histogram series into one.)

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** Full sample name (e.g. x_bucket). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromSeries {
  /** Labels without `le` / `quantile`. */
  labels: Record<string, string>;
  /** Counter / gauge / untyped value. */
  value?: number;
  /** Histogram: upper bound -> cumulative count (including +Inf); summary: quantile -> value. */
  buckets?: Map<number, number>;
  count?: number;
  sum?: number;
}

export interface PromFamily {
  name: string;
  type: MetricType;
  help: string;
  series: PromSeries[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in ${JSON.stringify(line)}`);
  return Number(s);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!m) throw new Error(`bad label name at ${i} in ${JSON.stringify(line)}`);
    const name = m[0];
    i += name.length;
    if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after ${name} in ${JSON.stringify(line)}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`bad escape \\${n} in ${JSON.stringify(line)}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++; // closing quote
    if (name in labels) throw new Error(`duplicate label ${name} in ${JSON.stringify(line)}`);
    labels[name] = value;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } at ${i} in ${JSON.stringify(line)}`);
  }
}

export function parseSampleLine(line: string): Sample {
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!m) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
  const name = m[0];
  let i = name.length;
  let labels: Record<string, string> = {};
  if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`expected value [timestamp] in ${JSON.stringify(line)}`);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`bad timestamp in ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(rest[0]!, line) };
}

const key = (labels: Record<string, string>): string =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'le' && k !== 'quantile')
      .sort(([a], [b]) => a.localeCompare(b)),
  );

export function parseExposition(text: string): Map<string, PromFamily> {
  const fams = new Map<string, PromFamily>();
  const seriesOf = new Map<string, Map<string, PromSeries>>();
  const familyFor = (sampleName: string): PromFamily => {
    const direct = fams.get(sampleName);
    if (direct && direct.type !== 'histogram') return direct;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!sampleName.endsWith(suffix)) continue;
      const f = fams.get(sampleName.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
    }
    if (direct) return direct;
    throw new Error(`sample ${sampleName} has no # TYPE line`);
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // a comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
      let f = fams.get(name!);
      if (!f) {
        f = { name: name!, type: 'untyped', help: '', series: [] };
        fams.set(name!, f);
        seriesOf.set(name!, new Map());
      }
      if (kind === 'HELP') f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in ${JSON.stringify(line)}`);
        if (f.series.length > 0) throw new Error(`# TYPE after samples of ${name}`);
        f.type = rest as MetricType;
      }
      continue;
    }
    const s = parseSampleLine(line);
    for (const l of Object.keys(s.labels)) if (!LABEL.test(l)) throw new Error(`bad label name ${l}`);
    const f = familyFor(s.name);
    const byKey = seriesOf.get(f.name)!;
    const k = key(s.labels);
    let series = byKey.get(k);
    if (!series) {
      series = { labels: Object.fromEntries(Object.entries(s.labels).filter(([n]) => n !== 'le' && n !== 'quantile')) };
      byKey.set(k, series);
      f.series.push(series);
    }
    if (s.name === `${f.name}_sum` && f.type !== 'counter' && f.type !== 'gauge') series.sum = s.value;
    else if (s.name === `${f.name}_count` && f.type !== 'counter' && f.type !== 'gauge') series.count = s.value;
    else if (f.type === 'histogram') {
      if (s.labels['le'] === undefined) throw new Error(`histogram bucket without le: ${line}`);
      (series.buckets ??= new Map()).set(parseValue(s.labels['le'], line), s.value);
    } else if (f.type === 'summary') {
      if (s.labels['quantile'] === undefined) throw new Error(`summary sample without quantile: ${line}`);
      (series.buckets ??= new Map()).set(parseValue(s.labels['quantile'], line), s.value);
    } else {
      if (series.value !== undefined) throw new Error(`duplicate series ${line}`);
      series.value = s.value;
    }
  }
  for (const f of fams.values()) {
    if (f.type !== 'histogram') continue;
    for (const s of f.series) {
      const bounds = [...(s.buckets ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
      if (bounds.at(-1)?.[0] !== Infinity) throw new Error(`${f.name}${JSON.stringify(s.labels)}: no +Inf bucket`);
      for (let i = 1; i < bounds.length; i++)
        if (bounds[i]![1] < bounds[i - 1]![1]) throw new Error(`${f.name}${JSON.stringify(s.labels)}: buckets not cumulative`);
      if (s.count !== bounds.at(-1)![1]) throw new Error(`${f.name}${JSON.stringify(s.labels)}: +Inf bucket != _count`);
    }
  }
  return fams;
}

export function family(fams: Map<string, PromFamily>, name: string): PromFamily {
  const f = fams.get(name);
  if (!f) throw new Error(`metric family ${name} not exported; have ${[...fams.keys()].join(', ')}`);
  return f;
}

/** Series of a family whose labels include `labels`. */
export function series(f: PromFamily, labels: Record<string, string> = {}): PromSeries[] {
  return f.series.filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}

/** The value (counter / gauge) or count (histogram / summary) of the one series matching `labels`. */
export function single(f: PromFamily, labels: Record<string, string> = {}): number {
  const s = series(f, labels);
  if (s.length !== 1) throw new Error(`${f.name}${JSON.stringify(labels)}: ${s.length} series, want 1: ${JSON.stringify(f.series)}`);
  return (s[0]!.value ?? s[0]!.count)!;
}

/** Label names used by the family's series (without le / quantile), sorted. */
export function labelNames(f: PromFamily): string[] {
  return [...new Set(f.series.flatMap((m) => Object.keys(m.labels)))].sort();
}

/** Every sample name a family puts on the wire (x, or x_bucket / x_sum / x_count). */
export function sampleNames(f: Pick<PromFamily, 'name' | 'type'>): string[] {
  if (f.type === 'histogram') return [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`];
  if (f.type === 'summary') return [f.name, `${f.name}_sum`, `${f.name}_count`];
  return [f.name];
}
