// The daemon's side of the network config keys the plugin passes with AllocIP (daemon/server/netConf.ts).
import { describe, expect, it } from 'vitest';
import { PluginNetConf } from '../../daemon/server/netConf.js';
import { captureLog } from '../support/log.js';

const opts = (over: Partial<{ mtu: number; eniip_virtual_type: string; veth_prefix: string; ignored_keys: string[] }> = {}) => ({
  mtu: 0,
  eniip_virtual_type: '',
  veth_prefix: '',
  ignored_keys: [],
  ...over,
});

describe('PluginNetConf', () => {
  it('mtu: the pod MTU when set, the daemon default otherwise (and for an older plugin that sends nothing)', () => {
    const nc = new PluginNetConf({ driver: 'veth', vethPrefix: 'eni' }, captureLog().logger);
    expect(nc.apply(opts({ mtu: 9000 }))).toEqual({ mtu: 9000 });
    expect(nc.apply(opts())).toEqual({});
    expect(nc.apply(null)).toEqual({});
    expect(nc.apply(undefined)).toEqual({});
  });

  it('a different eniip_virtual_type or veth_prefix is logged once each; datapathv2 is veth here', () => {
    const log = captureLog();
    const nc = new PluginNetConf({ driver: 'veth', vethPrefix: 'eni' }, log.logger);
    for (let i = 0; i < 3; i++) nc.apply(opts({ eniip_virtual_type: 'ipvlan', veth_prefix: 'cali' }));
    nc.apply(opts({ eniip_virtual_type: 'datapathv2', veth_prefix: 'eni' }));
    nc.apply(opts({ eniip_virtual_type: 'veth' }));
    const msgs = log.lines().map((l) => l['msg']);
    expect(msgs).toEqual([
      "network config eniip_virtual_type ipvlan: pods are wired by this daemon's veth driver (set eni_conf eniip_virtual_type to change it)",
      'network config veth_prefix cali: host veths are named with eni_conf veth_prefix eni',
    ]);
  });

  it('in VPCENI (raw ENI) eniip_virtual_type has no say: nothing to log', () => {
    const log = captureLog();
    new PluginNetConf({ driver: 'rawEni', vethPrefix: 'eni' }, log.logger).apply(opts({ eniip_virtual_type: 'ipvlan' }));
    expect(log.lines()).toEqual([]);
  });

  it('ignored keys: each logged once', () => {
    const log = captureLog();
    const nc = new PluginNetConf({ driver: 'ipvlan', vethPrefix: 'eni' }, log.logger);
    nc.apply(opts({ ignored_keys: ['auto_mtu', 'debug'] }));
    nc.apply(opts({ ignored_keys: ['debug', 'symmetric_routing_config'] }));
    expect(log.lines().map((l) => l['key'])).toEqual(['auto_mtu', 'debug', 'symmetric_routing_config']);
  });
});
