// The CNI side of the plugin as pure functions: versions, CNI_* variables, CNI_ARGS, the network
// config on stdin, error codes and result shapes per spec version (CNI spec 0.3.x .. 1.1.0).
import {
  containerIdProblem,
  ifNameProblem,
  namespaceProblem,
  netnsProblem,
  networkNameProblem,
  podNameProblem,
  quote,
} from '../proto/identity.js';
import { DEFAULT_PENDING_DEL_DIR } from '../proto/pendingDel.js';

/** CNI spec versions this plugin accepts in cniVersion (VERSION reports the same list). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';
export const DEFAULT_SOCKET = '/var/run/eni/eni.socket';

/** Well-known CNI error codes (SPEC "Error codes") and this plugin's own (100+). */
export const ErrCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  NOT_AVAILABLE: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  LIMITED_CONNECTIVITY: 51,
  // plugin-specific
  INTERNAL: 100,
  API_MISMATCH: 101,
  DRIVER_FAILED: 102,
  CHECK_FAILED: 103,
} as const;

/** A CNI error result: printed as JSON on stdout, exit code non-zero. */
export class CniError extends Error {
  override name = 'CniError';
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }
}

export function errorJson(e: CniError, cniVersion: string): string {
  const o: Record<string, unknown> = { cniVersion, code: e.code, msg: e.msg };
  if (e.details) o.details = e.details;
  return JSON.stringify(o);
}

/** The config's cniVersion when it is one we speak (for answering errors in kind), else undefined. */
export function peekCniVersion(stdin: string | undefined): string | undefined {
  if (!stdin) return undefined;
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
    return isSupportedVersion(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function versionJson(): string {
  return JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS });
}

// ---- versions ----------------------------------------------------------------------------

/** Parses "X.Y.Z" into numbers, or undefined. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Compares two "X.Y.Z" versions (both must parse). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new CniError(ErrCode.DECODE_FAILURE, `invalid version "${x ? b : a}"`);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function isSupportedVersion(v: unknown): v is string {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Results before 1.0.0 carry ips[].version. */
export function hasIpVersionField(cniVersion: string): boolean {
  return compareVersions(cniVersion, '1.0.0') < 0;
}

// ---- environment -------------------------------------------------------------------------

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

export interface CniEnv {
  command: Command;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
}

// Which CNI_* variables each verb requires (as libcni's skel: CNI_PATH for all but VERSION).
const REQUIRED: Record<Command, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

/** CNI_ARGS is bounded: kubelet's (namespace, name, infra container id, uid) take about 500 bytes. */
export const MAX_CNI_ARGS_BYTES = 4096;

const invalidEnv = (name: string, value: string, problem: string): CniError =>
  new CniError(ErrCode.INVALID_ENV, `invalid ${name} ${quote(value)}`, problem);

/** Container IDs: the CNI spec's characters, at most 255 bytes (proto/identity.ts). */
export function validateContainerId(id: string): void {
  const p = containerIdProblem(id);
  if (p) throw invalidEnv('CNI_CONTAINERID', id, p);
}

/** Linux interface names: 1..15 bytes, not "." or "..", no '/', ':', whitespace or NUL. */
export function validateIfName(name: string): void {
  const p = ifNameProblem(name);
  if (p) throw invalidEnv('CNI_IFNAME', name, p);
}

/** Reads and checks the CNI_* variables for the verb. Throws CniError code 4. */
export function parseEnv(env: Record<string, string | undefined>): CniEnv {
  const raw = env.CNI_COMMAND ?? '';
  if (raw === '') throw new CniError(ErrCode.INVALID_ENV, 'required env variables [CNI_COMMAND] missing');
  if (!(COMMANDS as readonly string[]).includes(raw)) {
    throw new CniError(ErrCode.INVALID_ENV, `unknown CNI_COMMAND: ${raw}`, `CNI_COMMAND must be one of ${COMMANDS.join(', ')}`);
  }
  const command = raw as Command;
  const missing = REQUIRED[command].filter((k) => !env[k]);
  if (missing.length > 0) throw new CniError(ErrCode.INVALID_ENV, `required env variables [${missing.join(',')}] missing`);
  const out: CniEnv = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifName: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: env.CNI_PATH ?? '',
  };
  if (command === 'ADD' || command === 'CHECK' || command === 'DEL') {
    validateContainerId(out.containerId);
    validateIfName(out.ifName);
    const p = netnsProblem(out.netns, command !== 'DEL');
    if (p) throw invalidEnv('CNI_NETNS', out.netns, p);
  }
  if (Buffer.byteLength(out.args) > MAX_CNI_ARGS_BYTES) {
    throw new CniError(ErrCode.INVALID_ENV, 'invalid CNI_ARGS', `longer than ${MAX_CNI_ARGS_BYTES} bytes`);
  }
  return out;
}

