// SIGTERM / SIGINT: one graceful stop; a second signal exits at once.
import type { Logger } from 'pino';

export function stopOnSignals(
  handle: { stop(): Promise<void> },
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal }, 'signal received: shutting down');
    handle.stop().then(
      () => exit(0),
      (e: Error) => {
        log.error({ err: e.stack ?? e.message }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
