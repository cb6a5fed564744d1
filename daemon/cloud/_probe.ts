import Ecs, * as $Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import Credential from '@alicloud/credentials';
const E = Ecs.default;
const c = new E(new $OpenApiUtil.Config({ endpoint: '127.0.0.1:1', protocol: 'http', regionId: 'x', accessKeyId: 'a', accessKeySecret: 'b' }));
const r = new $Ecs.DescribeNetworkInterfacesRequest({ regionId: 'x' });
console.log(typeof E, typeof c.describeNetworkInterfacesWithOptions, r.regionId, typeof Credential, typeof (Credential as any).default);
