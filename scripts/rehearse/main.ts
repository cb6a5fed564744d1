// `npm run rehearse`: the Helm install, rehearsed on this machine (root, podman). The chart is rendered with a
// real helm; what its DaemonSet describes runs with podman on two nodes of the simulated VPC (sim/vpcsim) against
// the mock cloud: the init container installs the one-file plugin and the conflist into each node's host paths,
// the daemon container (the chart's securityContext: capabilities, read-only root) runs in the node's netns.
// Then pods are podman containers on the installed conflist (CNI backend): VPC addresses, pings across nodes;
// then an upgrade (a new image version replaces the daemon while pods run: they keep their addresses, the new
// daemon adopts them); then the pods are removed and nothing may be left behind.
//
//   npm run rehearse [-- --caps NET_ADMIN,SYS_ADMIN] [--pods-per-node N]
// Last stdout line: {"image_mib","pods","cross_node_pings_ok","cross_node_pings","leftovers","upgrade_pods_kept"}
//   npm run rehearse -- --keep    stops after the install: prints the podman commands to run pods on the nodes by
//                                 hand, and tears everything down on Ctrl-C
// --caps replaces the chart's capability list (how the list was found: drop one and the pods fail).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockCloud, type MockCloudHandle } from '../../sim/mockcloud/index.js';
import { attachKernel, bridgeLoopback, cleanupStale, ipJson, probeKernelSupport, uniquePrefix } from '../../sim/vpcsim/index.js';
import { buildImage, IMAGE_REPO, packageVersion } from '../image.js';
import { PODMAN_RUN_FLAGS } from '../podman.js';
import { findDoc, findHelm, helmTemplate, podmanArgs, type NodeHost, type Obj } from './k8s.js';
import { ensurePodImage, exec, NodeRuntime, POD_IMAGE, podman } from './runtime.js';

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const SECRET = 'eni-ipam-ak';
const NAMESPACE = 'kube-system';
const NODE_IDS = ['i-mock-node-1', 'i-mock-node-2'];
const CNI_RESULTS = '/var/lib/cni/results';

interface RehearsalNode extends NodeHost {
  instanceId: string;
  /** The daemon container's name. */
  daemon: string;
  /** podman with the CNI backend on this node; its network config dir is filled once the init container ran. */
  runtime: NodeRuntime;
  confDir: string;
  /** Links of the node netns before any pod (to find leftovers). */
  linksBefore: string[];
}

export interface RehearsalOptions {
  /** Replaces the chart's capability list. */
  caps?: string[];
  podsPerNode?: number;
  /** Stop after the install, print how to run pods by hand, wait for SIGINT/SIGTERM, then tear down. */
  keep?: boolean;
}

export interface RehearsalResult {
  image_mib: number;
  pods: number;
  cross_node_pings_ok: number;
  cross_node_pings: number;
  leftovers: number;
  upgrade_pods_kept: boolean;
}

/** What is missing on this machine for the rehearsal (empty: it can run). */
export async function rehearsalMissing(): Promise<string[]> {
  const missing = [...(await probeKernelSupport()).missing];
  for (const [bin, pkg] of [
    ['podman', 'podman'],
    ['nsenter', 'util-linux'],
    ['/bin/busybox', 'busybox-static'],
    ['/usr/lib/cni/loopback', 'containernetworking-plugins'],
  ] as const) {
    const found = bin.startsWith('/') ? existsSync(bin) : (await exec('sh', ['-c', `command -v ${bin}`])).code === 0;
    if (!found) missing.push(`${bin} (Debian package ${pkg})`);
  }
  return missing;
}

function chartValues(mc: MockCloudHandle, instanceId: string, tag: string, caps: string[] | undefined): Obj {
  return {
    image: { repository: `localhost/${IMAGE_REPO}`, tag, pullPolicy: 'Never' },
    credentials: { existingSecret: SECRET },
    ...(caps ? { capabilities: caps } : {}),
    eniConf: {
      region_id: mc.regionId,
      // The node's metadata service and the cloud API are the mock's (through each node's loopback relay).
      cloud_endpoint: mc.url,
      vpc_endpoint: mc.url,
      metadata_endpoint: mc.metadataUrl(instanceId),
      min_pool_size: 2,
      max_pool_size: 6,
      ip_cooldown: '0s',
    },
  };
}

