// The support bundle's ustar writer, read back by the system's tar and by hand.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitName, tar } from '../../cli/tar.js';
import { tempDir } from '../support/tmp.js';

const hasTar = spawnSync('tar', ['--version']).status === 0;
const longName = `bundle/${'deep/'.repeat(25)}file.txt`; // 140 bytes: needs the ustar prefix field

describe('tar writer', () => {
  it('headers carry a valid checksum, octal size and the ustar magic; data is padded to 512', () => {
    const buf = tar([{ name: 'a/b.txt', data: 'hello', mtime: 1_700_000_000 }]);
    expect(buf.length).toBe(512 + 512 + 1024);
    const h = buf.subarray(0, 512);
    expect(h.toString('ascii', 0, 7)).toBe('a/b.txt');
    expect(parseInt(h.toString('ascii', 124, 135), 8)).toBe(5);
    expect(h.toString('ascii', 257, 263)).toBe('ustar\0');
    const stored = parseInt(h.toString('ascii', 148, 154), 8);
    const sum = [...h].reduce((n, b, i) => n + (i >= 148 && i < 156 ? 32 : b), 0);
    expect(stored).toBe(sum);
    expect(buf.toString('utf8', 512, 517)).toBe('hello');
    expect(buf.subarray(1024).every((b) => b === 0)).toBe(true);
  });

  it('splits long paths into prefix + name, and refuses what ustar cannot hold', () => {
    const { prefix, name } = splitName(longName);
    expect(`${prefix}/${name}`).toBe(longName);
    expect(name.length).toBeLessThanOrEqual(100);
    expect(() => splitName(`${'x'.repeat(120)}/${'y'.repeat(120)}`)).toThrow(/too long/);
  });

  (hasTar ? it : it.skip)('GNU tar lists and extracts it, long names and UTF-8 content included', () => {
    const dir = tempDir('eni-tar-');
    const file = join(dir, 't.tar.gz');
    writeFileSync(
      file,
      gzipSync(
        tar([
          { name: 'bundle/x.json', data: '{"ok":true}\n', mtime: 1_700_000_000 },
          { name: longName, data: 'ünïcode\n'.repeat(100), mtime: 1_700_000_000, mode: 0o600 },
        ]),
      ),
    );
    const list = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n')).toEqual(['bundle/x.json', longName]);
    const x = spawnSync('tar', ['-xzf', file, '-C', dir], { encoding: 'utf8' });
    expect(x.status, x.stderr).toBe(0);
    expect(readFileSync(join(dir, longName), 'utf8')).toBe('ünïcode\n'.repeat(100));
  });
});
