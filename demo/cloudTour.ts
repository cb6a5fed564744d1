// Stage 1 of the demo: a short scripted walk through the cloud client against the mock cloud. It shows what
// the daemon does under the hood when its pool grows and shrinks: metadata, quotas, one ENI created, attached,
// filled with a batch of secondary IPs, shrunk, detached and deleted.
import type { Cloud, Eni } from '../daemon/cloud/types.js';
import { multiIpCapacity } from '../pool/capacity.js';
import type { Cleanup } from './cleanup.js';
import { heading, type Log, ms, printTable } from './print.js';

export interface TourResult {
  eniId: string;
  assigned: string[];
}

async function timed<T>(out: Log, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await fn();
  out(`  ${what.padEnd(60)} ${ms(performance.now() - t0)}`);
  return v;
}

function describeEni(e: Eni): string {
  return `${e.eniId} ${e.type} ${e.status} mac ${e.mac} primary ${e.primaryIp} + ${e.secondaryIps.length} secondary`;
}

/** Runs the scenario; registers undo steps on `cleanup` so a failure part-way leaves no ENI behind. */
export async function cloudTour(cloud: Cloud, out: Log, cleanup: Cleanup, opts: { batch?: number } = {}): Promise<TourResult> {
  const batch = opts.batch ?? 10;

  heading(out, 'Instance metadata (what the daemon reads at start-up)');
  const md = await cloud.getInstanceMetadata();
  printTable(
    out,
    ['field', 'value'],
    [
      ['instance-id', md.instanceId],
      ['region / zone', `${md.regionId} / ${md.zoneId}`],
      ['instance-type', md.instanceType],
      ['vpc / vSwitch', `${md.vpcId} / ${md.vSwitchId}`],
      ['primary MAC', md.primaryMac],
      ['ENI MACs', md.eniMacs.join(', ')],
    ],
  );
  const primaryMd = await cloud.getEniMetadata(md.primaryMac);
  out(`  primary ENI ${primaryMd.eniId}: ${primaryMd.primaryIp} in ${primaryMd.vSwitchCidr}, gateway ${primaryMd.gateway}`);

  heading(out, 'Quotas: how many pods this node can host in ENIMultiIP mode');
  const limits = await cloud.describeInstanceTypeLimits(md.instanceType);
  const podCap = multiIpCapacity(limits, { maxEni: 0, eniCapRatio: 1, eniCapShift: 0 });
  out(`  ${limits.instanceTypeId}: ${limits.eniQuantity} ENIs x ${limits.ipv4PerEni} private IPv4 each (the ENI's own address included)`);
  out(`  -> ${podCap.explain}: pods use secondary ENIs only (eth0 is the node's), every address of each`);
  const [vsw] = await cloud.describeVSwitches([md.vSwitchId]);
  if (vsw) out(`  vSwitch ${vsw.vSwitchId} ${vsw.cidrBlock}: ${vsw.availableIpAddressCount} addresses free`);

  heading(out, 'Growing the pool: one ENI, one batch of secondary IPs');
  const own = await cloud.describeNetworkInterfaces({ instanceId: md.instanceId });
  const primary = own.find((e) => e.type === 'Primary');
  if (!primary) throw new Error(`no primary ENI on ${md.instanceId}`);
  out(`  ${md.instanceId} has ${own.length} ENI(s): ${own.map((e) => `${e.eniId} (${e.type})`).join(', ')}`);

  const eni = await timed(out, `CreateNetworkInterface in ${md.vSwitchId}`, () =>
    cloud.createNetworkInterface({
      vSwitchId: md.vSwitchId,
      securityGroupIds: primary.securityGroupIds,
      description: 'eni-ipam demo',
      tags: { creator: 'eni-ipam', 'eni-ipam/demo': 'true' },
    }),
  );
  let attached = false;
  const undone = cleanup.push(`delete ${eni.eniId}`, async () => {
    if (attached) await cloud.detachNetworkInterface(eni.eniId, md.instanceId);
    await cloud.deleteNetworkInterface(eni.eniId);
  });
  out(`    -> ${describeEni(eni)}`);
  await timed(out, `AttachNetworkInterface ${eni.eniId} (waits for InUse)`, () => cloud.attachNetworkInterface(eni.eniId, md.instanceId));
  attached = true;
  const assigned = await timed(out, `AssignPrivateIpAddresses x${batch} (one call)`, () =>
    cloud.assignPrivateIpAddresses(eni.eniId, batch),
  );
  out(`    -> ${assigned.join(' ')}`);

  const [now] = await cloud.describeNetworkInterfaces({ eniIds: [eni.eniId] });
  if (now) out(`  DescribeNetworkInterfaces: ${describeEni(now)}`);
  const seen = await cloud.getEniMetadata(eni.mac).catch((err: Error) => err);
  out(
    seen instanceof Error
      ? `  metadata does not show ${eni.mac} yet (${seen.message.split('\n')[0]})`
      : `  metadata now lists ${eni.mac}: ${seen.privateIps.length} private IPs, gateway ${seen.gateway}`,
  );

  heading(out, 'Shrinking the pool: give idle IPs back, then the ENI');
  const giveBack = assigned.slice(0, Math.ceil(assigned.length / 2));
  await timed(out, `UnassignPrivateIpAddresses x${giveBack.length}`, () => cloud.unassignPrivateIpAddresses(eni.eniId, giveBack));
  const [after] = await cloud.describeNetworkInterfaces({ eniIds: [eni.eniId] });
  if (after) out(`    -> ${after.secondaryIps.length} secondary IPs left: ${after.secondaryIps.join(' ')}`);
  await timed(out, `DetachNetworkInterface ${eni.eniId} (waits for Available)`, () =>
    cloud.detachNetworkInterface(eni.eniId, md.instanceId),
  );
  attached = false;
  await timed(out, `DeleteNetworkInterface ${eni.eniId}`, () => cloud.deleteNetworkInterface(eni.eniId));
  undone();
  const left = await cloud.describeNetworkInterfaces({ instanceId: md.instanceId });
  out(`  ${md.instanceId} is back to ${left.length} ENI(s): ${left.map((e) => e.eniId).join(', ')}`);
  return { eniId: eni.eniId, assigned };
}
