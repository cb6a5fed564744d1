// Maps errors from the pool, the driver and the cloud to an eni.proto FailureReason. Pure.
import { PoolError } from '../../pool/types.js';
import { DriverError } from '../../drivers/types.js';
import { EXHAUSTION_CODES } from '../../pool/backoff.js';
import { CloudError } from '../cloud/types.js';
import { ServiceError, type FailureReason } from './types.js';

export interface MappedFailure {
  reason: FailureReason;
  message: string;
  cloudCode?: string;
}

export function mapFailure(err: unknown): MappedFailure {
  if (err instanceof ServiceError) return { reason: err.reason, message: err.message, cloudCode: err.cloudCode };
  if (err instanceof PoolError) {
    const reason: FailureReason =
      err.reason === 'Exhausted'
        ? 'POOL_EXHAUSTED'
        : err.reason === 'Timeout'
          ? 'ALLOC_TIMEOUT'
          : err.reason === 'ShuttingDown'
            ? 'SHUTTING_DOWN'
            : 'INTERNAL';
    return { reason, message: err.message, cloudCode: err.cloudCode };
  }
  if (err instanceof DriverError) return { reason: 'DRIVER_FAILED', message: err.message };
  if (err instanceof CloudError) {
    return { reason: EXHAUSTION_CODES.has(err.code) ? 'POOL_EXHAUSTED' : 'INTERNAL', message: err.message, cloudCode: err.code };
  }
  if (err instanceof Error) return { reason: 'INTERNAL', message: err.message };
  return { reason: 'INTERNAL', message: String(err) };
}
