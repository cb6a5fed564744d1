// JSON Merge Patch, RFC 7396: how Terway lays a node's `terway-config` ConfigMap over `eni-config`
// (docs/dynamic-config.md; evanphx/json-patch MergePatch). A patch that is not an object replaces the
// target; in an object patch, null deletes the key, an object merges recursively, anything else replaces.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7396 MergePatch(target, patch); neither argument is modified. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
