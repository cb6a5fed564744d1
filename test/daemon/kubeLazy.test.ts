// A daemon without Kubernetes never loads @kubernetes/client-node (hundreds of ms at start-up).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

it('a daemon without Kubernetes does not load client-node', async () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'kubeLazyProbe.ts')], {
    env,
    cwd: path.join(here, '../..'),
  });
  expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ loaded: false, kube: false, loadedWithKube: true, kube2: true });
}, 30_000);
