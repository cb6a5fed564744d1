// The in-memory Kubernetes API server: the store (in-process clients) and its HTTP face (client-node).
export { ApiStore, LEASES, type StoredResource, type StoreStats, type Verb } from './store.js';
export { FakeApiServer, mergePatch, strategicMergePatch, type PodSpec, type RecordedRequest } from './server.js';
export { NODE_CRS } from './resources.js';
