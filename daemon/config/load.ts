// Reads the eni_conf file (the I/O half; parsing is pure in parse.ts).
import { open } from 'node:fs/promises';
import { parseDaemonConfig, type ParseResult } from './parse.js';
import { MAX_CONFIG_BYTES } from './ranges.js';
import { ConfigError } from './types.js';

export async function loadDaemonConfig(path: string): Promise<ParseResult> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      // One byte more than the bound tells an over-long file from one exactly at it.
      const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      let bytesRead = 0;
      for (;;) {
        const n = (await fh.read(buf, bytesRead, buf.length - bytesRead, bytesRead)).bytesRead;
        bytesRead += n;
        if (n === 0 || bytesRead === buf.length) break;
      }
      if (bytesRead > MAX_CONFIG_BYTES)
        throw new ConfigError([{ key: '', message: `config file ${path} is larger than ${MAX_CONFIG_BYTES} bytes` }]);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
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
