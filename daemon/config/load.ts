// Reads the eni_conf file (the I/O half; parsing is pure in parse.ts).
import { readFile } from 'node:fs/promises';
import { parseDaemonConfig, type ParseResult } from './parse.js';
import { ConfigError } from './types.js';

export async function loadDaemonConfig(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError([{ key: '', message: `cannot read config file ${path}: ${code}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ key: '', message: `config file ${path} is not valid JSON: ${(e as Error).message}` }]);
  }
  return parseDaemonConfig(raw);
}
