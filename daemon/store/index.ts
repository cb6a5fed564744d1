// Face of the pod DB: the SQLite implementation of the pool's PoolStore contract.
export { SqlitePoolStore, openPoolStore, migrate, StoreError, type SqlitePoolStoreOptions } from './sqliteStore.js';
export { migrations, schemaVersion, type Migration } from './migrations.js';
export type { PoolStore, StoreOp, PoolSnapshot, EniRecord, IpRecord, PodRecord, IpState, PodMode } from '../../pool/store.js';
