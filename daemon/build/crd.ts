// ENIMultiIP with centralized IPAM (Terway's `ipam_type: crd`): the controller (controlplane/) owns every
// cloud call; this node serves pods from the addresses placed on its Node resource (the delegated pool,
// pool/delegated/), keeps its pod DB exactly as node-local mode does, and wires pods the same way. No cloud
// client is made: the daemon needs no credentials. It needs Kubernetes and its node name.
import { DelegatedPool } from '../../pool/delegated/index.js';
import { formatDuration } from '../config/duration.js';
import type { DaemonConfig } from '../config/types.js';
import type { InstanceMetadata } from '../cloud/types.js';
import { createObjectClients } from '../k8s/objectClient.js';
import { NODE_CR, type NodeCr, type NodeCrSpec } from '../k8s/nodeCr.js';
import { createNetworkService } from '../modes/index.js';
import { NodeCrSource } from '../modes/crd/nodeCrSource.js';
import { logPoolEvent, pickVSwitches } from './placement.js';
import type { ModeBuilder } from './types.js';

/** The node's spec fields of its resource: where its ENIs go and its pool settings, from eni_conf and the metadata. */
export function nodeCrSpec(config: DaemonConfig, md: InstanceMetadata, instanceId: string): NodeCrSpec {
  const reclaim = {
    ...(config.idleIpReclaimAfterMs !== undefined ? { after: formatDuration(config.idleIpReclaimAfterMs) } : {}),
    interval: formatDuration(config.idleIpReclaimIntervalMs),
    batchSize: config.idleIpReclaimBatchSize,
    jitterFactor: String(config.idleIpReclaimJitterFactor),
  };
  return {
    nodeMetadata: { regionID: config.regionId ?? md.regionId, instanceType: md.instanceType, instanceID: instanceId, zoneID: md.zoneId },
    eni: {
      vSwitchOptions: pickVSwitches(config, md).ids,
      // Empty: the controller copies the primary ENI's, as node-local mode does.
      securityGroupIDs: config.securityGroupIds,
      vSwitchSelectPolicy: config.vSwitchSelectionPolicy,
      ...(Object.keys(config.eniTags).length > 0 ? { tag: config.eniTags } : {}),
      ...(Object.keys(config.eniTagFilter).length > 0 ? { tagFilter: config.eniTagFilter } : {}),
      enableIPv4: true,
      eniSelectionPolicy: config.eniSelectionPolicy,
      maxENI: config.maxEni,
      minENI: config.minEni,
      eniCapRatio: String(config.eniCapRatio),
      eniCapShift: config.eniCapShift,
    },
    pool: { maxPoolSize: config.maxPoolSize, minPoolSize: config.minPoolSize, reclaim },
  };
}

export const crdBuilder: ModeBuilder = {
  serves: (config) => config.ipamType === 'crd' && config.daemonMode === 'ENIMultiIP',
  podGc: true,
  usesCloud: false,

  async build(ctx) {
    const { config, nodeName } = ctx;
    if (!nodeName) throw new Error('eni_conf.ipam_type crd needs the node name (node_name or env NODE_NAME) and Kubernetes');
    let api = ctx.nodeCrs;
    if (!api) {
      if (!ctx.kubeOptions) throw new Error('eni_conf.ipam_type crd needs Kubernetes (kubeconfig, kube_api_server or in-cluster)');
      api = (await createObjectClients(ctx.kubeOptions)).objects<NodeCr>(NODE_CR);
    }
    const log = ctx.logger.child({ component: 'pool', ipam: 'crd' });
    const source = new NodeCrSource({ api, nodeName, spec: nodeCrSpec(config, ctx.metadata, ctx.instanceId), log });
    const allocator = new DelegatedPool({
      store: ctx.store,
      source,
      config: {
        minPoolSize: config.minPoolSize,
        maxPoolSize: config.maxPoolSize,
        eniSelectionPolicy: config.eniSelectionPolicy,
        ipCooldownMs: config.ipCooldownMs,
        statefulReserveMs: config.statefulIpReserveMs,
        allocDeadlineMs: config.allocTimeoutMs,
        gcIntervalMs: config.gcIntervalMs,
        gcGraceMs: config.gcGraceMs,
      },
      ownerCheck: ctx.ownerCheck,
      beforeRelease: ctx.hygiene.beforeRelease,
      onEniRemoved: ctx.hygiene.onEniRemoved,
      logger: log,
      onEvent: (e) => {
        logPoolEvent(log, e);
        ctx.nodeWarning?.(e);
      },
    });
    return { allocator };
  },

  service: (deps) => createNetworkService('ENIMultiIP', deps),
};
