// The fewest mutating cloud calls that can give one node `pods` addresses, from the pool's own capacity rules
// (pool/planner.ts: secondaryPerEni, maxEnis; at most 10 IPs per call). The instance's primary ENI is there
// already: k IPs on it cost ⌈k/10⌉ AssignPrivateIpAddresses. A new ENI costs CreateNetworkInterface (which
// brings up to 10 secondary IPs with it) and AttachNetworkInterface, then ⌈(k-10)/10⌉ assigns for k IPs.
// The cheapest mix is found by a small dynamic programme over the number of IPs still to place.
import { maxEnis, secondaryPerEni } from '../../pool/planner.js';
import { resolvePoolConfig } from '../../pool/config.js';

const PER_CALL = 10;

export function fewestCallsForNode(pods: number, limits: { eniQuantity: number; ipv4PerEni: number }): number {
  const perEni = secondaryPerEni(limits);
  const newEnis = maxEnis(resolvePoolConfig(), limits) - 1;
  if (perEni === 0 && pods > 0) return Infinity;
  const onNew = (k: number): number => (k === 0 ? 0 : 2 + Math.ceil(Math.max(0, k - PER_CALL) / PER_CALL));
  // best[e][r]: calls for r IPs on at most e new ENIs.
  let best = Array.from({ length: pods + 1 }, (_, r) => (r === 0 ? 0 : Infinity));
  for (let e = 1; e <= newEnis; e++) {
    const next = [...best];
    for (let r = 1; r <= pods; r++) for (let k = 1; k <= Math.min(perEni, r); k++) next[r] = Math.min(next[r]!, best[r - k]! + onNew(k));
    best = next;
  }
  let min = Infinity;
  for (let onPrimary = 0; onPrimary <= Math.min(perEni, pods); onPrimary++)
    min = Math.min(min, Math.ceil(onPrimary / PER_CALL) + best[pods - onPrimary]!);
  return min;
}
