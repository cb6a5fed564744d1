// GET a JSON document from the daemon's introspection listener (TCP or unix socket).
import http from 'node:http';
import { parseListenAddress, type ListenAddress } from '../daemon/config/index.js';

export class CliError extends Error {
  override readonly name = 'CliError';
}

/** `unix:/path`, `unix:///path`, `/path`, `host:port`, `:port` (= 127.0.0.1), or `http://host:port`. */
export function parseAddr(s: string): ListenAddress {
  let t = s.trim();
  if (t.startsWith('http://')) t = t.slice('http://'.length).replace(/\/+$/, '');
  if (t.startsWith('unix:') && !t.startsWith('unix://')) t = `unix://${t.slice('unix:'.length)}`;
  const a = parseListenAddress(t);
  if (!a) throw new CliError(`bad address ${JSON.stringify(s)}: want unix:/path, /path, host:port or :port`);
  // The daemon's `:port` binds every address; the CLI runs on the node and talks to loopback.
  if (a.kind === 'tcp' && (a.host === '0.0.0.0' || a.host === '::' || a.host === '')) return { ...a, host: '127.0.0.1' };
  return a;
}

export interface JsonReply {
  status: number;
  body: unknown;
}

/** GET `path`; the body as text, whatever the status. */
export function getText(addr: ListenAddress, path: string, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = addr.kind === 'unix' ? { socketPath: addr.path } : { host: addr.host, port: addr.port };
    const req = http.request({ ...target, path, method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new CliError(`${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const where = addr.kind === 'unix' ? addr.path : `${addr.host}:${addr.port}`;
      reject(e instanceof CliError ? e : new CliError(`cannot reach the daemon at ${where}: ${e.code ?? e.message}`));
    });
    req.end();
  });
}

export async function getJson(addr: ListenAddress, path: string, timeoutMs = 30_000): Promise<JsonReply> {
  const { status, text } = await getText(addr, path, timeoutMs);
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    throw new CliError(`${path}: HTTP ${status}, not JSON: ${text.slice(0, 200).trim()}`);
  }
}