/** Runs the chart's pod on `node` from image `tag`: the init container to completion, then the daemon. */
async function installOnNode(
  n: RehearsalNode,
  mc: MockCloudHandle,
  helm: string,
  tag: string,
  caps: string[] | undefined,
  runDir: string,
): Promise<void> {
  const docs = helmTemplate(helm, chartValues(mc, n.instanceId, tag, caps), 'eni-ipam', NAMESPACE);
  const ds = findDoc(docs, 'DaemonSet');
  const spec = ((ds.spec as Obj).template as Obj).spec as Obj;
  const configMaps = new Map(
    docs.filter((d) => d.kind === 'ConfigMap').map((d) => [String((d.metadata as Obj).name), d.data as Record<string, string>]),
  );
  const secrets = new Map([[SECRET, { access_key: mc.accessKeyId, access_secret: mc.accessKeySecret }]]);
  const podName = `eni-ipam-${n.name}-${tag.replace(/\W/g, '')}`;
  const podDir = join(runDir, 'pods', podName);
  rmSync(podDir, { recursive: true, force: true });
  const ctx = { node: n, podName, namespace: NAMESPACE, configMaps, secrets, podDir };
  const image = `localhost/${IMAGE_REPO}:${tag}`;
  for (const c of spec.initContainers as Obj[]) {
    await podman([
      'run',
      '--rm',
      '--name',
      `${n.daemon}-${String(c.name)}`,
      ...PODMAN_RUN_FLAGS,
      ...podmanArgs(spec, c, ctx),
      image,
      ...(c.command as string[]),
    ]);
  }
  const d = (spec.containers as Obj[]).find((c) => c.name === 'daemon')!;
  await podman(['run', '-d', '--name', n.daemon, ...PODMAN_RUN_FLAGS, ...podmanArgs(spec, d, ctx), image, ...(d.command as string[])]);
  // The startup probe, as the kubelet runs it.
  const probe = ((d.startupProbe as Obj).exec as Obj).command as string[];
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await exec('podman', ['exec', n.daemon, ...probe]);
    if (r.code === 0) break;
    const state = (await exec('podman', ['inspect', '--format', '{{.State.Status}}', n.daemon])).stdout.trim();
    if (state !== 'running' || Date.now() > deadline) {
      const logs = await exec('podman', ['logs', '--tail', '30', n.daemon]);
      throw new Error(`[${n.name}] daemon not ready (${state}): ${r.stdout.trim()}\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/**
 * The runtime's view of the node's /etc/cni/net.d: the installed conflist, with the daemon socket's and the
 * pending-DEL records' host paths mapped into the simulated node's root (the one place where a node being a
 * folder shows: both nodes share this machine's /var/run and /var/lib).
 */
function writeRuntimeConflist(n: RehearsalNode): void {
  mkdirSync(n.confDir, { recursive: true });
  const installed = JSON.parse(readFileSync(join(n.root, 'etc/cni/net.d/10-terway.conflist'), 'utf8')) as Obj;
  const inRoot = (p: Obj, key: string): Obj => (typeof p[key] === 'string' ? { [key]: join(n.root, String(p[key])) } : {});
  const plugins = (installed.plugins as Obj[]).map((p) =>
    p.type === 'terway' ? { ...p, ...inRoot(p, 'socket'), ...inRoot(p, 'pending_del_dir') } : p,
  );
  writeFileSync(join(n.confDir, '10-terway.conflist'), JSON.stringify({ ...installed, plugins }, null, 2));
}

/** --keep: what to type to run pods on the nodes, then wait for Ctrl-C. */
async function holdForHands(nodes: RehearsalNode[]): Promise<void> {
  say('\nThe two nodes are up. Run pods on them with podman (CNI backend, the installed conflist), e.g.:');
  for (const n of nodes) {
    const pm = n.runtime.commandLine();
    say(`\n  # ${n.name}`);
    say(`  ${pm} run -d --name ${n.name}-web --network terway --cap-add NET_RAW ${PODMAN_RUN_FLAGS.join(' ')} ${POD_IMAGE} sleep 3600`);
    say(`  ${pm} inspect --format '{{(index .NetworkSettings.Networks "terway").IPAddress}}' ${n.name}-web`);
  }
  say(`\n  podman exec ${nodes[0]!.name}-web ping -c1 <IP of ${nodes[1]!.name}-web>`);
  say(`  podman exec ${nodes[0]!.daemon} node /opt/eni-ipam/dist/cli/main.js --config /etc/eni/eni_conf pods`);
  say(`  ${nodes[0]!.runtime.commandLine()} rm -f -t 1 ${nodes[0]!.name}-web     # CNI DEL: the IP goes back to the pool`);
  say('\nCtrl-C tears everything down (remove your pods first, with the same command line).');
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
}

async function daemonPods(n: RehearsalNode): Promise<{ ip: string; containerId: string }[]> {
  const out = await podman(['exec', n.daemon, 'node', '/opt/eni-ipam/dist/cli/main.js', '--config', '/etc/eni/eni_conf', 'pods', '--json']);
  return (JSON.parse(out) as { pods: { ip: string; containerId: string }[] }).pods;
}

async function nodeLinks(n: NodeHost): Promise<string[]> {
  return (await ipJson<{ ifname: string }[]>(n.netns, ['link', 'show'])).map((l) => l.ifname).sort();
}

export async function rehearse(o: RehearsalOptions = {}): Promise<RehearsalResult | undefined> {
  const { caps } = o;
  const podsPerNode = o.podsPerNode ?? 2;
  const prefix = uniquePrefix('rh');
  const runDir = join(tmpdir(), `eni-ipam-rehearse-${prefix}`);
  mkdirSync(runDir, { recursive: true });
  const undo: (() => Promise<unknown>)[] = [];
  const version = packageVersion();
  const upgradeTag = `${version}-rehearse-upgrade`;
  try {
    say('1. images: eni-ipam (podman build from scratch) and a busybox pod image');
    const img = await buildImage({ log: (s) => say(`   ${s}`) });
    await ensurePodImage(runDir);
    const helm = findHelm();

    say('2. simulated VPC: mock cloud, a router and two node netns, the cloud reachable from each node');
    const mc = await startMockCloud({ port: 0, attachDelayMs: 50 });
    undo.push(() => mc.close());
    const nodeNs = Object.fromEntries(NODE_IDS.map((id, i) => [id, { netns: `${prefix}-n${i + 1}` }]));
    const kernel = await attachKernel(mc, { prefix, nodes: nodeNs });
    undo.push(() => kernel.destroy());
    const bridge = await bridgeLoopback(
      Number(new URL(mc.url).port),
      Object.values(nodeNs).map((x) => x.netns),
    );
    undo.push(() => bridge.close());
    const nodes: RehearsalNode[] = [];
    for (const [i, id] of NODE_IDS.entries()) {
      const name = `node${i + 1}`;
      const host: NodeHost = { name, netns: nodeNs[id]!.netns, root: join(runDir, 'hosts', name) };
      mkdirSync(host.root, { recursive: true });
      const confDir = join(runDir, 'net.d', name);
      const n: RehearsalNode = {
        ...host,
        instanceId: id,
        daemon: `${prefix}-${name}-daemon`,
        runtime: new NodeRuntime(host, confDir, runDir),
        confDir,
        linksBefore: [],
      };
      undo.push(() => exec('podman', ['rm', '-f', '-t', '5', n.daemon]));
      nodes.push(n);
    }

    say(`3. helm template + the DaemonSet's containers with podman on each node (${img.tag})`);
    for (const n of nodes) {
      await installOnNode(n, mc, helm, version, caps, runDir);
      const plugin = join(n.root, 'opt/cni/bin/terway');
      const elf = readFileSync(plugin).subarray(0, 4).toString('latin1') === '\x7fELF';
      say(
        `   ${n.name}: init installed ${readdirSync(join(n.root, 'opt/cni/bin')).join(', ')} (${elf ? 'one ELF file' : 'NOT an ELF'}) and 10-terway.conflist; daemon ready`,
      );
      if (!elf) throw new Error(`${plugin} is not a self-contained executable`);
      writeRuntimeConflist(n);
      n.linksBefore = await nodeLinks(n);
    }
    if (o.keep) {
      await holdForHands(nodes);
      return undefined;
    }

    say(`4. ${podsPerNode} pods per node with podman on the installed conflist`);
    const pods: { node: RehearsalNode; name: string; ip: string; netns: string; id: string }[] = [];
    for (const n of nodes) {
      for (let i = 0; i < podsPerNode; i++) {
        const name = `${prefix}-${n.name}-pod${i}`;
        undo.push(() => n.runtime.run(['rm', '-f', '-t', '1', name]));
        const ip = await n.runtime.startPod(name, 'terway');
        const [netns = '', id = ''] = (await n.runtime.must(['inspect', '--format', '{{.NetworkSettings.SandboxKey}} {{.Id}}', name]))
          .trim()
          .split(' ');
        pods.push({ node: n, name, ip, netns, id });
      }
    }
    await kernel.settled();
    const dump = mc.dump();
    // Pods get addresses of the node's secondary ENIs (each one's own primary included), never eth0's.
    const podAddresses = (e: (typeof dump.enis)[number]) => (e.type === 'Secondary' ? [e.primaryIp, ...e.secondaryIps] : []);
    for (const p of pods) {
      const eni = dump.enis.find((e) => e.instanceId === p.node.instanceId && podAddresses(e).includes(p.ip));
      if (!eni) throw new Error(`${p.name}: ${p.ip} is not an address of ${p.node.instanceId}'s secondary ENIs`);
      say(`   ${p.name}: ${p.ip} (ENI ${eni.eniId})`);
    }

    const pingAcross = async (): Promise<[number, number]> => {
      let ok = 0;
      let total = 0;
      for (const a of pods)
        for (const b of pods)
          if (a.node !== b.node) {
            total++;
            if (await a.node.runtime.ping(a.name, b.ip)) ok++;
            else say(`   ping ${a.name} -> ${b.name} (${b.ip}) FAILED`);
          }
      return [ok, total];
    };
    const [pingsOk, pings] = await pingAcross();
    say(`5. cross-node pings: ${pingsOk}/${pings}`);

    say(`6. upgrade: image ${IMAGE_REPO}:${upgradeTag} replaces each daemon while the pods run`);
    await buildImage({ tag: upgradeTag, version: upgradeTag, log: (s) => say(`   ${s}`) });
    undo.push(() => exec('podman', ['rmi', '-f', `localhost/${IMAGE_REPO}:${upgradeTag}`]));
    for (const n of nodes) {
      await podman(['stop', '-t', '30', n.daemon]);
      await podman(['rm', n.daemon]);
      await installOnNode(n, mc, helm, upgradeTag, caps, runDir);
    }
    let kept = true;
    for (const p of pods) {
      const seen = await p.node.runtime.podSeenIp(p.name);
      const adopted = (await daemonPods(p.node)).some((a) => a.ip === p.ip);
      if (seen !== p.ip || !adopted) kept = false;
      say(`   ${p.name}: eth0 ${seen ?? 'none'} (was ${p.ip}); new daemon ${adopted ? 'holds it' : 'does NOT hold it'}`);
    }
    const [pingsOk2, pings2] = await pingAcross();
    say(`   cross-node pings after the upgrade: ${pingsOk2}/${pings2}`);
    kept &&= pingsOk2 === pings2;

    say('7. pods removed (podman rm: the runtime DEL through the plugin)');
    for (const p of pods) await p.node.runtime.removePod(p.name);
    const leftovers: string[] = [];
    for (const n of nodes) {
      const links = await nodeLinks(n);
      for (const l of links) if (!n.linksBefore.includes(l)) leftovers.push(`${n.name}: link ${l}`);
      const held = await daemonPods(n);
      for (const a of held) leftovers.push(`${n.name}: daemon still holds ${a.ip} for ${a.containerId}`);
    }
    // libcni's result cache (what the runtime would hand DEL again) must be gone too.
    const cached = existsSync(CNI_RESULTS) ? readdirSync(CNI_RESULTS) : [];
    for (const p of pods) {
      if (existsSync(p.netns)) leftovers.push(`${p.name}: netns ${p.netns}`);
      for (const f of cached.filter((x) => x.includes(p.id))) leftovers.push(`${p.name}: CNI cache ${CNI_RESULTS}/${f}`);
    }
    for (const l of leftovers) say(`   LEFTOVER ${l}`);
    if (leftovers.length === 0)
      say('   nothing left: no pod veth on the nodes, no allocation in the daemons, no pod netns, no CNI cache entry');
    return {
      image_mib: img.mib,
      pods: pods.length,
      cross_node_pings_ok: pingsOk,
      cross_node_pings: pings,
      leftovers: leftovers.length,
      upgrade_pods_kept: kept,
    };
  } finally {
    for (const u of undo.reverse()) await u().catch((e: Error) => say(`   teardown: ${e.message}`));
    await cleanupStale(prefix);
    rmSync(runDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('rehearse/main.ts')) {
  (async () => {
    if (process.getuid?.() !== 0) throw new Error('the rehearsal needs root (network namespaces, podman as root)');
    const missing = await rehearsalMissing();
    if (missing.length > 0) throw new Error(`the rehearsal needs: ${missing.join(', ')}`);
    const args = process.argv.slice(2);
    const opt = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
    const r = await rehearse({
      caps: opt('--caps')?.split(',').filter(Boolean),
      podsPerNode: opt('--pods-per-node') ? Number(opt('--pods-per-node')) : undefined,
      keep: args.includes('--keep'),
    });
    if (!r) return say('torn down');
    say(JSON.stringify(r));
    const ok = r.cross_node_pings > 0 && r.cross_node_pings_ok === r.cross_node_pings && r.leftovers === 0 && r.upgrade_pods_kept;
    process.exit(ok ? 0 : 1);
  })().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
