// The shipped conflists (cni/10-terway.conflist and the chart's rendered one) under libcni's rules, with
// Debian's own containernetworking-plugins (portmap, bandwidth) chained after the one-file plugin nodes get,
// at every CNI version the conflists claim: ADD, CHECK and DEL (reverse order, prevResult threaded as libcni
// does) against the real daemon (veth driver, node netns) and the mock cloud. Afterwards the node is as it
// was: no veth, no ifb, no per-container iptables chain, no allocation.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBunPlugin } from '../../scripts/pluginExe.js';
import { cleanupProblems, e2eSupport } from '../../sim/cluster/checks.js';
import type { Cluster } from '../../sim/cluster/cluster.js';
import { uniquePrefix } from '../../sim/vpcsim/index.js';
import { ROOT } from '../../sim/cluster/daemonProc.js';
import { ChainError, Libcni, pluginVersions, type Attachment, type Conflist, type JsonObject } from '../../sim/cluster/libcni.js';
import { createPod, type Pod } from '../../sim/cluster/pods.js';
import type { NetnsSnapshot } from '../../sim/cluster/snapshot.js';
import { execIn, run } from '../../sim/vpcsim/ip.js';
import { chartPaths, emulateConflist, loadYamlObject, mergeValues, type JsonObject as ChartJson } from '../charts/chartSource.js';
import { findDoc, findHelm, helmTemplate } from '../charts/helm.js';
import { useE2eCluster } from './lib/suite.js';
import { tempDir } from '../support/tmp.js';

const TAG = 'e2ch';
const PREFIX = uniquePrefix(TAG); // unique per run: suites of other checkouts may run at the same time
const DEBIAN_CNI = '/usr/lib/cni';
const support = await e2eSupport();
for (const type of ['portmap', 'bandwidth']) {
  if (!existsSync(join(DEBIAN_CNI, type))) support.missing.push(`${DEBIAN_CNI}/${type} (Debian package containernetworking-plugins)`);
}
if ((await run('iptables', ['--version']).catch(() => ({ code: 1 }))).code !== 0) support.missing.push('iptables');
const ok = support.missing.length === 0;
if (!ok) console.warn(`[e2e chainedPlugins] SKIPPED: missing ${support.missing.join(', ')}`);

const CHAIN: JsonObject[] = [
  { type: 'portmap', capabilities: { portMappings: true }, externalSetMarkChain: 'KUBE-MARK-MASQ' },
  { type: 'bandwidth', capabilities: { bandwidth: true } },
];

function sampleConflist(): Conflist {
  return JSON.parse(readFileSync(join(ROOT, 'cni', '10-terway.conflist'), 'utf8')) as Conflist;
}

/** The chart's conflist with portmap + bandwidth chained: helm's rendering when there is a helm, else the restatement. */
function chartConflist(): Conflist {
  const over = { cni: { chainedPlugins: CHAIN } } as unknown as ChartJson;
  const helm = findHelm();
  if (!helm) return emulateConflist(mergeValues(loadYamlObject('values.yaml'), over), chartPaths()) as unknown as Conflist;
  const cm = findDoc(helmTemplate(helm, over), 'ConfigMap', 'eni-config');
  return JSON.parse((cm.data as Record<string, string>)['10-terway.conflist']!) as Conflist;
}

/** Points the terway entry at this node's daemon and a temp log; everything else as shipped. */
function forNode(list: Conflist, socket: string): Conflist {
  const plugins = list.plugins.map((p) => (p.type === 'terway' ? { ...p, socket, log_file: undefined } : p));
  return { ...list, plugins: plugins.map((p) => JSON.parse(JSON.stringify(p)) as JsonObject) };
}

/** Every version a conflist claims: the top-level one (libcni < 1.2) and cniVersions (libcni >= 1.2 picks among them). */
function claimed(list: Conflist): string[] {
  return [...new Set([list.cniVersion, ...(list.cniVersions ?? [])])];
}

async function natChains(netns: string): Promise<string[]> {
  const r = await execIn(netns, ['iptables-save', '-t', 'nat']);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]!);
}

