// Human-readable tables for the introspection documents (kubectl-style columns).
import { compareIpv4 } from '../lib/ipv4.js';
import type { MappingReport, PodView, PoolView } from '../daemon/introspect.js';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "3m12s" style age of an ISO timestamp. */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function formatPods(doc: { pods: PodView[] }, now = Date.now()): string {
  if (doc.pods.length === 0) return 'No pod allocations.\n';
  return table(
    ['NAMESPACE', 'NAME', 'CONTAINER', 'IFNAME', 'IP', 'ENI', 'MAC', 'AGE'],
    doc.pods.map((p) => [p.namespace, p.name, p.containerId.slice(0, 12), p.ifName, p.ip, p.eniId, p.eniMac, age(p.allocatedAt, now)]),
  );
}

export function formatPool(doc: PoolView): string {
  const s = doc.stats;
  const backoff =
    s.backoffUntil !== undefined && s.backoffUntil > Date.now()
      ? `   backoff: ${s.backoffReason ?? 'yes'} until ${new Date(s.backoffUntil).toISOString()}`
      : '';
  let out =
    `Mode ${doc.mode}   instance ${doc.instanceId}   records from: ${doc.source}\n` +
    `ENIs ${s.enis}   IPs total ${s.total}: free ${s.free}, assigned ${s.assigned}, cooling ${s.cooling}, reserved ${s.reserved}, releasing ${s.releasing}` +
    `   pending ${s.pendingRequests}   pool size min ${s.minPoolSize} / max ${s.maxPoolSize}${backoff}\n\n`;
  if (doc.enis.length === 0) return out + 'No ENI records.\n';
  out += table(
    ['ENI', 'MAC', 'PRIMARY', 'STATE', 'VSWITCH', 'FREE', 'ASSIGNED', 'COOLING', 'RESERVED', 'RELEASING'],
    doc.enis.map((e) => [
      e.eniId,
      e.mac,
      e.primary ? 'yes' : 'no',
      e.state,
      e.vSwitchId,
      ...(['free', 'assigned', 'cooling', 'reserved', 'releasing'] as const).map((k) => String(e.ips[k].length)),
    ]),
  );
  const ipRows: string[][] = [];
  for (const e of doc.enis) {
    const rows: string[][] = [];
    for (const [state, ips] of Object.entries(e.ips)) {
      for (const ip of ips)
        rows.push([ip, e.eniId, state, e.assignedTo[ip] ?? (e.reservedFor[ip] ? `reserved for ${e.reservedFor[ip]}` : '')]);
    }
    // ENI order as above, IPs in numeric order within each ENI.
    ipRows.push(...rows.sort((a, b) => compareIpv4(a[0]!, b[0]!)));
  }
  if (ipRows.length > 0) out += '\n' + table(['IP', 'ENI', 'STATE', 'HOLDER'], ipRows);
  return out;
}

export function formatMapping(doc: MappingReport): string {
  let out = `Mode ${doc.mode}   instance ${doc.instanceId}   cloud checked: ${doc.cloudChecked ? 'yes' : 'no'}   pods ${doc.counts.pods} (DB ${doc.counts.dbPods})   pool IPs ${doc.counts.poolIps}   cloud IPs ${doc.counts.cloudIps}\n\n`;
  out +=
    doc.rows.length === 0
      ? 'No pod allocations.\n'
      : table(
          ['POD', 'IP', 'ENI', 'DB', 'POOL', 'CLOUD', 'STATUS'],
          doc.rows.map((r) => [r.pod, r.ip, r.eniId, r.db ? 'yes' : 'no', r.pool, r.cloud, r.ok ? 'ok' : 'MISMATCH']),
        );
  const section = (title: string, header: string[], rows: string[][]): void => {
    if (rows.length > 0) out += `\n${title}:\n` + table(header, rows);
  };
  section(
    'IPs the cloud has that the pool lacks',
    ['IP', 'ENI'],
    doc.cloudOnly.map((c) => [c.ip, c.eniId]),
  );
  section(
    'IPs the pool has that the cloud lacks',
    ['IP', 'ENI', 'STATE', 'POD KEY'],
    doc.poolOnly.map((p) => [p.ip, p.eniId, p.state, p.podKey ?? '']),
  );
  section(
    'IPs held by more than one pod',
    ['IP', 'POD KEYS'],
    doc.duplicates.map((d) => [d.ip, d.podKeys.join(', ')]),
  );
  section(
    'Pool IPs assigned to no pod',
    ['IP', 'ENI', 'POD KEY'],
    doc.assignedWithoutPod.map((a) => [a.ip, a.eniId, a.podKey ?? '']),
  );
  section(
    'In the pod DB, not in the daemon',
    ['POD KEY', 'IP'],
    doc.dbOnly.map((d) => [d.podKey, d.ip]),
  );
  section(
    'In the daemon, not in the pod DB',
    ['POD KEY', 'IP'],
    doc.memoryOnly.map((d) => [d.podKey, d.ip]),
  );
  section(
    'ENIs in use by the pool, not attached in the cloud',
    ['ENI'],
    doc.enisMissingInCloud.map((e) => [e]),
  );
  section(
    'ENIs attached here the pool does not manage (informational)',
    ['ENI', 'TYPE', 'TAGGED OURS'],
    doc.unmanagedEnis.map((e) => [e.eniId, e.type, e.ours ? 'yes' : 'no']),
  );
  out += `\n${doc.ok ? 'OK: pod DB, pool and cloud agree.' : 'MISMATCH: see above.'}\n`;
  return out;
}
