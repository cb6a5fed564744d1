// The fewest mutating cloud calls that can give one node `pods` addresses, from the pool's own capacity rules
// (pool/capacity.ts multiIpCapacity: pods use secondary ENIs only, each with EniPrivateIpAddressQuantity
// addresses, its own primary address included; at most 10 IPs per call). A new ENI costs
// CreateNetworkInterface (which brings its primary address and up to 10 secondary IPs) and
// AttachNetworkInterface; k addresses on it then cost ⌈(k − 11) / 10⌉ more AssignPrivateIpAddresses.
// The cheapest mix is found by a small dynamic programme over the number of addresses still to place.
import { multiIpCapacity } from '../../pool/capacity.js';
import { resolvePoolConfig } from '../../pool/config.js';

const PER_CALL = 10;

export function fewestCallsForNode(pods: number, limits: { eniQuantity: number; ipv4PerEni: number }): number {
  const { secondaryEnis, perEni } = multiIpCapacity(limits, resolvePoolConfig());
  if (pods > secondaryEnis * perEni) return Infinity;
  const onNew = (k: number): number => (k === 0 ? 0 : 2 + Math.ceil(Math.max(0, k - 1 - PER_CALL) / PER_CALL));
  // best[r]: calls for r addresses on at most e new ENIs (e = 0 … secondaryEnis).
  let best = Array.from({ length: pods + 1 }, (_, r) => (r === 0 ? 0 : Infinity));
  for (let e = 1; e <= secondaryEnis; e++) {
    const next = [...best];
    for (let r = 1; r <= pods; r++) for (let k = 1; k <= Math.min(perEni, r); k++) next[r] = Math.min(next[r]!, best[r - k]! + onNew(k));
    best = next;
  }
  return best[pods]!;
}
