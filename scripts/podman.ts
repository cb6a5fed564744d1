// podman as this project drives it (Debian 12's podman 4.3, root, no registry).
import { existsSync } from 'node:fs';

/**
 * Flags for every `podman run`: runc (crun refuses the hybrid cgroup layout some hosts have, runc copes), and
 * ulimits root can grant here (no CAP_SYS_RESOURCE to raise RLIMIT_NOFILE/NPROC to podman's defaults).
 */
export const PODMAN_RUN_FLAGS = [
  ...(existsSync('/usr/sbin/runc') || existsSync('/usr/bin/runc') ? ['--runtime', 'runc'] : []),
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=1024:1024',
];
