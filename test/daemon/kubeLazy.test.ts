// @kubernetes/client-node (~1 s and ~60 MiB to load) is loaded only for a kubeconfig file: not without Kubernetes,
// not with kube_api_server, not in a pod (the REST transport).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

it('only a kubeconfig file loads client-node', async () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'kubeLazyProbe.ts')], {
    env,
    cwd: path.join(here, '../..'),
  });
  expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
    loaded: false,
    kube: false,
    loadedWithKube: false,
    kube2: true,
    loadedWithKubeconfig: true,
    kube3: true,
  });
}, 30_000);
