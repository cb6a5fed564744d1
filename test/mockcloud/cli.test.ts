// The CLI: spawn it, read its one JSON line, call it through the SDK, stop it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { $ecs, ecsClient } from '../../sim/mockcloud/sdk.js';
import { tempDir } from '../support/tmp.js';

interface Banner {
  url: string;
  endpoint: string;
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  admin: string;
}

let child: ChildProcess | undefined;

afterEach(() => {
  // npm → sh → tsx → node: kill the whole process group, not just npm
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  child = undefined;
});

function start(viaNpm: boolean, args: string[]): Promise<{ banner: Banner; lines: string[] }> {
  // npm does not hand SIGTERM's exit status through, so the signal test runs tsx directly
  child = viaNpm
    ? spawn('npm', ['run', '--silent', 'mockcloud', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(join('node_modules', '.bin', 'tsx'), ['sim/mockcloud/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    rl.on('line', (l) => {
      lines.push(l);
      if (lines.length === 1) {
        try {
          resolve({ banner: JSON.parse(l) as Banner, lines });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
    child!.on('exit', (code) => reject(new Error(`mockcloud exited ${code}: ${stderr}`)));
  });
}

describe('mockcloud CLI', () => {
  it('prints one JSON line, serves the SDK, and exits on SIGTERM', async () => {
    const dir = tempDir('mockcloud-');
    const worldFile = join(dir, 'world.json');
    writeFileSync(
      worldFile,
      JSON.stringify({
        regionId: 'cn-beijing',
        zones: ['cn-beijing-a'],
        vSwitches: [{ id: 'vsw-x', zoneId: 'cn-beijing-a', cidr: '10.0.0.0/24' }],
        instances: [],
      }),
    );
    const faultsFile = join(dir, 'faults.json');
    writeFileSync(faultsFile, JSON.stringify({ errorRates: [{ action: 'DescribeInstanceTypes', rate: 1, kind: 'unavailable' }] }));
    const { banner, lines } = await start(false, ['--port', '0', '--world', worldFile, '--faults', faultsFile, '--attach-delay', '10']);
    expect(banner.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(banner.regionId).toBe('cn-beijing');
    expect(banner.admin).toBe(`${banner.url}/admin`);
    const ecs = ecsClient({
      sdkConfig: () => ({
        accessKeyId: banner.accessKeyId,
        accessKeySecret: banner.accessKeySecret,
        endpoint: banner.endpoint,
        protocol: 'http',
        regionId: banner.regionId,
      }),
    });
    const r = await ecs.createNetworkInterface(
      new $ecs.CreateNetworkInterfaceRequest({ regionId: 'cn-beijing', vSwitchId: 'vsw-x', securityGroupIds: ['sg-mock-1'] }),
    );
    expect(r.body!.privateIpAddress).toBe('10.0.0.1');
    const failed = await ecs.describeInstanceTypes(new $ecs.DescribeInstanceTypesRequest({})).then(
      () => 'ok',
      (err: { code?: string }) => err.code,
    );
    expect(failed).toBe('ServiceUnavailable');
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines).toHaveLength(1);
  });

  it('`npm run --silent mockcloud` prints only the JSON line on stdout', async () => {
    const { banner, lines } = await start(true, ['--port', '0']);
    expect(banner.regionId).toBe('cn-hangzhou');
    const res = await fetch(`${banner.admin}/counters`);
    expect(res.status).toBe(200);
    expect(lines).toHaveLength(1);
  });
});
