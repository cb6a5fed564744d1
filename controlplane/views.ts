// Pure: every node's pool as the controller sees it, for GET /v1/nodes and the metrics: its ENIs and IPs by
// state (the controller's status of each IP with the node's use of it), what waits, what is in flight, what
// blocks it.
import { allocationPause } from '../pool/backoff.js';
import { podAddresses } from '../daemon/k8s/nodeCr.js';
import type { ControllerStatus, NodeIpFields } from './crModel.js';
import { nodeFieldsOf } from './crModel.js';
import type { NodeState } from './nodeState.js';

export type IpCounts = Record<'free' | 'assigned' | 'cooling' | 'reserved' | 'releasing' | 'invalid', number>;

export interface EniView {
  id: string;
  type: 'Primary' | 'Secondary';
  status: string;
  vSwitchID: string;
  ips: IpCounts;
}

export interface NodePoolView {
  name: string;
  instanceId: string;
  instanceType: string;
  /** Reconciled with the cloud under this leadership. */
  synced: boolean;
  lastSyncOpenAPITime?: string;
  waitingPods: number;
  waitingSince?: string;
  minPoolSize: number;
  maxPoolSize: number;
  ips: IpCounts & { total: number };
  enis: EniView[];
  /** Creates / assigns recorded in the resource and not answered yet. */
  cloudOperations: number;
  blocked?: { code?: string; message?: string };
  backoff?: { reason: string; until: string };
  specError?: string;
}

const zero = (): IpCounts => ({ free: 0, assigned: 0, cooling: 0, reserved: 0, releasing: 0, invalid: 0 });

export function ipCategory(status: string, f: NodeIpFields | undefined): keyof IpCounts {
  if (status === 'Invalid') return 'invalid';
  if (status !== 'Valid' || f?.use === 'released') return 'releasing';
  return f?.use === 'assigned' || f?.use === 'cooling' || f?.use === 'reserved' ? f.use : 'free';
}

export function countIps(model: ControllerStatus, node: ReadonlyMap<string, NodeIpFields>): { total: IpCounts; enis: EniView[] } {
  const total = zero();
  const enis: EniView[] = [];
  for (const nic of Object.values(model.networkInterfaces)) {
    const c = zero();
    for (const ip of podAddresses(nic)) {
      const k = ipCategory(ip.status, node.get(ip.ip));
      c[k]++;
      total[k]++;
    }
    enis.push({ id: nic.id, type: nic.networkInterfaceType, status: nic.status, vSwitchID: nic.vSwitchID, ips: c });
  }
  enis.sort((a, b) => Number(b.type === 'Primary') - Number(a.type === 'Primary') || a.id.localeCompare(b.id));
  return { total, enis };
}

export function nodePoolView(s: NodeState, now: number): NodePoolView {
  const model = s.model ?? { networkInterfaces: {}, cloudOperations: {} };
  const { total, enis } = countIps(model, nodeFieldsOf(s.cr));
  const pause = allocationPause(s.backoffs, now);
  const demand = s.cr.status?.demand;
  return {
    name: s.name,
    instanceId: s.instanceId,
    instanceType: s.cr.spec.nodeMetadata.instanceType,
    synced: s.model !== undefined,
    ...(model.lastSyncOpenAPITime ? { lastSyncOpenAPITime: model.lastSyncOpenAPITime } : {}),
    waitingPods: demand?.waitingPods ?? 0,
    ...(demand?.waitingSince ? { waitingSince: demand.waitingSince } : {}),
    minPoolSize: s.cr.spec.pool.minPoolSize,
    maxPoolSize: s.cr.spec.pool.maxPoolSize,
    ips: { ...total, total: Object.values(total).reduce((a, b) => a + b, 0) },
    enis,
    cloudOperations: Object.keys(model.cloudOperations).length,
    ...(model.allocation?.blocked ? { blocked: { code: model.allocation.code, message: model.allocation.message } } : {}),
    ...(pause ? { backoff: { reason: pause.reason, until: new Date(pause.until).toISOString() } } : {}),
    ...(s.specError ? { specError: s.specError } : {}),
  };
}
