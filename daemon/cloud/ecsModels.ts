// The ECS request / response models the daemon uses, each loaded from its own file of the official
// @alicloud/ecs20140526 SDK (not the package root, which loads all of its ~2,000 models: daemon/cloud/rpcClient.ts).
// A call wrapper that needs another model adds its file here (the file of a model: the SDK's dist/models/model.js).
export {
  CreateNetworkInterfaceRequest,
  CreateNetworkInterfaceRequestTag,
} from '@alicloud/ecs20140526/dist/models/CreateNetworkInterfaceRequest.js';
export { CreateNetworkInterfaceResponse } from '@alicloud/ecs20140526/dist/models/CreateNetworkInterfaceResponse.js';
export { DeleteNetworkInterfaceRequest } from '@alicloud/ecs20140526/dist/models/DeleteNetworkInterfaceRequest.js';
export { DeleteNetworkInterfaceResponse } from '@alicloud/ecs20140526/dist/models/DeleteNetworkInterfaceResponse.js';
export { AttachNetworkInterfaceRequest } from '@alicloud/ecs20140526/dist/models/AttachNetworkInterfaceRequest.js';
export { AttachNetworkInterfaceResponse } from '@alicloud/ecs20140526/dist/models/AttachNetworkInterfaceResponse.js';
export { DetachNetworkInterfaceRequest } from '@alicloud/ecs20140526/dist/models/DetachNetworkInterfaceRequest.js';
export { DetachNetworkInterfaceResponse } from '@alicloud/ecs20140526/dist/models/DetachNetworkInterfaceResponse.js';
export { AssignPrivateIpAddressesRequest } from '@alicloud/ecs20140526/dist/models/AssignPrivateIpAddressesRequest.js';
export { AssignPrivateIpAddressesResponse } from '@alicloud/ecs20140526/dist/models/AssignPrivateIpAddressesResponse.js';
export { UnassignPrivateIpAddressesRequest } from '@alicloud/ecs20140526/dist/models/UnassignPrivateIpAddressesRequest.js';
export { UnassignPrivateIpAddressesResponse } from '@alicloud/ecs20140526/dist/models/UnassignPrivateIpAddressesResponse.js';
export { AssignIpv6AddressesRequest } from '@alicloud/ecs20140526/dist/models/AssignIpv6addressesRequest.js';
export { AssignIpv6AddressesResponse } from '@alicloud/ecs20140526/dist/models/AssignIpv6addressesResponse.js';
export { UnassignIpv6AddressesRequest } from '@alicloud/ecs20140526/dist/models/UnassignIpv6addressesRequest.js';
export { UnassignIpv6AddressesResponse } from '@alicloud/ecs20140526/dist/models/UnassignIpv6addressesResponse.js';
export {
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesRequestTag,
} from '@alicloud/ecs20140526/dist/models/DescribeNetworkInterfacesRequest.js';
export { DescribeNetworkInterfacesResponse } from '@alicloud/ecs20140526/dist/models/DescribeNetworkInterfacesResponse.js';
export { DescribeInstanceTypesRequest } from '@alicloud/ecs20140526/dist/models/DescribeInstanceTypesRequest.js';
export { DescribeInstanceTypesResponse } from '@alicloud/ecs20140526/dist/models/DescribeInstanceTypesResponse.js';
export { DescribeInstancesRequest } from '@alicloud/ecs20140526/dist/models/DescribeInstancesRequest.js';
export { DescribeInstancesResponse } from '@alicloud/ecs20140526/dist/models/DescribeInstancesResponse.js';
