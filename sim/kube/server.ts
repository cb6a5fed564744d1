// The in-memory Kubernetes API server over HTTP (node:http on 127.0.0.1), so the real
// @kubernetes/client-node talks to it as to kube-apiserver. Core routes the daemon's client uses:
//   GET   /api/v1/namespaces/{ns}/pods/{name}
//   GET   /api/v1/pods?fieldSelector=spec.nodeName=X[&limit&continue]
//   POST  /api/v1/namespaces/{ns}/events
//   GET   /api/v1/nodes/{name}
//   PATCH /api/v1/nodes/{name}          (merge-patch+json: labels / annotations)
//   PATCH /api/v1/nodes/{name}/status   (merge-patch+json or strategic-merge-patch+json)
//   GET   /api/v1/namespaces/{ns}/configmaps/{name}
// and every kind registered in its ApiStore (store.ts: custom resources such as the Node CR, Leases), with
// the store's semantics (resourceVersion conflicts, status subresource, watches with bookmarks and 410):
//   GET/POST       /apis/{group}/{version}[/namespaces/{ns}]/{plural}     list (?watch=true streams), create
//   GET/PUT/DELETE /apis/{group}/{version}[/namespaces/{ns}]/{plural}/{name}
//   GET/PUT        /apis/{group}/{version}[/namespaces/{ns}]/{plural}/{name}/status
// Every request must carry `Authorization: Bearer <token>`. Faults: failWith(status), hang(), and the store's.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { KubeError } from '../../daemon/k8s/errors.js';
import type { KubeObject, WatchEvent } from '../../daemon/k8s/objects.js';
import { ApiStore, type StoredResource } from './store.js';

type Json = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
}

export interface PodSpec {
  namespace: string;
  name: string;
  uid?: string;
  nodeName?: string;
  ownerKind?: string;
  annotations?: Record<string, string>;
  phase?: string;
  createdAt?: string;
  deletionTimestamp?: string;
  hostNetwork?: boolean;
}

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Json = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// Lists that strategic merge patches merge by key (the only ones node status patches touch here).
const MERGE_KEYS: Record<string, string> = { 'status.conditions': 'type', 'status.addresses': 'type' };

/** Strategic merge patch, reduced to what node status needs: maps merge, keyed lists merge by key. */
export function strategicMergePatch(target: unknown, patch: unknown, at = ''): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[at];
    if (!key || !Array.isArray(target)) return patch;
    const out = target.map((x) => (isObj(x) ? { ...x } : x));
    for (const item of patch) {
      if (!isObj(item)) continue;
      const i = out.findIndex((x) => isObj(x) && x[key] === item[key]);
      if (i >= 0) out[i] = strategicMergePatch(out[i], item, `${at}[]`);
      else out.push(item);
    }
    return out;
  }
  if (!isObj(patch)) return patch;
  const out: Json = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v, at ? `${at}.${k}` : k);
  }
  return out;
}

