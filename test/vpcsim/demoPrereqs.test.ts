// `npm run demo` on a fresh machine: as root without iproute2, it installs it with apt-get (fake apt-get
// and a PATH without `ip` here: the real machine keeps its packages).
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureIproute2 } from '../../demo/prereqs.js';
import { tempDir } from '../support/tmp.js';

const isRoot = process.getuid?.() === 0;
const savedPath = process.env.PATH;

/** A PATH holding only a fake apt-get that logs its arguments and, on `install`, drops a working `ip`. */
function fakeAptPath(opts: { listsMissing: boolean }): { dir: string; log: string } {
  const dir = tempDir('eni-apt-');
  const log = join(dir, 'apt.log');
  writeFileSync(
    join(dir, 'apt-get'),
    `#!/bin/sh
PATH=/usr/bin:/bin
echo "$*" >> ${log}
case "$*" in
  --version) exit 0 ;;
  update*) touch ${dir}/lists; exit 0 ;;
  install*)
    if [ ${opts.listsMissing ? 1 : 0} = 1 ] && [ ! -e ${dir}/lists ]; then echo "E: Unable to locate package iproute2" >&2; exit 100; fi
    printf '#!/bin/sh\\necho "ip utility, iproute2-fake"\\n' > ${dir}/ip; chmod +x ${dir}/ip; exit 0 ;;
esac
exit 1
`,
  );
  chmodSync(join(dir, 'apt-get'), 0o755);
  return { dir, log };
}

afterEach(() => {
  process.env.PATH = savedPath;
});

(isRoot ? describe : describe.skip)('demo prerequisites', () => {
  it('installs iproute2 when `ip` is missing, running apt-get update first on a machine with no package lists', async () => {
    const { dir, log } = fakeAptPath({ listsMissing: true });
    process.env.PATH = dir; // no ip anywhere on it
    const lines: string[] = [];
    await ensureIproute2((l) => lines.push(l));
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      '--version',
      'install -y -qq --no-install-recommends iproute2',
      'update -qq',
      'install -y -qq --no-install-recommends iproute2',
    ]);
    expect(existsSync(join(dir, 'ip'))).toBe(true);
    expect(lines.join('\n')).toMatch(/iproute2 installed/);
  });

  it('does nothing when ip is there', async () => {
    const { dir, log } = fakeAptPath({ listsMissing: false });
    writeFileSync(join(dir, 'ip'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    process.env.PATH = dir;
    const lines: string[] = [];
    await ensureIproute2((l) => lines.push(l));
    expect(existsSync(log)).toBe(false);
    expect(lines).toEqual([]);
  });
});
