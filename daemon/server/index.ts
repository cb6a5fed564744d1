export { DaemonServer, RpcStatusError, checkApiVersion, podRefOf, HEALTH_SERVICE_NAME, type DaemonServerOptions } from './server.js';
export { loadServices, findPackageRoot, ENI_PROTO_PATH, HEALTH_PROTO_PATH, LOADER_OPTIONS, type LoadedServices } from './proto.js';
export { prepareSocketPath, removeSocket, SocketInUseError } from './socket.js';
export type * from './messages.js';