/**
 * Parses CNI_ARGS "K1=V1;K2=V2". Unknown keys are kept (IgnoreUnknown semantics); the pod name and namespace
 * kubelet passes must be Kubernetes names (they are stored, logged and written into Events).
 */
export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === '') return out;
  for (const pair of s.split(';')) {
    if (pair === '') continue;
    const i = pair.indexOf('=');
    if (i <= 0) throw new CniError(ErrCode.INVALID_ENV, 'invalid CNI_ARGS', `pair ${quote(pair)} is not KEY=VALUE`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  const name = out.K8S_POD_NAME ?? '';
  const ns = out.K8S_POD_NAMESPACE ?? '';
  const p = podNameProblem(name);
  if (p) throw new CniError(ErrCode.INVALID_ENV, 'invalid CNI_ARGS', `K8S_POD_NAME ${quote(name)} ${p}`);
  const q = namespaceProblem(ns);
  if (q) throw new CniError(ErrCode.INVALID_ENV, 'invalid CNI_ARGS', `K8S_POD_NAMESPACE ${quote(ns)} ${q}`);
  return out;
}

// ---- network config ----------------------------------------------------------------------

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
  [k: string]: unknown;
}
export interface CniIP {
  version?: string;
  address: string;
  gateway?: string;
  interface?: number;
  [k: string]: unknown;
}
export interface CniRoute {
  dst: string;
  gw?: string;
  [k: string]: unknown;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIP[];
  routes?: CniRoute[];
  dns?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface GcAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Daemon socket (config key `socket`). */
  socket: string;
  /** Per-call deadline override in seconds (config key `timeout_seconds`). */
  timeoutSeconds: number | undefined;
  /** Log file (config key `log_file`); without it warnings go to stderr. */
  logFile: string | undefined;
  prevResult: CniResult | undefined;
  dns: Record<string, unknown> | undefined;
  /** GC: `cni.dev/valid-attachments` (or the older `cni.dev/attachments`). */
  validAttachments: GcAttachment[] | undefined;
  /** Keys of Terway's 10-terway.conf that reach the daemon with ADD (NetConfOptions in eni.proto). */
  daemonOptions: DaemonOptions;
  /** Where DEL records a release the daemon could not take (config key `pending_del_dir`). */
  pendingDelDir: string;
  /** How long DEL waits for the daemon before it records the release and succeeds (config key `del_wait_seconds`). */
  delWaitSeconds: number | undefined;
}

/** What the daemon is told of the network config beyond CNI's keys (cni/README.md "Config keys"). */
export interface DaemonOptions {
  /** Pod interface MTU (Terway `mtu`); undefined: the daemon's eni_conf mtu. */
  mtu?: number;
  /** Terway `eniip_virtual_type`, lower-cased: the daemon logs it once when its own driver differs. */
  eniipVirtualType?: string;
  /** Terway `veth_prefix`: the daemon logs it once when its eni_conf veth_prefix differs. */
  vethPrefix?: string;
  /** Keys accepted without acting on them (Terway's others, unknown ones): the daemon logs each once. */
  ignoredKeys: string[];
}

