// Stage 2 of the demo: two nodes, each with its own daemon, pods added through the real plugin binary.
// With root: nodes are network namespaces behind a simulated VPC router (sim/vpcsim), the daemons run inside
// them with the veth driver, and pods on different nodes reach each other over VPC routes (no overlay, no NAT),
// checked with the demo's own UDP echo from inside the pods' netns (sim/vpcsim/udpEcho.ts), so no ping is needed.
// Without root: the same daemons and plugin with driver `none` (allocation only).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MockCloudHandle } from '../sim/mockcloud/index.js';
import { attachKernel, type VpcKernel } from '../sim/vpcsim/kernel.js';
import { bridgeLoopback } from '../sim/vpcsim/loopback.js';
import { cleanupStale, createNetns, deleteNetns, listNetns, netnsPath, podNetnsName } from '../sim/vpcsim/netns.js';
import { ECHO_PORT, ECHO_PORT_V6, startEchoResponder, udpEcho } from '../sim/vpcsim/udpEcho.js';
import type { Cleanup } from './cleanup.js';
import { DEMO_RUN_ROOT, isOurDaemon, recordedDaemonPids, removeRunDir, startNodeDaemon, type NodeDaemon } from '../sim/vpcsim/daemon.js';
import { demoWorld, startDemoCloud } from './mock.js';
import { parseMetrics, sample, scrapeUnix, type Samples } from '../sim/vpcsim/metrics.js';
import { ensurePlugin, execPlugin, firstIp, ipv6Of, netConf, type PodCni } from '../sim/vpcsim/cni.js';
import { heading, type Log, ms, printTable } from './print.js';

const NODES = [
  {
    instanceId: 'i-mock-node-1',
    label: 'node-1',
    pods: [
      ['web-0', 'web-1', 'web-2', 'cache-0'],
      ['web-3', 'web-4'],
    ],
  },
  {
    instanceId: 'i-mock-node-2',
    label: 'node-2',
    pods: [
      ['api-0', 'api-1', 'api-2', 'worker-0'],
      ['api-3', 'api-4'],
    ],
  },
] as const;

/** Small nodes, so the pods outgrow one secondary ENI and the pool hot-plugs another (3 ENIs x 6 IPv4: 12 pods a node). */
const INSTANCE_TYPE = 'ecs.g7.large';

const PREFIX_RE = /^ed([0-9a-z]+)$/;

interface Pod extends PodCni {
  /** Dual stack: the pod's IPv6 address. */
  ipv6?: string;
  wave: number;
  node: NodeDaemon;
  netnsName: string;
  ip?: string;
  eniId?: string;
  addMs?: number;
  error?: string;
  /** Drops the cleanup DEL once the pod was deleted on the normal path. */
  dropDel?: () => void;
}

/** Removes what crashed demo runs left: their daemons (by recorded pid), netns and run folders. */
async function cleanupStaleRuns(out: Log): Promise<void> {
  if (!existsSync(DEMO_RUN_ROOT)) return;
  for (const prefix of readdirSync(DEMO_RUN_ROOT)) {
    const m = PREFIX_RE.exec(prefix);
    if (!m) continue;
    const ownerPid = parseInt(m[1] as string, 36);
    if (ownerPid === process.pid) continue;
    try {
      process.kill(ownerPid, 0);
      continue; // that demo is still running
    } catch {
      // its owner is gone: a leftover
    }
    const runDir = join(DEMO_RUN_ROOT, prefix);
    for (const pid of recordedDaemonPids(runDir)) if (isOurDaemon(pid, runDir)) process.kill(pid, 'SIGKILL');
    const netns = process.getuid?.() === 0 ? await cleanupStale(prefix) : [];
    removeRunDir(runDir);
    out(`  removed leftovers of an earlier run ${prefix} (${netns.length} netns)`);
  }
}

function eniOfIp(mc: MockCloudHandle, ip: string): string | undefined {
  return mc.dump().enis.find((e) => e.secondaryIps.includes(ip) || e.primaryIp === ip)?.eniId;
}

