export * from './types.js';
export { parseDaemonConfig, redactConfig, isIgnoredTerwayKey, type ParseResult } from './parse.js';
export { DEFAULTS } from './defaults.js';
export { parseListenAddress } from './processKeys.js';
export { loadDaemonConfig } from './load.js';
export { parseGoDuration, formatDuration } from './duration.js';
export { resolveKubeSettings, nodeNameOf, type KubeSettings, type KubeSource } from './kube.js';
