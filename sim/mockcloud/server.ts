// The HTTP face: OpenAPI RPC requests (signature, throttling, faults, idempotency, JSON answers),
// the metadata service under /metadata/<instanceId>/, and the admin endpoint under /admin/.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { lookupAction, type ActionDef } from './actions.js';
import { handleAdmin } from './admin.js';
import { errors } from './errors.js';
import { Faults } from './faults.js';
import { EniLifecycle } from './lifecycle.js';
import { metadataLookup } from './metadata.js';
import { MetadataTokens } from './metadataTokens.js';
import { authenticate, NonceCache } from './signature.js';
import { ApiError, type FaultSpec, type WorldSpec } from './types.js';
import { World } from './world.js';

const MAX_BODY = 1 << 20;

/** Params that belong to the transport / signature, not to the request's meaning. */
const TRANSPORT_PARAMS = new Set([
  'ClientToken',
  'Signature',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureType',
  'Timestamp',
  'AccessKeyId',
  'Format',
  'Action',
  'Version',
]);

interface StoredResult {
  fingerprint: string;
  body: Record<string, unknown>;
}

export interface ServerOptions {
  world: WorldSpec;
  faults?: FaultSpec;
  attachDelayMs?: number;
  detachDelayMs?: number;
  deleteDelayMs?: number;
  /** Logs one line per API call to stderr (never stdout, never secrets). */
  log?: boolean;
}

export class MockCloudServer {
  readonly world: World;
  readonly faults: Faults;
  readonly events = new EventEmitter();
  readonly life: EniLifecycle;
  private readonly nonces = new NonceCache();
  private readonly metadataTokens = new MetadataTokens();
  private readonly idempotency = new Map<string, StoredResult>();
  private readonly held = new Set<http.ServerResponse>();
  private readonly server: http.Server;
  private readonly log: boolean;

