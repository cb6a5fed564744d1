// KubeApi as plain HTTPS requests: the pod's service account (in-cluster) or kube_api_server + token + CA. Five
// calls do not need @kubernetes/client-node, whose generated models cost ~1 s and ~60 MiB to load on every node
// (daemon/README.md, "Start-up and footprint"). Keep-alive connections, a deadline per request, a bound on the
// reply size; the service account token is re-read every minute (projected tokens rotate, as client-go does).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeApi, PatchKind } from './api.js';
import { KubeError } from './errors.js';

/** Where the service account's files are mounted in every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A pod list page of 500 pods is a few MiB; nothing the daemon asks for comes near this. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;
const TOKEN_REREAD_MS = 60_000;

export interface RestTarget {
  /** `https://host:port` (or `http://` for tests and local proxies). */
  server: string;
  /** The bearer token for each request (undefined: none). */
  token(): string | undefined;
  /** PEM CA bundle; default the system roots. */
  ca?: Buffer;
}

/** The in-cluster target: KUBERNETES_SERVICE_HOST/PORT, the service account's token (re-read) and CA. */
export function inClusterTarget(
  env: Readonly<Record<string, string | undefined>>,
  dir = SERVICE_ACCOUNT_DIR,
  now: () => number = Date.now,
): RestTarget {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] || '443';
  if (!host) throw new KubeError(0, 'NotConfigured', 'KUBERNETES_SERVICE_HOST is not set: not running in a pod');
  let ca: Buffer;
  try {
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (e) {
    throw new KubeError(0, 'NotConfigured', `service account CA ${dir}/ca.crt: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`);
  }
  const tokenFile = `${dir}/token`;
  let token = readToken(tokenFile);
  let readAt = now();
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    token: () => {
      if (now() - readAt >= TOKEN_REREAD_MS) {
        readAt = now();
        try {
          token = readToken(tokenFile) ?? token;
        } catch {
          // A failed re-read keeps the token we have: the API server says when it is no longer good.
        }
      }
      return token;
    },
  };
}

function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (e) {
    throw new KubeError(0, 'NotConfigured', `service account token ${file}: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`);
  }
}

/** An HTTP answer other than 2xx, shaped as client-node's ApiException so errors.ts maps both alike. */
class HttpStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
    this.name = 'HttpStatusError';
  }
}

const enc = encodeURIComponent;

export function restApi(target: RestTarget, timeoutMs: number): KubeApi {
  const base = new URL(target.server);
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') throw new KubeError(0, 'NotConfigured', `kubernetes API server ${target.server}: not http(s)`);
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 8, ...(target.ca ? { ca: target.ca } : {}) })
    : new http.Agent({ keepAlive: true, maxSockets: 8 });
  const prefix = base.pathname.replace(/\/+$/, '');

  function request<T>(method: string, path: string, body?: object, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const token = target.token();
    const headers: Record<string, string | number> = { Accept: 'application/json', 'User-Agent': 'eni-ipam' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = payload.length;
    }
    return new Promise<T>((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || (secure ? 443 : 80),
          path: `${prefix}${path}`,
          method,
          headers,
          agent,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_REPLY_BYTES) {
              req.destroy(new KubeError(0, 'Unknown', `reply larger than ${MAX_REPLY_BYTES} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(new HttpStatusError(status, text));
            try {
              resolve((text ? JSON.parse(text) : {}) as T);
            } catch (e) {
              reject(new KubeError(status, 'Unknown', `reply is not JSON: ${(e as Error).message}`));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const patchType: Record<PatchKind, string> = {
    merge: 'application/merge-patch+json',
    strategic: 'application/strategic-merge-patch+json',
  };
  return {
    readPod: (namespace, name) => request<V1Pod>('GET', `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`),
    listPods: async (fieldSelector, limit, cont) => {
      const q = new URLSearchParams({ fieldSelector, limit: String(limit) });
      if (cont) q.set('continue', cont);
      const page = await request<{ items?: V1Pod[]; metadata?: { continue?: string } }>('GET', `/api/v1/pods?${q.toString()}`);
      return { items: page.items ?? [], continue: page.metadata?.continue || undefined };
    },
    createEvent: async (namespace, body) => {
      await request('POST', `/api/v1/namespaces/${enc(namespace)}/events`, body);
    },
    readNode: (name) => request<V1Node>('GET', `/api/v1/nodes/${enc(name)}`),
    patchNodeStatus: async (name, body, kind) => {
      await request('PATCH', `/api/v1/nodes/${enc(name)}/status`, body, patchType[kind]);
    },
    patchNode: async (name, body, kind) => {
      await request('PATCH', `/api/v1/nodes/${enc(name)}`, body, patchType[kind]);
    },
    readConfigMap: (namespace, name) => request<V1ConfigMap>('GET', `/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`),
  };
}
