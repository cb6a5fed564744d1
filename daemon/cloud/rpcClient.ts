// The ECS and VPC clients the call wrappers use, built on the official openapi-core client (signing,
// transport, error shapes) and the official SDK's request / response models, loaded one file per model.
// Why not the generated `@alicloud/ecs20140526` / `@alicloud/vpc20160428` clients themselves: loading either
// one loads its ~2,000 model files, 0.6 s and ~70 MiB each, for the dozen actions the daemon and the
// controller call (measured, daemon/README.md "Start-up"). A method here does what the generated one does: every set request field goes
// into the query under its API name (the model's own `names()` table), the action's fixed RPC parameters,
// `callApi`, and the reply cast into the response model. test/cloud/rpcClient.test.ts checks each action
// against the generated client, request for request.
import OpenApiModule, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import type * as $Ecs from './ecsModels.js';
import * as EcsModels from './ecsModels.js';
import type * as $Vpc from './vpcModels.js';
import * as VpcModels from './vpcModels.js';
import { ECS_ENDPOINTS, VPC_ENDPOINTS, type EndpointTable } from './endpoints.js';
import { cjsDefault } from './interop.js';

const OpenApiClient = cjsDefault(OpenApiModule);

type ModelClass<M> = new (map?: Record<string, unknown>) => M;

/** One RPC-style OpenAPI product (ECS 2014-05-26, VPC 2016-04-28) on the openapi-core client. */
class RpcProductClient extends OpenApiClient {
  constructor(
    config: $OpenApiUtil.Config,
    productId: string,
    private readonly version: string,
    endpoints: EndpointTable,
  ) {
    super(config);
    this._endpointRule = 'regional';
    this._endpointMap = endpointMap(endpoints);
    this.checkConfig(config);
    // The generated clients' getEndpoint: the configured endpoint, else the product's table, else the regional rule.
    if ($dara.isNull(this._endpoint)) {
      const mapped = this._endpointMap[this._regionId];
      this._endpoint = !$dara.isNull(mapped)
        ? mapped!
        : OpenApiUtil.getEndpointRules(productId, this._regionId, this._endpointRule, this._network, this._suffix);
    }
  }

  get endpoint(): string {
    return this._endpoint;
  }

  /** Sends `action` with every set field of `request` in the query and casts the reply into `Response`. */
  async rpc<R extends $dara.Model>(
    action: string,
    request: $dara.Model,
    runtime: $dara.RuntimeOptions,
    Response: ModelClass<R>,
  ): Promise<R> {
    request.validate();
    const names = (request.constructor as unknown as { names(): Record<string, string> }).names();
    const query: Record<string, unknown> = {};
    const fields = request as unknown as Record<string, unknown>;
    for (const [field, apiName] of Object.entries(names)) {
      if (!$dara.isNull(fields[field])) query[apiName] = fields[field];
    }
    const req = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) });
    const params = new $OpenApiUtil.Params({
      action,
      version: this.version,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    return $dara.cast(await this.callApi(params, req, runtime), new Response({}));
  }
}

function endpointMap(table: EndpointTable): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [host, regions] of table) for (const r of regions) out[r] = host;
  return out;
}

type Rt = $dara.RuntimeOptions;

/** The ECS actions the daemon (and the controller) call, named as the generated client names them. */
export interface EcsClient {
  /** The host calls go to (the configured endpoint, else the SDK's for the region). */
  readonly endpoint: string;
  createNetworkInterfaceWithOptions(r: $Ecs.CreateNetworkInterfaceRequest, rt: Rt): Promise<$Ecs.CreateNetworkInterfaceResponse>;
  deleteNetworkInterfaceWithOptions(r: $Ecs.DeleteNetworkInterfaceRequest, rt: Rt): Promise<$Ecs.DeleteNetworkInterfaceResponse>;
  attachNetworkInterfaceWithOptions(r: $Ecs.AttachNetworkInterfaceRequest, rt: Rt): Promise<$Ecs.AttachNetworkInterfaceResponse>;
  detachNetworkInterfaceWithOptions(r: $Ecs.DetachNetworkInterfaceRequest, rt: Rt): Promise<$Ecs.DetachNetworkInterfaceResponse>;
  assignPrivateIpAddressesWithOptions(r: $Ecs.AssignPrivateIpAddressesRequest, rt: Rt): Promise<$Ecs.AssignPrivateIpAddressesResponse>;
  unassignPrivateIpAddressesWithOptions(
    r: $Ecs.UnassignPrivateIpAddressesRequest,
    rt: Rt,
  ): Promise<$Ecs.UnassignPrivateIpAddressesResponse>;
  assignIpv6AddressesWithOptions(r: $Ecs.AssignIpv6AddressesRequest, rt: Rt): Promise<$Ecs.AssignIpv6AddressesResponse>;
  unassignIpv6AddressesWithOptions(r: $Ecs.UnassignIpv6AddressesRequest, rt: Rt): Promise<$Ecs.UnassignIpv6AddressesResponse>;
  describeNetworkInterfacesWithOptions(r: $Ecs.DescribeNetworkInterfacesRequest, rt: Rt): Promise<$Ecs.DescribeNetworkInterfacesResponse>;
  describeInstanceTypesWithOptions(r: $Ecs.DescribeInstanceTypesRequest, rt: Rt): Promise<$Ecs.DescribeInstanceTypesResponse>;
  /** The controller's hygiene only (which instances still exist). */
  describeInstancesWithOptions(r: $Ecs.DescribeInstancesRequest, rt: Rt): Promise<$Ecs.DescribeInstancesResponse>;
}

