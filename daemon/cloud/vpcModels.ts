// The VPC request / response models the daemon uses, each loaded from its own file of the official
// @alicloud/vpc20160428 SDK (not the package root, which loads all of its ~2,000 models: daemon/cloud/rpcClient.ts).
// A call wrapper that needs another model adds its file here (the file of a model: the SDK's dist/models/model.js).
export { DescribeVSwitchesRequest } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesRequest.js';
export { DescribeVSwitchesResponse } from '@alicloud/vpc20160428/dist/models/DescribeVswitchesResponse.js';
export { DescribeRouteEntryListRequest } from '@alicloud/vpc20160428/dist/models/DescribeRouteEntryListRequest.js';
export { DescribeRouteEntryListResponse } from '@alicloud/vpc20160428/dist/models/DescribeRouteEntryListResponse.js';
export { CreateRouteEntryRequest } from '@alicloud/vpc20160428/dist/models/CreateRouteEntryRequest.js';
export { CreateRouteEntryResponse } from '@alicloud/vpc20160428/dist/models/CreateRouteEntryResponse.js';
export { DeleteRouteEntryRequest } from '@alicloud/vpc20160428/dist/models/DeleteRouteEntryRequest.js';
export { DeleteRouteEntryResponse } from '@alicloud/vpc20160428/dist/models/DeleteRouteEntryResponse.js';
