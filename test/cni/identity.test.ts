// Pod identity bounds: the rules (proto/identity.ts) and the built plugin refusing what breaks them with the
// CNI spec's codes (4: CNI_* / CNI_ARGS, 7: the network config, 6: an undecodable config) before any daemon call.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  containerIdProblem,
  ifNameProblem,
  namespaceProblem,
  netnsProblem,
  networkNameProblem,
  podNameProblem,
  quote,
} from '../../proto/identity.js';
import { startFakeDaemon, type FakeDaemon } from './fakeDaemon.js';
import { ensurePluginBuilt, netConf, podEnv, runPlugin } from './runPlugin.js';

describe('identity rules', () => {
  it.each([
    ['c0ffee', undefined],
    ['a', undefined],
    ['A.b_c-d', undefined],
    ['c'.repeat(255), undefined],
    ['', /empty/],
    ['c'.repeat(256), /at most 255 bytes/],
    ['-c', /must match/],
    ['c/d', /must match/],
    ['c d', /must match/],
    ['ç', /must match/],
  ])('container id / network name %j', (id, want) => {
    for (const f of [containerIdProblem, networkNameProblem]) {
      if (want) expect(f(id)).toMatch(want);
      else expect(f(id)).toBeUndefined();
    }
  });

  it.each([
    ['eth0', undefined],
    ['e'.repeat(15), undefined],
    ['net1@x', undefined],
    ['', /1-15 bytes/],
    ['.', /1-15 bytes/],
    ['..', /1-15 bytes/],
    ['e'.repeat(16), /at most 15 bytes/],
    ['éééééééé', /at most 15 bytes/], // 16 bytes in UTF-8
    ['a/b', /"\/"/],
    ['a:b', /":"/],
    ['a b', /whitespace/],
    ['a\tb', /whitespace/],
    ['a\u0000b', /NUL/],
  ])('interface name %j', (name, want) => {
    if (want) expect(ifNameProblem(name)).toMatch(want);
    else expect(ifNameProblem(name)).toBeUndefined();
  });

  it('netns: absolute, bounded, no NUL; empty only where it may be', () => {
    expect(netnsProblem('/var/run/netns/x', true)).toBeUndefined();
    expect(netnsProblem('/proc/123/ns/net', true)).toBeUndefined();
    expect(netnsProblem('', false)).toBeUndefined();
    expect(netnsProblem('', true)).toMatch(/empty/);
    expect(netnsProblem('var/run/netns/x', false)).toMatch(/absolute/);
    expect(netnsProblem(`/${'n'.repeat(4094)}`, true)).toBeUndefined();
    expect(netnsProblem(`/${'n'.repeat(4095)}`, true)).toMatch(/at most 4095 bytes/);
    expect(netnsProblem('/a\u0000b', true)).toMatch(/NUL/);
  });

  it('pod name and namespace: Kubernetes names or podman container names, at most 253; empty allowed', () => {
    for (const f of [podNameProblem, namespaceProblem]) {
      for (const ok of ['', 'web-0', 'a.b-c.d', 'kube-system', 'web_1', 'Web', 'rhjk3_7hp-node1-pod0', 'p'.repeat(253)])
        expect(f(ok), ok).toBeUndefined();
      expect(f('p'.repeat(254))).toMatch(/at most 253/);
      for (const bad of ['-web', '.web', 'web 0', 'a/b', 'a:b', 'wéb', 'a\nb']) expect(f(bad), bad).toMatch(/Kubernetes or container name/);
    }
  });

  it('quotes a value cut short in messages', () => {
    expect(quote('abc')).toBe('"abc"');
    const q = quote('x'.repeat(10_000));
    expect(q.length).toBeLessThan(100);
    expect(q).toMatch(/\(10000 chars\)$/);
  });
});

