// ADD must not keep an allocation the runtime never learns about: when the AllocIP outcome is
// unknown (garbled reply, deadline passed, daemon-side crash) the plugin releases the pod key.
import { describe, expect, it } from 'vitest';
import { cmdAdd, type Invocation } from '../../cni/commands.js';
import type { EniBackend } from '../../cni/daemonClient.js';
import { DaemonUnreachableError, GrpcCode, GrpcStatusError } from '../../cni/grpc.js';
import { CniError, parseEnv, parseNetConf } from '../../cni/spec.js';
import { WireError, type ReleaseIPRequest } from '../../cni/wire.js';

function invocation(): Invocation {
  const env = parseEnv({
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
  });
  const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'terway', type: 'terway' }), 'ADD');
  return { env, conf, cniArgs: {}, pluginVersion: 'test' };
}

function backend(allocError: unknown): { b: EniBackend; released: ReleaseIPRequest[] } {
  const released: ReleaseIPRequest[] = [];
  const no = () => Promise.reject(new Error('not used'));
  const b: EniBackend = {
    allocIP: () => Promise.reject(allocError),
    releaseIP: (r) => {
      released.push(r);
      return Promise.resolve({ success: true, failureReason: 0, message: '', releasedIp: '10.0.0.5' });
    },
    getIPInfo: no,
    checkIP: no,
    recordEvent: no,
    status: no,
    gc: no,
  };
  return { b, released };
}

const io = {
  print: () => {},
  log: { info: () => {}, warn: () => {}, error: () => {} },
  recordPendingDel: (): never => {
    throw new Error('no DEL here');
  },
};

async function addError(allocError: unknown): Promise<{ err: CniError; released: ReleaseIPRequest[] }> {
  const { b, released } = backend(allocError);
  try {
    await cmdAdd(invocation(), b, io);
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return { err: e as CniError, released };
  }
  throw new Error('ADD should have failed');
}

describe('ADD when the AllocIP outcome is unknown', () => {
  it.each([
    ['a reply that does not decode', new WireError('truncated varint'), 100],
    ['the deadline passed', new GrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, 'no reply within 120000 ms'), 11],
    ['the handler crashed (INTERNAL)', new GrpcStatusError(GrpcCode.INTERNAL, 'boom'), 100],
    ['the stream was cut after the daemon started (UNAVAILABLE)', new GrpcStatusError(GrpcCode.UNAVAILABLE, 'closed'), 11],
  ])('releases the pod key when %s', async (_what, e, code) => {
    const { err, released } = await addError(e);
    expect(err.code).toBe(code);
    expect(released).toHaveLength(1);
    expect(released[0]!.pod).toMatchObject({ k8sPodInfraContainerId: 'c0ffee', ifName: 'eth0', networkName: 'terway' });
    expect(released[0]!.reason).toContain('AllocIP');
  });

  it.each([
    ['the socket is absent', new DaemonUnreachableError('connect ENOENT', 'ENOENT'), 11],
    ['the daemon speaks another API version', new GrpcStatusError(GrpcCode.FAILED_PRECONDITION, 'v2'), 101],
    ['the daemon rejected the request', new GrpcStatusError(GrpcCode.INVALID_ARGUMENT, 'pod.netns is required'), 7],
  ])('does not call ReleaseIP when %s (nothing was allocated)', async (_what, e, code) => {
    const { err, released } = await addError(e);
    expect(err.code).toBe(code);
    expect(released).toHaveLength(0);
  });
});
