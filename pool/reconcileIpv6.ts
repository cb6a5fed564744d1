// Dual stack part of the reconcile verdict (pure): the IPv6 partners of the IPv4 records of each managed ENI
// against the IPv6 addresses the cloud lists on it.
//   - a partner the cloud no longer lists goes from a record no pod holds (the record is a half pair again:
//     the planner asks for a new partner); a pod keeps its own (flagging stays with the IPv4 rules);
//   - an IPv6 address the cloud lists that no record holds (an assign whose reply was lost, a crash between
//     the two assigns) becomes the partner of a half pair of that ENI; one with no half to pair with stays
//     where it is in the cloud until one appears;
//   - what the pool unassigned (recentlyRemoved) or assigned (recentlyAdded) a moment ago is left alone.
import type { Eni } from './cloud.js';
import type { IpRecord } from './store.js';

export type Ipv6Finding =
  { kind: 'adoptIpv6'; eniId: string; ip: string; ipv6: string } | { kind: 'dropIpv6'; eniId: string; ip: string; ipv6: string };

/**
 * `records`: the decided IPv4 records of `ce` (after the IPv4 verdict). Returns the records to write again
 * (new or cleared partners) and the findings.
 */
export function reconcileIpv6(
  ce: Pick<Eni, 'eniId' | 'ipv6s'>,
  records: readonly IpRecord[],
  fresh: (id: string) => boolean,
  recent: (id: string) => boolean,
): { put: IpRecord[]; findings: Ipv6Finding[] } {
  const listed = new Set(ce.ipv6s);
  const put = new Map<string, IpRecord>();
  const findings: Ipv6Finding[] = [];
  const held = new Set<string>();
  for (const r of records) {
    if (r.ipv6 === undefined) continue;
    if (listed.has(r.ipv6) || fresh(r.ipv6) || r.state === 'assigned') {
      held.add(r.ipv6);
      continue;
    }
    const { ipv6, ...rest } = r;
    put.set(r.ip, rest);
    findings.push({ kind: 'dropIpv6', eniId: ce.eniId, ip: r.ip, ipv6 });
  }
  const stray = ce.ipv6s.filter((v6) => !held.has(v6) && !recent(v6));
  const halves = records.filter((r) => r.state === 'free' && (put.get(r.ip) ?? r).ipv6 === undefined);
  for (let i = 0; i < Math.min(stray.length, halves.length); i++) {
    const r = put.get(halves[i]!.ip) ?? halves[i]!;
    put.set(r.ip, { ...r, ipv6: stray[i]! });
    findings.push({ kind: 'adoptIpv6', eniId: ce.eniId, ip: r.ip, ipv6: stray[i]! });
  }
  return { put: [...put.values()], findings };
}
