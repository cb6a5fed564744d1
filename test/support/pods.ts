// The pod a test allocates for, as the pool and the daemon's modes see it (PodRef).
import type { PodRef } from '../../pool/types.js';

/** Pod `pod-<id>` in `default`, container `<id>`, eth0 on network `net`; podKey `<id>/eth0/net`. */
export function podRef(id: string, over: Partial<PodRef> = {}): PodRef {
  return {
    namespace: 'default',
    name: `pod-${id}`,
    containerId: id,
    ifName: 'eth0',
    networkName: 'net',
    netns: `/var/run/netns/${id}`,
    ...over,
  };
}

/** Pod number `i` as the multi-IP pool suites name it: `pod-<i>`, container `c<i>`, network `terway`; podKey `c<i>/eth0/terway`. */
export function numberedPod(i: number, over: Partial<PodRef> = {}): PodRef {
  return {
    namespace: 'default',
    name: `pod-${i}`,
    containerId: `c${i}`,
    ifName: 'eth0',
    networkName: 'terway',
    netns: `/var/run/netns/p${i}`,
    ...over,
  };
}
