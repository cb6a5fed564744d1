// ECS instance metadata over plain HTTP (100.100.100.200 in the real cloud, a per-instance prefix on
// the mock). Keep-alive agent, short per-request timeout, a few quick retries on 5xx / socket errors.
// Security hardening mode, as Terway reads metadata: a token from `PUT /latest/api/token` (TTL in
// `X-aliyun-ecs-metadata-token-ttl-seconds`) goes with every read in `X-aliyun-ecs-metadata-token`, so
// an instance in hardened-only mode works; a 401 drops the token and the read is tried once more with a
// new one. A service that has no token endpoint (404 / 405 / 403 to the PUT) is read without one.
import http from 'node:http';
import { CloudError, CloudErrorCodes, type CloudObserver, type EniMetadata, type InstanceMetadata } from './types.js';
import { type Clock, systemClock } from './clock.js';
import { canonicalIpv6 } from '../../lib/ipv6.js';

export const REAL_METADATA_BASE_URL = 'http://100.100.100.200';

/** A failed metadata read; `path` is the meta-data path, `httpStatus` the server's answer if any. */
export class MetadataError extends CloudError {
  readonly path: string;
  constructor(opts: { path: string; code: string; message: string; httpStatus?: number; retryable: boolean; cause?: unknown }) {
    super({
      api: 'Metadata',
      code: opts.code,
      message: `${opts.path}: ${opts.message}`,
      httpStatus: opts.httpStatus,
      retryable: opts.retryable,
      cause: opts.cause,
    });
    this.name = 'MetadataError';
    this.path = opts.path;
  }
}

export interface MetadataClientOptions {
  /** e.g. `http://100.100.100.200` or `${mockUrl}/metadata/${instanceId}`; `/latest/meta-data/` is appended. */
  baseUrl: string;
  /** Per-request timeout (ms). Default 2000. */
  timeoutMs?: number;
  /** Attempts per read (1 = no retry). Default 3. */
  attempts?: number;
  /** Delay before the first retry (ms), doubled per retry. Default 100. */
  backoffMs?: number;
  clock?: Clock;
  /** Metrics hook, called once per HTTP request (retries included). */
  observer?: Pick<CloudObserver, 'metadataRequest'>;
  /** The token lifetime asked for, seconds (1 to 21600; default 21600, Terway's). */
  tokenTtlSeconds?: number;
}

const TOKEN_TTL_HEADER = 'X-aliyun-ecs-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'X-aliyun-ecs-metadata-token';
/** How long a service without a token endpoint is read without one before the PUT is tried again. */
const NO_TOKEN_RECHECK_MS = 5 * 60_000;

export interface MetadataStats {
  requests: number;
  errors: number;
  retries: number;
  totalLatencyMs: number;
  maxLatencyMs: number;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase().replace(/-/g, ':');
}

/** Parses `private-ipv4s`: a JSON array in the real service; newline / comma lists are tolerated. */
export function parseIpList(body: string): string[] {
  const t = body.trim();
  if (t === '') return [];
  if (t.startsWith('[')) {
    const parsed: unknown = JSON.parse(t);
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed.map((x) => String(x).trim()).filter((x) => x !== '');
  }
  return t.split(/[\s,]+/).filter((x) => x !== '');
}

/** Parses a directory listing such as `network/interfaces/macs/` (one entry per line, maybe a trailing '/'). */
export function parseListing(body: string): string[] {
  return body
    .split('\n')
    .map((l) => l.trim().replace(/\/$/, ''))
    .filter((l) => l !== '');
}

