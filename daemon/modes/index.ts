// The mode switch: daemon_mode -> NetworkService.
import type { DaemonMode } from '../config/types.js';
import { EniMultiIpService, type EniMultiIpDeps } from './eniMultiIp.js';
import type { NetworkService } from './types.js';
import { VpcEniService } from './vpcEni.js';

export * from './types.js';
export { EniMultiIpService, type EniMultiIpDeps } from './eniMultiIp.js';
export { mapFailure, type MappedFailure } from './errors.js';
export { KeyedMutex } from './keyedMutex.js';
export { LogEventRecorder, FanOutEventRecorder, onThisNode } from './events.js';
export { KubeAwareService, type KubeAwareDeps } from './kubeAware.js';
export { createPodStatefulness, type PodStatefulness, type PodStatefulnessOptions } from './podStateful.js';
export { IpConditionReporter, SUFFICIENT_IP_CONDITION, type IpConditionOptions } from './ipCondition.js';
export * from './vpcIp/index.js';
export { VpcEniService, ENI_RESOURCE_NAME } from './vpcEni.js';

export function createNetworkService(mode: DaemonMode, deps: EniMultiIpDeps): NetworkService {
  switch (mode) {
    case 'ENIMultiIP':
      return new EniMultiIpService({ ...deps, ipType: 'ENI_MULTI_IP' });
    case 'VPCIP':
      return new EniMultiIpService({ ...deps, ipType: 'VPC_IP' });
    case 'VPCENI':
      return new VpcEniService(deps);
  }
}
