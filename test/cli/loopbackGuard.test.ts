// The /v1 loopback guard with a real non-loopback peer: a netns of our own with a 10.x address (needs root + iproute2).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';

function canNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip)';
  }
  return undefined;
}

const missing = canNetns();
const NS = `eni-cli-guard-${process.pid}`;

describe.skipIf(missing !== undefined)(`introspection loopback guard${missing ? ` (skipped: ${missing})` : ''}`, () => {
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });

  it('a TCP peer that is not loopback gets 403 and never reaches the routes', () => {
    execFileSync('ip', ['netns', 'add', NS]);
    const inNs = (...args: string[]): void => void execFileSync('ip', ['netns', 'exec', NS, ...args]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    // A non-loopback address (on lo: no extra kernel module needed); the peer address is then 10.201.0.1, not 127.x.
    inNs('ip', 'addr', 'add', '10.201.0.1/32', 'dev', 'lo');
    const out = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', 'test/cli/guardProbe.ts', '10.201.0.1'], {
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim())).toEqual({ wide: 403, lo: 200, routed: 1 });
  });
});
