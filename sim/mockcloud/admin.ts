// The admin endpoint (unsigned JSON, for tests and demos only): faults, counters, state dump.
import type { MockCloudServer } from './server.js';
import type { ErrorKind } from './types.js';

export interface AdminAnswer {
  status: number;
  body: unknown;
}

const KINDS: ErrorKind[] = ['5xx', 'unavailable', 'timeout', 'throttle'];

function parse(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const v: unknown = JSON.parse(body.toString('utf8'));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('body must be a JSON object');
  return v as Record<string, unknown>;
}

function num(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name} must be a number`);
  return v;
}

function kind(v: unknown): ErrorKind {
  if (typeof v !== 'string' || !KINDS.includes(v as ErrorKind)) throw new Error(`kind must be one of ${KINDS.join(', ')}`);
  return v as ErrorKind;
}

export function handleAdmin(cloud: MockCloudServer, method: string, path: string, raw: Buffer): AdminAnswer {
  try {
    const b = method === 'POST' ? parse(raw) : {};
    const f = cloud.faults;
    const route = `${method} ${path.replace(/\/+$/, '')}`;
    switch (route) {
      case 'GET /admin/counters':
        return { status: 200, body: f.counters() };
      case 'POST /admin/counters/reset':
        f.resetCounters();
        return { status: 200, body: {} };
      case 'GET /admin/dump':
        return { status: 200, body: cloud.world.dump() };
      case 'GET /admin/faults':
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/clear':
        f.clear();
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/latency': {
        const action = typeof b.action === 'string' ? b.action : '*';
        const ms = Array.isArray(b.ms) ? ([num(b.ms[0], 'ms[0]'), num(b.ms[1], 'ms[1]')] as [number, number]) : num(b.ms, 'ms');
        f.setLatency(action, ms);
        return { status: 200, body: f.state() };
      }
      case 'POST /admin/faults/attach-delay':
        f.setAttachDelay(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/detach-delay':
        f.setDetachDelay(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/throttle':
        f.setThrottle(
          b.qps === null || b.qps === undefined ? null : num(b.qps, 'qps'),
          b.burst === undefined ? undefined : num(b.burst, 'burst'),
        );
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/error-rate':
        f.setErrorRate(typeof b.action === 'string' ? b.action : '*', num(b.rate, 'rate'), kind(b.kind), {
          afterEffect: b.afterEffect === true,
        });
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/fail-next':
        f.failNext(typeof b.action === 'string' ? b.action : '*', num(b.count, 'count'), kind(b.kind), {
          afterEffect: b.afterEffect === true,
        });
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/metadata-lag':
        f.setMetadataLag(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/delete-delay':
        f.setDeleteDelay(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/stale-listings':
        f.setStaleListings(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/operation-conflict':
        f.setOperationConflict(num(b.ms, 'ms'));
        return { status: 200, body: f.state() };
      case 'POST /admin/faults/ram-credentials-frozen':
        if (typeof b.frozen !== 'boolean') throw new Error('frozen must be a boolean');
        f.freezeRamCredentials(b.frozen);
        return { status: 200, body: f.state() };
      case 'POST /admin/metadata-http-tokens':
        if (b.httpTokens !== 'optional' && b.httpTokens !== 'required') throw new Error('httpTokens must be optional or required');
        cloud.world.metadataHttpTokens = b.httpTokens;
        return { status: 200, body: { httpTokens: b.httpTokens } };
      default:
        return { status: 404, body: { error: `no admin route ${route}` } };
    }
  } catch (err) {
    return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}
