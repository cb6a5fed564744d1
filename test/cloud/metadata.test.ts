import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MetadataClient, MetadataError, parseIpList, parseListing } from '../../daemon/cloud/metadata.js';

// A tiny stand-in metadata server on loopback whose misbehaviour each test scripts.
let server: http.Server;
let base: string;
let hits: Record<string, number> = {};
let script: (path: string, n: number, res: http.ServerResponse, req: http.IncomingMessage) => void;
/** Answers PUT /latest/api/token (the hardened-mode token); by default a fixed token. */
let tokenScript: (n: number, res: http.ServerResponse, req: http.IncomingMessage) => void;
const defaultToken = (_n: number, res: http.ServerResponse): void => void res.writeHead(200).end('tok-1');

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/node-1/latest/api/token') {
      hits['PUT token'] = (hits['PUT token'] ?? 0) + 1;
      return tokenScript(hits['PUT token'], res, req);
    }
    const path = (req.url ?? '').replace(/^\/node-1\/latest\/meta-data\//, '');
    hits[path] = (hits[path] ?? 0) + 1;
    script(path, hits[path]!, res, req);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/node-1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits = {};
  tokenScript = defaultToken;
});

const fields: Record<string, string> = {
  'instance-id': 'i-1',
  'region-id': 'cn-hangzhou',
  'zone-id': 'cn-hangzhou-k',
  'instance/instance-type': 'ecs.g7.large',
  'vpc-id': 'vpc-1',
  'vswitch-id': 'vsw-1',
  mac: '00:16:3E:AA:BB:CC',
  'network/interfaces/macs/': '00:16:3e:aa:bb:cc/\n00:16:3e:00:00:01/\n',
  'network/interfaces/macs/00:16:3e:00:00:01/network-interface-id': 'eni-2',
  'network/interfaces/macs/00:16:3e:00:00:01/primary-ip-address': '10.0.0.5',
  'network/interfaces/macs/00:16:3e:00:00:01/private-ipv4s': '["10.0.0.5","10.0.0.6","10.0.0.7"]',
  'network/interfaces/macs/00:16:3e:00:00:01/vswitch-id': 'vsw-1',
  'network/interfaces/macs/00:16:3e:00:00:01/vswitch-cidr-block': '10.0.0.0/23',
  'network/interfaces/macs/00:16:3e:00:00:01/gateway': '10.0.0.253',
};

function serve(path: string, res: http.ServerResponse): void {
  const body = fields[path];
  res.writeHead(body === undefined ? 404 : 200).end(body ?? 'Not Found');
}

describe('MetadataClient', () => {
  it('reads the instance facts and an ENI by MAC', async () => {
    script = (p, _n, res) => serve(p, res);
    const md = new MetadataClient({ baseUrl: base });
    await expect(md.instanceMetadata()).resolves.toEqual({
      instanceId: 'i-1',
      regionId: 'cn-hangzhou',
      zoneId: 'cn-hangzhou-k',
      instanceType: 'ecs.g7.large',
      vpcId: 'vpc-1',
      vSwitchId: 'vsw-1',
      primaryMac: '00:16:3e:aa:bb:cc',
      eniMacs: ['00:16:3e:aa:bb:cc', '00:16:3e:00:00:01'],
    });
    await expect(md.eniMetadata('00:16:3E:00:00:01')).resolves.toEqual({
      mac: '00:16:3e:00:00:01',
      eniId: 'eni-2',
      primaryIp: '10.0.0.5',
      privateIps: ['10.0.0.5', '10.0.0.6', '10.0.0.7'],
      vSwitchId: 'vsw-1',
      vSwitchCidr: '10.0.0.0/23',
      gateway: '10.0.0.253',
    });
    md.close();
  });

  it('retries a 5xx and a dropped connection, then succeeds', async () => {
    script = (p, n, res) => {
      if (n === 1) return void res.writeHead(503).end('busy');
      if (n === 2) return void res.socket?.destroy();
      serve(p, res);
    };
    const md = new MetadataClient({ baseUrl: base, attempts: 3, backoffMs: 1 });
    await expect(md.get('instance-id')).resolves.toBe('i-1');
    expect(hits['instance-id']).toBe(3);
    // the token PUT is one request of its own, made once
    expect(md.stats()).toMatchObject({ requests: 4, errors: 2, retries: 2 });
    expect(hits['PUT token']).toBe(1);
    md.close();
  });

  it('does not retry a 404 and throws a typed MetadataError', async () => {
    script = (p, _n, res) => serve(p, res);
    const md = new MetadataClient({ baseUrl: base, attempts: 5, backoffMs: 1 });
    const err = await md.eniMetadata('00:16:3e:99:99:99').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetadataError);
    expect(err).toMatchObject({ code: 'MetadataNotFound', httpStatus: 404, retryable: false });
    expect(hits['network/interfaces/macs/00:16:3e:99:99:99/network-interface-id']).toBe(1);
    md.close();
  });

  it('times out a silent server and gives up after the attempts with code Timeout', async () => {
    script = () => undefined; // never answers
    const md = new MetadataClient({ baseUrl: base, attempts: 2, backoffMs: 1, timeoutMs: 50 });
    const err = await md.get('instance-id').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Timeout', retryable: true, path: 'instance-id' });
    expect(hits['instance-id']).toBe(2);
    md.close();
  });
});

