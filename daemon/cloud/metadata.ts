// ECS instance metadata over plain HTTP (100.100.100.200 in the real cloud, a per-instance prefix on
// the mock). Keep-alive agent, short per-request timeout, a few quick retries on 5xx / socket errors.
import http from 'node:http';
import { CloudError, CloudErrorCodes, type CloudObserver, type EniMetadata, type InstanceMetadata } from './types.js';
import { type Clock, systemClock } from './clock.js';

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
}

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

  constructor(opts: MetadataClientOptions) {
    const base = opts.baseUrl.replace(/\/+$/, '');
    this.base = new URL(`${base}/latest/meta-data/`);
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
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) {
        this.stat.retries++;
        await this.clock.sleep(this.backoffMs * Math.pow(2, attempt - 2));
      }
      try {
        return (await this.once(path)).trim();
      } catch (err) {
        lastErr = err as MetadataError;
        if (!lastErr.retryable) throw lastErr;
      }
    }
    throw lastErr!;
  }

  private once(path: string): Promise<string> {
    const url = new URL(path.replace(/^\/+/, ''), this.base);
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
      const req = http.get(url, { agent: this.agent, timeout: this.timeoutMs }, (res) => {
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
    const [eniId, primaryIp, privateIpsRaw, vSwitchId, vSwitchCidr, gateway] = await Promise.all([
      this.get(`${p}network-interface-id`),
      this.get(`${p}primary-ip-address`),
      this.get(`${p}private-ipv4s`),
      this.get(`${p}vswitch-id`),
      this.get(`${p}vswitch-cidr-block`),
      this.get(`${p}gateway`),
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
    return { mac: m, eniId, primaryIp, privateIps, vSwitchId, vSwitchCidr, gateway };
  }

  stats(): MetadataStats {
    return { ...this.stat };
  }

  close(): void {
    this.agent.destroy();
  }
}
