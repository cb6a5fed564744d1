// `npm run demo`: the project's main job, against the bundled mock cloud.
//   Stage 1: a scripted walk through the cloud client (metadata, quotas, ENI create / attach / assign /
//            describe / unassign / detach / delete).
//   Stage 2: two node daemons and pods added through the real CNI plugin. As root the nodes are network
//            namespaces behind a simulated VPC router and pods reach each other across nodes (checked with the
//            demo's own UDP echo from inside the pods' netns: no ping needed); without root the daemons run with
//            driver `none` (allocation only). A root run without iproute2 installs it (apt-get) first.
// Everything the demo creates is undone on exit, on failure and on Ctrl-C.
// Flags: --cloud-only (stage 1 only), --alloc-only (stage 2 without the kernel even as root), --keep-logs,
//        --no-install (never apt-get), --ip-stack dual (Terway ip_stack dual: each pod's IPv4 and IPv6 address, and an
//        IPv6 echo matrix beside the IPv4 one).
import { Cleanup } from './cleanup.js';
import { cloudTour } from './cloudTour.js';
import { leftovers, runCluster } from './cluster.js';
import { cloudFor, startDemoCloud } from './mock.js';
import { heading, log, printApiStats } from './print.js';
import { probeKernelSupport } from '../sim/vpcsim/netns.js';
import { ensureIproute2 } from './prereqs.js';

const NODE_1 = 'i-mock-node-1';

async function stage1(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const mc = await startDemoCloud(cleanup);
    log(
      `mock cloud listening on ${mc.url} (region ${mc.regionId}); the client is the daemon's own (official @alicloud/ecs20140526 SDK underneath)`,
    );
    const cloud = cloudFor(mc, NODE_1);
    await cloudTour(cloud, log, cleanup);
    heading(log, 'Cloud calls made by the client (its own counters; Describe includes the attach polls)');
    printApiStats(log, cloud.stats());
  } finally {
    const failures = await cleanup.finish();
    if (failures.length > 0) throw new Error(`stage 1 cleanup failed: ${failures.join('; ')}`);
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const args = new Set(process.argv.slice(2));
  const cleanup = new Cleanup();
  const uninstall = cleanup.installSignalHandlers(log);
  let failed = false;
  let summary = '';
  try {
    log('eni-ipam demo: a Terway-style ENI IPAM daemon against a local mock of the ECS / VPC APIs.');
    heading(log, 'Stage 1: the cloud client, step by step');
    await stage1();
    cleanup.throwIfAborted();
    if (!args.has('--cloud-only')) {
      const wantKernel = !args.has('--alloc-only');
      if (wantKernel && !args.has('--no-install')) await ensureIproute2(log);
      const support = await probeKernelSupport({ ping: false });
      const kernel = support.ok && wantKernel;
      if (!support.ok) {
        log('');
        log(`NOTE: the data-plane part needs ${support.missing.join(', ')}; running the allocation-only path instead`);
        log('      (daemons with driver "none": real pool, DB, gRPC and plugin, but no links or traffic). Run as root for the rest.');
      }
      const argv = process.argv.slice(2);
      const stackArg = argv.find((a) => a.startsWith('--ip-stack='))?.split('=')[1] ?? argv[argv.indexOf('--ip-stack') + 1];
      const ipStack = argv.some((a) => a.startsWith('--ip-stack')) ? stackArg : 'ipv4';
      if (ipStack !== 'ipv4' && ipStack !== 'dual') throw new Error(`--ip-stack must be ipv4 or dual (got ${String(ipStack)})`);
      const r = await runCluster(log, cleanup, { kernel, keepLogs: args.has('--keep-logs'), ipStack });
      summary = kernel
        ? `${r.pods} pods on 2 nodes, ${r.echoesOk}/${r.echoesTotal} pod-to-pod UDP echoes answered`
        : `${r.pods} pods on 2 nodes (allocation only)`;
      if (kernel && r.echoesOk !== r.echoesTotal) throw new Error(`${r.echoesTotal - r.echoesOk} UDP echo probe(s) unanswered`);
    }
  } catch (err) {
    failed = true;
    if (cleanup.signalled) log('\ndemo interrupted');
    else log(`\ndemo failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    heading(log, 'Teardown');
    const failures = await cleanup.finish();
    uninstall();
    for (const f of failures) log(`  cleanup failed: ${f}`);
    const left = await leftovers({ keepLogs: args.has('--keep-logs') }).catch((e: Error) => [`(could not check: ${e.message})`]);
    log(
      left.length === 0
        ? '  daemons stopped, pods deleted, namespaces and links removed, mock cloud closed: nothing left behind'
        : `  LEFT BEHIND: ${left.join(', ')}`,
    );
    if (failures.length > 0 || left.length > 0) failed = true;
  }
  log(
    `\n${failed ? (cleanup.signalled ? 'demo interrupted' : 'demo FAILED') : `demo finished: ${summary || 'cloud walk-through done'}`} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return failed ? 1 : 0;
}

process.exitCode = await main();
