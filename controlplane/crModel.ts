// Pure: the controller's fields of a Node resource, apart from the node's (daemon/k8s/nodeCr.ts lists who
// owns what). While it leads, the controller's model of each node is the authority for its own fields; a
// write applies them onto the latest object and keeps the node's (holders, release acknowledgements,
// demand), so neither side's write is lost whichever order they land in.
import { canonicalJson } from '../daemon/k8s/objects.js';
import type { CrCloudOperation, CrIp, CrIpUse, CrNic, NodeCr, NodeCrStatus } from '../daemon/k8s/nodeCr.js';

export interface ControllerStatus {
  /** ENIs with their IPs; no IP carries the node's fields here. */
  networkInterfaces: Record<string, CrNic>;
  cloudOperations: Record<string, CrCloudOperation>;
  lastSyncOpenAPITime?: string;
  allocation?: NodeCrStatus['allocation'];
}

/** What the node says of one IP. */
export interface NodeIpFields {
  use?: CrIpUse;
  podID?: string;
}

function stripNode(ip: CrIp): CrIp {
  return { ip: ip.ip, primary: ip.primary, status: ip.status };
}

/** The controller's fields as the resource has them (a new leader starts from these, never from memory). */
export function controllerStatusOf(cr: NodeCr): ControllerStatus {
  const st = cr.status ?? {};
  const networkInterfaces: Record<string, CrNic> = {};
  for (const [id, nic] of Object.entries(st.networkInterfaces ?? {})) {
    const ipv4: Record<string, CrIp> = {};
    for (const [ip, rec] of Object.entries(nic.ipv4 ?? {})) ipv4[ip] = stripNode(rec);
    networkInterfaces[id] = { ...nic, ipv4 };
  }
  return {
    networkInterfaces,
    cloudOperations: structuredClone(st.cloudOperations ?? {}),
    ...(st.lastSyncOpenAPITime ? { lastSyncOpenAPITime: st.lastSyncOpenAPITime } : {}),
    ...(st.allocation ? { allocation: structuredClone(st.allocation) } : {}),
  };
}

/** The node's fields of every IP in the resource, by address. */
export function nodeFieldsOf(cr: NodeCr | undefined): Map<string, NodeIpFields> {
  const out = new Map<string, NodeIpFields>();
  for (const nic of Object.values(cr?.status?.networkInterfaces ?? {}))
    for (const ip of Object.values(nic.ipv4 ?? {})) if (ip.use || ip.podID) out.set(ip.ip, { use: ip.use, podID: ip.podID });
  return out;
}

/** The resource with the controller's fields replaced by the model's, the node's kept; undefined when nothing changes. */
export function withControllerStatus(cr: NodeCr, m: ControllerStatus): NodeCr | undefined {
  const node = nodeFieldsOf(cr);
  const networkInterfaces: Record<string, CrNic> = {};
  for (const [id, nic] of Object.entries(m.networkInterfaces)) {
    const ipv4: Record<string, CrIp> = {};
    for (const [addr, ip] of Object.entries(nic.ipv4)) {
      const f = node.get(addr);
      ipv4[addr] = { ...stripNode(ip), ...(f?.use ? { use: f.use } : {}), ...(f?.podID ? { podID: f.podID } : {}) };
    }
    networkInterfaces[id] = { ...nic, ipv4 };
  }
  const status: NodeCrStatus = {
    networkInterfaces,
    cloudOperations: m.cloudOperations,
    ...(m.lastSyncOpenAPITime ? { lastSyncOpenAPITime: m.lastSyncOpenAPITime } : {}),
    ...(m.allocation ? { allocation: m.allocation } : {}),
    ...(cr.status?.demand ? { demand: cr.status.demand } : {}),
  };
  if (canonicalJson(status) === canonicalJson(cr.status ?? {})) return undefined;
  return { ...cr, status };
}
