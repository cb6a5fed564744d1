// The mode builders. A new way of getting pod addresses (e.g. Terway's `ipam_type: crd`, IPs from a
// controller's node resource instead of the cloud) is one more file and one more line here; the first
// builder that serves the config wins, so list a more specific one before the mode it refines.
import type { DaemonConfig } from '../config/types.js';
import { crdBuilder } from './crd.js';
import { eniMultiIpBuilder } from './eniMultiIp.js';
import type { ModeBuilder } from './types.js';
import { vpcEniBuilder } from './vpcEni.js';
import { vpcIpBuilder } from './vpcIp.js';

export type * from './types.js';
export { pickVSwitches } from './placement.js';
export { nodeCrSpec } from './crd.js';

const BUILDERS: readonly ModeBuilder[] = [crdBuilder, eniMultiIpBuilder, vpcEniBuilder, vpcIpBuilder];

export function modeBuilder(config: DaemonConfig): ModeBuilder {
  const b = BUILDERS.find((x) => x.serves(config));
  if (!b) throw new Error(`no builder serves daemon_mode ${config.daemonMode}`);
  return b;
}
