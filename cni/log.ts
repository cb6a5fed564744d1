// Plugin logging: never stdout (the runtime parses it). Lines go to `log_file` when configured;
// without one, only warnings and errors go to stderr, which runtimes keep in their own logs.
import { appendFileSync } from 'node:fs';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(file: string | undefined, context: string): Logger {
  const line = (level: string, msg: string) => `${new Date().toISOString()} ${level} ${context} ${msg}\n`;
  const write = (level: string, msg: string, toStderr: boolean) => {
    if (file) {
      try {
        appendFileSync(file, line(level, msg));
        return;
      } catch {
        // fall through to stderr: a broken log file must not break the verb
      }
    }
    if (toStderr) process.stderr.write(line(level, msg));
  };
  return {
    info: (m) => write('info', m, false),
    warn: (m) => write('warn', m, true),
    error: (m) => write('error', m, true),
  };
}
