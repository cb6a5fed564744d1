// The daemon folder's face (the cloud client and the pod DB have their own: ./cloud, ./store).
export { startDaemon, type DaemonDeps, type DaemonHandle } from './daemon.js';
export { modeBuilder, pickVSwitches, type ModeBuilder, type ModeContext, type ModeParts } from './build/index.js';
export * from './config/index.js';
export { createLogger, podFields, REDACT_PATHS, type Logger, type LoggerOptions } from './log.js';
export { DaemonMetrics, serveMetrics, type MetricsServer, type MetricsSources } from './metrics.js';
export * from './modes/index.js';
export * from './server/index.js';
export { stopOnSignals } from './signals.js';
