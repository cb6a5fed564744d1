// A real pino logger (daemon/log.ts) whose JSON lines the test can read back.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../daemon/log.js';

export interface CapturedLog {
  logger: Logger;
  /** Every line written so far, parsed. */
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
