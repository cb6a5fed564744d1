export * from './types.js';
export { parseDaemonConfig, redactConfig, parseListenAddress, DEFAULTS, type ParseResult } from './parse.js';
export { loadDaemonConfig } from './load.js';
export { parseGoDuration, formatDuration } from './duration.js';
export { resolveKubeSettings, nodeNameOf, type KubeSettings, type KubeSource } from './kube.js';