  constructor(opts: ServerOptions) {
    this.world = new World(opts.world);
    this.faults = new Faults(
      opts.faults ?? {},
      { attachDelayMs: opts.attachDelayMs ?? 100, detachDelayMs: opts.detachDelayMs, deleteDelayMs: opts.deleteDelayMs },
      undefined,
      undefined,
      (ms) => this.world.setListingLag(ms),
    );
    this.life = new EniLifecycle(this.world, this.faults, this.events);
    this.log = opts.log ?? false;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        process.stderr.write(`mockcloud: unhandled error: ${String(err)}\n`);
        if (!res.headersSent) this.sendError(res, errors.internal(), randomUUID().toUpperCase(), 'ecs');
      });
    });
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.life.close();
    for (const res of this.held) res.destroy();
    this.held.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- request routing ---------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://mock');
    if (url.pathname.startsWith('/metadata/')) return this.handleMetadata(req, res, url);
    if (url.pathname === '/admin' || url.pathname.startsWith('/admin/')) {
      const out = handleAdmin(this, req.method ?? 'GET', url.pathname, body);
      res.writeHead(out.status, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify(out.body));
      return;
    }
    return this.handleApi(req, res, url, body);
  }

  private handleMetadata(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const m = /^\/metadata\/([^/]+)\/latest\/(meta-data|api\/token)(\/.*)?$/.exec(url.pathname);
    const instanceId = m ? decodeURIComponent(m[1]!) : '';
    const now = Date.now();
    let out;
    if (m && m[2] === 'api/token' && !m[3] && req.method === 'PUT') {
      out = this.metadataTokens.issue(instanceId, req.headers, now);
    } else if (!m || m[2] !== 'meta-data' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      out = { status: 404, body: 'Not Found' };
    } else {
      out =
        this.metadataTokens.check(instanceId, req.headers, now, this.world.metadataHttpTokens === 'required') ??
        metadataLookup(this.world, instanceId, m[3] ?? '', {
          now,
          lagMs: this.faults.metadataLagMs,
          ramFrozen: this.faults.ramCredentialsFrozen,
        });
    }
    res.writeHead(out.status, { 'content-type': 'text/plain' });
    res.end(out.body);
  }

  private async handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const params: Record<string, string> = { ...query };
    const ctype = String(req.headers['content-type'] ?? '');
    if (body.length > 0 && ctype.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
    }
    const action = headerValue(req, 'x-acs-action') ?? params.Action;
    const version = headerValue(req, 'x-acs-version') ?? params.Version;
    let product: 'ecs' | 'vpc' = version === '2016-04-28' ? 'vpc' : 'ecs';
    const started = performance.now();
    let def: ActionDef;
    try {
      this.faults.count(action ?? '(none)');
      def = lookupAction(version, action);
      product = def.product;
      const auth = authenticate({ method: req.method ?? 'GET', pathname: url.pathname, query, headers: req.headers, body }, params, {
        lookupKey: (id) => this.world.lookupKey(id),
        isIssuedToken: (token) => this.world.ram.isIssuedToken(token),
        now: Date.now,
        nonces: this.nonces,
      });
      if (!this.faults.admit()) throw errors.throttlingUser();
      const latency = this.faults.latencyFor(action!);
      if (latency > 0) await sleep(latency);
      const injected = this.faults.pickError(action!);
      if (injected && injected.kind === 'timeout' && !injected.afterEffect) return this.hold(res);
      if (injected && !injected.afterEffect) throw injectedError(injected.kind);
      const result = this.run(def, action!, params, auth.accessKeyId);
      if (injected) {
        if (injected.kind === 'timeout') return this.hold(res);
        throw injectedError(injected.kind);
      }
      this.logLine(action!, 200, started);
      send(res, 200, { RequestId: requestId, ...result }, requestId);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : errors.internal();
      if (!(err instanceof ApiError))
        process.stderr.write(`mockcloud: ${action} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      this.logLine(action ?? '(none)', apiErr.httpStatus, started, apiErr.code);
      this.sendError(res, apiErr, requestId, product);
    }
  }

  /** Runs the action, honouring ClientToken for idempotent actions. */
  private run(def: ActionDef, action: string, params: Record<string, string>, accessKeyId: string): Record<string, unknown> {
    const token = def.idempotent ? params.ClientToken : undefined;
    let key: string | undefined;
    let fingerprint = '';
    if (token) {
      key = `${accessKeyId}|${action}|${token}`;
      fingerprint = JSON.stringify(
        Object.keys(params)
          .filter((k) => !TRANSPORT_PARAMS.has(k))
          .sort()
          .map((k) => [k, params[k]]),
      );
      const prev = this.idempotency.get(key);
      if (prev) {
        if (prev.fingerprint !== fingerprint) throw errors.idempotentMismatch();
        return structuredClone(prev.body);
      }
    }
    // Another mutation of this ENI still in progress (the operationConflictMs fault).
    const eniId = def.mutatesEni ? params.NetworkInterfaceId : undefined;
    if (eniId && this.faults.conflicts(eniId)) throw errors.operationConflict();
    const body = def.fn({ world: this.world, life: this.life }, params);
    if (key) this.idempotency.set(key, { fingerprint, body: structuredClone(body) });
    return body;
  }

  private hold(res: http.ServerResponse): void {
    // a timeout: never answer; the client gives up (or close() drops the socket)
    this.held.add(res);
    res.on('close', () => this.held.delete(res));
  }

  private sendError(res: http.ServerResponse, e: ApiError, requestId: string, product: 'ecs' | 'vpc'): void {
    send(
      res,
      e.httpStatus,
      {
        RequestId: requestId,
        HostId: `${product}.${this.world.regionId}.aliyuncs.com`,
        Code: e.code,
        Message: e.message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(e.code)}&product=${product === 'ecs' ? 'Ecs' : 'Vpc'}&requestId=${requestId}`,
      },
      requestId,
    );
  }

  private logLine(action: string, status: number, started: number, code?: string): void {
    if (!this.log) return;
    process.stderr.write(`mockcloud: ${action} ${status}${code ? ` ${code}` : ''} ${(performance.now() - started).toFixed(1)}ms\n`);
  }
}

function injectedError(kind: string): ApiError {
  switch (kind) {
    case 'unavailable':
      return errors.unavailable();
    case 'throttle':
      return errors.throttling();
    default:
      return errors.internal();
  }
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: http.ServerResponse, status: number, body: unknown, requestId: string): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'x-acs-request-id': requestId,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
