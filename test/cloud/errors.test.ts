import { describe, expect, it } from 'vitest';
import { ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import { classify, toCloudError } from '../../daemon/cloud/errors.js';
import { CloudError } from '../../daemon/cloud/types.js';

// Built with the SDK's own error classes, filled the way openapi-core fills them from a reply.
function reply(kind: 'client' | 'server' | 'throttle', statusCode: number, code: string, requestId = 'RID-1'): Error {
  const map = {
    statusCode,
    code,
    message: `code: ${statusCode}, boom request id: ${requestId}`,
    data: { Code: code, Message: 'boom', RequestId: requestId },
    requestId,
  };
  if (kind === 'throttle') return new ThrottlingError(map);
  return kind === 'client' ? new ClientError(map) : new ServerError(map);
}

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

function timeout(): Error {
  const e = new Error('ReadTimeout(50). POST http://127.0.0.1/ failed.');
  e.name = 'RequestTimeoutError';
  return e;
}

const table: [string, unknown, { code: string; retryable: boolean; httpStatus?: number }][] = [
  ['Throttling.User (400)', reply('throttle', 400, 'Throttling.User'), { code: 'Throttling.User', retryable: true, httpStatus: 400 }],
  ['Throttling.Api', reply('throttle', 400, 'Throttling.Api'), { code: 'Throttling.Api', retryable: true }],
  ['Throttling', reply('throttle', 403, 'Throttling'), { code: 'Throttling', retryable: true }],
  ['InternalError 500', reply('server', 500, 'InternalError'), { code: 'InternalError', retryable: true, httpStatus: 500 }],
  ['ServiceUnavailable 503', reply('server', 503, 'ServiceUnavailable'), { code: 'ServiceUnavailable', retryable: true, httpStatus: 503 }],
  ['any 502', reply('server', 502, 'BadGateway'), { code: 'BadGateway', retryable: true, httpStatus: 502 }],
  ['read timeout', timeout(), { code: 'Timeout', retryable: true }],
  [
    'connect timeout',
    Object.assign(new Error('ConnectTimeout: Connect http://x failed.'), { name: 'RequestTimeoutError' }),
    { code: 'Timeout', retryable: true },
  ],
  ['ECONNRESET', errno('ECONNRESET', 'read ECONNRESET'), { code: 'ECONNRESET', retryable: true }],
  ['socket hang up', errno('ECONNRESET', 'socket hang up'), { code: 'ECONNRESET', retryable: true }],
  ['ECONNREFUSED', errno('ECONNREFUSED'), { code: 'ECONNREFUSED', retryable: true }],
  ['non-JSON reply', new SyntaxError('Unexpected token <'), { code: 'InvalidResponse', retryable: true }],
  [
    'IpNotEnough 403',
    reply('client', 403, 'InvalidVSwitchId.IpNotEnough'),
    { code: 'InvalidVSwitchId.IpNotEnough', retryable: false, httpStatus: 403 },
  ],
  ['QuotaExceeded', reply('client', 403, 'QuotaExceeded.PrivateIpAddress'), { code: 'QuotaExceeded.PrivateIpAddress', retryable: false }],
  [
    'EniPerInstanceLimitExceeded',
    reply('client', 403, 'EniPerInstanceLimitExceeded'),
    { code: 'EniPerInstanceLimitExceeded', retryable: false },
  ],
  [
    'ENI not found 404',
    reply('client', 404, 'InvalidEniId.NotFound'),
    { code: 'InvalidEniId.NotFound', retryable: false, httpStatus: 404 },
  ],
  ['bad state', reply('client', 403, 'InvalidOperation.InvalidEniState'), { code: 'InvalidOperation.InvalidEniState', retryable: false }],
  ['signature', reply('client', 400, 'SignatureDoesNotMatch'), { code: 'SignatureDoesNotMatch', retryable: false }],
  // another mutation of the ENI in progress: retried, as Terway does
  ['Operation.Conflict 403', reply('client', 403, 'Operation.Conflict'), { code: 'Operation.Conflict', retryable: true, httpStatus: 403 }],
  [
    'expired STS token',
    reply('client', 400, 'InvalidSecurityToken.Expired'),
    { code: 'InvalidSecurityToken.Expired', retryable: false, httpStatus: 400 },
  ],
  [
    'credentials missing (SDK, no reply)',
    new ClientError({ code: 'InvalidCredentials', message: 'set up credentials' }),
    { code: 'InvalidCredentials', retryable: false },
  ],
  ['a bug in our code', new TypeError('x is undefined'), { code: 'SdkError', retryable: false }],
];

describe('toCloudError classification', () => {
  it.each(table)('%s', (_name, raw, want) => {
    const e = toCloudError(raw, 'AssignPrivateIpAddresses');
    expect(e).toBeInstanceOf(CloudError);
    expect(e.code).toBe(want.code);
    expect(e.retryable).toBe(want.retryable);
    if (want.httpStatus !== undefined) expect(e.httpStatus).toBe(want.httpStatus);
    expect(e.api).toBe('AssignPrivateIpAddresses');
    expect(e.cause).toBe(raw);
  });

  it('carries the RequestId and the cloud message, not the SDK prefix', () => {
    const e = toCloudError(reply('client', 403, 'InvalidVSwitchId.IpNotEnough', 'ABC-123'), 'CreateNetworkInterface');
    expect(e.requestId).toBe('ABC-123');
    expect(e.message).toBe('CreateNetworkInterface: InvalidVSwitchId.IpNotEnough: boom (RequestId ABC-123)');
  });

  it('drops the SDK\'s literal "undefined" request id', () => {
    const e = toCloudError(
      new ServerError({ statusCode: 500, code: 'InternalError', message: 'x', requestId: 'undefined', data: {} }),
      'X',
    );
    expect(e.requestId).toBeUndefined();
  });

  it('passes CloudErrors through and lets operators add transient codes', () => {
    const ce = new CloudError({ api: 'X', code: 'Foo', message: 'm', retryable: false });
    expect(toCloudError(ce, 'Y')).toBe(ce);
    expect(toCloudError(reply('client', 409, 'OperationConflict'), 'X', new Set(['OperationConflict'])).retryable).toBe(true);
    expect(classify('OperationConflict', 409).retryable).toBe(false);
    expect(classify('Whatever', 429)).toEqual({ retryable: true, throttled: true });
  });
});
