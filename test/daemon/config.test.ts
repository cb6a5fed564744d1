import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.js';
import {
  ConfigError,
  DEFAULTS,
  loadDaemonConfig,
  parseDaemonConfig,
  parseGoDuration,
  parseListenAddress,
  redactConfig,
} from '../../daemon/config/index.js';

function bad(raw: unknown): ConfigError {
  try {
    parseDaemonConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(raw)}`);
}

describe('parseGoDuration', () => {
  it.each([
    ['10m', 600_000],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2h45m30.5s', 9_930_500],
    ['100us', 0.1],
    ['0', 0],
    ['-1s', -1000],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });
  it.each(['', '10', 'abc', '10x', 's', '1m x', '1.2.3s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9100', { kind: 'tcp', host: '127.0.0.1', port: 9100 }],
    [':9100', { kind: 'tcp', host: '0.0.0.0', port: 9100 }],
    ['[::1]:0', { kind: 'tcp', host: '::1', port: 0 }],
    ['localhost:8080', { kind: 'tcp', host: 'localhost', port: 8080 }],
    ['/run/eni/metrics.sock', { kind: 'unix', path: '/run/eni/metrics.sock' }],
    ['unix:///run/x.sock', { kind: 'unix', path: '/run/x.sock' }],
  ])('%s', (text, want) => {
    expect(parseListenAddress(text)).toEqual(want);
  });
  it.each(['9100', 'host:99999', 'unix://rel.sock', 'a:b:c'])('rejects %j', (text) => {
    expect(parseListenAddress(text)).toBeUndefined();
  });
});

describe('parseDaemonConfig defaults', () => {
  it('an empty object gives Terway defaults', () => {
    const { config, warnings } = parseDaemonConfig({});
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      daemonMode: 'ENIMultiIP',
      driver: 'veth',
      eniipVirtualType: 'veth',
      ipStack: 'ipv4',
      maxPoolSize: 5,
      minPoolSize: 0,
      idleIpReclaimIntervalMs: 600_000,
      idleIpReclaimBatchSize: 5,
      vSwitchSelectionPolicy: 'random',
      eniSelectionPolicy: 'most_ips',
      socketPath: '/var/run/eni/eni.socket',
      dbPath: DEFAULTS.dbPath,
      mtu: 1500,
      cloudProtocol: 'https',
      metadataEndpoint: 'http://100.100.100.200',
      logLevel: 'info',
      minEni: 0,
      maxEni: 0,
      securityGroupIds: [],
      vSwitches: {},
    });
    expect(config.idleIpReclaimAfterMs).toBeUndefined();
    expect(config.metricsListen).toBeUndefined();
  });
});

describe('parseDaemonConfig: every key, good values', () => {
  const full = {
    version: '1',
    access_key: 'AKID',
    access_secret: 's3cr3t',
    credential_path: '/var/addon/token-config',
    region_id: 'cn-hangzhou',
    vswitches: { 'cn-hangzhou-h': ['vsw-a', 'vsw-b', 'vsw-a'], 'cn-hangzhou-i': ['vsw-c'] },
    vswitch_selection_policy: 'ordered',
    security_group: 'sg-1',
    security_groups: ['sg-1', 'sg-2'],
    service_cidr: '172.21.0.0/20,fd00::/120',
    max_pool_size: 10,
    min_pool_size: 2,
    idle_ip_reclaim_after: '5m',
    idle_ip_reclaim_interval: '30s',
    idle_ip_reclaim_batch_size: 3,
    idle_ip_reclaim_jitter_factor: 0.2,
    min_eni: 1,
    max_eni: 3,
    eni_selection_policy: 'least_ips',
    eni_tags: { team: 'net' },
    eni_tag_filter: { owner: 'me' },
    rate_limit: { DescribeNetworkInterfaces: 400, AssignPrivateIpAddresses: 200 },
    backoff_override: { eni_create: { duration: '1s', factor: 2, jitter: 0.3, steps: 4, cap: '30s' }, eni_ops: { Duration: 500000000 } },
    ip_stack: 'ipv4',
    daemon_mode: 'ENIMultiIP',
    pod_cidr: '172.20.4.0/24',
    eniip_virtual_type: 'ipvlan',
    mtu: 9000,
    cloud_endpoint: 'http://127.0.0.1:8080',
    vpc_endpoint: '127.0.0.1:8080',
    cloud_protocol: 'http',
    metadata_endpoint: 'http://127.0.0.1:8080/metadata/i-1/',
    socket_path: '/tmp/eni-test/eni.socket',
    db_path: '/tmp/eni-test/pods.db',
    ip_cooldown: '10s',
    stateful_ip_reserve: '1h',
    driver: 'none',
    veth_prefix: 'cali',
    host_netns_path: '/var/run/netns/node1',
    instance_id: 'i-test',
    log_level: 'debug',
    metrics_listen: '127.0.0.1:0',
    alloc_timeout: '20s',
    shutdown_timeout: '3s',
  };

  it('parses them all', () => {
    const { config, warnings } = parseDaemonConfig(full);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      version: '1',
      accessKey: 'AKID',
      accessSecret: 's3cr3t',
      credentialPath: '/var/addon/token-config',
      regionId: 'cn-hangzhou',
      vSwitches: { 'cn-hangzhou-h': ['vsw-a', 'vsw-b'], 'cn-hangzhou-i': ['vsw-c'] },
      vSwitchSelectionPolicy: 'ordered',
      securityGroupIds: ['sg-1', 'sg-2'],
      serviceCidrs: ['172.21.0.0/20', 'fd00::/120'],
      maxPoolSize: 10,
      minPoolSize: 2,
      idleIpReclaimAfterMs: 300_000,
      idleIpReclaimIntervalMs: 30_000,
      idleIpReclaimBatchSize: 3,
      idleIpReclaimJitterFactor: 0.2,
      minEni: 1,
      maxEni: 3,
      eniSelectionPolicy: 'least_ips',
      eniTags: { team: 'net' },
      eniTagFilter: { owner: 'me' },
      rateLimit: { DescribeNetworkInterfaces: 400, AssignPrivateIpAddresses: 200 },
      backoffOverride: { eni_create: { durationMs: 1000, factor: 2, jitter: 0.3, steps: 4, capMs: 30_000 }, eni_ops: { durationMs: 500 } },
      ipStack: 'ipv4',
      daemonMode: 'ENIMultiIP',
      podCidr: '172.20.4.0/24',
      eniipVirtualType: 'ipvlan',
      mtu: 9000,
      cloudEndpoint: '127.0.0.1:8080',
      vpcEndpoint: '127.0.0.1:8080',
      cloudProtocol: 'http',
      metadataEndpoint: 'http://127.0.0.1:8080/metadata/i-1',
      socketPath: '/tmp/eni-test/eni.socket',
      dbPath: '/tmp/eni-test/pods.db',
      ipCooldownMs: 10_000,
      statefulIpReserveMs: 3_600_000,
      driver: 'none',
      vethPrefix: 'cali',
      hostNetnsPath: '/var/run/netns/node1',
      instanceId: 'i-test',
      logLevel: 'debug',
      metricsListen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      allocTimeoutMs: 20_000,
      shutdownTimeoutMs: 3_000,
    });
  });

  it('accepts a ConfigMap-style wrapper with eni_conf as a string', () => {
    const { config } = parseDaemonConfig({ eni_conf: JSON.stringify({ max_pool_size: 7 }) });
    expect(config.maxPoolSize).toBe(7);
  });

  it('derives the driver from the mode and eniip_virtual_type', () => {
    expect(parseDaemonConfig({ eniip_virtual_type: 'ipvlan' }).config.driver).toBe('ipvlan');
    expect(parseDaemonConfig({ daemon_mode: 'VPCENI' }).config.driver).toBe('rawEni');
    expect(parseDaemonConfig({ daemon_mode: 'VPCIP', pod_cidr: '172.20.1.0/24' }).config.driver).toBe('veth');
  });

  it('ip_stack dual: taken in ENIMultiIP (veth, ipvlan) and VPCENI (rawEni); VPCIP says at start that its pods stay IPv4', () => {
    expect(parseDaemonConfig({ ip_stack: 'dual' })).toMatchObject({ config: { ipStack: 'dual' }, warnings: [] });
    expect(parseDaemonConfig({ ip_stack: 'dual', eniip_virtual_type: 'ipvlan' })).toMatchObject({
      config: { ipStack: 'dual', driver: 'ipvlan' },
      warnings: [],
    });
    expect(parseDaemonConfig({ ip_stack: 'dual', daemon_mode: 'VPCENI' })).toMatchObject({
      config: { ipStack: 'dual', driver: 'rawEni' },
      warnings: [],
    });
    const vpcIp = parseDaemonConfig({ ip_stack: 'dual', daemon_mode: 'VPCIP', pod_cidr: '172.20.1.0/24' });
    expect(vpcIp.config.ipStack).toBe('ipv4');
    expect(vpcIp.warnings).toEqual(['eni_conf.ip_stack: dual is ignored in daemon_mode VPCIP: its pods get IPv4 addresses only']);
    expect(parseDaemonConfig({ daemon_mode: 'VPCENI', driver: 'none' }).config.driver).toBe('none');
  });

  it('max_pool_size defaults up to min_pool_size when only the minimum is raised', () => {
    expect(parseDaemonConfig({ min_pool_size: 8 }).config.maxPoolSize).toBe(8);
  });

  it('null reads as unset (Go omitempty style)', () => {
    expect(parseDaemonConfig({ max_pool_size: null, vswitches: null }).config).toMatchObject({ maxPoolSize: 5, vSwitches: {} });
  });

  it('redactConfig hides credentials', () => {
    const red = redactConfig(parseDaemonConfig(full).config);
    expect(JSON.stringify(red)).not.toContain('s3cr3t');
    expect(JSON.stringify(red)).not.toContain('AKID');
    expect(red['accessSecret']).toBe('<redacted>');
  });
});

describe("parseDaemonConfig: credentials as Terway's chart renders them", () => {
  it('empty access_key / access_secret / credential_path mean unset (the chain goes on to the RAM role)', () => {
    const { config, warnings } = parseDaemonConfig({ access_key: '', access_secret: '', credential_path: '' });
    expect(warnings).toEqual([]);
    expect(config.accessKey).toBeUndefined();
    expect(config.accessSecret).toBeUndefined();
    expect(config.credentialPath).toBeUndefined();
  });
});

describe('parseDaemonConfig: bad values name the key', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'max_pool_size',
      { max_pool_size: 'abc' },
      /eni_conf\.max_pool_size: must be an integer >= min_pool_size \(0\), at most 10000 \(got "abc"\)/,
    ],
    [
      'max_pool_size',
      { min_pool_size: 5, max_pool_size: 3 },
      /eni_conf\.max_pool_size: must be an integer >= min_pool_size \(5\), at most 10000 \(got 3\)/,
    ],
    ['min_pool_size', { min_pool_size: -1 }, /eni_conf\.min_pool_size: must be an integer in 0\.\.10000 \(got -1\)/],
    ['min_pool_size', { min_pool_size: 1.5 }, /eni_conf\.min_pool_size: must be an integer/],
    ['version', { version: 2 }, /eni_conf\.version: must be a string \(got 2\)/],
    ['access_key', { access_key: 'AK' }, /eni_conf\.access_secret: access_key and access_secret must be set together/],
    ['access_secret', { access_key: 'AK', access_secret: 12345 }, /eni_conf\.access_secret: must be a string \(got <redacted>\)/],
    [
      'access_secret',
      { access_key: 'AK', access_secret: '' },
      /eni_conf\.access_secret: access_key and access_secret must be set together/,
    ],
    ['region_id', { region_id: ['x'] }, /eni_conf\.region_id: must be a string/],
    ['vswitches', { vswitches: ['vsw-1'] }, /eni_conf\.vswitches: must be an object of zone id -> \[vSwitch ids\]/],
    ['vswitches.<zone>', { vswitches: { 'cn-h': 'vsw-1' } }, /eni_conf\.vswitches\.cn-h: must be a list of vSwitch ids/],
    [
      'vswitch_selection_policy',
      { vswitch_selection_policy: 'best' },
      /eni_conf\.vswitch_selection_policy: must be one of random\|ordered\|most \(got "best"\)/,
    ],
    ['security_group', { security_group: 5 }, /eni_conf\.security_group: must be a string/],
    ['security_groups', { security_groups: 'sg-1' }, /eni_conf\.security_groups: must be a list of security group ids/],
    [
      'security_groups',
      { security_groups: Array.from({ length: 11 }, (_, i) => `sg-${i}`) },
      /eni_conf\.security_groups: at most 10 security groups per ENI \(got 11\)/,
    ],
    ['service_cidr', { service_cidr: '10.0.0.0/33' }, /eni_conf\.service_cidr: must be a CIDR/],
    [
      'idle_ip_reclaim_after',
      { idle_ip_reclaim_after: '10' },
      /eni_conf\.idle_ip_reclaim_after: must be a positive duration like "30s", "10m" or "1h30m", from 1s up to 168h \(got "10"\)/,
    ],
    ['idle_ip_reclaim_interval', { idle_ip_reclaim_interval: 600 }, /eni_conf\.idle_ip_reclaim_interval: must be a positive duration/],
    [
      'idle_ip_reclaim_batch_size',
      { idle_ip_reclaim_batch_size: 0 },
      /eni_conf\.idle_ip_reclaim_batch_size: must be an integer in 1\.\.1000 \(got 0\)/,
    ],
    [
      'idle_ip_reclaim_jitter_factor',
      { idle_ip_reclaim_jitter_factor: 2 },
      /eni_conf\.idle_ip_reclaim_jitter_factor: must be a number in 0\.\.1/,
    ],
    ['min_eni', { min_eni: 'one' }, /eni_conf\.min_eni: must be an integer in 0\.\.128/],
    ['max_eni', { min_eni: 3, max_eni: 2 }, /eni_conf\.max_eni: must be 0 \(the instance limit\) or >= min_eni \(3\) \(got 2\)/],
    ['eni_selection_policy', { eni_selection_policy: 'most' }, /eni_conf\.eni_selection_policy: must be one of most_ips\|least_ips/],
    ['eni_tags', { eni_tags: 'a=b' }, /eni_conf\.eni_tags: must be an object of string values/],
    ['eni_tags.<k>', { eni_tags: { a: 1 } }, /eni_conf\.eni_tags\.a: must be a string \(got 1\)/],
    ['eni_tag_filter', { eni_tag_filter: [] }, /eni_conf\.eni_tag_filter: must be an object/],
    ['rate_limit', { rate_limit: 10 }, /eni_conf\.rate_limit: must be an object of API name -> calls per minute/],
    [
      'rate_limit.<api>',
      { rate_limit: { DescribeNetworkInterfaces: -5 } },
      /eni_conf\.rate_limit\.DescribeNetworkInterfaces: must be a positive number/,
    ],
    [
      'backoff_override.<k>.<f>',
      { backoff_override: { eni_create: { duration: 'soon' } } },
      /eni_conf\.backoff_override\.eni_create\.duration: must be a duration/,
    ],
    [
      'backoff_override.<k>.steps',
      { backoff_override: { eni_ops: { steps: 0 } } },
      /eni_conf\.backoff_override\.eni_ops\.steps: must be an integer in 1\.\.1000/,
    ],
    ['ip_stack ipv6', { ip_stack: 'ipv6' }, /eni_conf\.ip_stack: "ipv6" alone is not supported \(as in Terway\): use ipv4 or dual/],
    ['ip_stack other', { ip_stack: 'v4' }, /eni_conf\.ip_stack: must be one of ipv4\|dual\|ipv6/],
    ['pod_cidr required', { daemon_mode: 'VPCIP' }, /eni_conf\.pod_cidr: is required when daemon_mode is VPCIP/],
    [
      'pod_cidr host bits',
      { pod_cidr: '172.20.1.5/24' },
      /eni_conf\.pod_cidr: must be an IPv4 CIDR .*has host bits set \(network is 172\.20\.1\.0\/24\)/,
    ],
    ['pod_cidr prefix', { pod_cidr: '172.20.1.0/31' }, /eni_conf\.pod_cidr: .*prefix \/31 out of range/],
    [
      'driver vs VPCIP',
      { daemon_mode: 'VPCIP', pod_cidr: '172.20.1.0/24', driver: 'ipvlan' },
      /eni_conf\.driver: daemon_mode VPCIP is wired with veth/,
    ],
    ['daemon_mode', { daemon_mode: 'ENIOnly' }, /eni_conf\.daemon_mode: must be one of ENIMultiIP\|VPCENI\|VPCIP \(got "ENIOnly"\)/],
    [
      'eniip_virtual_type',
      { eniip_virtual_type: 'macvtap' },
      /eni_conf\.eniip_virtual_type: must be one of veth\|ipvlan\|datapathv2 \(any case\)/,
    ],
    [
      'idle_ip_reclaim_jitter_factor string',
      { idle_ip_reclaim_jitter_factor: 'lots' },
      /eni_conf\.idle_ip_reclaim_jitter_factor: must be a number in 0\.\.1 \(got "lots"\)/,
    ],
    ['eni_cap_ratio', { eni_cap_ratio: 0 }, /eni_conf\.eni_cap_ratio: must be a number > 0/],
    ['eni_cap_shift', { eni_cap_shift: 1.5 }, /eni_conf\.eni_cap_shift: must be an integer/],
    [
      'access_key empty with a secret',
      { access_key: '', access_secret: 'x' },
      /eni_conf\.access_key: access_key and access_secret must be set together/,
    ],
    ['mtu', { mtu: 20 }, /eni_conf\.mtu: must be an integer in 68\.\.65535 \(got 20\)/],
    ['cloud_endpoint', { cloud_endpoint: 'ftp://x' }, /eni_conf\.cloud_endpoint: must be a host\[:port\] or an http\(s\) URL/],
    ['vpc_endpoint', { vpc_endpoint: 'has space' }, /eni_conf\.vpc_endpoint: must be a host\[:port\]/],
    ['cloud_protocol', { cloud_protocol: 'tcp' }, /eni_conf\.cloud_protocol: must be one of https\|http/],
    [
      'cloud_protocol vs scheme',
      { cloud_endpoint: 'http://127.0.0.1:1', cloud_protocol: 'https' },
      /eni_conf\.cloud_endpoint: URL scheme http contradicts cloud_protocol https/,
    ],
    ['metadata_endpoint', { metadata_endpoint: '100.100.100.200' }, /eni_conf\.metadata_endpoint: must be an http\(s\) URL/],
    ['socket_path', { socket_path: `/tmp/${'x'.repeat(120)}` }, /eni_conf\.socket_path: unix socket paths are limited to 107 bytes/],
    ['db_path', { db_path: 7 }, /eni_conf\.db_path: must be a string/],
    ['ip_cooldown', { ip_cooldown: '-1s' }, /eni_conf\.ip_cooldown: must be a non-negative duration/],
    ['stateful_ip_reserve', { stateful_ip_reserve: 'forever' }, /eni_conf\.stateful_ip_reserve: must be a non-negative duration/],
    ['driver', { driver: 'macvlan' }, /eni_conf\.driver: must be one of veth\|ipvlan\|rawEni\|none/],
    ['driver vs mode', { driver: 'rawEni' }, /eni_conf\.driver: rawEni needs daemon_mode VPCENI/],
    ['driver vs VPCENI', { daemon_mode: 'VPCENI', driver: 'veth' }, /eni_conf\.driver: daemon_mode VPCENI moves a whole ENI/],
    ['veth_prefix', { veth_prefix: 'toolongprefix' }, /eni_conf\.veth_prefix: must be 1-7 letters/],
    ['host_netns_path', { host_netns_path: '' }, /eni_conf\.host_netns_path: must not be empty/],
    ['instance_id', { instance_id: 42 }, /eni_conf\.instance_id: must be a string/],
    ['log_level', { log_level: 'verbose' }, /eni_conf\.log_level: must be one of trace\|debug\|info\|warn\|error\|fatal\|silent/],
    ['metrics_listen', { metrics_listen: 'nine' }, /eni_conf\.metrics_listen: must be host:port, :port or a unix socket path/],
    ['alloc_timeout', { alloc_timeout: '0s' }, /eni_conf\.alloc_timeout: must be a positive duration/],
    ['shutdown_timeout', { shutdown_timeout: 5 }, /eni_conf\.shutdown_timeout: must be a non-negative duration/],
  ])('%s', (_name, raw, want) => {
    const err = bad(raw);
    expect(err.message).toMatch(/^config error: /);
    expect(err.message).toMatch(want);
  });

  it('reports every bad key at once', () => {
    const err = bad({ max_pool_size: 'x', mtu: 'y', log_level: 'z' });
    expect(err.issues.map((i) => i.key).sort()).toEqual(['log_level', 'max_pool_size', 'mtu']);
    expect(err.message.split('\n')).toHaveLength(3);
  });

  it('never echoes a secret value', () => {
    const err = bad({ access_key: { nested: 'AKIDSECRETVALUE' }, access_secret: 'x' });
    expect(err.message).not.toContain('AKIDSECRETVALUE');
  });

  it('rejects a non-object document and bad inner JSON', () => {
    expect(bad([1, 2]).message).toMatch(/^config error: eni_conf: must be a JSON object/);
    expect(bad({ eni_conf: '{nope' }).message).toMatch(/eni_conf is not valid JSON/);
  });
});

describe("parseDaemonConfig: Terway's values with Terway's meaning", () => {
  // charts/terway/templates/terwayd/configmap.yaml, rendered with the default values (centralizedIPAM off).
  const terwayChartEniConf = {
    version: '1',
    max_pool_size: 5,
    min_pool_size: 0,
    enable_eni_trunking: false,
    access_key: '',
    access_secret: '',
    vswitches: { 'cn-hangzhou-h': ['vsw-mock-a', 'vsw-mock-b'] },
    service_cidr: '10.96.0.0/12',
    security_groups: ['sg-mock-1'],
    ip_stack: 'ipv4',
    vswitch_selection_policy: 'ordered',
  };

  it("the chart's default eni_conf parses without a warning: empty credentials are unset, trunking off is silent", () => {
    const { config, warnings } = parseDaemonConfig(terwayChartEniConf);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ maxPoolSize: 5, minPoolSize: 0, vSwitchSelectionPolicy: 'ordered', securityGroupIds: ['sg-mock-1'] });
    expect(config.accessKey).toBeUndefined();
    expect(config.accessSecret).toBeUndefined();
  });

  it('vswitch_selection_policy: ordered and most mean "most free IPs first"; random; Terway\'s default is random', () => {
    expect(parseDaemonConfig({ vswitch_selection_policy: 'most' }).config.vSwitchSelectionPolicy).toBe('ordered');
    expect(parseDaemonConfig({ vswitch_selection_policy: 'ordered' }).config.vSwitchSelectionPolicy).toBe('ordered');
    expect(parseDaemonConfig({}).config.vSwitchSelectionPolicy).toBe('random');
  });

  it('idle_ip_reclaim_jitter_factor is a string in Terway ("0.1"); a number works too', () => {
    expect(parseDaemonConfig({ idle_ip_reclaim_jitter_factor: '0.3' }).config.idleIpReclaimJitterFactor).toBe(0.3);
    expect(parseDaemonConfig({ idle_ip_reclaim_jitter_factor: 0.3 }).config.idleIpReclaimJitterFactor).toBe(0.3);
  });

  it('eniip_virtual_type is case-insensitive; datapathv2 is wired as veth (with a warning)', () => {
    expect(parseDaemonConfig({ eniip_virtual_type: 'IPVlan' }).config).toMatchObject({ eniipVirtualType: 'ipvlan', driver: 'ipvlan' });
    const v2 = parseDaemonConfig({ eniip_virtual_type: 'DataPathV2' });
    expect(v2.config).toMatchObject({ eniipVirtualType: 'veth', driver: 'veth' });
    expect(v2.warnings).toEqual(['eni_conf.eniip_virtual_type: datapathv2 (eBPF) is wired as veth + policy routing']);
  });

  it('eni_cap_ratio and eni_cap_shift are read (defaults 1 and 0)', () => {
    expect(parseDaemonConfig({}).config).toMatchObject({ eniCapRatio: 1, eniCapShift: 0 });
    expect(parseDaemonConfig({ eni_cap_ratio: 0.5, eni_cap_shift: -1 }).config).toMatchObject({ eniCapRatio: 0.5, eniCapShift: -1 });
  });
});

describe('parseDaemonConfig: unknown keys warn, not fail', () => {
  it('warns on unknown and on known-but-ignored Terway keys', () => {
    const { config, warnings } = parseDaemonConfig({ max_pool_size: 6, enable_eni_trunking: true, colour: 'blue' });
    expect(config.maxPoolSize).toBe(6);
    expect(warnings).toContain('eni_conf.colour: unknown key, ignored');
    expect(warnings.find((w) => w.startsWith('eni_conf.enable_eni_trunking: ignored'))).toMatch(/trunk ENIs are not supported/);
  });

  it('ipam_type: node-local by default, crd (centralized, ENIMultiIP only) when asked; credentials then only warn', () => {
    expect(parseDaemonConfig({}).config.ipamType).toBe('');
    const crd = parseDaemonConfig({ ipam_type: 'crd', access_key: 'ak', access_secret: 'sk' });
    expect(crd.config.ipamType).toBe('crd');
    expect(crd.warnings.find((w) => w.startsWith('eni_conf.access_key'))).toMatch(/no cloud call/);
    expect(() => parseDaemonConfig({ ipam_type: 'crd', daemon_mode: 'VPCENI' })).toThrow(/ipam_type: crd .* ENIMultiIP only/);
    expect(() => parseDaemonConfig({ ipam_type: 'crd', ip_stack: 'dual' })).toThrow(/ip_stack: dual is not built for ipam_type crd/);
    expect(() => parseDaemonConfig({ ipam_type: 'preferCRD' })).toThrow(/ipam_type/);
  });

  it('warns on unknown backoff fields', () => {
    const { warnings } = parseDaemonConfig({ backoff_override: { eni_ops: { speed: 1 } } });
    expect(warnings).toEqual(['eni_conf.backoff_override.eni_ops.speed: unknown backoff field, ignored']);
  });
});

describe('loadDaemonConfig', () => {
  const dir = tempDir('eni-config-');
  it('reads a file', async () => {
    const p = join(dir, 'eni_conf');
    writeFileSync(p, JSON.stringify({ min_pool_size: 1, max_pool_size: 4, unknown_thing: 1 }));
    const { config, warnings } = await loadDaemonConfig(p);
    expect(config.maxPoolSize).toBe(4);
    expect(warnings).toHaveLength(1);
  });
  it('names a missing file and bad JSON', async () => {
    await expect(loadDaemonConfig(join(dir, 'nope'))).rejects.toThrow(/cannot read config file .*nope: ENOENT/);
    const p = join(dir, 'broken');
    writeFileSync(p, '{"max_pool_size": ');
    await expect(loadDaemonConfig(p)).rejects.toThrow(/config file .*broken is not valid JSON/);
  });
});