/** Keys of the CNI spec (and of libcni's runtime): never reported. */
const CNI_KEYS = new Set([
  'cniVersion',
  'cniVersions',
  'name',
  'type',
  'args',
  'ipMasq',
  'ipam',
  'dns',
  'prevResult',
  'capabilities',
  'runtimeConfig',
]);
/** This plugin's own keys. */
const OWN_KEYS = new Set([
  'socket',
  'timeout_seconds',
  'log_file',
  'pending_del_dir',
  'del_wait_seconds',
  'cni.dev/valid-attachments',
  'cni.dev/attachments',
]);
/** Terway's 10-terway.conf keys acted on (by the daemon, with ADD). */
const DAEMON_KEYS = new Set(['mtu', 'eniip_virtual_type', 'veth_prefix']);

/**
 * Terway's keys the daemon acts on, and the names of the rest (reported, not refused: a Terway conflist works
 * unchanged). runtimeConfig.bandwidth is reported too: a bandwidth limit is not shaped here.
 */
function readDaemonOptions(raw: Record<string, unknown>): DaemonOptions {
  const out: DaemonOptions = { ignoredKeys: [] };
  const mtu = raw.mtu;
  if (mtu !== undefined && mtu !== null && mtu !== 0) {
    if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      throw invalid('"mtu" must be an integer in 68..65535');
    out.mtu = mtu;
  }
  const vt = optString(raw, 'eniip_virtual_type');
  if (vt) out.eniipVirtualType = vt.toLowerCase();
  const vp = optString(raw, 'veth_prefix');
  if (vp) out.vethPrefix = vp;
  for (const key of Object.keys(raw)) {
    if (!CNI_KEYS.has(key) && !OWN_KEYS.has(key) && !DAEMON_KEYS.has(key)) out.ignoredKeys.push(key);
  }
  const rc = raw.runtimeConfig;
  if (isObject(rc) && rc.bandwidth !== undefined) out.ignoredKeys.push('runtimeConfig.bandwidth');
  out.ignoredKeys.sort();
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(msg: string): CniError {
  return new CniError(ErrCode.INVALID_CONFIG, 'invalid network config', msg);
}

function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`"${key}" must be a string`);
  return v;
}

/**
 * Decodes and checks the network config from stdin for a verb other than VERSION.
 * 6: not a JSON object; 7: a field of the wrong type or value; 1: unsupported cniVersion.
 */
export function parseNetConf(stdin: string, command: Command): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(ErrCode.DECODE_FAILURE, 'cannot decode the network config', (e as Error).message);
  }
  if (!isObject(raw)) throw new CniError(ErrCode.DECODE_FAILURE, 'cannot decode the network config', 'stdin is not a JSON object');

  const name = optString(raw, 'name');
  if (!name) throw invalid('missing network name');
  const nameProblem = networkNameProblem(name);
  if (nameProblem) throw invalid(`network name ${quote(name)} ${nameProblem}`);

  const cniVersion = optString(raw, 'cniVersion');
  // A config without cniVersion is a 0.1.0 config (libcni's rule); we do not speak it.
  if (!cniVersion)
    throw new CniError(
      ErrCode.INCOMPATIBLE_VERSION,
      'incompatible CNI versions',
      `config has no cniVersion (0.1.0); supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(
      ErrCode.INCOMPATIBLE_VERSION,
      'incompatible CNI versions',
      `config is "${cniVersion}", plugin supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (command === 'CHECK' && compareVersions(cniVersion, '0.4.0') < 0) {
    throw new CniError(
      ErrCode.INCOMPATIBLE_VERSION,
      'config version does not allow CHECK',
      `CHECK needs cniVersion >= 0.4.0, got ${cniVersion}`,
    );
  }
  if ((command === 'GC' || command === 'STATUS') && compareVersions(cniVersion, '1.1.0') < 0) {
    throw new CniError(
      ErrCode.INCOMPATIBLE_VERSION,
      `config version does not allow ${command}`,
      `${command} needs cniVersion >= 1.1.0, got ${cniVersion}`,
    );
  }

  const type = optString(raw, 'type') ?? '';
  const socket = optString(raw, 'socket') ?? DEFAULT_SOCKET;
  if (socket === '') throw invalid('"socket" must not be empty');
  const logFile = optString(raw, 'log_file') || undefined;

  const timeoutSeconds = optSeconds(raw, 'timeout_seconds', 3600);
  const delWaitSeconds = optSeconds(raw, 'del_wait_seconds', 600);
  const pendingDelDir = optString(raw, 'pending_del_dir') ?? DEFAULT_PENDING_DEL_DIR;
  if (!pendingDelDir.startsWith('/')) throw invalid('"pending_del_dir" must be an absolute path');

  let prevResult: CniResult | undefined;
  // DEL does not use prevResult: a damaged cached ADD result must not block the release.
  if (raw.prevResult !== undefined && raw.prevResult !== null && command !== 'DEL') {
    prevResult = checkResultShape(raw.prevResult, 'prevResult');
  }

  let dns: Record<string, unknown> | undefined;
  if (raw.dns !== undefined && raw.dns !== null) {
    if (!isObject(raw.dns)) throw invalid('"dns" must be an object');
    dns = raw.dns;
  }

  let validAttachments: GcAttachment[] | undefined;
  const att = raw['cni.dev/valid-attachments'] ?? raw['cni.dev/attachments'];
  if (att !== undefined && att !== null) {
    if (!Array.isArray(att)) throw invalid('"cni.dev/valid-attachments" must be an array');
    validAttachments = att.map((a, i) => {
      if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
        throw invalid(`cni.dev/valid-attachments[${i}] must be {"containerID": string, "ifname": string}`);
      }
      const p = containerIdProblem(a.containerID) ?? ifNameProblem(a.ifname);
      if (p) throw invalid(`cni.dev/valid-attachments[${i}] ${quote(`${a.containerID}/${a.ifname}`)}: ${p}`);
      return { containerID: a.containerID, ifname: a.ifname };
    });
  }

  const daemonOptions = readDaemonOptions(raw);
  return {
    cniVersion,
    name,
    type,
    socket,
    timeoutSeconds,
    logFile,
    prevResult,
    dns,
    validAttachments,
    daemonOptions,
    pendingDelDir,
    delWaitSeconds,
  };
}

