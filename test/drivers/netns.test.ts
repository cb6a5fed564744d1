import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import {
  openHomeNetnsFd,
  openNetlinkIn,
  readSysctl,
  runInNetnsSync,
  threadsOutsideHomeNetns,
  warmThreadPool,
  writeSysctl,
} from '../../drivers/netns.js';
import { DriverError } from '../../drivers/types.js';
import { NsEnv, ip, isRoot, path, rootSkipReason, uid } from './nsenv.js';

if (!isRoot) console.warn(`skipping netns helper tests: ${rootSkipReason}`);

describe.skipIf(!isRoot)('netns helper (real netns)', () => {
  const env = new NsEnv();
  afterEach(() => env.cleanup());

  it('binds a netlink socket inside the netns without moving any thread', async () => {
    const ns = env.add(`drv-n-${uid()}`);
    ip(['link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'], ns);
    const home = fs.readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 200; i++) {
      const s = await openNetlinkIn(path(ns), 'test');
      if (i % 50 === 0) {
        const names = (await s.links()).map((l) => l.name);
        expect(names).toContain('probe0');
      }
      s.close();
      // Keep the thread pool busy between switches: its threads must stay home.
      await fs.promises.stat('/');
    }
    expect(fs.readlinkSync('/proc/self/ns/net')).toBe(home);
    expect(threadsOutsideHomeNetns()).toEqual([]);
    // The host socket still sees the host, not the netns.
    const h = await openNetlinkIn(undefined, 'test');
    expect((await h.links()).map((l) => l.name)).not.toContain('probe0');
    h.close();
  });

  it('writes and reads sysctls inside the netns only', async () => {
    const ns = env.add(`drv-n-${uid()}`);
    const homeVal = await readSysctl(undefined, 'net.ipv4.ip_forward');
    const target = homeVal === '1' ? '0' : '1';
    await writeSysctl(path(ns), 'net.ipv4.ip_forward', target);
    expect(await readSysctl(path(ns), 'net.ipv4.ip_forward')).toBe(target);
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(homeVal);
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  it('through a bind mount of /proc/sys/net elsewhere (an unprivileged container), a write lands in the netns', async () => {
    const ns = env.add(`drv-n-${uid()}`);
    const root = fs.mkdtempSync('/tmp/drv-procsys-');
    fs.mkdirSync(`${root}/net`);
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['--bind', '/proc/sys/net', `${root}/net`]);
    try {
      const homeVal = await readSysctl(undefined, 'net.ipv4.ip_forward');
      const target = homeVal === '1' ? '0' : '1';
      await writeSysctl(path(ns), 'net.ipv4.ip_forward', target, root);
      expect(await readSysctl(path(ns), 'net.ipv4.ip_forward')).toBe(target);
      expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(homeVal);
    } finally {
      execFileSync('umount', [`${root}/net`]);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('errors name the netns and the operation', async () => {
    const bad = '/var/run/netns/drv-does-not-exist';
    const err = await openNetlinkIn(bad, 'open pod socket').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).netns).toBe(bad);
    expect((err as DriverError).errno).toBe('ENOENT');
    expect((err as DriverError).message).toContain('open pod socket');
    expect((err as DriverError).message).toContain(bad);
    // A file that is not a netns: setns refuses with EINVAL, and the thread is still home.
    await warmThreadPool();
    const err2 = (() => {
      try {
        runInNetnsSync('/proc/self/status', 'enter bogus', () => 1);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err2).toBeInstanceOf(DriverError);
    expect((err2 as DriverError).errno).toBe('EINVAL');
    expect((err2 as DriverError).netns).toBe('/proc/self/status');
    expect(threadsOutsideHomeNetns()).toEqual([]);
  });

  it('openHomeNetnsFd refers to the process netns', async () => {
    await warmThreadPool();
    const fd = openHomeNetnsFd();
    try {
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe(fs.readlinkSync('/proc/self/ns/net'));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a throw inside the window still switches back', async () => {
    const ns = env.add(`drv-n-${uid()}`);
    await warmThreadPool();
    const home = fs.readlinkSync('/proc/thread-self/ns/net');
    expect(() =>
      runInNetnsSync(path(ns), 'throwing', () => {
        expect(fs.readlinkSync('/proc/thread-self/ns/net')).not.toBe(home);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(fs.readlinkSync('/proc/thread-self/ns/net')).toBe(home);
  });
});