describe.skipIf(!ok)('shipped conflists with Debian portmap + bandwidth chained, through libcni-like execution', () => {
  let c: Cluster;
  let before: Map<string, NetnsSnapshot>;
  const pods: Pod[] = [];
  let debianVersions: string[] = [];
  // The plugin as nodes get it: the one-file build (scripts/pluginExe.ts), in a dir of its own.
  const binDir = tempDir('e2ch-bin-');
  beforeAll(() => buildBunPlugin(join(binDir, 'terway')), 120_000);

  useE2eCluster(
    { prefix: PREFIX, reapTag: TAG, nodes: 1, minPoolSize: 2, maxPoolSize: 10 },
    () => pods,
    (r) => ({ c, before } = r),
  );

  const node = () => c.nodes[0]!;
  const libcni = (list: Conflist, version: string) =>
    // Ours first, then Debian's for the chained types.
    new Libcni(forNode(list, node().daemon.socketPath), {
      pluginDirs: [binDir, DEBIAN_CNI],
      netns: node().netns,
      version,
    });

  it('the conflists say 1.0.0 at the top (what libcni < 1.2 reads) and list newer versions in cniVersions', async () => {
    for (const list of [sampleConflist(), chartConflist()]) {
      expect(list.cniVersion).toBe('1.0.0');
      expect(list.cniVersions).toEqual(['0.4.0', '1.0.0', '1.1.0']);
      expect(list.plugins.map((p) => p.type)).toEqual(['terway', 'portmap', 'bandwidth']);
    }
    debianVersions = await pluginVersions(join(DEBIAN_CNI, 'portmap'));
    const bw = await pluginVersions(join(DEBIAN_CNI, 'bandwidth'));
    debianVersions = debianVersions.filter((v) => bw.includes(v));
    // kube-proxy's chain, which portmap's externalSetMarkChain jumps to.
    const r = await execIn(node().netns, ['iptables', '-t', 'nat', '-N', 'KUBE-MARK-MASQ']);
    expect(r.code).toBe(0);
  });

  // The chart's list is checked equal to the sample's in the first test.
  const cases = (['sample', 'chart'] as const).flatMap((which) => claimed(sampleConflist()).map((v) => [which, v] as const));

  it.each(cases)('%s conflist at %s: ADD, CHECK, DEL through the whole chain leave nothing behind', async (which, v) => {
    const list = which === 'sample' ? sampleConflist() : chartConflist();
    const pod = await createPod(PREFIX, `${which}-${v.replace(/\./g, '')}`, node().daemon);
    pods.push(pod);
    const a: Attachment = {
      containerId: pod.containerId,
      netnsPath: pod.netnsPath,
      ifName: pod.ifName,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
      capabilityArgs: {
        portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 10_000_000, ingressBurst: 100_000, egressRate: 10_000_000, egressBurst: 100_000 },
      },
    };
    const chainedOk = debianVersions.includes(v);
    if (!chainedOk) {
      // Debian 12's plugins (1.1.1) stop at 1.0.0: a libcni >= 1.2 runtime that picks this version needs newer
      // chained plugins. portmap refuses it before touching anything; our plugin's own ADD had already run, and
      // the runtime's cleanup DEL (reverse order) stops at bandwidth, so the allocation stays: that is why the
      // top-level version is 1.0.0. Shown here, then our part checked alone at this version.
      const chain = libcni(list, v);
      const err = await chain.add(a).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ChainError);
      expect((err as ChainError).call.type).toBe('portmap');
      expect((err as ChainError).call.stdout).toContain(v);
      const alone = libcni({ ...list, plugins: list.plugins.filter((p) => p.type === 'terway') }, v);
      await alone.del(a); // what a runtime with newer chained plugins would reach
    }
    const run = chainedOk ? libcni(list, v) : libcni({ ...list, plugins: list.plugins.filter((p) => p.type === 'terway') }, v);
    const result = await run.add(a);
    const ips = result.ips as { address: string }[];
    expect(ips).toHaveLength(1);
    pod.ip = ips[0]!.address.split('/')[0];
    const ifaces = result.interfaces as { name: string; sandbox?: string }[];
    pod.hostVeth = ifaces.find((i) => !i.sandbox)?.name;
    expect(pod.hostVeth).toBeDefined();
    expect(result.cniVersion).toBe(v);
    if (chainedOk) {
      // portmap's DNAT chain for this container and bandwidth's ifb device exist.
      expect((await natChains(node().netns)).some((ch) => ch.startsWith('CNI-DN-'))).toBe(true);
      const links = (await execIn(node().netns, ['ip', '-o', 'link', 'show', 'type', 'ifb'])).stdout;
      expect(links).toMatch(/bwp/);
    }
    if (chainedOk) {
      // Debian 12's portmap (1.1.1) fails CHECK for every IPv4-only attachment: it looks for an ip6tables chain it
      // never made (containernetworking/plugins#819, fixed upstream later). The chain stops there, as libcni's
      // would; bandwidth is then checked on the same cached result.
      const err = await run.check(a).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ChainError);
      expect((err as ChainError).call.type).toBe('portmap');
      expect((err as ChainError).call.stdout).toContain('could not check ipv6 dnat');
      await run.check(a, ['bandwidth']);
    } else {
      await run.check(a);
    }
    await run.del(a);
    expect(run.calls.map((x) => `${x.verb} ${x.type}`)).toEqual(
      chainedOk
        ? [
            'ADD terway',
            'ADD portmap',
            'ADD bandwidth',
            'CHECK terway',
            'CHECK portmap',
            'CHECK bandwidth',
            'DEL bandwidth',
            'DEL portmap',
            'DEL terway',
          ]
        : ['ADD terway', 'CHECK terway', 'DEL terway'],
    );
    expect((await natChains(node().netns)).filter((ch) => ch.startsWith('CNI-DN-'))).toEqual([]);
    expect((await execIn(node().netns, ['ip', '-o', 'link', 'show', 'type', 'ifb'])).stdout.trim()).toBe('');
    expect((await cleanupProblems(c, before, [pod])).problems).toEqual([]);
  });
});
