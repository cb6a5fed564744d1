// The eni_conf reader: typed getters that record every bad key (ConfigError lists them all) and
// remember which keys were read, so the rest can be warned about as unknown. Errors name the key
// exactly as eni_conf spells it and never echo a secret.
import { formatDuration, parseGoDuration } from './duration.js';
import {
  DURATION_RANGES,
  INT_RANGES,
  MAX_LIST,
  NUMBER_RANGES,
  MAX_MAP_ENTRIES,
  MAX_STRING,
  type DurationKey,
  type IntKey,
} from './ranges.js';
import type { ConfigIssue } from './types.js';

/** Keys whose values never appear in errors or logs. */
export const SECRET_KEYS = new Set(['access_key', 'access_secret']);

/** A value as an error message shows it: JSON, cut at 80 characters, `<redacted>` for secret keys. */
export function show(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key.split('.')[0]!)) return '<redacted>';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Reader {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly raw: Record<string, unknown>) {}

  has(key: string): boolean {
    this.seen.add(key);
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }
  fail(key: string, message: string): undefined {
    this.issues.push({ key, message });
    return undefined;
  }
  /** The raw value (null reads as unset); marks the key as known. */
  value(key: string): unknown {
    this.seen.add(key);
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  str(key: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.fail(key, `must be a string (got ${show(key, v)})`);
    if (opts.nonEmpty !== false && v.trim() === '') return this.fail(key, 'must not be empty');
    if (v.length > MAX_STRING) return this.fail(key, `must be at most ${MAX_STRING} characters (got ${v.length})`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.value(key);
    if (v === undefined || v === '') return def;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.fail(key, `must be one of ${allowed.join('|')} (got ${show(key, v)})`);
    return def;
  }

  /** An integer key in its range (ranges.ts); `min` raises the range's floor (max_pool_size >= min_pool_size). */
  int(key: IntKey, def: number, opts: { min?: number; what?: string } = {}): number {
    const v = this.value(key);
    if (v === undefined) return def;
    const [floor, max] = INT_RANGES[key];
    const min = Math.max(floor, opts.min ?? floor);
    const ok = typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
    if (!ok) {
      const range = opts.what ? `${opts.what}, at most ${max}` : `in ${min}..${max}`;
      this.fail(key, `must be an integer ${range} (got ${show(key, v)})`);
      return def;
    }
    return v as number;
  }

  /** A number key in its range (ranges.ts); `numericString`: a string holding one is accepted too (a Terway key typed string). */
  num(
    key: 'kube_client_qps' | 'idle_ip_reclaim_jitter_factor' | 'eni_cap_ratio',
    def: number,
    opts: { numericString?: boolean } = {},
  ): number {
    const raw = this.value(key);
    if (raw === undefined) return def;
    const [min, max] = NUMBER_RANGES[key];
    const v = opts.numericString && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      const range = min === Number.MIN_VALUE ? `> 0 and <= ${max}` : `in ${min}..${max}`;
      this.fail(key, `must be a number ${range} (got ${show(key, raw)})`);
      return def;
    }
    return v;
  }

  /** Like str(), but an empty string reads as unset (Terway: empty credentials mean "use the next provider"). */
  optionalStr(key: string): string | undefined {
    const v = this.value(key);
    if (v === '') return undefined;
    return this.str(key);
  }

  /** A string compared case-insensitively against `allowed` (returned in its listed spelling). */
  oneOfIgnoreCase<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.value(key);
    if (v === undefined || v === '') return def;
    const hit = typeof v === 'string' ? allowed.find((a) => a.toLowerCase() === v.toLowerCase()) : undefined;
    if (hit !== undefined) return hit;
    this.fail(key, `must be one of ${allowed.join('|')} (any case) (got ${show(key, v)})`);
    return def;
  }

  /** A Go duration in its key's range (ranges.ts): never above what a timer holds. */
  duration(key: DurationKey): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const [min, max] = DURATION_RANGES[key];
    const ms = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (ms === undefined || !(ms >= min && ms <= max)) {
      const kind = min === 0 ? 'non-negative' : 'positive';
      const range = min > 1 ? `from ${formatDuration(min)} up to ${formatDuration(max)}` : `up to ${formatDuration(max)}`;
      return this.fail(key, `must be a ${kind} duration like "30s", "10m" or "1h30m", ${range} (got ${show(key, v)})`);
    }
    return ms;
  }

  /** An http(s) URL, trailing slashes removed. */
  httpUrl(key: string): string | undefined {
    const s = this.str(key);
    if (s === undefined) return undefined;
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return s.replace(/\/+$/, '');
    } catch {
      return this.fail(key, `must be an http(s) URL (got ${show(key, s)})`);
    }
  }

  /** A list of non-empty strings; `what` ends the message "must be a list of ...". */
  stringList(key: string, what: string): string[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.trim() === '' || s.length > MAX_STRING)) {
      return this.fail(key, `must be a list of ${what} (got ${show(key, v)})`);
    }
    if (v.length > MAX_LIST) return this.fail(key, `must have at most ${MAX_LIST} entries (got ${v.length})`);
    return v as string[];
  }

  stringMap(key: string): Record<string, string> {
    const v = this.value(key);
    if (v === undefined) return {};
    if (!isPlainObject(v)) {
      this.fail(key, `must be an object of string values (got ${show(key, v)})`);
      return {};
    }
    const out: Record<string, string> = {};
    const entries = Object.entries(v);
    if (entries.length > MAX_MAP_ENTRIES) {
      this.fail(key, `must have at most ${MAX_MAP_ENTRIES} entries (got ${entries.length})`);
      return {};
    }
    for (const [k, val] of entries) {
      if (k === '' || k.length > 128) this.fail(key, `tag keys must be 1-128 characters (got ${show(key, k)})`);
      else if (typeof val === 'string' && val.length > 256) this.fail(`${key}.${k}`, `must be at most 256 characters (got ${val.length})`);
      else if (typeof val !== 'string') this.fail(`${key}.${k}`, `must be a string (got ${show(key, val)})`);
      else out[k] = val;
    }
    return out;
  }

  unknownKeys(): string[] {
    return Object.keys(this.raw).filter((k) => !this.seen.has(k));
  }
}