export class FakeApiServer {
  readonly pods = new Map<string, Json>();
  readonly nodes = new Map<string, Json>();
  /** `namespace/name` → ConfigMap. */
  readonly configMaps = new Map<string, Json>();
  readonly events: Json[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Caps LIST pages regardless of `limit`, to exercise `continue`. */
  maxPageSize = 500;
  private failure?: number;
  private hanging = false;
  private readonly held: http.ServerResponse[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly token: string,
    /** The objects behind the /apis routes. */
    readonly store: ApiStore,
  ) {}

  /** `store`: serve this one (shared with in-process clients); else a new one with `resources` registered. */
  static async start(opts: { token?: string; store?: ApiStore; resources?: StoredResource[] } = {}): Promise<FakeApiServer> {
    const server = http.createServer();
    const fake = new FakeApiServer(server, opts.token ?? `tok-${randomUUID()}`, opts.store ?? new ApiStore(opts.resources));
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** Answers every authenticated request with this HTTP status (undefined = normal service). */
  failWith(code: number | undefined): void {
    this.failure = code;
  }

  /** Accepts requests and never answers them (until close). */
  hang(on = true): void {
    this.hanging = on;
  }

  addPod(p: PodSpec): Json {
    const pod: Json = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        namespace: p.namespace,
        name: p.name,
        uid: p.uid ?? randomUUID(),
        creationTimestamp: p.createdAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...(p.annotations ? { annotations: p.annotations } : {}),
        ...(p.deletionTimestamp ? { deletionTimestamp: p.deletionTimestamp } : {}),
        ...(p.ownerKind
          ? {
              ownerReferences: [{ apiVersion: 'apps/v1', kind: p.ownerKind, name: `${p.name}-owner`, uid: randomUUID(), controller: true }],
            }
          : {}),
      },
      spec: {
        containers: [{ name: 'c', image: 'pause' }],
        ...(p.nodeName ? { nodeName: p.nodeName } : {}),
        ...(p.hostNetwork ? { hostNetwork: true } : {}),
      },
      status: { phase: p.phase ?? 'Running' },
    };
    this.pods.set(`${p.namespace}/${p.name}`, pod);
    return pod;
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  addNode(name: string, extra: Json = {}): Json {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const node = mergePatch(
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, uid: randomUUID(), creationTimestamp: now },
        spec: {},
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
      extra,
    ) as Json;
    this.nodes.set(name, node);
    return node;
  }

