// Face of the pool folder: the ENI multi-IP pool, its pure planner, config and the store contract.
export * from './types.js';
export * from './cloud.js';
export {
  defaultPoolConfig,
  resolvePoolConfig,
  type PoolConfig,
  type PoolConfigInput,
  type BackoffConfig,
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
  secondaryPerEni,
  maxEnis,
  type Plan,
  type PlanAction,
  type PlannerInput,
  type PlannerEni,
  type PlannerIp,
  type Backoffs,
  type Blocker,
} from './planner.js';
export {
  EniMultiIpPool,
  createEniMultiIpPool,
  CREATOR_TAG_KEY,
  CREATOR_TAG_VALUE,
  NODE_TAG_KEY,
  type EniMultiIpPoolOptions,
  type Clock,
  type PoolLogger,
  type PoolEvent,
} from './eniMultiIpPool.js';
export { vSwitchGateway, cidrContains } from '../lib/ipv4.js';
export { reconcileWithCloud, type ReconcileInput, type ReconcileResult, type ReconcileFinding } from './reconcile.js';
