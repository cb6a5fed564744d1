// Pure: the node's usage as the controller needs it, from the node's own records: who holds each IP
// (assigned / reserved, with the pod), which IPs are not free for a while (cooling), which ones the node
// gave up for good (releasing → `released`), and how many allocation requests wait.
import type { IpRecord, PodRecord } from '../store.js';
import type { IpUse, NodeUsage } from './placement.js';

const USE: Record<IpRecord['state'], IpUse | undefined> = {
  free: undefined,
  assigned: 'assigned',
  cooling: 'cooling',
  reserved: 'reserved',
  releasing: 'released',
};

export function nodeUsage(
  ips: Iterable<IpRecord>,
  pods: ReadonlyMap<string, PodRecord>,
  waiting: { count: number; since?: number },
): NodeUsage {
  const out: NodeUsage = { waitingPods: waiting.count, ips: new Map() };
  if (waiting.count > 0 && waiting.since !== undefined) out.waitingSince = waiting.since;
  for (const r of ips) {
    const use = USE[r.state];
    if (!use) continue;
    const pod = r.podKey ? pods.get(r.podKey) : undefined;
    const podId = r.state === 'assigned' && pod ? `${pod.namespace}/${pod.name}` : r.state === 'reserved' ? r.reservedFor : undefined;
    out.ips.set(r.ip, podId ? { use, podId } : { use });
  }
  return out;
}