export class MetadataClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly clock: Clock;
  private readonly observer?: Pick<CloudObserver, 'metadataRequest'>;
  private readonly stat: MetadataStats = { requests: 0, errors: 0, retries: 0, totalLatencyMs: 0, maxLatencyMs: 0 };
  private readonly tokenUrl: URL;
  private readonly tokenTtlSeconds: number;
  /** The token and until when it is used (`null`: the service has no token endpoint). */
  private token?: { value: string | null; until: number };
  private tokenFlight?: Promise<string | null>;

  constructor(opts: MetadataClientOptions) {
    const base = opts.baseUrl.replace(/\/+$/, '');
    this.base = new URL(`${base}/latest/meta-data/`);
    this.tokenUrl = new URL(`${base}/latest/api/token`);
    this.tokenTtlSeconds = Math.min(21_600, Math.max(1, Math.floor(opts.tokenTtlSeconds ?? 21_600)));
    if (this.base.protocol !== 'http:') throw new Error(`metadata base URL must be http: ${opts.baseUrl}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.backoffMs = opts.backoffMs ?? 100;
    this.clock = opts.clock ?? systemClock;
    this.observer = opts.observer;
  }

  /** Reads one meta-data path (relative, e.g. `instance-id` or `network/interfaces/macs/`), trimmed. */
  async get(path: string): Promise<string> {
    let lastErr: MetadataError | undefined;
    let renewedToken = false;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) {
        this.stat.retries++;
        await this.clock.sleep(this.backoffMs * Math.pow(2, attempt - 2));
      }
      try {
        const token = await this.currentToken();
        const url = new URL(path.replace(/^\/+/, ''), this.base);
        return (await this.once('GET', url, path, token ? { [TOKEN_HEADER]: token } : {})).trim();
      } catch (err) {
        lastErr = err as MetadataError;
        if (lastErr.httpStatus === 401 && !renewedToken) {
          // The token expired or the service forgot it: one more try at once with a new one (as Terway does).
          renewedToken = true;
          this.token = undefined;
          attempt--;
          continue;
        }
        if (!lastErr.retryable) throw lastErr;
      }
    }
    throw lastErr!;
  }

  /** The token to send (undefined: read without one). One PUT at a time; reused for 80% of its TTL less a minute. */
  private async currentToken(): Promise<string | undefined> {
    const now = this.clock.now();
    if (this.token && now < this.token.until) return this.token.value ?? undefined;
    this.tokenFlight ??= this.fetchToken(this.tokenUrl).finally(() => (this.tokenFlight = undefined));
    return (await this.tokenFlight) ?? undefined;
  }

  private async fetchToken(url: URL): Promise<string | null> {
    const ttlMs = this.tokenTtlSeconds * 1000;
    try {
      const value = (await this.once('PUT', url, 'api/token', { [TOKEN_TTL_HEADER]: String(this.tokenTtlSeconds) })).trim();
      this.token = { value, until: this.clock.now() + Math.max(ttlMs / 2, ttlMs * 0.8 - 60_000) };
      return value;
    } catch (err) {
      const status = (err as MetadataError).httpStatus;
      if (status !== 404 && status !== 405 && status !== 403) throw err;
      this.token = { value: null, until: this.clock.now() + NO_TOKEN_RECHECK_MS };
      return null;
    }
  }

  private once(method: 'GET' | 'PUT', url: URL, path: string, headers: Record<string, string>): Promise<string> {
    const started = performance.now();
    this.stat.requests++;
    const done = (failed: boolean): void => {
      const ms = performance.now() - started;
      this.stat.totalLatencyMs += ms;
      this.stat.maxLatencyMs = Math.max(this.stat.maxLatencyMs, ms);
      this.observer?.metadataRequest?.(url.href, ms, failed);
    };
    return new Promise<string>((resolve, reject) => {
      const fail = (e: MetadataError): void => {
        this.stat.errors++;
        done(true);
        reject(e);
      };
      const req = http.request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(new MetadataError({ path, code: 'ECONNRESET', message: e.message, retryable: true, cause: e })));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status === 200) {
            done(false);
            resolve(body);
          } else if (status === 404) {
            fail(new MetadataError({ path, code: 'MetadataNotFound', message: 'not found (404)', httpStatus: status, retryable: false }));
          } else {
            fail(
              new MetadataError({
                path,
                code: `Http${status}`,
                message: body.slice(0, 200),
                httpStatus: status,
                retryable: status >= 500 || status === 429,
              }),
            );
          }
        });
      });
      req.on('timeout', () => {
        req.destroy(
          new MetadataError({ path, code: CloudErrorCodes.Timeout, message: `no answer within ${this.timeoutMs}ms`, retryable: true }),
        );
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof MetadataError) fail(e);
        else fail(new MetadataError({ path, code: e.code ?? 'NetworkError', message: e.message, retryable: true, cause: e }));
      });
      req.end();
    });
  }

  async instanceMetadata(): Promise<InstanceMetadata> {
    const [instanceId, regionId, zoneId, instanceType, vpcId, vSwitchId, mac, macs] = await Promise.all([
      this.get('instance-id'),
      this.get('region-id'),
      this.get('zone-id'),
      this.get('instance/instance-type'),
      this.get('vpc-id'),
      this.get('vswitch-id'),
      this.get('mac'),
      this.eniMacs(),
    ]);
    return { instanceId, regionId, zoneId, instanceType, vpcId, vSwitchId, primaryMac: normalizeMac(mac), eniMacs: macs };
  }

  /** MACs of every ENI the instance sees (metadata may lag a freshly attached ENI by seconds). */
  async eniMacs(): Promise<string[]> {
    const body = await this.get('network/interfaces/macs/');
    const macs = parseListing(body).map(normalizeMac);
    const bad = macs.find((m) => !MAC_RE.test(m));
    if (bad !== undefined)
      throw new MetadataError({
        path: 'network/interfaces/macs/',
        code: 'InvalidResponse',
        message: `bad MAC ${JSON.stringify(bad)}`,
        retryable: false,
      });
    return macs;
  }

  async eniMetadata(mac: string): Promise<EniMetadata> {
    const m = normalizeMac(mac);
    const p = `network/interfaces/macs/${m}/`;
    const [eniId, primaryIp, privateIpsRaw, vSwitchId, vSwitchCidr, gateway, vSwitchIpv6Cidr] = await Promise.all([
      this.get(`${p}network-interface-id`),
      this.get(`${p}primary-ip-address`),
      this.get(`${p}private-ipv4s`),
      this.get(`${p}vswitch-id`),
      this.get(`${p}vswitch-cidr-block`),
      this.get(`${p}gateway`),
      this.getOptional(`${p}vswitch-ipv6-cidr-block`),
    ]);
    let privateIps: string[];
    try {
      privateIps = parseIpList(privateIpsRaw);
    } catch (e) {
      throw new MetadataError({
        path: `${p}private-ipv4s`,
        code: 'InvalidResponse',
        message: `cannot parse ${JSON.stringify(privateIpsRaw.slice(0, 100))}`,
        retryable: false,
        cause: e,
      });
    }
    const base = { mac: m, eniId, primaryIp, privateIps, vSwitchId, vSwitchCidr, gateway };
    if (vSwitchIpv6Cidr === undefined) return base;
    // IPv6 turned on for the vSwitch: its gateway, and the ENI's addresses (ECS answers 404 while it has none).
    const [ipv6Gateway, ipv6sRaw] = await Promise.all([this.get(`${p}ipv6-gateway`), this.getOptional(`${p}ipv6s`)]);
    let ipv6s: string[] = [];
    try {
      ipv6s = ipv6sRaw === undefined ? [] : parseIpList(ipv6sRaw).map(canonicalIpv6);
    } catch (e) {
      throw new MetadataError({ path: `${p}ipv6s`, code: 'InvalidResponse', message: 'cannot parse', retryable: false, cause: e });
    }
    return { ...base, vSwitchIpv6Cidr: vSwitchIpv6Cidr.trim(), ipv6Gateway: ipv6Gateway.trim(), ipv6s };
  }

  /** A path that may not exist: undefined on 404. */
  private async getOptional(path: string): Promise<string | undefined> {
    try {
      return await this.get(path);
    } catch (e) {
      if (e instanceof MetadataError && e.code === 'MetadataNotFound') return undefined;
      throw e;
    }
  }

  stats(): MetadataStats {
    return { ...this.stat };
  }

  close(): void {
    this.agent.destroy();
  }
}
