// Face of the pool folder: the ENI multi-IP pool, its pure planner, config, back-off rules and the store contract.
// The whole-ENI pool (VPCENI) has its own face: pool/enipool/index.ts.
export * from './types.js';
export * from './cloud.js';
export {
  defaultPoolConfig,
  resolvePoolConfig,
  type PoolConfig,
  type PoolConfigInput,
  type EniSelectionPolicy,
  type VSwitchSelectionPolicy,
} from './config.js';
export {
  MemoryPoolStore,
  type PoolStore,
  type StoreOp,
  type PoolSnapshot,
  type EniRecord,
  type IpRecord,
  type PodRecord,
  type IpState,
  type EniRecordState,
  type PodMode,
} from './store.js';
export {
  plan,
  pickFreeIp,
  expireTimers,
  calculateNeededIps,
  calculateExcessIps,
  roomOn,
  NODE_CAPACITY_REACHED,
  type Plan,
  type PlanAction,
  type PlannerInput,
  type PlannerEni,
  type PlannerIp,
} from './planner.js';
export {
  multiIpCapacity,
  exclusiveEniCapacity,
  secondaryEniQuota,
  effectivePoolSizes,
  withEffectivePoolSizes,
  type NodeCapacity,
  type CapacityLimits,
  type EniQuotaConfig,
} from './capacity.js';
export {
  recordFailure,
  deferEni,
  expireBackoffs,
  creationBlocker,
  errorCode,
  defaultBackoff,
  EXHAUSTION_CODES,
  type Backoffs,
  type Blocker,
  type BackoffConfig,
} from './backoff.js';
export { EniMultiIpPool, createEniMultiIpPool, type EniMultiIpPoolOptions } from './eniMultiIpPool.js';
export type { RemovedEni } from './multiIpCloudOps.js';
export { CREATOR_TAG_KEY, CREATOR_TAG_VALUE, NODE_TAG_KEY, classifyEni, type EniClass } from './ownership.js';
export { systemClock, type Clock } from './clock.js';
export type { PoolLogger, PoolEvent } from './events.js';
export { reconcileWithCloud, type ReconcileInput, type ReconcileResult, type ReconcileFinding } from './reconcile.js';
