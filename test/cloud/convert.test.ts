import { describe, expect, it } from 'vitest';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { toEni, toEniStatus, toRouteEntry } from '../../daemon/cloud/convert.js';

describe('convert', () => {
  it('reads unknown ENI statuses as not usable (Creating), never Available', () => {
    expect(toEniStatus('InUse')).toBe('InUse');
    expect(toEniStatus('CreateFailed')).toBe('Creating');
    expect(toEniStatus(undefined)).toBe('Creating');
  });

  it('maps a DescribeNetworkInterfaces entry: MAC lower-cased, primary not repeated among secondaries', () => {
    const set = new $Ecs.DescribeNetworkInterfacesResponseBodyNetworkInterfaceSetsNetworkInterfaceSet({
      networkInterfaceId: 'eni-1',
      macAddress: '00:16:3E:0A:0B:0C',
      type: 'Secondary',
      status: 'InUse',
      instanceId: 'i-1',
      vSwitchId: 'vsw-1',
      zoneId: 'z',
      vpcId: 'vpc-1',
      privateIpAddress: '10.0.0.2',
      privateIpSets: {
        privateIpSet: [
          { privateIpAddress: '10.0.0.2', primary: true },
          { privateIpAddress: '10.0.0.3', primary: false },
        ],
      },
      securityGroupIds: { securityGroupId: ['sg-1'] },
      tags: { tag: [{ tagKey: 'k', tagValue: 'v' }] },
    });
    expect(toEni(set)).toEqual({
      eniId: 'eni-1',
      mac: '00:16:3e:0a:0b:0c',
      type: 'Secondary',
      status: 'InUse',
      instanceId: 'i-1',
      vSwitchId: 'vsw-1',
      zoneId: 'z',
      vpcId: 'vpc-1',
      securityGroupIds: ['sg-1'],
      primaryIp: '10.0.0.2',
      secondaryIps: ['10.0.0.3'],
      ipv6s: [],
      tags: { k: 'v' },
    });
    expect(toEni(new $Ecs.DescribeNetworkInterfacesResponseBodyNetworkInterfaceSetsNetworkInterfaceSet({}))).toBeUndefined();
  });

  it('splits ECMP route entries per next hop', () => {
    const rows = toRouteEntry(
      new $Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry({
        destinationCidrBlock: '1.0.0.0/24',
        status: 'Available',
        nextHops: {
          nextHop: [
            { nextHopType: 'Instance', nextHopId: 'i-1' },
            { nextHopType: 'Instance', nextHopId: 'i-2' },
          ],
        },
      }),
      'vtb-1',
    );
    expect(rows.map((r) => r.nextHopId)).toEqual(['i-1', 'i-2']);
    expect(rows[0]).toMatchObject({ routeTableId: 'vtb-1', status: 'Available' });
  });
});
