// Byte compatibility of cni/wire.ts with protobufjs (what @grpc/proto-loader uses on the daemon
// side) on proto/eni.proto, message by message, both directions.
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wire from '../../cni/wire.js';
import { PROTO_PATH } from './fakeDaemon.js';

let root: protobuf.Root;
beforeAll(async () => {
  root = await protobuf.load(PROTO_PATH);
});

const pod: wire.PodRef = {
  k8sPodName: 'web-0',
  k8sPodNamespace: 'default',
  k8sPodInfraContainerId: 'c0ffee',
  netns: '/var/run/netns/cni-1',
  ifName: 'eth0',
  networkName: 'terway',
};

// Every message with its fields set to non-default values (unicode and >1-byte varints included).
const samples: [string, wire.Schema<object>, Record<string, unknown>][] = [
  ['PodRef', wire.PodRefSchema, { ...pod, k8sPodName: 'pöd-ü-名' }],
  [
    'AllocIPRequest',
    wire.AllocIPRequestSchema,
    {
      pod,
      apiVersion: 1,
      pluginVersion: '0.1.0',
      netConf: { mtu: 9000, eniipVirtualType: 'ipvlan', vethPrefix: 'cali', ignoredKeys: ['auto_mtu', 'network_policy_provider'] },
    },
  ],
  [
    'NetConfOptions',
    wire.NetConfOptionsSchema,
    { mtu: 1400, eniipVirtualType: 'datapathv2', vethPrefix: 'eni', ignoredKeys: ['host_stack_cidrs', 'runtimeConfig.bandwidth'] },
  ],
  ['IPConfig', wire.IPConfigSchema, { address: '10.0.0.5/32', gateway: '10.0.0.253', family: 4 }],
  ['Route', wire.RouteSchema, { dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  [
    'PodInterface',
    wire.PodInterfaceSchema,
    { name: 'eth0', mac: '02:00:00:00:00:01', hostIfName: 'cali1', hostIfMac: 'ee:ee:ee:ee:ee:ee' },
  ],
  [
    'AllocIPReply',
    wire.AllocIPReplySchema,
    {
      success: true,
      failureReason: 1,
      message: 'm',
      ipType: 3,
      ips: [
        { address: '10.0.0.5/32', gateway: '10.0.0.253', family: 4 },
        { address: 'fd00::5/128', gateway: 'fe80::1', family: 6 },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '10.0.0.0/8' }],
      interface: { name: 'eth0', mac: '02:00:00:00:00:01', hostIfName: 'cali1', hostIfMac: 'ee:ee:ee:ee:ee:ee' },
      eniId: 'eni-1',
      eniMac: '00:16:3e:00:00:01',
      vswitchId: 'vsw-1',
      cloudErrorCode: 'InvalidVSwitchId.IpNotEnough',
    },
  ],
  ['ReleaseIPRequest', wire.ReleaseIPRequestSchema, { pod, apiVersion: 1, pluginVersion: 'v', reason: 'cni DEL' }],
  ['ReleaseIPReply', wire.ReleaseIPReplySchema, { success: true, failureReason: 5, message: 'x', releasedIp: '10.0.0.5' }],
  ['GetInfoRequest', wire.GetInfoRequestSchema, { pod, apiVersion: 300 }],
  [
    'GetInfoReply',
    wire.GetInfoReplySchema,
    {
      success: true,
      failureReason: 8,
      message: 'y',
      found: true,
      ipType: 2,
      ips: [{ address: '10.0.0.5/32', family: 4 }],
      eniId: 'eni-2',
      eniMac: 'aa',
      netns: '/n',
    },
  ],
  ['CheckIPRequest', wire.CheckIPRequestSchema, { pod, apiVersion: 1, pluginVersion: 'v' }],
  ['CheckIPReply', wire.CheckIPReplySchema, { success: true, failureReason: 8, message: 'route missing' }],
  [
    'EventRequest',
    wire.EventRequestSchema,
    { target: 1, k8sPodName: 'p', k8sPodNamespace: 'n', type: 1, reason: 'AllocIPFailed', message: 'boom' },
  ],
  ['EventReply', wire.EventReplySchema, { succeed: true, error: 'e' }],
  ['StatusRequest', wire.StatusRequestSchema, { apiVersion: 1 }],
  ['StatusReply', wire.StatusReplySchema, { ready: true, message: 'ok', ipType: 3, freeIps: 4_000_000_000, totalIps: 129, apiVersion: 1 }],
  ['Attachment', wire.AttachmentSchema, { containerId: 'c1', ifName: 'eth0' }],
  [
    'GCRequest',
    wire.GCRequestSchema,
    {
      networkName: 'terway',
      validAttachments: [
        { containerId: 'c1', ifName: 'eth0' },
        { containerId: 'c2', ifName: 'eth1' },
      ],
      apiVersion: 1,
    },
  ],
  ['GCReply', wire.GCReplySchema, { success: true, message: 'm', released: ['c3/eth0/terway', ''] }],
];

const type = (name: string) => root.lookupType(`eniipam.v1.${name}`);
const pbToObject = (name: string, bytes: Uint8Array) =>
  type(name).toObject(type(name).decode(bytes), { defaults: true, longs: Number, enums: Number, arrays: true });

describe('wire codec vs protobufjs', () => {
  it('covers every message of eni.proto', () => {
    const ns = root.lookup('eniipam.v1') as protobuf.Namespace;
    const messages = ns.nestedArray
      .filter((n) => n instanceof protobuf.Type)
      .map((n) => n.name)
      .sort();
    expect(samples.map(([n]) => n).sort()).toEqual(messages);
    // and every field of each, with the same numbers
    for (const [name, schema] of samples) {
      const t = type(name);
      const theirs = t.fieldsArray.map((f) => [f.name, f.id, f.repeated]).sort();
      const ours = schema.fields.map((f) => [f.key, f.no, f.repeated === true]).sort();
      expect(ours, name).toEqual(theirs);
    }
  });

  for (const [name, schema, msg] of samples) {
    it(`${name}: same bytes as protobufjs and round-trips both ways`, () => {
      const ours = wire.encode(schema, msg);
      const theirs = type(name).encode(type(name).fromObject(msg)).finish();
      expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
      expect(wire.decode(schema, theirs)).toEqual(pbToObject(name, ours));
    });
  }

  it('omits default values like protobufjs does for absent fields, and decodes to defaults', () => {
    const ours = wire.encode(wire.AllocIPReplySchema, { success: false, message: '', ips: [] });
    expect(ours.length).toBe(0);
    const d = wire.decode(wire.AllocIPReplySchema, new Uint8Array());
    expect(d).toEqual(pbToObject('AllocIPReply', new Uint8Array()));
    expect(d.interface).toBeNull();
  });

  it('decodes explicitly encoded defaults and skips unknown fields of every wire type', () => {
    // fields 1 (bool false), 2 (empty string) explicitly present, then unknown 20 (varint), 21 (i64),
    // 22 (len), 23 (i32), then ready=true
    const bytes = Buffer.from([
      0x08, 0x00, 0x12, 0x00, 0xa0, 0x01, 0x96, 0x01, 0xa9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xb2, 0x01, 0x02, 0x41, 0x42, 0xbd, 0x01, 1, 2, 3,
      4, 0x08, 0x01,
    ]);
    const d = wire.decode(wire.StatusReplySchema, bytes);
    expect(d).toEqual({ ready: true, message: '', ipType: 0, freeIps: 0, totalIps: 0, apiVersion: 0 });
    expect(d).toEqual(pbToObject('StatusReply', bytes));
  });

  it('reads uint64-sized varints as their low 32 bits like protobufjs uint32', () => {
    // field 4 (free_ips) = 2^32 + 7, encoded in 5 bytes
    const bytes = Buffer.from([0x20, 0x87, 0x80, 0x80, 0x80, 0x10]);
    expect(wire.decode(wire.StatusReplySchema, bytes).freeIps).toBe(pbToObject('StatusReply', bytes).freeIps);
  });

  it('rejects truncated and malformed input', () => {
    const good = wire.encode(wire.AllocIPReplySchema, samples.find(([n]) => n === 'AllocIPReply')![2] as Partial<wire.AllocIPReply>);
    expect(() => wire.decode(wire.AllocIPReplySchema, good.subarray(0, good.length - 3))).toThrow(wire.WireError);
    expect(() => wire.decode(wire.StatusReplySchema, Buffer.from([0x08]))).toThrow(wire.WireError); // varint cut
    expect(() => wire.decode(wire.StatusReplySchema, Buffer.from([0x0a, 0x01, 0x00]))).toThrow(/wire type/); // bool sent as len
    expect(() => wire.decode(wire.StatusReplySchema, Buffer.from([0x0b]))).toThrow(/wire type 3/); // group
    expect(() => wire.encode(wire.StatusRequestSchema, { apiVersion: -1 })).toThrow(wire.WireError);
  });

  it('merges a repeated singular message field (protobuf spec; protobufjs replaces instead)', () => {
    const a = wire.encode(wire.AllocIPReplySchema, { interface: { name: 'eth0', mac: '', hostIfName: '', hostIfMac: '' } });
    const b = wire.encode(wire.AllocIPReplySchema, { interface: { name: '', mac: 'aa', hostIfName: '', hostIfMac: '' } });
    const both = Buffer.concat([a, b]);
    expect(wire.decode(wire.AllocIPReplySchema, both).interface).toEqual({ name: 'eth0', mac: 'aa', hostIfName: '', hostIfMac: '' });
  });
});