async function scrape(d: NodeDaemon): Promise<Samples> {
  return parseMetrics(await scrapeUnix(d.metricsSocket));
}

function printPool(out: Log, mc: MockCloudHandle, daemons: NodeDaemon[], metrics: Samples[], pods: Pod[]): void {
  const world = mc.dump();
  const rows: (string | number)[][] = daemons.map((d, i) => {
    const s = metrics[i] ?? [];
    const enis = world.enis.filter((e) => e.instanceId === d.instanceId);
    // Pod addresses: every address of the secondary ENIs (eth0's are the node's).
    const cloudIps = enis.filter((e) => e.type === 'Secondary').reduce((n, e) => n + 1 + e.secondaryIps.length, 0);
    const v = (state: string) => sample(s, 'eniipam_pool_ips', { state }) ?? '?';
    return [
      d.label,
      enis.length,
      cloudIps,
      v('total'),
      v('assigned'),
      v('free'),
      v('cooling'),
      pods.filter((p) => p.node === d && p.ip).length,
    ];
  });
  printTable(out, ['node', 'ENIs (cloud)', 'pod addresses (cloud)', 'pool total', 'assigned', 'free', 'cooling', 'pods'], rows);
}

function printCalls(out: Log, mc: MockCloudHandle, daemons: NodeDaemon[], metrics: Samples[]): void {
  const apis = new Set<string>();
  for (const s of metrics) for (const x of s) if (x.name === 'eniipam_cloud_api_calls_total' && x.labels['api']) apis.add(x.labels['api']);
  const served = mc.counters();
  for (const [api, n] of Object.entries(served)) if (n > 0) apis.add(api);
  const rows = [...apis]
    .sort()
    .map((api) => [
      api,
      ...daemons.map((_, i) => sample(metrics[i] ?? [], 'eniipam_cloud_api_calls_total', { api }) ?? 0),
      served[api] ?? 0,
    ]);
  const total = (col: number) => rows.reduce((n, r) => n + Number(r[col]), 0);
  rows.push(['total', ...daemons.map((_, i) => total(i + 1)), total(daemons.length + 1)]);
  printTable(out, ['API', ...daemons.map((d) => `${d.label} daemon`), 'mock cloud served'], rows);
  out("  (per daemon: its client's counters from /metrics; metadata reads are not API calls and are not counted)");
}

