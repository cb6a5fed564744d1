// Importing daemon/k8s must not load @kubernetes/client-node; loadClientNode (what a kubeconfig client uses) does.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

it('daemon/k8s loads client-node only on demand', async () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'lazyProbe.ts')], {
    env,
    cwd: path.join(here, '../..'),
  });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { afterFace: boolean; afterLoad: boolean; faceMs: number; loadMs: number };
  expect(r.afterFace).toBe(false);
  expect(r.afterLoad).toBe(true);
}, 30_000);
