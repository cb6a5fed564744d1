// Reading the flattened RPC parameters the SDK sends (`PrivateIpAddress.1`, `Tag.1.Key`, JSON-array strings).
import { errors } from './errors.js';

export type Params = Record<string, string>;

export function str(p: Params, name: string): string | undefined {
  const v = p[name];
  return v === undefined || v === '' ? undefined : v;
}

export function required(p: Params, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw errors.missing(name);
  return v;
}

export function int(p: Params, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.invalidParam(name, 'must be an integer');
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) throw errors.invalidParam(name, `must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw errors.invalidParam(name, `must be at most ${opts.max}`);
  return n;
}

/** `Name.1`, `Name.2`, ... in index order; also accepts a JSON array string under `Name`. */
export function list(p: Params, name: string): string[] {
  const out: [number, string][] = [];
  const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`);
  for (const [k, v] of Object.entries(p)) {
    const m = re.exec(k);
    if (m && v !== '') out.push([Number(m[1]), v]);
  }
  if (out.length === 0) {
    const raw = str(p, name);
    if (raw === undefined) return [];
    if (raw.startsWith('[')) {
      try {
        const arr: unknown = JSON.parse(raw);
        if (Array.isArray(arr)) return arr.map((x) => String(x));
      } catch {
        throw errors.invalidParam(name, 'is not a valid JSON array');
      }
    }
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** `Tag.N.Key` / `Tag.N.Value` pairs. */
export function tags(p: Params, name = 'Tag'): { key: string; value?: string }[] {
  const byIdx = new Map<number, { key?: string; value?: string }>();
  const re = new RegExp(`^${name}\\.(\\d+)\\.(Key|Value)$`);
  for (const [k, v] of Object.entries(p)) {
    const m = re.exec(k);
    if (!m) continue;
    const idx = Number(m[1]);
    const t = byIdx.get(idx) ?? {};
    if (m[2] === 'Key') t.key = v;
    else t.value = v;
    byIdx.set(idx, t);
  }
  return [...byIdx.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([idx, t]) => {
      if (!t.key) throw errors.invalidParam(`${name}.${idx}.Key`, 'must not be empty');
      return { key: t.key, value: t.value };
    });
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw errors.invalidParam(name, 'must be true or false');
}
