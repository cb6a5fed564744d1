// ECS API call wrappers: ENIs, their secondary IPs, instance types. Request shapes, idempotency
// (ClientToken per logical call; "already done" answers to a retry count as success), the async
// attach / detach waits and paging. Every call goes through the plumbing (SdkContext.call).
import { randomUUID } from 'node:crypto';
import * as $Ecs from './ecsModels.js';
import { CloudError, CloudErrorCodes, type CreateEniRequest, type DescribeEniFilter, type Eni, type InstanceTypeLimits } from './types.js';
import type { Clock } from './clock.js';
import type { CallContext } from './caller.js';
import { cloudFail, MAX_PAGES, type SdkContext } from './sdk.js';
import { ipv6sOf, toEni, toEniFromCreate, toInstanceTypeLimits } from './convert.js';

const ENI_IDS_PER_DESCRIBE = 100;
const IPS_PER_CALL = 10;

export interface EcsCallOptions {
  clock: Clock;
  /** Deadline for an ENI to reach InUse / Available after attach / detach (ms). */
  attachTimeoutMs: number;
  /** First poll delay after attach / detach (ms); grows ×1.5 up to max(2000, attachPollMs). */
  attachPollMs: number;
  /** DescribeNetworkInterfaces page size (MaxResults). */
  pageSize: number;
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export class EcsCalls {
  constructor(
    private readonly sdk: SdkContext,
    private readonly opts: EcsCallOptions,
  ) {}

  async createNetworkInterface(req: CreateEniRequest): Promise<Eni> {
    const api = 'CreateNetworkInterface';
    if (req.securityGroupIds.length === 0) throw cloudFail(api, 'MissingParameter', 'at least one security group is required');
    const clientToken = req.clientToken ?? randomUUID();
    const request = new $Ecs.CreateNetworkInterfaceRequest({
      regionId: this.sdk.regionId,
      vSwitchId: req.vSwitchId,
      securityGroupIds: req.securityGroupIds,
      clientToken,
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.secondaryIpCount ? { secondaryPrivateIpAddressCount: req.secondaryIpCount } : {}),
      ...(req.ipv6Count ? { ipv6AddressCount: req.ipv6Count } : {}),
      ...(req.tags && Object.keys(req.tags).length > 0
        ? { tag: Object.entries(req.tags).map(([key, value]) => new $Ecs.CreateNetworkInterfaceRequestTag({ key, value })) }
        : {}),
    });
    const res = await this.sdk.call(api, () => this.sdk.ecs.createNetworkInterfaceWithOptions(request, this.sdk.runtime));
    if (!res.body?.networkInterfaceId) throw cloudFail(api, 'InvalidResponse', 'reply without NetworkInterfaceId');
    const eni = toEniFromCreate(res.body, req);
    this.sdk.logger?.info({ api, eniId: eni.eniId, vSwitchId: eni.vSwitchId, ips: eni.secondaryIps.length + 1 }, 'eni created');
    return eni;
  }

  /** Resolves once the ENI is gone: ECS deletes asynchronously (Deleting first), as Terway polls for it. */
  async deleteNetworkInterface(eniId: string): Promise<void> {
    const api = 'DeleteNetworkInterface';
    const request = new $Ecs.DeleteNetworkInterfaceRequest({ regionId: this.sdk.regionId, networkInterfaceId: eniId });
    try {
      await this.sdk.call(api, () => this.sdk.ecs.deleteNetworkInterfaceWithOptions(request, this.sdk.runtime));
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      // Gone already (a retry after a lost reply, or an earlier delete): the success we asked for.
      if (err.code === CloudErrorCodes.EniNotFound) return;
      // Already Deleting (ours, retried): wait for it like a fresh one.
      if (err.code !== CloudErrorCodes.EniStateInvalid) throw err;
      const eni = await this.describeOne(eniId);
      if (!eni) return;
      if (eni.status !== 'Deleting') throw err;
    }
    await this.waitEniStatus(api, eniId, 'gone');
  }

