// A small JSON-Schema (draft-07) checker for the keywords values.schema.json uses, so the schema is
// exercised even where no helm binary is around (helm validates with the full spec).
import type { Json, JsonObject } from './chartSource.js';
import { isObject } from './chartSource.js';

const SUPPORTED = new Set([
  '$schema',
  'title',
  'description',
  'definitions',
  '$ref',
  'type',
  'enum',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'anyOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minLength',
  'maxItems',
  'pattern',
]);

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: Json, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Keywords in the schema this checker does not implement (should be none). */
export function unsupportedKeywords(schema: Json, at = '#'): string[] {
  if (!isObject(schema)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!SUPPORTED.has(k)) out.push(`${at}/${k}`);
    if (k === 'properties' || k === 'definitions') {
      for (const [pk, pv] of Object.entries(v as JsonObject)) out.push(...unsupportedKeywords(pv, `${at}/${k}/${pk}`));
    } else if (k === 'items' || k === 'additionalProperties') out.push(...unsupportedKeywords(v, `${at}/${k}`));
    else if (k === 'anyOf') (v as Json[]).forEach((s, i) => out.push(...unsupportedKeywords(s, `${at}/anyOf/${i}`)));
  }
  return out;
}

/** Errors of value against schema (empty: valid). */
export function validate(value: Json, schema: Json, root: JsonObject, at = ''): string[] {
  if (!isObject(schema)) return [];
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace(/^#\/definitions\//, '');
    return validate(value, (root.definitions as JsonObject)[name]!, root, at);
  }
  const errs: string[] = [];
  const where = at || '(root)';
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(value, t))) return [`${where}: got ${typeOf(value)}, want ${types.join('|')}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) errs.push(`${where}: ${JSON.stringify(value)} not in enum`);
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => validate(value, s, root, at).length === 0)) {
    errs.push(`${where}: matches no anyOf branch`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${where}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${where}: ${value} > ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum)
      errs.push(`${where}: ${value} <= ${schema.exclusiveMinimum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${where}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      errs.push(`${where}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errs.push(`${where}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((v, i) => errs.push(...validate(v, schema.items!, root, `${at}/${i}`)));
  }
  if (isObject(value)) {
    const props = isObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const r of schema.required as string[]) if (!(r in value)) errs.push(`${where}: missing required ${r}`);
    }
    for (const [k, v] of Object.entries(value)) {
      if (k in props) errs.push(...validate(v, props[k]!, root, `${at}/${k}`));
      else if (schema.additionalProperties === false) errs.push(`${where}: additional property ${k}`);
      else if (isObject(schema.additionalProperties)) errs.push(...validate(v, schema.additionalProperties, root, `${at}/${k}`));
    }
  }
  return errs;
}