/** The VPC actions the daemon calls. */
export interface VpcClient {
  readonly endpoint: string;
  describeVSwitchesWithOptions(r: $Vpc.DescribeVSwitchesRequest, rt: Rt): Promise<$Vpc.DescribeVSwitchesResponse>;
  describeRouteEntryListWithOptions(r: $Vpc.DescribeRouteEntryListRequest, rt: Rt): Promise<$Vpc.DescribeRouteEntryListResponse>;
  createRouteEntryWithOptions(r: $Vpc.CreateRouteEntryRequest, rt: Rt): Promise<$Vpc.CreateRouteEntryResponse>;
  deleteRouteEntryWithOptions(r: $Vpc.DeleteRouteEntryRequest, rt: Rt): Promise<$Vpc.DeleteRouteEntryResponse>;
}

export function createEcsClient(config: $OpenApiUtil.Config): EcsClient {
  const c = new RpcProductClient(config, 'ecs', '2014-05-26', ECS_ENDPOINTS);
  const M = EcsModels;
  return {
    endpoint: c.endpoint,
    createNetworkInterfaceWithOptions: (r, rt) => c.rpc('CreateNetworkInterface', r, rt, M.CreateNetworkInterfaceResponse),
    deleteNetworkInterfaceWithOptions: (r, rt) => c.rpc('DeleteNetworkInterface', r, rt, M.DeleteNetworkInterfaceResponse),
    attachNetworkInterfaceWithOptions: (r, rt) => c.rpc('AttachNetworkInterface', r, rt, M.AttachNetworkInterfaceResponse),
    detachNetworkInterfaceWithOptions: (r, rt) => c.rpc('DetachNetworkInterface', r, rt, M.DetachNetworkInterfaceResponse),
    assignPrivateIpAddressesWithOptions: (r, rt) => c.rpc('AssignPrivateIpAddresses', r, rt, M.AssignPrivateIpAddressesResponse),
    unassignPrivateIpAddressesWithOptions: (r, rt) => c.rpc('UnassignPrivateIpAddresses', r, rt, M.UnassignPrivateIpAddressesResponse),
    assignIpv6AddressesWithOptions: (r, rt) => c.rpc('AssignIpv6Addresses', r, rt, M.AssignIpv6AddressesResponse),
    unassignIpv6AddressesWithOptions: (r, rt) => c.rpc('UnassignIpv6Addresses', r, rt, M.UnassignIpv6AddressesResponse),
    describeNetworkInterfacesWithOptions: (r, rt) => c.rpc('DescribeNetworkInterfaces', r, rt, M.DescribeNetworkInterfacesResponse),
    describeInstanceTypesWithOptions: (r, rt) => c.rpc('DescribeInstanceTypes', r, rt, M.DescribeInstanceTypesResponse),
    describeInstancesWithOptions: (r, rt) => c.rpc('DescribeInstances', r, rt, M.DescribeInstancesResponse),
  };
}

export function createVpcClient(config: $OpenApiUtil.Config): VpcClient {
  const c = new RpcProductClient(config, 'vpc', '2016-04-28', VPC_ENDPOINTS);
  const M = VpcModels;
  return {
    endpoint: c.endpoint,
    describeVSwitchesWithOptions: (r, rt) => c.rpc('DescribeVSwitches', r, rt, M.DescribeVSwitchesResponse),
    describeRouteEntryListWithOptions: (r, rt) => c.rpc('DescribeRouteEntryList', r, rt, M.DescribeRouteEntryListResponse),
    createRouteEntryWithOptions: (r, rt) => c.rpc('CreateRouteEntry', r, rt, M.CreateRouteEntryResponse),
    deleteRouteEntryWithOptions: (r, rt) => c.rpc('DeleteRouteEntry', r, rt, M.DeleteRouteEntryResponse),
  };
}
