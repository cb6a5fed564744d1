import { describe, expect, it } from 'vitest';
import { FakeClock } from '../support/clock.js';
import { BackoffTable, backoffDelay, DEFAULT_BACKOFF, fromTerwayBackoff, parseGoDurationMs, withRetry } from '../../daemon/cloud/retry.js';
import { toCloudError } from '../../daemon/cloud/errors.js';
import { CloudError } from '../../daemon/cloud/types.js';

const policy = { attempts: 5, baseMs: 100, factor: 2, capMs: 1000, jitter: 0.5 };

function sdkError(statusCode: number, code: string, requestId = 'req-1'): Error {
  const e = new Error(`code: ${statusCode}, msg request id: ${requestId}`) as Error & Record<string, unknown>;
  e.name = statusCode >= 500 ? 'ServerError' : 'ClientError';
  e.code = code;
  e.statusCode = statusCode;
  e.requestId = requestId;
  e.data = { Code: code, Message: 'msg', RequestId: requestId, statusCode };
  return e;
}

describe('backoffDelay', () => {
  it('grows exponentially, jitter adds up to jitter × delay, and the cap bounds everything', () => {
    expect([1, 2, 3, 4].map((r) => backoffDelay(policy, r, () => 0))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBeCloseTo(150);
    expect(backoffDelay(policy, 5, () => 0)).toBe(1000);
    expect(backoffDelay(policy, 30, () => 0.9)).toBe(1000);
  });
});

describe('withRetry (fake clock, fixed random)', () => {
  it('retries retryable errors with the computed delays, then succeeds', async () => {
    const clock = new FakeClock(0);
    const slept: number[] = [];
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        if (calls < 4) throw sdkError(400, 'Throttling.User');
        return 'ok';
      },
      (e) => toCloudError(e, 'AssignPrivateIpAddresses'),
      policy,
      {
        sleep: (ms) => {
          slept.push(ms);
          return clock.sleep(ms);
        },
        random: () => 0,
      },
    );
    await clock.advanceAsync(10_000);
    await expect(p).resolves.toBe('ok');
    expect(calls).toBe(4);
    expect(slept).toEqual([100, 200, 400]);
    expect(clock.now()).toBe(10_000);
  });

  it('never retries a client error and throws it typed', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw sdkError(403, 'InvalidVSwitchId.IpNotEnough', 'req-42');
      },
      (e) => toCloudError(e, 'AssignPrivateIpAddresses'),
      policy,
      { sleep: async () => undefined, random: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({
      code: 'InvalidVSwitchId.IpNotEnough',
      requestId: 'req-42',
      httpStatus: 403,
      retryable: false,
      api: 'AssignPrivateIpAddresses',
    });
  });

  it('gives up after `attempts` and throws the last error', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw sdkError(503, 'ServiceUnavailable', `req-${calls}`);
      },
      (e) => toCloudError(e, 'X'),
      { ...policy, attempts: 3 },
      { sleep: async () => undefined, random: () => 0 },
    ).catch((e: unknown) => e as CloudError);
    expect(calls).toBe(3);
    expect(err).toMatchObject({ code: 'ServiceUnavailable', requestId: 'req-3', retryable: true });
  });

  it('honours a longer retry-after hint, bounded by the cap', async () => {
    const slept: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls < 3) throw sdkError(400, 'Throttling');
        return 1;
      },
      (e) => toCloudError(e, 'X'),
      policy,
      { sleep: async (ms) => void slept.push(ms), random: () => 0 },
      () => (calls === 1 ? 700 : 50_000),
    );
    expect(slept).toEqual([700, 1000]);
  });

  it('reports each retry to the hook', async () => {
    const seen: [string, number, number][] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls < 3) throw sdkError(500, 'InternalError');
      },
      (e) => toCloudError(e, 'X'),
      policy,
      { sleep: async () => undefined, random: () => 0, onRetry: (e, r, d) => seen.push([e.code, r, d]) },
    );
    expect(seen).toEqual([
      ['InternalError', 1, 100],
      ['InternalError', 2, 200],
    ]);
  });
});

describe('Terway backoff_override', () => {
  it('parses Go durations and nanosecond numbers', () => {
    expect(parseGoDurationMs('1.5s')).toBe(1500);
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('250ms')).toBe(250);
    expect(parseGoDurationMs(2_000_000_000)).toBe(2000);
    expect(parseGoDurationMs('soon')).toBeUndefined();
  });

  it('maps wait.Backoff fields (any case) onto a policy per key, the rest from defaults', () => {
    expect(fromTerwayBackoff({ Duration: '10s', Factor: 2, Jitter: 0.3, Steps: 2 })).toEqual({
      baseMs: 10_000,
      factor: 2,
      jitter: 0.3,
      attempts: 2,
      capMs: DEFAULT_BACKOFF.capMs,
    });
    const t = new BackoffTable(
      DEFAULT_BACKOFF,
      { eni_ip_ops: { attempts: 9 } },
      { eni_create: { duration: 5_000_000, steps: 3, cap: '20s' } },
    );
    expect(t.forApi('CreateNetworkInterface')).toMatchObject({ baseMs: 5, attempts: 3, capMs: 20_000 });
    expect(t.forApi('AssignPrivateIpAddresses').attempts).toBe(9);
    expect(t.forApi('DescribeNetworkInterfaces')).toEqual(DEFAULT_BACKOFF);
  });
});
