// Pure: one node's resource against the cloud's listing of its instance, with the pool's own verdict
// (pool/reconcile.ts reconcileWithCloud: adopt what the cloud has on managed ENIs, drop what it lost unless
// a pod holds it, leave alone what is busy or was removed a moment ago). The resource's ENIs and IPs are
// turned into the pool's records, the verdict's store ops are turned back into resource changes. As in the
// pool, every address of a secondary ENI is a pod address (its own primary included), and the instance's
// primary ENI is never adopted: one left in the resource by an older version keeps only what pods hold.
import { crTime, podAddresses, type CrIp, type CrNic } from '../daemon/k8s/nodeCr.js';
import { vSwitchGateway } from '../lib/ipv4.js';
import type { Eni } from '../pool/cloud.js';
import { classifyEni } from '../pool/ownership.js';
import { reconcileWithCloud, type ReconcileFinding } from '../pool/reconcile.js';
import type { EniRecord, IpRecord, IpState } from '../pool/store.js';
import type { ControllerStatus, NodeIpFields } from './crModel.js';

export interface CrReconcileInput {
  now: number;
  model: ControllerStatus;
  node: ReadonlyMap<string, NodeIpFields>;
  instanceId: string;
  tagFilter: Record<string, string>;
  /** Every ENI the listing shows bound to the instance, in any status. */
  attached: readonly Eni[];
  vSwitchCidr(vSwitchId: string): string | undefined;
  /** ENIs with work under way, or touched since the listing started: left for the next round. */
  busy(eniId: string): boolean;
}

export interface CrReconcileResult {
  model: ControllerStatus;
  changed: boolean;
  /** Secondary ENIs attached that are not ours (they hold quota slots). */
  foreign: number;
  primarySecurityGroups: string[];
  findings: ReconcileFinding[];
}

const ENI_STATE = { Attaching: 'attaching', InUse: 'inuse', Deleting: 'deleting' } as const;
const CR_STATUS = { attaching: 'Attaching', inuse: 'InUse', deleting: 'Deleting' } as const;

function ipState(ip: CrIp, f: NodeIpFields | undefined): IpState {
  if (ip.status === 'Reclaiming' || ip.status === 'Deleting' || f?.use === 'released') return 'releasing';
  if (f?.use === 'assigned' || f?.use === 'cooling' || f?.use === 'reserved') return f.use;
  return 'free';
}

export function reconcileNode(input: CrReconcileInput): CrReconcileResult {
  const { now, instanceId } = input;
  const model: ControllerStatus = structuredClone(input.model);
  const enis = new Map<string, EniRecord>();
  const ips = new Map<string, IpRecord>();
  for (const nic of Object.values(model.networkInterfaces)) {
    enis.set(nic.id, {
      eniId: nic.id,
      mac: nic.macAddress,
      vSwitchId: nic.vSwitchID,
      vSwitchCidr: nic.ipv4CIDR,
      gateway: vSwitchGateway(nic.ipv4CIDR),
      primary: nic.networkInterfaceType === 'Primary',
      createdByUs: nic.networkInterfaceType !== 'Primary',
      state: ENI_STATE[nic.status],
      createdAt: Date.parse(nic.creationTime ?? '') || now,
      primaryIp: nic.primaryIPAddress,
    });
    for (const ip of podAddresses(nic)) {
      const f = input.node.get(ip.ip);
      const state = ipState(ip, f);
      ips.set(ip.ip, {
        ip: ip.ip,
        eniId: nic.id,
        state,
        since: now,
        ...(state === 'assigned' ? { podKey: f?.podID ?? '' } : {}),
        ...(ip.status === 'Invalid' ? { missingInCloud: true } : {}),
      });
    }
  }
  const cls = (e: Eni) => classifyEni(e, instanceId, input.tagFilter);
  const managed = input.attached.filter((e) => cls(e) === 'primary' || cls(e) === 'ours');
  const byId = new Map(input.attached.map((e) => [e.eniId, e]));
  const createsInFlight = Object.values(model.cloudOperations).some((op) => op.api === 'CreateNetworkInterface');
  const { ops, findings } = reconcileWithCloud({
    now,
    enis,
    ips,
    attached: managed,
    vSwitchInfo: (id) => {
      const cidr = input.vSwitchCidr(id);
      return cidr ? { cidr, gateway: vSwitchGateway(cidr) } : undefined;
    },
    busy: input.busy,
    isOurs: (e) => cls(e) === 'ours',
    createsInFlight,
  });

  const nicOf = (ip: string): CrNic | undefined => Object.values(model.networkInterfaces).find((n) => n.ipv4[ip] !== undefined);
  for (const o of ops) {
    switch (o.op) {
      case 'putEni': {
        const cur = model.networkInterfaces[o.eni.eniId];
        const cloud = byId.get(o.eni.eniId);
        if (!cur) {
          model.networkInterfaces[o.eni.eniId] = {
            id: o.eni.eniId,
            status: CR_STATUS[o.eni.state],
            macAddress: o.eni.mac,
            vSwitchID: o.eni.vSwitchId,
            securityGroupIDs: cloud?.securityGroupIds ?? [],
            primaryIPAddress: o.eni.primaryIp ?? cloud?.primaryIp ?? '',
            ipv4CIDR: o.eni.vSwitchCidr,
            networkInterfaceType: o.eni.primary ? 'Primary' : 'Secondary',
            creationTime: crTime(o.eni.createdAt),
            ipv4: o.eni.primaryIp ? { [o.eni.primaryIp]: { ip: o.eni.primaryIp, primary: true, status: 'Valid' } } : {},
          };
        } else if (cur.status !== 'Deleting') {
          // Attaching → the attach finished (its create record is done too). A Deleting one stays Deleting.
          cur.status = CR_STATUS[o.eni.state];
          cur.macAddress = o.eni.mac;
          if (o.eni.primaryIp) cur.primaryIPAddress = o.eni.primaryIp;
          if (cur.status === 'InUse')
            for (const [t, op] of Object.entries(model.cloudOperations))
              if (op.api === 'CreateNetworkInterface' && op.eniID === cur.id) delete model.cloudOperations[t];
        }
        break;
      }
      case 'deleteEni':
        delete model.networkInterfaces[o.eniId];
        for (const [t, op] of Object.entries(model.cloudOperations)) if (op.eniID === o.eniId) delete model.cloudOperations[t];
        break;
      case 'putIp': {
        const from = nicOf(o.ip.ip);
        const to = model.networkInterfaces[o.ip.eniId];
        if (!to) break;
        const entry: CrIp = from?.ipv4[o.ip.ip] ?? { ip: o.ip.ip, primary: o.ip.ip === to.primaryIPAddress, status: 'Valid' };
        if (from && from !== to) delete from.ipv4[o.ip.ip];
        if (o.ip.missingInCloud) entry.status = 'Invalid';
        else if (entry.status === 'Invalid') entry.status = 'Valid';
        to.ipv4[o.ip.ip] = entry;
        break;
      }
      case 'deleteIp': {
        const from = nicOf(o.ip);
        if (from) delete from.ipv4[o.ip];
        break;
      }
      default:
        break;
    }
  }
  const foreign = input.attached.filter((e) => e.type !== 'Primary' && (cls(e) === 'foreign' || cls(e) === 'filtered')).length;
  const primarySecurityGroups = input.attached.find((e) => e.type === 'Primary')?.securityGroupIds ?? [];
  return { model, changed: ops.length > 0, foreign, primarySecurityGroups, findings };
}
