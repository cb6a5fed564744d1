// VPCENI (Terway's exclusive ENI): a whole secondary ENI per pod from the ENI pool (pool/enipool/), moved
// into the pod netns by the raw ENI driver. Background: the node's ENI capacity is advertised as the
// extended resource aliyun/eni, so the scheduler does not place more ENI pods here than fit.
import { EniPool } from '../../pool/enipool/index.js';
import { createNetworkService, ENI_RESOURCE_NAME } from '../modes/index.js';
import { logPoolEvent, securityGroupsFor, vSwitchesFor } from './placement.js';
import { cloudOf, type BackgroundPart, type ModeBuilder, type ModeContext } from './types.js';

/** Best effort, not awaited: an API server that is down does not stop the daemon (Terway's device plugin advertises the same). */
function advertiseCapacity(ctx: ModeContext, pool: EniPool): BackgroundPart[] {
  const { kube, nodeName, logger: log } = ctx;
  if (!kube || !nodeName) return [];
  return [
    () => {
      const capacity = pool.capacity();
      void kube
        .setNodeExtendedResource(nodeName, ENI_RESOURCE_NAME, capacity)
        .then(() => log.info({ resource: ENI_RESOURCE_NAME, capacity }, 'node extended resource set'))
        .catch((e: Error) => log.warn({ err: e.message, resource: ENI_RESOURCE_NAME }, 'advertising the ENI capacity on the node failed'));
    },
  ];
}

export const vpcEniBuilder: ModeBuilder = {
  serves: (config) => config.daemonMode === 'VPCENI',
  podGc: true,
  usesCloud: true,

  async build(ctx) {
    const { config } = ctx;
    const vSwitchIds = vSwitchesFor(ctx);
    const securityGroupIds = await securityGroupsFor(ctx);
    const log = ctx.logger.child({ component: 'enipool' });
    const pool = new EniPool({
      cloud: cloudOf(ctx),
      store: ctx.store,
      instanceId: ctx.instanceId,
      instanceType: ctx.metadata.instanceType,
      vSwitchIds,
      securityGroupIds,
      eniTags: config.eniTags,
      config: {
        minPoolSize: config.minPoolSize,
        maxPoolSize: config.maxPoolSize,
        maxEni: config.maxEni,
        eniCapRatio: config.eniCapRatio,
        eniCapShift: config.eniCapShift,
        cooldownMs: config.ipCooldownMs,
        allocDeadlineMs: config.allocTimeoutMs,
        vSwitchSelectionPolicy: config.vSwitchSelectionPolicy,
        gcIntervalMs: config.gcIntervalMs,
        gcGraceMs: config.gcGraceMs,
        ipStack: config.ipStack,
      },
      ownerCheck: ctx.ownerCheck,
      // Unwires a gone pod (the ENI link back to the host) before its ENI goes back to the pool.
      beforeRelease: ctx.hygiene.beforeRelease,
      logger: log,
      onEvent: (e) => {
        logPoolEvent(log, e);
        ctx.nodeWarning?.(e);
        // A pod whose ENI vanished, or whose GC teardown failed: the Warning goes on the Pod too.
        if (e.pod && e.type === 'Warning') {
          void ctx.events
            .record({ target: 'pod', namespace: e.pod.namespace, name: e.pod.name, type: e.type, reason: e.reason, message: e.message })
            .catch(() => {});
        }
      },
    });
    return { allocator: pool, background: advertiseCapacity(ctx, pool), capacity: () => pool.nodeCapacity() };
  },

  service: (deps) => createNetworkService('VPCENI', deps),
};