describe('MetadataClient in security hardening mode', () => {
  const needsToken = (want: string) => (p: string, _n: number, res: http.ServerResponse, req: http.IncomingMessage) => {
    const t = req.headers['x-aliyun-ecs-metadata-token'];
    if (t === undefined) return void res.writeHead(403).end('Forbidden');
    if (t !== want) return void res.writeHead(401).end('Unauthorized');
    serve(p, res);
  };

  it('gets a token with the TTL header once and sends it with every read', async () => {
    let ttl: unknown;
    tokenScript = (_n, res, req) => {
      ttl = req.headers['x-aliyun-ecs-metadata-token-ttl-seconds'];
      res.writeHead(200).end('tok-1\n');
    };
    script = needsToken('tok-1');
    const md = new MetadataClient({ baseUrl: base });
    await expect(md.instanceMetadata()).resolves.toMatchObject({ instanceId: 'i-1', regionId: 'cn-hangzhou' });
    expect(ttl).toBe('21600');
    expect(hits['PUT token']).toBe(1);
    md.close();
  });

  it('a 401 (token expired on the server) gets a new token and the read is tried again once', async () => {
    tokenScript = (n, res) => void res.writeHead(200).end(`tok-${n}`);
    let want = 'tok-1';
    script = (p, n, res, req) => needsToken(want)(p, n, res, req);
    const md = new MetadataClient({ baseUrl: base, attempts: 1 });
    await expect(md.get('instance-id')).resolves.toBe('i-1');
    want = 'tok-2';
    await expect(md.get('instance-id')).resolves.toBe('i-1');
    expect(hits['PUT token']).toBe(2);
    want = 'never';
    await expect(md.get('instance-id')).rejects.toMatchObject({ httpStatus: 401 });
    md.close();
  });

  it('reads without a token where the service has no token endpoint (404 to the PUT)', async () => {
    tokenScript = (_n, res) => void res.writeHead(404).end('Not Found');
    script = (p, _n, res, req) => {
      expect(req.headers['x-aliyun-ecs-metadata-token']).toBeUndefined();
      serve(p, res);
    };
    const md = new MetadataClient({ baseUrl: base });
    await expect(md.get('instance-id')).resolves.toBe('i-1');
    await expect(md.get('region-id')).resolves.toBe('cn-hangzhou');
    expect(hits['PUT token']).toBe(1);
    md.close();
  });

  it('a token endpoint failing with 5xx is retried like a read', async () => {
    tokenScript = (n, res) => (n === 1 ? void res.writeHead(500).end('oops') : void res.writeHead(200).end('tok-1'));
    script = needsToken('tok-1');
    const md = new MetadataClient({ baseUrl: base, attempts: 3, backoffMs: 1 });
    await expect(md.get('instance-id')).resolves.toBe('i-1');
    expect(hits['PUT token']).toBe(2);
    md.close();
  });
});

describe('metadata parsing', () => {
  it('parses IP lists and listings', () => {
    expect(parseIpList('["10.0.0.1", "10.0.0.2"]')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(parseIpList('10.0.0.1\n10.0.0.2')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(parseIpList('')).toEqual([]);
    expect(parseListing('a/\nb\n\n')).toEqual(['a', 'b']);
  });
});
