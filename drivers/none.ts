// Allocation-only driver: no kernel changes (no-root demo, dry runs). setup reports what a real
// driver would hand the pod; teardown and check have nothing to do.
import type { Driver, PodNetworkResult, PodNetworkSpec, TeardownSpec } from './types.js';

export class NoneDriver implements Driver {
  readonly name = 'none' as const;

  async setup(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    return { podIfMac: '', podGateway: spec.gateway };
  }

  async teardown(_spec: TeardownSpec): Promise<void> {}

  async check(_spec: PodNetworkSpec): Promise<void> {}
}
