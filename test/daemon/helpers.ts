// Shared set-up for daemon tests: a temp dir, a config, a captured logger.
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDaemonConfig, type DaemonConfig } from '../../daemon/config/index.js';
import { createLogger, type Logger } from '../../daemon/log.js';

// A daemon started without `env` reads process.env: if these tests run inside a Kubernetes pod (a CI
// runner), it must not pick up that cluster (tests only talk to loopback). Kubernetes tests configure it.
delete process.env['KUBERNETES_SERVICE_HOST'];
delete process.env['KUBERNETES_SERVICE_PORT'];

const made: string[] = [];
// Registered on the root suite of every test file that imports this module.
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'eni-d-'): string {
  // Short base: unix socket paths are limited to 107 bytes.
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function testConfig(dir: string, over: Record<string, unknown> = {}): DaemonConfig {
  return parseDaemonConfig({
    socket_path: join(dir, 'eni.socket'),
    db_path: join(dir, 'pods.db'),
    driver: 'none',
    instance_id: 'i-test',
    shutdown_timeout: '5s',
    ...over,
  }).config;
}

export interface CapturedLog {
  logger: Logger;
  lines(): Record<string, unknown>[];
  text(): string;
}

export function captureLog(level: 'debug' | 'info' = 'info'): CapturedLog {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level, destination: dest });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export { FAKE_METADATA } from './fakes.js';

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
