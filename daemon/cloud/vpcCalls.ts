// VPC API call wrappers: vSwitches, and route entries (VPCIP mode routes the node's pod CIDR to it).
// Every call goes through the plumbing (SdkContext.call).
import { randomUUID } from 'node:crypto';
import * as $Vpc from './vpcModels.js';
import { CloudError, type RouteEntry, type VSwitch } from './types.js';
import type { CallContext } from './caller.js';
import { cloudFail, MAX_PAGES, type SdkContext } from './sdk.js';
import { toRouteEntry, toVSwitch } from './convert.js';

export class VpcCalls {
  constructor(private readonly sdk: SdkContext) {}

  /** vSwitches that do not exist are left out of the result (compare ids to detect them). */
  async describeVSwitches(vSwitchIds: string[]): Promise<VSwitch[]> {
    const api = 'DescribeVSwitches';
    const ids = [...new Set(vSwitchIds)];
    const results = await Promise.all(
      ids.map(async (id) => {
        const request = new $Vpc.DescribeVSwitchesRequest({ regionId: this.sdk.regionId, vSwitchId: id, pageSize: 50 });
        const res = await this.sdk.call(api, () => this.sdk.vpc.describeVSwitchesWithOptions(request, this.sdk.runtime));
        return (res.body?.vSwitches?.vSwitch ?? []).filter((v) => v.vSwitchId === id).map(toVSwitch);
      }),
    );
    return results.flat();
  }

  private async listRouteEntries(routeTableId: string, destinationCidrBlock?: string): Promise<RouteEntry[]> {
    const api = 'DescribeRouteEntryList';
    const out: RouteEntry[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const request = new $Vpc.DescribeRouteEntryListRequest({
        regionId: this.sdk.regionId,
        routeTableId,
        maxResult: 100,
        ...(destinationCidrBlock !== undefined ? { destinationCidrBlock } : {}),
        ...(nextToken !== undefined ? { nextToken } : {}),
      });
      const res = await this.sdk.call(api, () => this.sdk.vpc.describeRouteEntryListWithOptions(request, this.sdk.runtime));
      for (const e of res.body?.routeEntrys?.routeEntry ?? []) out.push(...toRouteEntry(e, routeTableId));
      nextToken = res.body?.nextToken || undefined;
      if (nextToken === undefined) return out;
    }
    throw cloudFail(api, 'TooManyPages', `more than ${MAX_PAGES} pages`);
  }

  describeRouteEntries(routeTableId: string): Promise<RouteEntry[]> {
    return this.listRouteEntries(routeTableId);
  }

  async ensureRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    const api = 'CreateRouteEntry';
    const matching = async (): Promise<RouteEntry[]> =>
      (await this.listRouteEntries(routeTableId, destinationCidrBlock)).filter((e) => e.destinationCidrBlock === destinationCidrBlock);
    const ours = (e: RouteEntry): boolean => e.nextHopType === 'Instance' && e.nextHopId === nextHopInstanceId;
    const existing = await matching();
    if (existing.some(ours)) return;
    if (existing.length > 0) {
      const other = existing[0]!;
      throw cloudFail(
        api,
        'InvalidCIDRBlock.Duplicate',
        `${destinationCidrBlock} in ${routeTableId} already routes to ${other.nextHopType} ${other.nextHopId}`,
      );
    }
    const request = new $Vpc.CreateRouteEntryRequest({
      regionId: this.sdk.regionId,
      routeTableId,
      destinationCidrBlock,
      nextHopType: 'Instance',
      nextHopId: nextHopInstanceId,
      clientToken: randomUUID(),
    });
    const ctx: CallContext = { attempts: 0 };
    try {
      await this.sdk.call(api, () => this.sdk.vpc.createRouteEntryWithOptions(request, this.sdk.runtime), ctx);
    } catch (err) {
      // A retry after a lost reply collides with the entry the first attempt created.
      if (err instanceof CloudError && err.code === 'InvalidCIDRBlock.Duplicate' && ctx.attempts > 1 && (await matching()).some(ours))
        return;
      throw err;
    }
  }

  /** Deletes the entry; an entry that is not there counts as deleted. */
  async deleteRouteEntry(routeTableId: string, destinationCidrBlock: string, nextHopInstanceId: string): Promise<void> {
    const api = 'DeleteRouteEntry';
    const request = new $Vpc.DeleteRouteEntryRequest({
      regionId: this.sdk.regionId,
      routeTableId,
      destinationCidrBlock,
      nextHopId: nextHopInstanceId,
    });
    try {
      await this.sdk.call(api, () => this.sdk.vpc.deleteRouteEntryWithOptions(request, this.sdk.runtime));
    } catch (err) {
      if (err instanceof CloudError && err.code === 'InvalidRouteEntry.NotFound') return;
      throw err;
    }
  }
}
