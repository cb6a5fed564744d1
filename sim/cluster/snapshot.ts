// Kernel state of one netns as comparable strings: links, rules, routes of every table. Taken before the pods
// and after their DEL, the difference shows what the data plane left behind.
import { ipJson } from '../vpcsim/ip.js';

export interface NetnsSnapshot {
  netns: string;
  /** `name mac kind`, one per link (flags and counters left out: an ENI link may go up while in use). */
  links: string[];
  /** One canonical JSON object per `ip rule`. */
  rules: string[];
  /** One canonical JSON object per route of `ip route show table all` (IPv4). */
  routes: string[];
}

/** Stable JSON: keys sorted, volatile fields dropped. */
function canonical(o: Record<string, unknown>, drop: readonly string[] = []): string {
  const keys = Object.keys(o)
    .filter((k) => !drop.includes(k))
    .sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, o[k]])));
}

interface LinkJson {
  ifname: string;
  address?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

export async function snapshotNetns(netns: string): Promise<NetnsSnapshot> {
  const [links, rules, routes] = await Promise.all([
    ipJson<LinkJson[]>(netns, ['-d', 'link', 'show']),
    ipJson<Record<string, unknown>[]>(netns, ['-4', 'rule', 'show']),
    ipJson<Record<string, unknown>[]>(netns, ['-4', 'route', 'show', 'table', 'all']),
  ]);
  return {
    netns,
    links: links.map((l) => `${l.ifname} ${l.address ?? '-'} ${l.linkinfo?.info_kind ?? l.link_type ?? '-'}`).sort(),
    rules: rules.map((r) => canonical(r)).sort(),
    // `flags` (linkdown etc.) follows the link's carrier, not anything a driver set.
    routes: routes.map((r) => canonical(r, ['flags'])).sort(),
  };
}

export interface SnapshotDiff {
  added: { links: string[]; rules: string[]; routes: string[] };
  removed: { links: string[]; rules: string[]; routes: string[] };
}

function minus(a: readonly string[], b: readonly string[]): string[] {
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
}

export function diffSnapshots(before: NetnsSnapshot, after: NetnsSnapshot): SnapshotDiff {
  return {
    added: { links: minus(after.links, before.links), rules: minus(after.rules, before.rules), routes: minus(after.routes, before.routes) },
    removed: {
      links: minus(before.links, after.links),
      rules: minus(before.rules, after.rules),
      routes: minus(before.routes, after.routes),
    },
  };
}

/**
 * Splits what was added into per-ENI infrastructure and everything else (a leftover). Allowed: an `eth<N>` link
 * whose MAC is an ENI the cloud shows attached to this node (the pool grew), and a secondary ENI's policy table:
 * its `<gw>/32` and default route, on an `eth<N>` ENI link or in a table >= 1000, naming no pod IP. No rule: the
 * from-rules are the pods'. The ENI link carries no address (its primary IP is a pod's), so a rule or a local
 * route for that address is a leftover.
 */
export function classifyAdded(
  diff: SnapshotDiff,
  podIps: readonly string[],
  hostVeths: readonly string[],
  nodeEniMacs: readonly string[] = [],
): { eniInfra: string[]; leftovers: string[] } {
  const eniInfra: string[] = [];
  const leftovers: string[] = diff.removed.links.map((l) => `link removed ${l}`);
  const macs = new Set(nodeEniMacs.map((m) => m.toLowerCase()));
  for (const l of diff.added.links) {
    const [name, mac] = l.split(' ');
    if (/^eth\d+$/.test(name ?? '') && macs.has((mac ?? '').toLowerCase())) eniInfra.push(`link ${l}`);
    else leftovers.push(`link ${l}`);
  }
  const mentionsPod = (s: string): boolean => podIps.some((ip) => s.includes(`"${ip}"`)) || hostVeths.some((v) => s.includes(`"${v}"`));
  for (const kind of ['rules', 'routes'] as const) {
    for (const s of diff.added[kind]) {
      const o = JSON.parse(s) as Record<string, unknown>;
      const onEni = typeof o['dev'] === 'string' && /^eth\d+$/.test(o['dev'] as string);
      const table = Number(o['table']);
      const eniTable = Number.isInteger(table) && table >= 1000;
      // No rule is per-ENI infrastructure: the from-rules into an ENI table are each pod's.
      const local = o['table'] === 'local' || o['type'] === 'local'; // an address on the host: none of ours is on an ENI
      if (kind === 'routes' && !local && !mentionsPod(s) && (onEni || eniTable)) eniInfra.push(`${kind} ${s}`);
      else leftovers.push(`${kind} ${s}`);
    }
    // Something the pods' life removed from the node (e.g. a route of the node's own) is a defect too.
    for (const s of diff.removed[kind]) leftovers.push(`${kind} removed ${s}`);
  }
  return { eniInfra, leftovers };
}
