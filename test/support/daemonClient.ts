// A promisified gRPC client over the daemon's unix socket (the plugin's contract, proto/eni.proto),
// the pod message the plugin sends, and the error a failing call rejects with.
import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../../daemon/server/proto.js';

type Unary = (req: unknown, opts: { deadline?: number }, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export interface TestClient {
  call<T = Record<string, unknown>>(method: string, req: unknown, deadlineMs?: number): Promise<T>;
  health(service?: string): Promise<{ status: string }>;
  close(): void;
}

export function connect(socketPath: string): TestClient {
  const { EniBackendClient, HealthClient } = loadServices();
  const target = `unix:${socketPath}`;
  const c = new EniBackendClient(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  const h = new HealthClient(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  const invoke = <T>(client: Record<string, Unary>, method: string, req: unknown, deadlineMs = 10_000): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method]!.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  return {
    call: (method, req, deadlineMs) => invoke(c, method, req, deadlineMs),
    health: (service = '') => invoke(h, 'Check', { service }),
    close: () => {
      c.close();
      h.close();
    },
  };
}

export function podMsg(containerId: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    k8s_pod_name: `pod-${containerId}`,
    k8s_pod_namespace: 'default',
    k8s_pod_infra_container_id: containerId,
    netns: `/var/run/netns/cni-${containerId}`,
    if_name: 'eth0',
    network_name: 'eni-net',
    ...over,
  };
}

/** Awaits a call that must fail and returns its gRPC error. */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('expected a gRPC error');
}
