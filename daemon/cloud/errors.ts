// Maps whatever the SDK (or the socket under it) throws to a CloudError carrying the cloud's Code,
// RequestId and HTTP status, and decides once whether that failure is worth retrying.
import { CloudError, CloudErrorCodes } from './types.js';

/** Connection-level errno values that mean "the request may not have reached the server / reply lost". */
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ESOCKETTIMEDOUT',
]);

/**
 * Codes that are transient whatever HTTP status carries them. `Operation.Conflict`: another mutation of
 * the same resource was in progress (Terway retries it too, with IsURLError, Throttling, InternalError).
 */
const TRANSIENT_CODES = new Set(['InternalError', 'ServiceUnavailable', 'UnknownError', 'ServiceUnavailableTemp', 'Operation.Conflict']);

export function isThrottlingCode(code: string | undefined, httpStatus?: number): boolean {
  return (code !== undefined && code.includes('Throttling')) || httpStatus === 429;
}

export interface Classification {
  retryable: boolean;
  throttled: boolean;
}

/**
 * The retry decision, pure: throttling, 5xx, transient server codes, timeouts and connection resets
 * are retryable; every other 4xx (quota, exhaustion, not-found, bad state) is final.
 * `extraRetryable` lets an operator add codes without touching code.
 */
export function classify(code: string, httpStatus: number | undefined, extraRetryable?: ReadonlySet<string>): Classification {
  if (isThrottlingCode(code, httpStatus)) return { retryable: true, throttled: true };
  if (extraRetryable?.has(code)) return { retryable: true, throttled: false };
  if (TRANSIENT_CODES.has(code) || code.startsWith('InternalError.')) return { retryable: true, throttled: false };
  if (code === CloudErrorCodes.Timeout || code === 'InvalidResponse' || TRANSIENT_ERRNO.has(code))
    return { retryable: true, throttled: false };
  if (httpStatus !== undefined && httpStatus >= 500) return { retryable: true, throttled: false };
  return { retryable: false, throttled: false };
}

export function isThrottled(err: CloudError): boolean {
  return isThrottlingCode(err.code, err.httpStatus);
}

function str(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '' || v === 'undefined' || v === 'null') return undefined;
  return v;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

type Bag = Record<string, unknown>;

function asBag(v: unknown): Bag | undefined {
  return typeof v === 'object' && v !== null ? (v as Bag) : undefined;
}

/** Converts any thrown value from an SDK call into a CloudError (already-converted errors pass through). */
export function toCloudError(err: unknown, api: string, extraRetryable?: ReadonlySet<string>): CloudError {
  if (err instanceof CloudError) return err;
  const e = asBag(err) ?? {};
  const data = asBag(e.data);
  const name = str(e.name) ?? '';
  const rawMessage = err instanceof Error ? err.message : String(err);

  let code: string;
  let httpStatus = num(e.statusCode) ?? num(data?.statusCode);
  let message = str(data?.Message) ?? str(data?.message) ?? rawMessage;
  const requestId = str(e.requestId) ?? str(data?.RequestId) ?? str(data?.requestId);

  if (httpStatus !== undefined && httpStatus < 100) httpStatus = undefined;
  if (name === 'RequestTimeoutError' || /ReadTimeout|ConnectTimeout/.test(rawMessage)) {
    code = CloudErrorCodes.Timeout;
  } else if (httpStatus !== undefined) {
    // SDK response errors (ClientError / ServerError / ThrottlingError): `code` is the cloud's Code.
    code = str(e.code) ?? str(data?.Code) ?? `Http${httpStatus}`;
  } else if (typeof e.code === 'string' && TRANSIENT_ERRNO.has(e.code)) {
    code = e.code;
  } else if (/socket hang up/i.test(rawMessage)) {
    code = 'ECONNRESET';
  } else if (err instanceof SyntaxError) {
    // The body was not JSON (a proxy's HTML error page, a truncated reply): status unknown.
    code = 'InvalidResponse';
  } else {
    // SDK-side failures without a response (e.g. InvalidCredentials) or a plain bug: never retried.
    code = str(e.code) ?? 'SdkError';
  }
  if (message.length > 500) message = `${message.slice(0, 500)}…`;

  const { retryable } = classify(code, httpStatus, extraRetryable);
  return new CloudError({ api, code, message, requestId, httpStatus, retryable, cause: err });
}