/** A number of seconds in (0, max], or undefined when the key is absent. */
function optSeconds(o: Record<string, unknown>, key: string, max: number): number | undefined {
  const t = o[key];
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > max) throw invalid(`"${key}" must be a number in (0, ${max}]`);
  return t;
}

/** Checks that a prevResult has the structure of a CNI result (0.3.0+). Throws code 7. */
export function checkResultShape(v: unknown, what: string): CniResult {
  if (!isObject(v)) throw invalid(`${what} must be an object`);
  const r = v as CniResult;
  if (r.interfaces !== undefined) {
    if (!Array.isArray(r.interfaces)) throw invalid(`${what}.interfaces must be an array`);
    r.interfaces.forEach((i, n) => {
      if (!isObject(i) || typeof i.name !== 'string') throw invalid(`${what}.interfaces[${n}] needs a string "name"`);
    });
  }
  if (r.ips !== undefined) {
    if (!Array.isArray(r.ips)) throw invalid(`${what}.ips must be an array`);
    r.ips.forEach((ip, n) => {
      if (!isObject(ip) || typeof ip.address !== 'string') throw invalid(`${what}.ips[${n}] needs a string "address"`);
      if (ip.interface !== undefined && (typeof ip.interface !== 'number' || !Number.isInteger(ip.interface) || ip.interface < 0)) {
        throw invalid(`${what}.ips[${n}].interface must be a non-negative integer`);
      }
    });
  }
  if (r.routes !== undefined) {
    if (!Array.isArray(r.routes)) throw invalid(`${what}.routes must be an array`);
    r.routes.forEach((rt, n) => {
      if (!isObject(rt) || typeof rt.dst !== 'string') throw invalid(`${what}.routes[${n}] needs a string "dst"`);
    });
  }
  if (r.dns !== undefined && !isObject(r.dns)) throw invalid(`${what}.dns must be an object`);
  return r;
}

// ---- results -----------------------------------------------------------------------------

export function ipFamilyOf(address: string): '4' | '6' {
  return address.includes(':') ? '6' : '4';
}

