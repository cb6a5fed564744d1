// eni.proto messages as proto-loader hands them over (keepCase, enums as names, defaults filled).

export interface PodRefMsg {
  k8s_pod_name: string;
  k8s_pod_namespace: string;
  k8s_pod_infra_container_id: string;
  netns: string;
  if_name: string;
  network_name: string;
}

export interface NetConfOptionsMsg {
  mtu: number;
  eniip_virtual_type: string;
  veth_prefix: string;
  ignored_keys: string[];
}

export interface AllocIPRequestMsg {
  pod: PodRefMsg | null;
  api_version: number;
  plugin_version: string;
  net_conf?: NetConfOptionsMsg | null;
}
export interface ReleaseIPRequestMsg {
  pod: PodRefMsg | null;
  api_version: number;
  plugin_version: string;
  reason: string;
}
export interface GetInfoRequestMsg {
  pod: PodRefMsg | null;
  api_version: number;
}
export type CheckIPRequestMsg = Omit<ReleaseIPRequestMsg, 'reason'>;

export interface IPConfigMsg {
  address: string;
  gateway: string;
  family: number;
}
export interface RouteMsg {
  dst: string;
  gw: string;
}
export interface PodInterfaceMsg {
  name: string;
  mac: string;
  host_if_name: string;
  host_if_mac: string;
}

export interface AllocIPReplyMsg {
  success: boolean;
  failure_reason: string;
  message: string;
  ip_type: string;
  ips: IPConfigMsg[];
  routes: RouteMsg[];
  interface: PodInterfaceMsg | null;
  eni_id: string;
  eni_mac: string;
  vswitch_id: string;
  cloud_error_code: string;
}

export interface ReleaseIPReplyMsg {
  success: boolean;
  failure_reason: string;
  message: string;
  released_ip: string;
}

export interface GetInfoReplyMsg {
  success: boolean;
  failure_reason: string;
  message: string;
  found: boolean;
  ip_type: string;
  ips: IPConfigMsg[];
  eni_id: string;
  eni_mac: string;
  netns: string;
}

export interface CheckIPReplyMsg {
  success: boolean;
  failure_reason: string;
  message: string;
}

export interface EventRequestMsg {
  target: string;
  k8s_pod_name: string;
  k8s_pod_namespace: string;
  type: string;
  reason: string;
  message: string;
}
export interface EventReplyMsg {
  succeed: boolean;
  error: string;
}

export interface StatusRequestMsg {
  api_version: number;
}
export interface StatusReplyMsg {
  ready: boolean;
  message: string;
  ip_type: string;
  free_ips: number;
  total_ips: number;
  api_version: number;
}

export interface GCRequestMsg {
  network_name: string;
  valid_attachments: { container_id: string; if_name: string }[];
  api_version: number;
}
export interface GCReplyMsg {
  success: boolean;
  message: string;
  released: string[];
}

export interface HealthCheckRequestMsg {
  service: string;
}
export interface HealthCheckResponseMsg {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}