describe('the built plugin refuses a bad identity before calling the daemon', () => {
  let d: FakeDaemon;
  beforeAll(async () => {
    await ensurePluginBuilt();
    d = await startFakeDaemon();
  });
  afterAll(async () => {
    await d?.stop();
  });
  beforeEach(() => d.reset());

  const envCases: [string, Record<string, string | undefined>, RegExp][] = [
    ['a container id over 255 bytes', { CNI_CONTAINERID: 'c'.repeat(256) }, /invalid CNI_CONTAINERID/],
    ['a container id with "/"', { CNI_CONTAINERID: 'a/b' }, /invalid CNI_CONTAINERID/],
    ['an interface name of 16 bytes', { CNI_IFNAME: 'e'.repeat(16) }, /invalid CNI_IFNAME/],
    ['an interface name with "/"', { CNI_IFNAME: 'e/0' }, /invalid CNI_IFNAME/],
    ['a relative netns', { CNI_NETNS: 'netns/x' }, /invalid CNI_NETNS/],
    ['a pod name with a space', { CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web 0' }, /K8S_POD_NAME/],
    ['a pod name of 254 characters', { CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${'p'.repeat(254)}` }, /K8S_POD_NAME/],
    ['a namespace with "/"', { CNI_ARGS: 'K8S_POD_NAMESPACE=a/b;K8S_POD_NAME=web' }, /K8S_POD_NAMESPACE/],
    ['a namespace of 254 characters', { CNI_ARGS: `K8S_POD_NAMESPACE=${'n'.repeat(254)};K8S_POD_NAME=web` }, /K8S_POD_NAMESPACE/],
    ['CNI_ARGS over 4096 bytes', { CNI_ARGS: `X=${'x'.repeat(4096)}` }, /CNI_ARGS.*4096 bytes/],
  ];
  for (const command of ['ADD', 'DEL', 'CHECK']) {
    it.each(envCases)(`${command}: %s -> code 4`, async (_what, env, want) => {
      const r = await runPlugin({ command, env: podEnv(env), stdin: netConf(d.socketPath, { prevResult: { cniVersion: '1.1.0' } }) });
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code: 4 });
      expect(`${String(r.json?.msg)} ${String(r.json?.details)}`).toMatch(want);
      expect(r.stdout.length).toBeLessThan(600); // the value is quoted cut short
      expect(d.calls).toHaveLength(0);
    });
  }

  it('DEL without CNI_NETNS is fine; ADD without it is not', async () => {
    expect((await runPlugin({ command: 'DEL', env: podEnv({ CNI_NETNS: undefined }), stdin: netConf(d.socketPath) })).code).toBe(0);
    const r = await runPlugin({ command: 'ADD', env: podEnv({ CNI_NETNS: undefined }), stdin: netConf(d.socketPath) });
    expect(r.json).toMatchObject({ code: 4 });
  });

  it.each([
    ['a network name over 255 bytes', { name: 'n'.repeat(256) }],
    ['a network name with "/"', { name: 'a/b' }],
  ])('a config with %s -> code 7', async (_what, conf) => {
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: netConf(d.socketPath, conf) });
    expect(r.json).toMatchObject({ code: 7 });
    expect(d.calls).toHaveLength(0);
  });

  it('GC: an attachment breaking the rules -> code 7', async () => {
    const r = await runPlugin({
      command: 'GC',
      env: { CNI_PATH: '/opt/cni/bin' },
      stdin: netConf(d.socketPath, { 'cni.dev/valid-attachments': [{ containerID: 'c'.repeat(300), ifname: 'eth0' }] }),
    });
    expect(r.json).toMatchObject({ code: 7 });
    expect(d.calls).toHaveLength(0);
  });

  it('a network config over 8 MiB -> code 6, read no further', async () => {
    const big = JSON.stringify({ ...netConf(d.socketPath), pad: 'x'.repeat(8 * 1024 * 1024) });
    const r = await runPlugin({ command: 'ADD', env: podEnv(), stdin: big });
    expect(r.json).toMatchObject({ code: 6 });
    expect(String(r.json?.details)).toMatch(/larger than 8388608 bytes/);
    expect(d.calls).toHaveLength(0);
  });
});
