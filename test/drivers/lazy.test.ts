import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

describe('drivers/index.ts', () => {
  it('importing the folder face loads neither netlink nor koffi (they load on first kernel call)', () => {
    const code = `
      import { createRequire } from 'node:module';
      const m = await import('./drivers/index.ts');
      const d = m.createDriver('none');
      const r = await d.setup({ containerId: 'c', netnsPath: '/x', ifName: 'eth0', ip: '10.0.0.2', eniId: 'e', eniMac: '02:00:00:00:00:01',
        primaryEni: true, vSwitchCidr: '10.0.0.0/24', gateway: '10.0.0.1', mtu: 1500 });
      const req = createRequire(import.meta.url);
      const cache = Object.keys(req.cache);
      // Control: the probe does see netlink once something loads it.
      (await import('./drivers/netlink.ts')).loadNetlink();
      const loadedAfter = Object.keys(req.cache).some((k) => k.includes('/node_modules/netlink/'));
      console.log(JSON.stringify({ loadedAfter, gw: r.podGateway, names: [m.createDriver('veth').name, m.createDriver('rawEni').name, m.createDriver('ipvlan').name],
        netlink: cache.some((k) => k.includes('/node_modules/netlink/')), koffi: cache.some((k) => k.includes('/node_modules/koffi/')) }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: process.cwd(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out).toEqual({ loadedAfter: true, gw: '10.0.0.1', names: ['veth', 'rawEni', 'ipvlan'], netlink: false, koffi: false });
  });
});
