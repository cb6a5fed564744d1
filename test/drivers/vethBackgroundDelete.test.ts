// veth driver, DEL with the veth deleted off the event loop (real netns, root): route, rules and the
// pair are gone from the netns when teardown returns, only the kernel's trailing RCU wait runs on;
// a setup of the same name waits for it, settle() waits for all, a reused IP's rules stay.
// Plus the raw RTM_DELLINK used for it (pure encoding and against the kernel).
import { describe, expect, it } from 'vitest';
import { hostVethName } from '../../drivers/veth.js';
import { DriverError } from '../../drivers/types.js';
import { ackErrno, delLinkOffMainThread, delLinkRequest } from '../../drivers/netns.js';
import { ip, isRoot, path, rootSkipReason, snapshot, uid, useVethRig } from './nsenv.js';

describe('raw RTM_DELLINK encoding', () => {
  it('builds nlmsghdr + ifinfomsg for an ifindex, asking for an ACK', () => {
    const b = delLinkRequest(42, 7);
    expect(b.length).toBe(32);
    expect(b.readUInt32LE(0)).toBe(32); // nlmsg_len
    expect(b.readUInt16LE(4)).toBe(17); // RTM_DELLINK
    expect(b.readUInt16LE(6)).toBe(0x1 | 0x4); // NLM_F_REQUEST | NLM_F_ACK
    expect(b.readUInt32LE(8)).toBe(7); // seq
    expect(b[16]).toBe(0); // ifi_family AF_UNSPEC
    expect(b.readInt32LE(20)).toBe(42); // ifi_index
  });

  it('reads the errno of an ACK for its own sequence number only', () => {
    const ack = (seq: number, err: number): Buffer => {
      const b = Buffer.alloc(36);
      b.writeUInt32LE(36, 0);
      b.writeUInt16LE(2, 4); // NLMSG_ERROR
      b.writeUInt32LE(seq, 8);
      b.writeInt32LE(err, 16);
      return b;
    };
    expect(ackErrno(ack(5, 0), 5)).toBe(0);
    expect(ackErrno(ack(5, -19), 5)).toBe(19);
    expect(ackErrno(ack(6, 0), 5)).toBeUndefined();
    expect(ackErrno(Buffer.alloc(8), 5)).toBeUndefined();
  });
});

if (!isRoot) console.warn(`skipping veth background-delete tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('veth driver: DEL with the veth deleted in the background (real netns)', () => {
  const { env, podSpec, setupNode } = useVethRig({ eth1Prefix: '10.50.0', mtu: 1500 });

  it('route, rules and veth are gone when teardown returns; repeated DEL is a no-op; settle() ends the background work', async () => {
    const { node, driver, eth1 } = setupNode();
    const pod = env.add(`bgd-p-${uid()}`);
    await driver.ensureEniTable({ mac: eth1.mac, gateway: eth1.gateway, vSwitchCidr: eth1.cidr });
    const before = snapshot(node.host);
    const spec = podSpec(pod, '10.50.0.21');
    await driver.setup(spec);
    expect(ip(['rule', 'show'], node.host)).toContain('10.50.0.21');

    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    // No settle() yet: nothing of the pod may remain in the host netns.
    expect(ip(['route', 'show', 'table', 'main'], node.host)).not.toContain('10.50.0.21');
    expect(ip(['rule', 'show'], node.host)).not.toContain('10.50.0.21');
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain(hostVethName(spec.containerId, 'eth0'));
    expect(snapshot(node.host)).toEqual(before);
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    await driver.settle();
    expect(driver.pendingDeleteCount).toBe(0);
    expect(snapshot(node.host)).toEqual(before);
  });

  it('a setup of the same container and interface right after teardown waits for the old pair and wires again', async () => {
    const { node, driver } = setupNode();
    const pod = env.add(`bgd-p-${uid()}`);
    const spec = podSpec(pod, '10.50.0.31');
    await driver.setup(spec);
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    const again = await driver.setup(spec);
    expect(again.hostIfName).toBe(hostVethName(spec.containerId, 'eth0'));
    await driver.check(spec);
    await driver.teardown({ containerId: spec.containerId, ifName: 'eth0', netnsPath: spec.netnsPath, ip: spec.ip });
    await driver.settle();
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain(again.hostIfName);
  });

  it('many DELs at once (more than libuv pool threads): each returns with its pair gone', async () => {
    const { driver } = setupNode();
    const specs = Array.from({ length: 8 }, (_, i) => podSpec(env.add(`bgd-p-${uid()}`), `10.50.0.${40 + i}`));
    for (const s of specs) await driver.setup(s);
    await Promise.all(specs.map((s) => driver.teardown({ containerId: s.containerId, ifName: 'eth0', netnsPath: s.netnsPath, ip: s.ip })));
    expect(await driver.listHostVeths()).toEqual([]);
    expect(await driver.podRuleIps()).toEqual([]);
    await driver.settle();
  });

  it('DEL of a leaked veth whose IP a new pod now holds keeps the new pod wired', async () => {
    const { node, driver } = setupNode();
    const podA = env.add(`bgd-p-${uid()}`);
    const podB = env.add(`bgd-p-${uid()}`);
    await driver.setup(podSpec(podA, '10.50.0.51'));
    // The IP went to pod B while A's pair still exists (A's DEL never came): B's /32 replaced A's.
    await driver.setup(podSpec(podB, '10.50.0.51'));
    await driver.teardown({ containerId: `ctr-${podA}`, ifName: 'eth0', ip: '10.50.0.51' });
    await driver.settle();
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain(hostVethName(`ctr-${podA}`, 'eth0'));
    await driver.check(podSpec(podB, '10.50.0.51'));
  });

  it('delLinkOffMainThread deletes a link in a netns, tolerates a missing one, reports a refusal with its errno', async () => {
    const { node } = setupNode();
    ip(['link', 'add', 'bgd-dummy', 'type', 'veth', 'peer', 'name', 'bgd-peer'], node.host);
    const index = Number(ip(['-o', 'link', 'show', 'bgd-dummy'], node.host).split(':')[0]);
    await delLinkOffMainThread(path(node.host), index, 'delete test veth');
    expect(ip(['-o', 'link', 'show'], node.host)).not.toContain('bgd-');
    await delLinkOffMainThread(path(node.host), index, 'delete test veth again'); // ENODEV: fine
    const err = await delLinkOffMainThread(path(node.host), 1, 'delete lo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).errno).toMatch(/^E(OPNOTSUPP|NOTSUP)$/);
    expect((err as DriverError).netns).toBe(path(node.host));
  });
});
