// Temp dirs for tests: one call gives a fresh directory, removed when the test file ends.
// Vitest only: it registers an afterAll on the importing file (child-process fixtures make their own).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir. Keep the prefix short: unix socket paths are limited to 107 bytes. */
export function tempDir(prefix = 'eni-t-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
