// ENIMultiIP (Terway's default): pods share secondary ENIs, one secondary IP each, from the ENI multi-IP
// pool (pool/). Its GC by pod existence and its ENIs leaving the node go through KernelHygiene.
import { createEniMultiIpPool } from '../../pool/index.js';
import { createNetworkService } from '../modes/index.js';
import { logPoolEvent, securityGroupsFor, vSwitchesFor } from './placement.js';
import { cloudOf, type ModeBuilder } from './types.js';

export const eniMultiIpBuilder: ModeBuilder = {
  serves: (config) => config.daemonMode === 'ENIMultiIP',
  podGc: true,
  usesCloud: true,

  async build(ctx) {
    const { config } = ctx;
    const vSwitchIds = vSwitchesFor(ctx);
    const securityGroupIds = await securityGroupsFor(ctx);
    const log = ctx.logger.child({ component: 'pool' });
    const allocator = await createEniMultiIpPool({
      cloud: cloudOf(ctx),
      store: ctx.store,
      instanceId: ctx.instanceId,
      instanceType: ctx.metadata.instanceType,
      vSwitchIds,
      securityGroupIds,
      eniTags: config.eniTags,
      ownerCheck: ctx.ownerCheck,
      beforeRelease: ctx.hygiene.beforeRelease,
      onEniRemoved: ctx.hygiene.onEniRemoved,
      config: {
        ipStack: config.ipStack,
        minPoolSize: config.minPoolSize,
        maxPoolSize: config.maxPoolSize,
        idleIpReclaimAfterMs: config.idleIpReclaimAfterMs,
        idleIpReclaimIntervalMs: config.idleIpReclaimIntervalMs,
        idleIpReclaimBatchSize: config.idleIpReclaimBatchSize,
        idleIpReclaimJitterFactor: config.idleIpReclaimJitterFactor,
        eniTagFilter: config.eniTagFilter,
        minEni: config.minEni,
        maxEni: config.maxEni,
        eniCapRatio: config.eniCapRatio,
        eniCapShift: config.eniCapShift,
        eniSelectionPolicy: config.eniSelectionPolicy,
        vSwitchSelectionPolicy: config.vSwitchSelectionPolicy,
        ipCooldownMs: config.ipCooldownMs,
        statefulReserveMs: config.statefulIpReserveMs,
        allocDeadlineMs: config.allocTimeoutMs,
        gcIntervalMs: config.gcIntervalMs,
        gcGraceMs: config.gcGraceMs,
      },
      logger: log,
      onEvent: (e) => {
        logPoolEvent(log, e);
        ctx.nodeWarning?.(e);
      },
    });
    return { allocator, capacity: () => allocator.capacity() };
  },

  service: (deps) => createNetworkService('ENIMultiIP', deps),
};
