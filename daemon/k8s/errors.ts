// Typed Kubernetes API errors. The client-node library throws ApiException (HTTP status + raw body) or
// node-fetch errors (network, abort); both are folded into one KubeError carrying the HTTP status and
// the Status `reason` the API server sent (NotFound, Unauthorized, Conflict, ...).

export type KubeErrorReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unreachable' // connection refused / reset / DNS: no HTTP answer at all
  | 'NotConfigured'
  | 'Unknown'
  | (string & {}); // any other Status reason the server sends

export class KubeError extends Error {
  /** HTTP status; 0 when there was no HTTP answer (network error, client timeout, config). */
  readonly status: number;
  readonly reason: KubeErrorReason;
  /** True when the same call may succeed later (throttled, 5xx, network, conflict). */
  readonly retryable: boolean;
  constructor(status: number, reason: KubeErrorReason, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
    this.retryable = status === 0 ? reason === 'Timeout' || reason === 'Unreachable' : status === 409 || status === 429 || status >= 500;
  }
}

const REASON_BY_STATUS: Record<number, KubeErrorReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

interface StatusBody {
  reason?: unknown;
  message?: unknown;
}

function parseStatusBody(body: unknown): StatusBody | undefined {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body === 'string' && body.trimStart().startsWith('{')) {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Turns anything thrown by client-node (or our own code) into a KubeError. `what` names the call. */
export function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  const e = err as { name?: unknown; code?: unknown; body?: unknown; type?: unknown; message?: unknown } | null;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  // ApiException: numeric HTTP code + body (a JSON Status as text, or undefined for 401).
  if (e && typeof e.code === 'number' && e.code >= 100) {
    const status = e.code;
    const body = parseStatusBody(e.body);
    const reason =
      typeof body?.reason === 'string' && body.reason
        ? body.reason
        : (REASON_BY_STATUS[status] ?? (status >= 500 ? 'InternalError' : 'Unknown'));
    const detail = typeof body?.message === 'string' && body.message ? body.message : reason;
    return new KubeError(status, reason, `${what}: HTTP ${status} ${reason}: ${detail}`, { cause: err });
  }
  if (e && (e.name === 'AbortError' || e.type === 'aborted' || e.name === 'TimeoutError')) {
    return new KubeError(0, 'Timeout', `${what}: request timed out`, { cause: err });
  }
  // node-fetch FetchError (type 'system', code ECONNREFUSED ...) and plain socket errors.
  if (e && (e.name === 'FetchError' || (typeof e.code === 'string' && /^E[A-Z]+/.test(e.code)))) {
    return new KubeError(0, 'Unreachable', `${what}: ${msg}`, { cause: err });
  }
  return new KubeError(0, 'Unknown', `${what}: ${msg}`, { cause: err });
}