  addConfigMap(namespace: string, name: string, data: Record<string, string>): Json {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, uid: randomUUID() }, data };
    this.configMaps.set(`${namespace}/${name}`, cm);
    return cm;
  }

  /** Writes a kubeconfig pointing at this server; `token` defaults to the right one. */
  writeKubeconfig(dir: string, token = this.token): string {
    const file = path.join(dir, `kubeconfig-${randomUUID()}.yaml`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: fake',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: fake',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.send(res, 400, status(400, 'BadRequest', 'body is not JSON'));
      }
    }
    this.requests.push({ method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), contentType, body });

    if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    if (this.hanging) {
      this.held.push(res);
      return;
    }
    if (this.failure !== undefined)
      return this.send(
        res,
        this.failure,
        status(this.failure, this.failure >= 500 ? 'InternalError' : 'BadRequest', `injected failure ${this.failure}`),
      );

    const seg = u.pathname.split('/').filter(Boolean);
    const m = req.method;
    if (seg[0] === 'apis') return this.handleApis(req, res, u, seg, body);
    // /api/v1/namespaces/{ns}/pods/{name}
    if (m === 'GET' && seg.length === 6 && seg[2] === 'namespaces' && seg[4] === 'pods') {
      const pod = this.pods.get(`${seg[3]}/${seg[5]}`);
      return pod ? this.send(res, 200, pod) : this.send(res, 404, status(404, 'NotFound', `pods "${seg[5]}" not found`));
    }
    // /api/v1/pods
    if (m === 'GET' && seg.length === 3 && seg[2] === 'pods') return this.listPods(u, res);
    // /api/v1/namespaces/{ns}/events
    if (m === 'POST' && seg.length === 5 && seg[2] === 'namespaces' && seg[4] === 'events') return this.createEvent(seg[3]!, body, res);
    // /api/v1/namespaces/{ns}/configmaps/{name}
    if (m === 'GET' && seg.length === 6 && seg[2] === 'namespaces' && seg[4] === 'configmaps') {
      const cm = this.configMaps.get(`${seg[3]}/${seg[5]}`);
      return cm ? this.send(res, 200, cm) : this.send(res, 404, status(404, 'NotFound', `configmaps "${seg[5]}" not found`));
    }
    // /api/v1/nodes/{name}[/status]
    if (seg.length >= 4 && seg[2] === 'nodes') {
      const node = this.nodes.get(seg[3]!);
      if (!node) return this.send(res, 404, status(404, 'NotFound', `nodes "${seg[3]}" not found`));
      if (m === 'GET' && seg.length === 4) return this.send(res, 200, node);
      if (m === 'PATCH' && seg.length === 4) {
        if (contentType !== 'application/merge-patch+json')
          return this.send(res, 415, status(415, 'UnsupportedMediaType', `unsupported patch type ${contentType}`));
        // The main resource ignores status changes (the status subresource has them).
        const patch = isObj(body) ? { ...body } : {};
        delete patch.status;
        const updated = mergePatch(node, patch) as Json;
        this.nodes.set(seg[3]!, updated);
        return this.send(res, 200, updated);
      }
      if (m === 'PATCH' && seg.length === 5 && seg[4] === 'status') {
        // A status patch may only change status.
        const st = isObj(body) ? body.status : undefined;
        let next: unknown;
        if (contentType === 'application/merge-patch+json') next = mergePatch(node.status, st);
        else if (contentType === 'application/strategic-merge-patch+json') next = strategicMergePatch(node.status, st, 'status');
        else
          return this.send(
            res,
            415,
            status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`),
          );
        const updated = { ...node, status: next };
        this.nodes.set(seg[3]!, updated);
        return this.send(res, 200, updated);
      }
    }
    return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${m} ${u.pathname})`));
  }

  /** /apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/status]] onto the store. */
  private handleApis(req: http.IncomingMessage, res: http.ServerResponse, u: URL, seg: string[], body: unknown): void {
    const [, group = '', , ...rest] = seg;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest.splice(0, 2);
    }
    const [plural = '', name, sub] = rest;
    const def = this.store.resource(group, plural);
    if (!def || rest.length > 3 || (sub !== undefined && sub !== 'status') || def.namespaced !== (namespace !== undefined))
      return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${u.pathname})`));
    const q = u.searchParams;
    const withNs = (o: unknown): KubeObject & Json => {
      const obj = (isObj(o) ? o : {}) as KubeObject & Json;
      if (!isObj(obj.metadata)) obj.metadata = { name: '' };
      if (namespace) obj.metadata.namespace = namespace;
      return obj;
    };
    try {
      if (name === undefined) {
        if (req.method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1'))
          return this.streamWatch(req, res, def, q, namespace);
        if (req.method === 'GET') {
          const list = this.store.list(def, { namespace, fieldSelector: q.get('fieldSelector') ?? undefined });
          return this.send(res, 200, {
            apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
            kind: `${def.kind}List`,
            metadata: { resourceVersion: list.resourceVersion },
            items: list.items,
          });
        }
        if (req.method === 'POST') return this.send(res, 201, this.store.create(def, withNs(body)));
      } else {
        if (req.method === 'GET') {
          const o = this.store.get(def, name, namespace);
          return o ? this.send(res, 200, o) : this.send(res, 404, status(404, 'NotFound', `${plural}.${group} "${name}" not found`));
        }
        if (req.method === 'PUT') {
          const o = withNs(body);
          if (o.metadata.name !== name)
            throw new KubeError(
              400,
              'BadRequest',
              `the name of the object (${String(o.metadata.name)}) does not match the name on the URL (${name})`,
            );
          return this.send(res, 200, sub === 'status' ? this.store.updateStatus(def, o) : this.store.update(def, o));
        }
        if (req.method === 'DELETE' && sub === undefined) {
          this.store.delete(def, name, namespace);
          return this.send(res, 200, status(200, '', 'deleted'));
        }
      }
      return this.send(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
    } catch (err) {
      if (err instanceof KubeError && err.status === 0) {
        res.destroy(); // no HTTP answer at all: the client sees a connection failure
        return;
      }
      const e = err instanceof KubeError ? err : new KubeError(500, 'InternalError', (err as Error).message);
      return this.send(res, e.status, status(e.status, e.reason, e.message));
    }
  }

  /** A watch as kube-apiserver streams it: one JSON event per line, BOOKMARKs, ERROR 410 then the end. */
  private streamWatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    def: StoredResource,
    q: URLSearchParams,
    namespace?: string,
  ): void {
    const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const line = (e: WatchEvent<KubeObject>): string => {
      switch (e.type) {
        case 'BOOKMARK':
          return JSON.stringify({ type: e.type, object: { kind: def.kind, apiVersion, metadata: { resourceVersion: e.resourceVersion } } });
        case 'ERROR':
          return JSON.stringify({ type: e.type, object: status(e.code, e.reason, e.message) });
        default:
          return JSON.stringify({ type: e.type, object: e.object });
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const handle = this.store.watch(
      def,
      {
        resourceVersion: q.get('resourceVersion') ?? '',
        namespace,
        fieldSelector: q.get('fieldSelector') ?? undefined,
        bookmarks: q.get('allowWatchBookmarks') === 'true',
      },
      (e) => res.write(`${line(e)}\n`),
      (err) => {
        if (timer) clearTimeout(timer);
        if (err instanceof KubeError && err.status === 0) res.destroy();
        else res.end();
      },
    );
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0)
      timer = setTimeout(() => {
        handle.stop();
        res.end();
      }, timeout * 1000);
    req.on('close', () => {
      if (timer) clearTimeout(timer);
      handle.stop();
    });
    this.held.push(res);
  }

  private listPods(u: URL, res: http.ServerResponse): void {
    const selector = u.searchParams.get('fieldSelector') ?? '';
    let nodeName: string | undefined;
    for (const term of selector.split(',').filter(Boolean)) {
      const mm = /^spec\.nodeName==?(.*)$/.exec(term);
      if (!mm) return this.send(res, 400, status(400, 'BadRequest', `field label not supported: ${term}`));
      nodeName = mm[1];
    }
    const all = [...this.pods.values()].filter((p) => nodeName === undefined || (p.spec as Json).nodeName === nodeName);
    const limit = Math.min(Number(u.searchParams.get('limit') ?? '0') || Infinity, this.maxPageSize);
    const from = Number(u.searchParams.get('continue') ?? '0') || 0;
    const items = all.slice(from, from + limit);
    const next = from + items.length < all.length ? String(from + items.length) : undefined;
    this.send(res, 200, {
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '1', ...(next ? { continue: next } : {}) },
      items,
    });
  }

  private createEvent(ns: string, body: unknown, res: http.ServerResponse): void {
    if (!isObj(body) || !isObj(body.metadata) || !isObj(body.involvedObject))
      return this.send(res, 422, status(422, 'Invalid', 'event: metadata and involvedObject are required'));
    const meta = body.metadata;
    const inv = body.involvedObject;
    const problems: string[] = [];
    if (typeof meta.name !== 'string' || !meta.name) problems.push('metadata.name: Required value');
    if (meta.namespace !== undefined && meta.namespace !== ns) problems.push('metadata.namespace: does not match the namespace in the URL');
    if (inv.kind === 'Pod' && inv.namespace !== ns) problems.push('involvedObject.namespace: does not match event.namespace');
    if (body.type !== 'Normal' && body.type !== 'Warning') problems.push(`type: Unsupported value: ${String(body.type)}`);
    if (typeof body.reason !== 'string' || !body.reason) problems.push('reason: Required value');
    if (problems.length) return this.send(res, 422, status(422, 'Invalid', problems.join('; ')));
    if (this.events.some((e) => (e.metadata as Json).namespace === ns && (e.metadata as Json).name === meta.name)) {
      return this.send(res, 409, status(409, 'AlreadyExists', `events "${String(meta.name)}" already exists`));
    }
    const stored = { ...body, metadata: { ...meta, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString() } };
    this.events.push(stored);
    this.send(res, 201, stored);
  }
}