  /** Resolves once the ENI is InUse, or (wait: false) once the cloud accepted the attach (the caller polls). */
  async attachNetworkInterface(eniId: string, instanceId: string, opts: { wait?: boolean } = {}): Promise<void> {
    const api = 'AttachNetworkInterface';
    const request = new $Ecs.AttachNetworkInterfaceRequest({ regionId: this.sdk.regionId, networkInterfaceId: eniId, instanceId });
    try {
      await this.sdk.call(api, () => this.sdk.ecs.attachNetworkInterfaceWithOptions(request, this.sdk.runtime));
    } catch (err) {
      // Already attaching / attached to this instance (a retried call whose first reply was lost, or a
      // re-run after a crash): wait for it instead of failing.
      if (!(err instanceof CloudError) || err.code !== CloudErrorCodes.EniStateInvalid) throw err;
      const eni = await this.describeOne(eniId);
      if (!eni || eni.instanceId !== instanceId || (eni.status !== 'Attaching' && eni.status !== 'InUse')) throw err;
    }
    if (opts.wait === false) return;
    await this.waitEniStatus(api, eniId, 'InUse', instanceId);
  }

  /** Resolves once the ENI is Available, or (wait: false) once the cloud accepted the detach (the caller polls). */
  async detachNetworkInterface(eniId: string, instanceId: string, opts: { wait?: boolean } = {}): Promise<void> {
    const api = 'DetachNetworkInterface';
    const request = new $Ecs.DetachNetworkInterfaceRequest({ regionId: this.sdk.regionId, networkInterfaceId: eniId, instanceId });
    try {
      await this.sdk.call(api, () => this.sdk.ecs.detachNetworkInterfaceWithOptions(request, this.sdk.runtime));
    } catch (err) {
      if (!(err instanceof CloudError) || err.code !== CloudErrorCodes.EniStateInvalid) throw err;
      const eni = await this.describeOne(eniId);
      if (!eni) throw err;
      if (eni.status === 'Available') return;
      if (eni.status !== 'Detaching') throw err;
    }
    if (opts.wait === false) return;
    await this.waitEniStatus(api, eniId, 'Available');
  }

