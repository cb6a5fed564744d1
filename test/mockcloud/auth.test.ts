// Signature checks and gateway errors, through the SDK and through raw requests signed by the SDK's own signer.
import { createHash } from 'node:crypto';
import * as dara from '@darabonba/typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCloudError } from './helpers.js';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { $ecs, $openapi, ecsClient } from '../../sim/mockcloud/sdk.js';

let h: MockCloudHandle;

beforeAll(async () => {
  h = await startMockCloud({
    world: {
      accessKeys: [
        { id: 'AK-one', secret: 'secret-one' },
        { id: 'AK-two', secret: 'secret-two' },
      ],
    },
  });
});
afterAll(async () => {
  await h.close();
});

const describeTypes = (c: ReturnType<typeof ecsClient>) => c.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({}));

function rpcParams(action: string, version = '2014-05-26'): $openapi.$OpenApiUtil.Params {
  return new $openapi.$OpenApiUtil.Params({
    action,
    version,
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}

/** A raw ACS3 request signed by openapi-core's own OpenApiUtil.getAuthorization. */
function signedRaw(opts: { action: string; query: Record<string, string>; secret?: string; date?: string; nonce?: string }) {
  const req = new dara.Request();
  req.protocol = 'http';
  req.method = 'POST';
  req.pathname = '/';
  req.query = opts.query;
  const payloadHash = createHash('sha256').update('').digest('hex');
  req.headers = {
    host: h.endpoint,
    'x-acs-version': '2014-05-26',
    'x-acs-action': opts.action,
    'x-acs-date': opts.date ?? $openapi.OpenApiUtil.getTimestamp(),
    'x-acs-signature-nonce': opts.nonce ?? $openapi.OpenApiUtil.getNonce(),
    'x-acs-content-sha256': payloadHash,
    accept: 'application/json',
  };
  req.headers.Authorization = $openapi.OpenApiUtil.getAuthorization(
    req,
    'ACS3-HMAC-SHA256',
    payloadHash,
    h.accessKeyId,
    opts.secret ?? h.accessKeySecret,
  );
  return req;
}

async function sendRaw(
  req: dara.Request,
  tamperQuery?: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const qs = new URLSearchParams({ ...req.query, ...(tamperQuery ?? {}) }).toString();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k !== 'host') headers[k] = v;
  const res = await fetch(`${h.url}/?${qs}`, { method: 'POST', headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('signature', () => {
  it('accepts every configured access key', async () => {
    const r = await describeTypes(ecsClient(h, { accessKeyId: 'AK-two', accessKeySecret: 'secret-two' }));
    expect(r.statusCode).toBe(200);
  });

  it('answers an unknown access key with InvalidAccessKeyId.NotFound (404)', async () => {
    const e = await expectCloudError(
      describeTypes(ecsClient(h, { accessKeyId: 'AK-nope', accessKeySecret: 'secret-one' })),
      'InvalidAccessKeyId.NotFound',
      404,
    );
    expect(e.data).toMatchObject({ Code: 'InvalidAccessKeyId.NotFound', HostId: 'ecs.cn-hangzhou.aliyuncs.com' });
    expect(e.data!.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(e.data!.Recommend).toContain('InvalidAccessKeyId.NotFound');
  });

  it('answers a wrong secret with SignatureDoesNotMatch (400)', async () => {
    await expectCloudError(describeTypes(ecsClient(h, { accessKeyId: 'AK-one', accessKeySecret: 'wrong' })), 'SignatureDoesNotMatch', 400);
  });

  it('accepts the older RPC HMAC-SHA1 signature (SDK signatureAlgorithm v2) and checks it too', async () => {
    const ok = await ecsClient(h, { signatureAlgorithm: 'v2' }).describeNetworkInterfaces(
      new $ecs.DescribeNetworkInterfacesRequest({ regionId: h.regionId, instanceId: 'i-mock-node-1' }),
    );
    expect(ok.body!.networkInterfaceSets!.networkInterfaceSet).toHaveLength(1);
    await expectCloudError(
      describeTypes(ecsClient(h, { signatureAlgorithm: 'v2', accessKeySecret: 'wrong' })),
      'SignatureDoesNotMatch',
      400,
    );
  });

  it('refuses a tampered query, a replayed nonce, a stale date and a missing signature', async () => {
    const good = signedRaw({ action: 'DescribeInstanceTypes', query: { 'InstanceTypes.1': 'ecs.g7.large' } });
    const tampered = await sendRaw(good, { 'InstanceTypes.1': 'ecs.g7.xlarge' });
    expect(tampered.status).toBe(400);
    expect(tampered.body.Code).toBe('SignatureDoesNotMatch');
    const first = await sendRaw(good);
    expect(first.status).toBe(200);
    expect((first.body.InstanceTypes as { InstanceType: unknown[] }).InstanceType).toHaveLength(1);
    const replay = await sendRaw(good);
    expect(replay.status).toBe(400);
    expect(replay.body.Code).toBe('SignatureNonceUsed');
    const stale = await sendRaw(signedRaw({ action: 'DescribeInstanceTypes', query: {}, date: '2020-01-01T00:00:00Z' }));
    expect(stale.body.Code).toBe('InvalidTimeStamp.Expired');
    const bare = await fetch(`${h.url}/?Action=DescribeInstanceTypes&Version=2014-05-26`, { method: 'POST' });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { Code: string }).Code).toBe('IncompleteSignature');
  });
});

describe('routing', () => {
  it('answers an unknown action with InvalidAction.NotFound (404) via SDK callApi', async () => {
    const c = ecsClient(h);
    const e = await expectCloudError(
      c.callApi(rpcParams('DescribeUnicorns'), new $openapi.$OpenApiUtil.OpenApiRequest({ query: {} }), new dara.RuntimeOptions({})),
      'InvalidAction.NotFound',
      404,
    );
    expect(String(e.data!.Message)).toContain('Specified api is not found');
  });

  it('answers an unknown version with InvalidVersion and routes VPC actions only under 2016-04-28', async () => {
    const c = ecsClient(h);
    await expectCloudError(
      c.callApi(
        rpcParams('DescribeInstanceTypes', '2099-01-01'),
        new $openapi.$OpenApiUtil.OpenApiRequest({ query: {} }),
        new dara.RuntimeOptions({}),
      ),
      'InvalidVersion',
      400,
    );
    await expectCloudError(
      c.callApi(
        rpcParams('DescribeVSwitches', '2014-05-26'),
        new $openapi.$OpenApiUtil.OpenApiRequest({ query: {} }),
        new dara.RuntimeOptions({}),
      ),
      'InvalidAction.NotFound',
      404,
    );
    const ok = await c.callApi(
      rpcParams('DescribeVSwitches', '2016-04-28'),
      new $openapi.$OpenApiUtil.OpenApiRequest({ query: { RegionId: h.regionId } }),
      new dara.RuntimeOptions({}),
    );
    expect((ok.body as { TotalCount: number }).TotalCount).toBe(3);
  });

  it('refuses a foreign region and missing mandatory parameters', async () => {
    const c = ecsClient(h);
    await expectCloudError(
      c.describeNetworkInterfaces(new $ecs.DescribeNetworkInterfacesRequest({ regionId: 'cn-beijing' })),
      'InvalidRegionId.NotFound',
      404,
    );
    await expectCloudError(
      c.attachNetworkInterface(new $ecs.AttachNetworkInterfaceRequest({ regionId: h.regionId, instanceId: 'i-mock-node-1' })),
      'MissingParameter',
      400,
    );
  });
});
