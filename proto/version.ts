// Version of the plugin <-> daemon contract in eni.proto. The daemon refuses any other.
export const API_VERSION = 1;
/** Default daemon socket, as in Terway. */
export const DEFAULT_SOCKET_PATH = '/var/run/eni/eni.socket';
/** gRPC service path prefix (package + service). */
export const SERVICE_PATH = '/eniipam.v1.EniBackend';
