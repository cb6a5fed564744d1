// Entry point: node dist/daemon/main.js --config /etc/eni/eni_conf  (or tsx daemon/main.ts ...)
import { parseArgs } from 'node:util';
import { ConfigError, loadDaemonConfig } from './config/index.js';
import { createLogger } from './log.js';
import { LogRing } from './logRing.js';
import { stopOnSignals } from './signals.js';

const USAGE = 'usage: eni-daemon --config FILE   (FILE: eni_conf JSON, Terway-compatible)';

async function main(): Promise<number> {
  let configPath: string | undefined;
  try {
    const { values } = parseArgs({
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    configPath = values.config ?? process.env['ENI_CONFIG'];
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!configPath) {
    process.stderr.write(`--config is required\n${USAGE}\n`);
    return 2;
  }

  let loaded;
  try {
    loaded = await loadDaemonConfig(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      const log = createLogger();
      log.fatal({ configPath, issues: e.issues }, 'invalid configuration');
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const { config, warnings, source } = loaded;
  const logRing = new LogRing(); // recent lines for GET /v1/logs (support bundles)
  const log = createLogger({ level: config.logLevel, ring: logRing });
  // A bug must not leave a half-working daemon: log it and exit; the DaemonSet restarts us and
  // start-up reconciles the DB, the cloud and the kernel.
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: (e as Error)?.stack ?? String(e) }, 'unhandled promise rejection');
    process.exit(1);
  });
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e.stack ?? e.message }, 'uncaught exception');
    process.exit(1);
  });
  for (const w of warnings) log.warn({ configPath }, w);

  // A signal during start-up: nothing is serving yet, SQLite (WAL) is crash-safe, so just go.
  const early = (signal: NodeJS.Signals): void => {
    log.warn({ signal }, 'signal during start-up: exiting');
    process.exit(1);
  };
  process.once('SIGTERM', early);
  process.once('SIGINT', early);
  let handle;
  try {
    // Loaded after the config is good: the cloud SDKs take a while to import.
    const { startDaemon } = await import('./daemon.js');
    handle = await startDaemon(config, { logger: log, logRing, eniConfSource: source });
  } catch (e) {
    log.fatal({ err: (e as Error).stack ?? String(e) }, `start-up failed: ${(e as Error).message}`);
    return 1;
  } finally {
    process.off('SIGTERM', early);
    process.off('SIGINT', early);
  }
  stopOnSignals(handle, log);
  return -1; // keep running until a signal
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: Error) => {
    process.stderr.write(`fatal: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
