// Where the ENI modes put new ENIs, and how their pool events reach the log: shared by the ENIMultiIP
// and VPCENI builders.
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/types.js';
import type { InstanceMetadata } from '../cloud/types.js';
import { cloudOf, type ModeContext, type NodeWarning } from './types.js';

/** The vSwitches for new ENIs: those configured for this zone, else the node's own. */
export function pickVSwitches(
  config: DaemonConfig,
  md: Pick<InstanceMetadata, 'zoneId' | 'vSwitchId'>,
): { ids: string[]; fallback: boolean } {
  const ids = config.vSwitches[md.zoneId] ?? [];
  return ids.length > 0 ? { ids, fallback: false } : { ids: [md.vSwitchId], fallback: true };
}

/** pickVSwitches, warning when `vswitches` is set but has nothing for this zone. */
export function vSwitchesFor(ctx: Pick<ModeContext, 'config' | 'metadata' | 'logger'>): string[] {
  const { ids, fallback } = pickVSwitches(ctx.config, ctx.metadata);
  if (fallback && Object.keys(ctx.config.vSwitches).length > 0) {
    ctx.logger.warn(
      { zoneId: ctx.metadata.zoneId, vSwitchId: ctx.metadata.vSwitchId },
      'eni_conf.vswitches has no entry for this zone; using the node vSwitch',
    );
  }
  return ids;
}

/** The configured security groups, else (as Terway) those of the primary ENI: one DescribeNetworkInterfaces. */
export async function securityGroupsFor(ctx: Pick<ModeContext, 'config' | 'cloud' | 'instanceId' | 'logger'>): Promise<string[]> {
  if (ctx.config.securityGroupIds.length > 0) return ctx.config.securityGroupIds;
  const enis = await cloudOf(ctx).describeNetworkInterfaces({ instanceId: ctx.instanceId });
  const ids = enis.find((e) => e.type === 'Primary')?.securityGroupIds ?? [];
  if (ids.length === 0) throw new Error('eni_conf.security_group(s) is not set and the primary ENI has no security group to copy');
  ctx.logger.info({ securityGroupIds: ids }, 'security groups copied from the primary ENI');
  return ids;
}

/** A pool event as a structured log line (event=true), Warning at warn level. */
export function logPoolEvent(log: Logger, e: NodeWarning): void {
  (e.type === 'Warning' ? log.warn : log.info).call(log, { event: true, ...e }, e.message);
}
