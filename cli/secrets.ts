// Secret values a support bundle must never contain, read from the local eni_conf and its credential
// file, and the scrubber that removes them from every file of the bundle. The daemon redacts its own
// answers (/v1/config, /v1/logs); this is the second guard, for text the daemon does not control
// (a conflist, an error message, a log line echoing a cloud error).
import { readFile } from 'node:fs/promises';

export const REDACTED = '<redacted>';

// `keyring`: the key of ACK's encrypted addon token (credential_path).
const SECRET_KEY = /access[._]?key|secret|token|password|keyring/i;

/** String values under secret-looking keys, at any depth; `eni_conf` may be a JSON string inside the file (Terway's ConfigMap form). */
function secretValues(v: unknown, key = '', out: string[] = []): string[] {
  if (typeof v === 'string') {
    if (key === 'eni_conf') {
      try {
        secretValues(JSON.parse(v), '', out);
      } catch {
        // not JSON: nothing to find
      }
    } else if (SECRET_KEY.test(key) && v.length >= 4) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) secretValues(x, key, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) secretValues(x, k, out);
  return out;
}

function credentialPathOf(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['credential_path'] === 'string') return o['credential_path'];
  if (typeof o['eni_conf'] === 'string') {
    try {
      return credentialPathOf(JSON.parse(o['eni_conf']));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Secrets in the eni_conf file at `configPath` and in the credential file it names (unreadable files add none). */
export async function secretsOf(configPath: string | undefined): Promise<string[]> {
  if (!configPath) return [];
  const conf = await readJson(configPath);
  const out = secretValues(conf);
  const credPath = credentialPathOf(conf);
  if (credPath) out.push(...secretValues(await readJson(credPath)));
  return [...new Set(out)];
}

/** Replaces every occurrence of each secret (longest first, so one that contains another goes whole). */
export function scrub(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (t.includes(s)) t = t.split(s).join(REDACTED);
  return t;
}