/** Rewrites one ips[] entry for the target version: 0.3.x/0.4.0 carry "version", 1.x do not. */
function ipForVersion(ip: CniIP, cniVersion: string): CniIP {
  const { version: _drop, ...rest } = ip;
  if (!hasIpVersionField(cniVersion)) return rest;
  return { version: ipFamilyOf(ip.address), ...rest };
}

/** What the daemon wired, in plugin terms. */
export interface Attached {
  ifName: string;
  mac: string;
  netns: string;
  hostIfName: string;
  hostIfMac: string;
  ips: { address: string; gateway: string; family: number }[];
  routes: { dst: string; gw: string }[];
}

/**
 * Builds the ADD result in the requested version's shape. With a prevResult (a chained config
 * where an earlier plugin ran) the earlier interfaces/ips/routes are kept and ours appended.
 */
export function buildAddResult(
  a: Attached,
  cniVersion: string,
  prev: CniResult | undefined,
  dns: Record<string, unknown> | undefined,
): CniResult {
  const interfaces: CniInterface[] = prev?.interfaces ? prev.interfaces.map((i) => ({ ...i })) : [];
  const ips: CniIP[] = prev?.ips ? prev.ips.map((ip) => ipForVersion(ip, cniVersion)) : [];
  const routes: CniRoute[] = prev?.routes ? prev.routes.map((r) => ({ ...r })) : [];

  // Host side first, then the sandbox interface (the order ptp/bridge use; bandwidth and
  // portmap find the host veth as the interface without a sandbox).
  if (a.hostIfName) {
    const host: CniInterface = { name: a.hostIfName };
    if (a.hostIfMac) host.mac = a.hostIfMac;
    interfaces.push(host);
  }
  const pod: CniInterface = { name: a.ifName };
  if (a.mac) pod.mac = a.mac;
  pod.sandbox = a.netns;
  const podIndex = interfaces.push(pod) - 1;

  for (const ip of a.ips) {
    const e: CniIP = { address: ip.address };
    if (ip.gateway) e.gateway = ip.gateway;
    e.interface = podIndex;
    const fam = ip.family === 6 ? '6' : ip.family === 4 ? '4' : ipFamilyOf(ip.address);
    ips.push(hasIpVersionField(cniVersion) ? { version: fam, ...e } : e);
  }
  for (const r of a.routes) {
    const e: CniRoute = { dst: r.dst };
    if (r.gw) e.gw = r.gw;
    routes.push(e);
  }

  const out: CniResult = { cniVersion, interfaces, ips };
  if (routes.length > 0) out.routes = routes;
  const d = dns ?? prev?.dns;
  if (d && Object.keys(d).length > 0) out.dns = d;
  return out;
}

/** Normalises an address for comparison (lowercase; IPv6 text forms are compared as given). */
const normAddr = (s: string): string => s.trim().toLowerCase();

/**
 * CHECK against prevResult: our interface (CNI_IFNAME in CNI_NETNS) must be listed and the
 * addresses listed for it must equal what the daemon holds. Returns nothing or throws 103.
 */
export function checkPrevResult(prev: CniResult, ifName: string, netns: string, daemonIps: string[]): void {
  const ifaces = prev.interfaces ?? [];
  const idx = ifaces.findIndex((i) => i.name === ifName && (i.sandbox === undefined || i.sandbox === '' || i.sandbox === netns));
  if (idx < 0) throw new CniError(ErrCode.CHECK_FAILED, 'CHECK failed', `prevResult lists no interface "${ifName}" in ${netns}`);
  const listed = (prev.ips ?? []).filter((ip) => ip.interface === idx).map((ip) => normAddr(ip.address));
  if (listed.length === 0)
    throw new CniError(ErrCode.CHECK_FAILED, 'CHECK failed', `prevResult lists no address for interface "${ifName}"`);
  const held = new Set(daemonIps.map(normAddr));
  const missing = listed.filter((a) => !held.has(a));
  if (missing.length > 0 || held.size !== new Set(listed).size) {
    throw new CniError(
      ErrCode.CHECK_FAILED,
      'CHECK failed',
      `prevResult addresses [${listed.join(', ')}] differ from the daemon's allocation [${[...held].join(', ')}]`,
    );
  }
}
