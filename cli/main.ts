#!/usr/bin/env node
// Entry point: eni-ipam-cli [--addr ADDR | --config FILE] pods|pool|mapping|config|support-bundle [...]
// (npm run cli -- ..., or node dist/cli/main.js after npm run build).
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
});
process.exitCode = code;
