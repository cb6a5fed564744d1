// Face of the ENI pool (VPCENI mode): a whole ENI per pod, warm between min and max pool size.
export { EniPool, createEniPool, type EniPoolOptions } from './eniPool.js';
export { resolveEniPoolConfig, defaultEniPoolConfig, type EniPoolConfig, type EniPoolConfigInput } from './config.js';
export type { EniPoolLogger, EniPoolEvent } from './events.js';
export {
  planEniPool,
  expireCooling,
  pickFreeEni,
  placeReleased,
  servable,
  refusal,
  releaseSteps,
  releaseRetries,
  type EniSlot,
  type EniSlotState,
  type EniPlan,
  type EniPlannerInput,
  type RefusalInput,
} from './planner.js';
export { planEniRestore, restoredSlot, otherModeRows, type EniRestore, type EniRestoreInput } from './restore.js';
export {
  planEniReconcile,
  type EniReconcileInput,
  type EniReconcilePlan,
  type EniDrop,
  type EniAdopt,
  type KnownEni,
} from './reconcile.js';
