// Pure translations between the node's custom resource and the delegated pool's port: what the controller
// placed (status, read), and the node's own fields written back (spec from eni_conf, usage in status).
// Each writer touches only its fields (daemon/k8s/nodeCr.ts lists who owns what).
import type { CrIp, CrIpStatus, NodeCr, NodeCrSpec } from '../../k8s/nodeCr.js';
import { crTime, podAddresses } from '../../k8s/nodeCr.js';
import { canonicalJson } from '../../k8s/objects.js';
import type { NodeUsage, PlacedEni, PlacedIpStatus, Placement } from '../../../pool/delegated/index.js';

const IP_STATUS: Record<CrIpStatus, PlacedIpStatus> = {
  Valid: 'valid',
  Reclaiming: 'reclaiming',
  Deleting: 'deleting',
  Invalid: 'invalid',
};
const ENI_STATE = { Attaching: 'attaching', InUse: 'inuse', Deleting: 'deleting' } as const;

/**
 * What the controller placed on this node; undefined until it has reconciled the node with the cloud (an
 * empty status then means "nothing known yet", not "nothing left"). As in node-local mode (ADR 0007) a
 * secondary ENI's own primary address is placed like its secondary IPs; eth0's own address is the node's.
 */
export function placementOf(cr: NodeCr): Placement | undefined {
  const st = cr.status;
  if (!st?.lastSyncOpenAPITime) return undefined;
  const enis: PlacedEni[] = Object.values(st.networkInterfaces ?? {}).map((n) => ({
    eniId: n.id,
    mac: n.macAddress,
    primary: n.networkInterfaceType === 'Primary',
    vSwitchId: n.vSwitchID,
    vSwitchCidr: n.ipv4CIDR,
    primaryIp: n.primaryIPAddress,
    state: ENI_STATE[n.status],
    ips: podAddresses(n).map((ip) => ({ ip: ip.ip, status: IP_STATUS[ip.status] })),
  }));
  const a = st.allocation;
  return { enis, ...(a?.blocked ? { blocked: { code: a.code, message: a.message ?? 'no IP can be added to this node now' } } : {}) };
}

/** The resource with the node's usage applied to its own fields (holders, acknowledgements, demand); undefined when nothing changes. */
export function withUsage(cr: NodeCr, usage: NodeUsage): NodeCr | undefined {
  const before = canonicalJson(cr.status ?? {});
  const status = structuredClone(cr.status ?? {});
  for (const nic of Object.values(status.networkInterfaces ?? {})) {
    for (const ip of Object.values(nic.ipv4 ?? {}) as CrIp[]) {
      const u = usage.ips.get(ip.ip);
      if (u) {
        ip.use = u.use;
        if (u.podId) ip.podID = u.podId;
        else delete ip.podID;
      } else {
        delete ip.use;
        delete ip.podID;
      }
    }
  }
  status.demand = {
    waitingPods: usage.waitingPods,
    ...(usage.waitingPods > 0 && usage.waitingSince !== undefined ? { waitingSince: crTime(usage.waitingSince) } : {}),
  };
  if (canonicalJson(status) === before) return undefined;
  return { ...cr, status };
}

/** The resource with the node's spec fields (nodeMetadata, eni, pool) set; spec.nodeCap is the controller's and is kept. */
export function withNodeSpec(cr: NodeCr, spec: NodeCrSpec): NodeCr | undefined {
  const next: NodeCrSpec = { ...spec, ...(cr.spec?.nodeCap ? { nodeCap: cr.spec.nodeCap } : {}) };
  if (canonicalJson(next) === canonicalJson(cr.spec)) return undefined;
  return { ...cr, spec: next };
}