export async function runCluster(
  out: Log,
  cleanup: Cleanup,
  opts: { kernel: boolean; keepLogs?: boolean; ipStack?: 'ipv4' | 'dual' },
): Promise<{ pods: number; echoesOk: number; echoesTotal: number }> {
  const dual = opts.ipStack === 'dual';
  const prefix = `ed${process.pid.toString(36)}`;
  const runDir = join(DEMO_RUN_ROOT, prefix);

  heading(
    out,
    opts.kernel
      ? 'Two nodes in a simulated VPC (network namespaces, real links)'
      : 'Two nodes, allocation only (driver none: no namespaces, no links)',
  );
  await cleanupStaleRuns(out);
  const plugin = await ensurePlugin();
  cleanup.throwIfAborted();
  out(`  CNI plugin: ${plugin.path}${plugin.built ? ' (bundled just now)' : ''}`);
  if (!opts.keepLogs) cleanup.push(`remove ${runDir}`, () => removeRunDir(runDir));

  const mc = await startDemoCloud(cleanup, { world: demoWorld(INSTANCE_TYPE) });
  out(
    `  instance type ${INSTANCE_TYPE} on both nodes: 3 ENIs x 6 private IPv4 (each ENI's own address included); pods use the` +
      " 2 secondary ENIs, eth0 is the node's: 12 pods a node",
  );
  let kernel: VpcKernel | undefined;
  if (opts.kernel) {
    const nodes = Object.fromEntries(NODES.map((n, i) => [n.instanceId, { netns: `${prefix}-n${i + 1}` }]));
    kernel = await attachKernel(mc, { prefix, nodes });
    const k = kernel;
    cleanup.push('destroy the simulated VPC', () => k.destroy());
    const bridge = await bridgeLoopback(
      Number(new URL(mc.url).port),
      Object.values(nodes).map((n) => n.netns),
    );
    cleanup.push('close the loopback bridge', () => bridge.close());
    out(`  VPC router netns ${k.routerNetns}; nodes ${NODES.map((n) => `${n.label} = netns ${k.nodeNetns(n.instanceId)}`).join(', ')}`);
    for (const n of NODES) {
      const eth0 = k.links().find((l) => l.instanceId === n.instanceId && l.deviceIndex === 0);
      out(`  ${n.label} (${n.instanceId}): eth0 ${eth0?.mac} ${eth0?.primaryIp}/${eth0?.cidr.split('/')[1]}, default via ${eth0?.gateway}`);
    }
    out(`  the mock cloud (${mc.url}) is bridged into each node netns at the same address`);
  }

  cleanup.throwIfAborted();
  const t0 = performance.now();
  const daemons = await Promise.all(
    NODES.map(async (n, i) => {
      return startNodeDaemon(
        {
          instanceId: n.instanceId,
          label: n.label,
          dir: join(runDir, `n${i + 1}`),
          netns: kernel?.nodeNetns(n.instanceId),
          mc,
          driver: opts.kernel ? 'veth' : 'none',
          minPoolSize: 2,
          maxPoolSize: 5,
          ...(dual ? { extraConf: { ip_stack: 'dual' } } : {}),
        },
        cleanup,
      );
    }),
  );
  out(
    `  daemons up in ${ms(performance.now() - t0)}: ${daemons.map((d) => `${d.label} pid ${d.pid}${d.netns ? ` in ${d.netns}` : ''}, socket ${d.socketPath}`).join('; ')}`,
  );
  out(
    `  driver ${opts.kernel ? 'veth (policy routing)' : 'none'}, min_pool_size 2, max_pool_size 5; daemon logs: ${runDir}/n*/daemon.log${opts.keepLogs ? ' (kept)' : ' (removed at the end; --keep-logs keeps them)'}`,
  );

  // Pods: one netns each (a fake path on the allocation-only path, where the `none` driver never opens it).
  const pods: Pod[] = [];
  for (const [i, n] of NODES.entries()) {
    for (const [w, name] of n.pods.flatMap((names, w) => names.map((x) => [w + 1, x] as const))) {
      cleanup.throwIfAborted();
      const netnsName = podNetnsName(prefix, name);
      if (opts.kernel) {
        await createNetns(netnsName);
        cleanup.push(`delete pod netns ${netnsName}`, () => deleteNetns(netnsName));
      }
      pods.push({
        wave: w,
        node: daemons[i] as NodeDaemon,
        netnsName,
        containerId: `${prefix}${name.replace(/[^a-z0-9]/g, '')}${'0'.repeat(24)}`.slice(0, 32),
        namespace: 'default',
        name,
        netnsPath: opts.kernel ? netnsPath(netnsName) : join(runDir, 'netns', netnsName),
        ifName: 'eth0',
      });
    }
  }

  const addOne = async (p: Pod): Promise<void> => {
    const r = await execPlugin(plugin.path, 'ADD', p, netConf(p.node.socketPath));
    p.addMs = r.ms;
    if (r.code === 0) {
      p.ip = firstIp(r.out);
      p.ipv6 = ipv6Of(r.out);
      // Registered per pod: DEL through the plugin even when the demo fails later.
      p.dropDel = cleanup.push(`CNI DEL ${p.name}`, async () => {
        const d = await execPlugin(plugin.path, 'DEL', p, netConf(p.node.socketPath));
        if (d.code !== 0) throw new Error(`DEL ${p.name} exited ${d.code}: ${d.out?.msg ?? d.stderr.trim()}`);
      });
    } else {
      p.error = `${r.out?.msg ?? 'failed'}${r.out?.details ? `: ${r.out.details}` : ''}${r.stderr ? ` ${r.stderr.trim().split('\n')[0]}` : ''}`;
    }
  };
  const waves = [...new Set(pods.map((p) => p.wave))];
  heading(out, `CNI ADD: ${pods.length} pods through ${plugin.path.split('/').slice(-3).join('/')}, in ${waves.length} bursts`);
  for (const wave of waves) {
    cleanup.throwIfAborted();
    const batch = pods.filter((p) => p.wave === wave);
    const t = performance.now();
    await Promise.all(batch.map(addOne));
    out(
      `  burst ${wave}: ${batch.filter((p) => p.ip).length}/${batch.length} pods addressed in ${ms(performance.now() - t)} (all ADDs at once)`,
    );
  }
  await mc.settle();
  if (kernel) await kernel.settled();
  for (const p of pods) if (p.ip) p.eniId = eniOfIp(mc, p.ip);
  const nodeIf = (p: Pod): string => (p.eniId ? (kernel?.linkFor(p.eniId)?.nodeIfName ?? '') : '');
  printTable(
    out,
    ['pod', 'node', 'burst', 'IP', ...(dual ? ['IPv6'] : []), 'ENI', ...(kernel ? ['node link'] : []), 'ADD'],
    pods.map((p) => [
      `${p.namespace}/${p.name}`,
      p.node.label,
      p.wave,
      p.ip ?? `FAILED: ${p.error}`,
      ...(dual ? [p.ipv6 ?? 'MISSING'] : []),
      p.eniId ?? '',
      ...(kernel ? [nodeIf(p)] : []),
      p.addMs !== undefined ? ms(p.addMs) : '',
    ]),
  );
  out('  the warm pool (min_pool_size) began with a secondary ENI, its own primary address handed out first; burst 1 drew on');
  out(
    '  it and one AssignPrivateIpAddresses batch; once it was full (6 IPv4 per ENI) the pool attached another secondary ENI' +
      ' in the\n  background to stay above its low watermark' +
      (kernel
        ? ' (hot-plugged into the node as eth<N>: the veth driver brought it up, with no\n  address of its own, and gave it a per-ENI route table).'
        : '.'),
  );
  const failedAdds = pods.filter((p) => !p.ip);
  if (failedAdds.length > 0)
    throw new Error(`${failedAdds.length} CNI ADD(s) failed: ${failedAdds.map((p) => `${p.name}: ${p.error}`).join('; ')}`);

  let echoesOk = 0;
  let echoesTotal = 0;
  if (kernel) {
    if (kernel.errors.length > 0) throw new Error(`simulated VPC: ${kernel.errors.map((e) => e.message).join('; ')}`);
    heading(out, 'Pod to pod across nodes: VPC routes, no overlay, no NAT');
    const routes = await kernel.routes();
    out(`  VPC router: ${routes.length} /32 routes (every private IP to its ENI's link); the pods' ones:`);
    printTable(
      out,
      ['pod IP', 'router link', 'ENI', 'node'],
      pods.map((p) => {
        const r = routes.find((x) => x.ip === p.ip);
        return [p.ip ?? '', r?.routerIfName ?? 'MISSING', r?.eniId ?? '', NODES.find((n) => n.instanceId === r?.instanceId)?.label ?? ''];
      }),
      '    ',
    );
    const pairs: [Pod, Pod][] = [];
    for (const a of pods)
      for (const b of pods) if (a !== b && (a.node !== b.node || pods.indexOf(b) === pods.indexOf(a) + 1)) pairs.push([a, b]);
    out(`  probe: UDP echo to port ${ECHO_PORT} (RFC 862), sent from inside each pod's netns to the others' IPs. The demo's own code,`);
    out("  no ping needed: every socket is opened in the pod's netns through the daemon's setns helper (drivers/netns.ts).");
    for (const p of pods) {
      const responder = await startEchoResponder(netnsPath(p.netnsName));
      cleanup.push(`stop the echo responder in ${p.name}`, () => responder.close());
    }
    const results = await Promise.all(
      pairs.map(async ([a, b]) => ({ a, b, ok: await udpEcho(netnsPath(a.netnsName), b.ip as string, { attempts: 3 }) })),
    );
    const names = pods.map((p) => p.name);
    const cell = (a: Pod, b: Pod): string => {
      if (a === b) return '-';
      const r = results.find((x) => x.a === a && x.b === b);
      return r ? (r.ok ? 'ok' : 'FAIL') : '';
    };
    printTable(
      out,
      [dual ? 'IPv4 echo from \\ to' : 'echo from \\ to', ...names],
      pods.map((a) => [a.name, ...pods.map((b) => cell(a, b))]),
    );
    echoesTotal = results.length;
    echoesOk = results.filter((r) => r.ok).length;
    out(`  ${echoesOk}/${echoesTotal} UDP echoes answered (cross-node pairs, plus neighbours on the same node)`);
    if (dual) {
      // The same pairs over IPv6: each pod's /128 routed by the VPC router to its ENI, fe80::1 as the pod's gateway.
      for (const p of pods) {
        const responder = await startEchoResponder(netnsPath(p.netnsName), ECHO_PORT_V6, 6);
        cleanup.push(`stop the IPv6 echo responder in ${p.name}`, () => responder.close());
      }
      const results6 = await Promise.all(
        pairs.map(async ([a, b]) => ({ a, b, ok: !!b.ipv6 && (await udpEcho(netnsPath(a.netnsName), b.ipv6, { attempts: 3 })) })),
      );
      const cell6 = (a: Pod, b: Pod): string => {
        if (a === b) return '-';
        const r = results6.find((x) => x.a === a && x.b === b);
        return r ? (r.ok ? 'ok' : 'FAIL') : '';
      };
      printTable(
        out,
        ['IPv6 echo from \\ to', ...names],
        pods.map((a) => [a.name, ...pods.map((b) => cell6(a, b))]),
      );
      const ok6 = results6.filter((r) => r.ok).length;
      out(`  ${ok6}/${results6.length} IPv6 UDP echoes answered (port ${ECHO_PORT_V6}), beside the IPv4 matrix above`);
      echoesTotal += results6.length;
      echoesOk += ok6;
    }
  }

  heading(out, "Pool state (daemon metrics over its unix socket, and the cloud's view)");
  let metrics = await Promise.all(daemons.map(scrape));
  printPool(out, mc, daemons, metrics, pods);

  heading(out, 'Cloud API calls');
  printCalls(out, mc, daemons, metrics);

  cleanup.throwIfAborted();
  heading(out, 'CNI DEL: every pod, through the plugin');
  const tDel = performance.now();
  const dels = await Promise.all(pods.map((p) => execPlugin(plugin.path, 'DEL', p, netConf(p.node.socketPath))));
  dels.forEach((d, i) => {
    if (d.code !== 0) throw new Error(`DEL ${pods[i]?.name} exited ${d.code}: ${d.out?.msg ?? d.stderr.trim()}`);
    pods[i]?.dropDel?.();
  });
  out(`  ${dels.length} DELs exited 0 in ${ms(performance.now() - tDel)}; the IPs go back to the warm pool (they stay on the ENIs):`);
  metrics = await Promise.all(daemons.map(scrape));
  printPool(out, mc, daemons, metrics, []);
  if (kernel) {
    const leftVeths = await Promise.all(daemons.map(async (d) => (await listLinks(d.netns as string)).filter((l) => l.startsWith('eni'))));
    out(`  host veths left on the nodes: ${leftVeths.flat().length}`);
  }
  return { pods: pods.length, echoesOk, echoesTotal };
}

async function listLinks(netns: string): Promise<string[]> {
  const { ipJson } = await import('../sim/vpcsim/ip.js');
  return (await ipJson<{ ifname: string }[]>(netns, ['link', 'show'])).map((l) => l.ifname);
}

/** After teardown: what of ours is still in the kernel (should be nothing). */
export async function leftovers(opts: { keepLogs?: boolean } = {}): Promise<string[]> {
  const prefix = `ed${process.pid.toString(36)}`;
  const left = process.getuid?.() === 0 ? (await listNetns()).filter((n) => n.startsWith(`${prefix}-`)) : [];
  if (!opts.keepLogs && existsSync(join(DEMO_RUN_ROOT, prefix))) left.push(join(DEMO_RUN_ROOT, prefix));
  return left;
}
