// The official SDKs' endpoint tables: the host for a region when no endpoint is configured (regions not listed
// take the regional rule, `ecs.<region>.aliyuncs.com`). Copied from the generated clients of
// @alicloud/ecs20140526 and @alicloud/vpc20160428 (their `_endpointMap`), grouped by host; test/cloud/rpcClient.test.ts
// fails when an SDK update changes them.
export type EndpointTable = readonly (readonly [host: string, regions: readonly string[]])[];

export const ECS_ENDPOINTS: EndpointTable = [
  [
    'ecs-cn-hangzhou.aliyuncs.com',
    [
      'cn-hangzhou',
      'cn-shanghai-finance-1',
      'cn-shenzhen-finance-1',
      'cn-beijing-nu16-b01',
      'cn-fujian',
      'cn-haidian-cm12-c01',
      'cn-hangzhou-bj-b01',
      'cn-hangzhou-internal-prod-1',
      'cn-hangzhou-internal-test-1',
      'cn-hangzhou-internal-test-2',
      'cn-hangzhou-internal-test-3',
      'cn-hangzhou-test-306',
      'cn-shanghai-et15-b01',
      'cn-shanghai-et2-b01',
      'cn-shanghai-internal-test-1',
      'cn-shenzhen-st4-d01',
      'cn-shenzhen-su18-b01',
      'cn-zhangbei-na61-b01',
    ],
  ],
  [
    'ecs.aliyuncs.com',
    [
      'cn-north-2-gov-1',
      'ap-northeast-2-pop',
      'cn-beijing-finance-pop',
      'cn-beijing-gov-1',
      'cn-hangzhou-finance',
      'cn-hongkong-finance-pop',
      'cn-shanghai-inner',
      'cn-shenzhen-inner',
      'cn-wuhan',
      'cn-yushanfang',
      'cn-zhangbei',
      'rus-west-1-pop',
    ],
  ],
  ['ecs.cn-qingdao-nebula.aliyuncs.com', ['cn-edge-1', 'cn-huhehaote-nebula-1', 'cn-zhengzhou-nebula-1']],
  ['ecs.cn-zhangjiakou.aliyuncs.com', ['cn-zhangjiakou-na62-a01']],
  ['ecs.cn-shenzhen-cloudstone.aliyuncs.com', ['eu-west-1-oxs']],
];

export const VPC_ENDPOINTS: EndpointTable = [
  [
    'vpc.aliyuncs.com',
    [
      'cn-hangzhou',
      'cn-shanghai-finance-1',
      'cn-shenzhen-finance-1',
      'cn-north-2-gov-1',
      'ap-northeast-2-pop',
      'cn-beijing-finance-pop',
      'cn-beijing-gov-1',
      'cn-beijing-nu16-b01',
      'cn-fujian',
      'cn-haidian-cm12-c01',
      'cn-hangzhou-bj-b01',
      'cn-hangzhou-finance',
      'cn-hangzhou-internal-prod-1',
      'cn-hongkong-finance-pop',
      'cn-shanghai-et2-b01',
      'cn-shanghai-inner',
      'cn-shenzhen-inner',
      'cn-shenzhen-st4-d01',
      'cn-shenzhen-su18-b01',
      'cn-wuhan',
      'cn-yushanfang',
      'cn-zhangbei',
      'cn-zhangbei-na61-b01',
      'rus-west-1-pop',
    ],
  ],
  ['vpc-nebula.cn-qingdao-nebula.aliyuncs.com', ['cn-edge-1', 'cn-huhehaote-nebula-1', 'cn-qingdao-nebula', 'cn-zhengzhou-nebula-1']],
  [
    'vpc-pre.cn-hangzhou.aliyuncs.com',
    [
      'cn-hangzhou-internal-test-1',
      'cn-hangzhou-internal-test-3',
      'cn-hangzhou-test-306',
      'cn-shanghai-et15-b01',
      'cn-shanghai-internal-test-1',
    ],
  ],
  ['vpc-inner-pre.cn-hangzhou.aliyuncs.com', ['cn-hangzhou-internal-test-2']],
  ['vpc.cn-zhangjiakou.aliyuncs.com', ['cn-zhangjiakou-na62-a01']],
  ['vpc-nebula.cn-shenzhen-cloudstone.aliyuncs.com', ['eu-west-1-oxs']],
];