  /** Which of these instances exist (DescribeInstances, 100 ids per call). */
  async existingInstances(instanceIds: string[]): Promise<Set<string>> {
    const api = 'DescribeInstances';
    const found = new Set<string>();
    for (const ids of chunk([...new Set(instanceIds)], 100)) {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const request = new $Ecs.DescribeInstancesRequest({
          regionId: this.sdk.regionId,
          instanceIds: JSON.stringify(ids),
          maxResults: 100,
          ...(nextToken !== undefined ? { nextToken } : {}),
        });
        const res = await this.sdk.call(api, () => this.sdk.ecs.describeInstancesWithOptions(request, this.sdk.runtime));
        for (const i of res.body?.instances?.instance ?? []) if (i.instanceId) found.add(i.instanceId);
        nextToken = res.body?.nextToken || undefined;
        if (nextToken === undefined) break;
      }
    }
    return found;
  }

  private async describeOne(eniId: string): Promise<Eni | undefined> {
    const list = await this.describeNetworkInterfaces({ eniIds: [eniId] });
    return list.find((e) => e.eniId === eniId);
  }

  /** Polls the ENI with growing delays until it reaches `want` (or is no longer listed) or the deadline passes (CloudError Timeout). */
  private async waitEniStatus(api: string, eniId: string, want: 'InUse' | 'Available' | 'gone', instanceId?: string): Promise<void> {
    const { clock, attachTimeoutMs, attachPollMs } = this.opts;
    const deadline = clock.now() + attachTimeoutMs;
    const maxDelay = Math.max(2_000, attachPollMs);
    let delay = attachPollMs;
    let last = 'unknown';
    for (;;) {
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new CloudError({
          api,
          code: CloudErrorCodes.Timeout,
          message: `${eniId} did not become ${want} within ${attachTimeoutMs}ms (last status ${last})`,
          retryable: false,
        });
      }
      await clock.sleep(Math.min(delay, left));
      delay = Math.min(maxDelay, delay * 1.5);
      const eni = await this.describeOne(eniId);
      if (want === 'gone') {
        if (!eni) return;
        last = eni.status;
        continue;
      }
      if (!eni)
        throw new CloudError({
          api,
          code: CloudErrorCodes.EniNotFound,
          message: `${eniId} vanished while waiting for ${want}`,
          retryable: false,
        });
      if (eni.status === want && (want === 'Available' || eni.instanceId === instanceId)) return;
      // Seen in transit and then back where it started: the cloud gave up on the operation.
      const transit = want === 'InUse' ? 'Attaching' : 'Detaching';
      const origin = want === 'InUse' ? 'Available' : 'InUse';
      if (last === transit && eni.status === origin) {
        throw new CloudError({
          api,
          code: want === 'InUse' ? 'AttachFailed' : 'DetachFailed',
          message: `${eniId} went ${transit} → ${origin}`,
          retryable: false,
        });
      }
      last = eni.status;
    }
  }

  async assignPrivateIpAddresses(eniId: string, count: number, opts: { ips?: string[]; clientToken?: string } = {}): Promise<string[]> {
    const api = 'AssignPrivateIpAddresses';
    const n = opts.ips !== undefined ? opts.ips.length : count;
    if (!Number.isInteger(n) || n < 1 || n > IPS_PER_CALL) {
      throw cloudFail(api, 'InvalidParam.PrivateIpAddressCount', `between 1 and ${IPS_PER_CALL} addresses per call, asked for ${n}`);
    }
    const request = new $Ecs.AssignPrivateIpAddressesRequest({
      regionId: this.sdk.regionId,
      networkInterfaceId: eniId,
      clientToken: opts.clientToken ?? randomUUID(),
      ...(opts.ips !== undefined ? { privateIpAddress: opts.ips } : { secondaryPrivateIpAddressCount: n }),
    });
    const res = await this.sdk
      .call(api, () => this.sdk.ecs.assignPrivateIpAddressesWithOptions(request, this.sdk.runtime))
      .catch((err: unknown) => {
        this.sdk.observer?.ipsAssigned?.(eniId, n, false);
        throw err;
      });
    const ips = res.body?.assignedPrivateIpAddressesSet?.privateIpSet?.privateIpAddress ?? [];
    this.sdk.observer?.ipsAssigned?.(eniId, ips.length, ips.length === n);
    if (ips.length !== n) {
      // The cloud applied something other than what we asked: surface it rather than guess.
      throw new CloudError({
        api,
        code: 'InvalidResponse',
        message: `asked for ${n} addresses, got ${ips.length}`,
        requestId: res.body?.requestId,
        retryable: false,
      });
    }
    return ips;
  }

  async unassignPrivateIpAddresses(eniId: string, ips: string[]): Promise<void> {
    const api = 'UnassignPrivateIpAddresses';
    for (const part of chunk(ips, IPS_PER_CALL)) {
      const request = new $Ecs.UnassignPrivateIpAddressesRequest({
        regionId: this.sdk.regionId,
        networkInterfaceId: eniId,
        privateIpAddress: part,
      });
      const ctx: CallContext = { attempts: 0 };
      try {
        await this.sdk.call(api, () => this.sdk.ecs.unassignPrivateIpAddressesWithOptions(request, this.sdk.runtime), ctx);
      } catch (err) {
        // After a lost reply the retry finds the addresses already gone (the caller sees this answer on a first try).
        const gone = err instanceof CloudError && err.code === CloudErrorCodes.IpUnassigned;
        if (gone && ctx.attempts > 1) continue;
        throw err;
      }
    }
  }

  /** AssignIpv6Addresses: as its IPv4 twin (ClientToken across retries, exactly the number asked for). */
  async assignIpv6Addresses(eniId: string, count: number, opts: { ips?: string[]; clientToken?: string } = {}): Promise<string[]> {
    const api = 'AssignIpv6Addresses';
    const n = opts.ips !== undefined ? opts.ips.length : count;
    if (!Number.isInteger(n) || n < 1 || n > IPS_PER_CALL) {
      throw cloudFail(api, 'InvalidParameter', `between 1 and ${IPS_PER_CALL} IPv6 addresses per call, asked for ${n}`);
    }
    const request = new $Ecs.AssignIpv6AddressesRequest({
      regionId: this.sdk.regionId,
      networkInterfaceId: eniId,
      clientToken: opts.clientToken ?? randomUUID(),
      ...(opts.ips !== undefined ? { ipv6Address: opts.ips } : { ipv6AddressCount: n }),
    });
    const res = await this.sdk.call(api, () => this.sdk.ecs.assignIpv6AddressesWithOptions(request, this.sdk.runtime));
    const ips = ipv6sOf(res.body?.ipv6Sets?.ipv6Address ?? []);
    if (ips.length !== n) {
      throw new CloudError({
        api,
        code: 'InvalidResponse',
        message: `asked for ${n} IPv6 addresses, got ${ips.length}`,
        requestId: res.body?.requestId,
        retryable: false,
      });
    }
    return ips;
  }

  /** UnassignIpv6Addresses, 10 per call; a retry that finds them gone counts as done (as for IPv4). */
  async unassignIpv6Addresses(eniId: string, ips: string[]): Promise<void> {
    const api = 'UnassignIpv6Addresses';
    for (const part of chunk(ips, IPS_PER_CALL)) {
      const request = new $Ecs.UnassignIpv6AddressesRequest({ regionId: this.sdk.regionId, networkInterfaceId: eniId, ipv6Address: part });
      const ctx: CallContext = { attempts: 0 };
      try {
        await this.sdk.call(api, () => this.sdk.ecs.unassignIpv6AddressesWithOptions(request, this.sdk.runtime), ctx);
      } catch (err) {
        const gone = err instanceof CloudError && err.code === CloudErrorCodes.IpUnassigned;
        if (gone && ctx.attempts > 1) continue;
        throw err;
      }
    }
  }

  async describeNetworkInterfaces(filter: DescribeEniFilter): Promise<Eni[]> {
    if (filter.eniIds !== undefined) {
      if (filter.eniIds.length === 0) return [];
      const parts = chunk([...new Set(filter.eniIds)], ENI_IDS_PER_DESCRIBE);
      const out: Eni[] = [];
      for (const ids of parts) out.push(...(await this.describeEniPages(filter, ids)));
      return out;
    }
    return this.describeEniPages(filter, undefined);
  }

  /** Follows NextToken until the cloud stops returning one; merges pages, dropping duplicates. */
  private async describeEniPages(filter: DescribeEniFilter, eniIds: string[] | undefined): Promise<Eni[]> {
    const api = 'DescribeNetworkInterfaces';
    const byId = new Map<string, Eni>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const request = new $Ecs.DescribeNetworkInterfacesRequest({
        regionId: this.sdk.regionId,
        maxResults: this.opts.pageSize,
        ...(nextToken !== undefined ? { nextToken } : {}),
        ...(eniIds !== undefined ? { networkInterfaceId: eniIds } : {}),
        ...(filter.instanceId !== undefined ? { instanceId: filter.instanceId } : {}),
        ...(filter.vpcId !== undefined ? { vpcId: filter.vpcId } : {}),
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.vSwitchId !== undefined ? { vSwitchId: filter.vSwitchId } : {}),
        ...(filter.tags && Object.keys(filter.tags).length > 0
          ? { tag: Object.entries(filter.tags).map(([key, value]) => new $Ecs.DescribeNetworkInterfacesRequestTag({ key, value })) }
          : {}),
      });
      const res = await this.sdk.call(api, () => this.sdk.ecs.describeNetworkInterfacesWithOptions(request, this.sdk.runtime));
      for (const set of res.body?.networkInterfaceSets?.networkInterfaceSet ?? []) {
        const eni = toEni(set);
        if (eni) byId.set(eni.eniId, eni);
      }
      nextToken = res.body?.nextToken || undefined;
      if (nextToken === undefined) return [...byId.values()];
    }
    throw cloudFail(api, 'TooManyPages', `more than ${MAX_PAGES} pages`);
  }

  /** One DescribeInstanceTypes call (the caller caches: limits never change). */
  async describeInstanceTypeLimits(instanceType: string): Promise<InstanceTypeLimits> {
    const api = 'DescribeInstanceTypes';
    const request = new $Ecs.DescribeInstanceTypesRequest({ instanceTypes: [instanceType] });
    const res = await this.sdk.call(api, () => this.sdk.ecs.describeInstanceTypesWithOptions(request, this.sdk.runtime));
    const found = (res.body?.instanceTypes?.instanceType ?? []).find((t) => t.instanceTypeId === instanceType);
    if (!found)
      throw new CloudError({
        api,
        code: 'InvalidInstanceType.ValueNotSupported',
        message: `unknown instance type ${instanceType}`,
        requestId: res.body?.requestId,
        retryable: false,
      });
    return toInstanceTypeLimits(found);
  }
}
