// VPCIP: pods get addresses from the node's pod CIDR (eni_conf pod_cidr); no ENI per pod. The VPC route
// entry that carries the CIDR to this instance is ensured when the allocator starts. No GC by pod
// existence in this mode.
import { createNetworkService } from '../modes/index.js';
import { VpcIpAllocator } from '../modes/vpcIp/index.js';
import { cloudOf, type ModeBuilder } from './types.js';
import { podCidrCapacity } from '../maxPods.js';

export const vpcIpBuilder: ModeBuilder = {
  serves: (config) => config.daemonMode === 'VPCIP',
  podGc: false,
  usesCloud: true,

  async build(ctx) {
    const podCidr = ctx.config.podCidr;
    if (!podCidr) throw new Error('eni_conf.pod_cidr is required when daemon_mode is VPCIP');
    const allocator = new VpcIpAllocator({
      cloud: cloudOf(ctx),
      store: ctx.store,
      instanceId: ctx.instanceId,
      podCidr,
      vSwitchId: ctx.metadata.vSwitchId,
      ipCooldownMs: ctx.config.ipCooldownMs,
      logger: ctx.logger.child({ component: 'vpcip' }),
    });
    return { allocator, capacity: () => podCidrCapacity(podCidr) };
  },

  service: (deps) => createNetworkService('VPCIP', deps),
};
