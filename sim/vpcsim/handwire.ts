// Wires a pod netns to its node by hand (test-only, iproute2), the way the veth + policy-routing driver would,
// so the data plane can be tested without the product driver:
//   pod netns:  eth0 = <ip>/32, 169.254.1.1 on-link, default via 169.254.1.1
//   node netns: host veth with proxy_arp (answers for 169.254.1.1), `<ip>/32 dev <hostVeth>`,
//               rule `to <ip> lookup main` (ingress and pod-to-pod on the node),
//               for a secondary ENI: rule `from <ip> lookup <table>`, table = default via gateway dev eth<N> onlink.
import { ipBatch, setSysctls } from './ip.js';
import type { EniLink } from './kernel.js';

export interface HandWiredPod {
  nodeNetns: string;
  podNetns: string;
  ip: string;
  hostIfName: string;
  /** Per-ENI route table used for egress (undefined for the primary ENI: main table). */
  table?: number;
}

const POD_GATEWAY = '169.254.1.1';

/** The per-ENI table id used by the hand wiring: 1000 + device index. */
export function handTableFor(link: EniLink): number {
  return 1000 + link.deviceIndex;
}

export async function wirePodByHand(opts: { link: EniLink; podNetns: string; ip: string; hostIfName: string }): Promise<HandWiredPod> {
  const { link, podNetns, ip, hostIfName } = opts;
  const node = link.nodeNetns;
  const primary = link.deviceIndex === 0;
  const table = primary ? undefined : handTableFor(link);
  // Rules of an earlier wiring of the same IP (a test that reuses an address) would make `rule add` fail.
  for (const line of [`rule del to ${ip} lookup main pref 512`, `rule del from ${ip} pref 2048`])
    await ipBatch(node, [line]).catch(() => undefined);
  await ipBatch(node, [
    `link add ${hostIfName} type veth peer name eth0 netns ${podNetns}`,
    // A broadcast ARP answered by proxy would wait up to proxy_delay (0.8 s) otherwise.
    `ntable change name arp_cache dev ${hostIfName} proxy_delay 0`,
    `link set ${hostIfName} up`,
    `route replace ${ip}/32 dev ${hostIfName} scope link`,
    `rule add to ${ip} lookup main pref 512`,
    ...(table === undefined
      ? []
      : [
          // A hot-plugged ENI is down and unaddressed until someone brings it up: do that much here.
          `link set ${link.nodeIfName} up`,
          `route replace ${link.gateway} dev ${link.nodeIfName} scope link table ${table}`,
          `route replace default via ${link.gateway} dev ${link.nodeIfName} onlink table ${table}`,
          `rule add from ${ip} lookup ${table} pref 2048`,
        ]),
  ]);
  await setSysctls(node, { [`net.ipv4.conf.${hostIfName}.proxy_arp`]: 1 });
  await ipBatch(podNetns, [
    'link set eth0 up',
    `addr add ${ip}/32 dev eth0`,
    `route add ${POD_GATEWAY} dev eth0 scope link`,
    `route add default via ${POD_GATEWAY} dev eth0 onlink`,
  ]);
  return { nodeNetns: node, podNetns, ip, hostIfName, table };
}

/** Removes the node-side pieces (the pod side goes with its netns). Missing pieces are fine. */
export async function unwirePodByHand(p: HandWiredPod): Promise<void> {
  const lines = [`link del ${p.hostIfName}`, `rule del to ${p.ip} lookup main pref 512`];
  if (p.table !== undefined) lines.push(`rule del from ${p.ip} lookup ${p.table} pref 2048`);
  for (const line of lines) await ipBatch(p.nodeNetns, [line]).catch(() => undefined);
}
