// The mode builders: one per daemon_mode, each with the service that replies with its IP type, and the
// placement rules the ENI modes share (vSwitches for new ENIs, security groups copied from the primary ENI).
import { describe, expect, it } from 'vitest';
import { modeBuilder, pickVSwitches } from '../../daemon/build/index.js';
import { securityGroupsFor, vSwitchesFor } from '../../daemon/build/placement.js';
import { parseDaemonConfig } from '../../daemon/config/index.js';
import { KernelHygiene } from '../../daemon/modes/kernelHygiene.js';
import { MemoryPoolStore } from '../../pool/store.js';
import { FakeCloud } from '../pool/fakeCloud.js';
import { FAKE_METADATA, FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';

describe('mode builders', () => {
  it.each([
    ['ENIMultiIP', 'ENI_MULTI_IP', true],
    ['VPCENI', 'VPC_ENI', true],
    ['VPCIP', 'VPC_IP', false],
  ] as const)('daemon_mode %s: a service replying %s, GC by pod existence %s', (mode, ipType, podGc) => {
    const config = parseDaemonConfig({ daemon_mode: mode, pod_cidr: '172.20.1.0/24', driver: 'none' }).config;
    const builder = modeBuilder(config);
    expect(builder.serves(config)).toBe(true);
    expect(builder.podGc).toBe(podGc);
    const service = builder.service({ allocator: new FakeAllocator(), driver: new FakeDriver(), mtu: 1500, logger: captureLog().logger });
    expect(service.ipType).toBe(ipType);
    // Pool GC unwires a gone pod through the service before its IP or ENI goes back.
    expect(typeof service.teardownGone).toBe('function');
  });

  it('the VPCIP builder routes the pod CIDR to this instance when the allocator starts', async () => {
    const cloud = new FakeCloud();
    const routes: unknown[][] = [];
    cloud.ensureRouteEntry = async (...args: unknown[]) => void routes.push(args);
    const describe = cloud.describeVSwitches.bind(cloud);
    cloud.describeVSwitches = async (ids) => (await describe(ids)).map((v) => ({ ...v, routeTableId: 'vtb-1' }));
    const config = parseDaemonConfig({ daemon_mode: 'VPCIP', pod_cidr: '172.20.1.0/24', driver: 'none' }).config;
    const log = captureLog();
    const { allocator, background } = await modeBuilder(config).build({
      config,
      cloud,
      store: new MemoryPoolStore(),
      instanceId: cloud.instanceId,
      metadata: await cloud.getInstanceMetadata(),
      logger: log.logger,
      hygiene: new KernelHygiene(log.logger),
      events: { record: async () => {} },
    });
    expect(background ?? []).toEqual([]);
    expect(routes).toEqual([]);
    await allocator.start();
    expect(routes).toEqual([['vtb-1', '172.20.1.0/24', cloud.instanceId]]);
    await allocator.stop();
  });
});

describe('ENI placement', () => {
  const log = captureLog();

  it('new ENIs go on the vSwitches configured for this zone, else on the node vSwitch (with a warning when the zone is missing)', () => {
    const own = parseDaemonConfig({ vswitches: { [FAKE_METADATA.zoneId]: ['vsw-a', 'vsw-b'] } }).config;
    expect(pickVSwitches(own, FAKE_METADATA)).toEqual({ ids: ['vsw-a', 'vsw-b'], fallback: false });
    expect(vSwitchesFor({ config: own, metadata: FAKE_METADATA, logger: log.logger })).toEqual(['vsw-a', 'vsw-b']);

    const other = parseDaemonConfig({ vswitches: { 'cn-other-b': ['vsw-x'] } }).config;
    expect(vSwitchesFor({ config: other, metadata: FAKE_METADATA, logger: log.logger })).toEqual([FAKE_METADATA.vSwitchId]);
    expect(log.text()).toContain('eni_conf.vswitches has no entry for this zone; using the node vSwitch');
  });

  it('security groups: the configured ones, else those of the primary ENI, else a start-up error naming the key', async () => {
    const cloud = new FakeCloud();
    const base = { cloud, instanceId: cloud.instanceId, logger: log.logger };
    const set = parseDaemonConfig({ security_groups: ['sg-9'] }).config;
    expect(await securityGroupsFor({ ...base, config: set })).toEqual(['sg-9']);

    const unset = parseDaemonConfig({}).config;
    expect(await securityGroupsFor({ ...base, config: unset })).toEqual(cloud.primaryEni().securityGroupIds);

    cloud.world.eni(cloud.primaryEni().eniId).securityGroupIds = [];
    await expect(securityGroupsFor({ ...base, config: unset })).rejects.toThrow(
      /eni_conf.security_group\(s\) is not set and the primary ENI has no security group to copy/,
    );
  });
});
