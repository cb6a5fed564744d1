// `npm run chaos [-- --ops N] [--concurrency N] [--kills N] [--seed N] [--fault-rate R] [--max-pods N]`
// Thousands of CNI operations through the real plugin against a real daemon, the mock cloud failing about a fifth
// of its calls, the daemon SIGKILLed again and again; then the invariants (sim/chaos/run.ts). Progress on stderr;
// the last stdout line is one JSON object:
//   {"ops","kills","faults","add_ok","add_failed","del_failed","duplicates","held_after_dels","leaks_after_settle"}
// Exit 1 when an invariant fails (a duplicate, a failed DEL, an address held after every DEL, a leak after settling).
import { parseArgs } from 'node:util';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '8' },
    kills: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'fault-rate': { type: 'string', default: '0.2' },
    'max-pods': { type: 'string', default: '60' },
  },
  strict: true,
});
const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got ${v})`);
  return n;
};
const rate = Number(values['fault-rate']);
if (!(rate >= 0 && rate <= 0.9)) throw new Error(`--fault-rate must be in 0..0.9 (got ${values['fault-rate']})`);
const started = Date.now();
const result = await runChaos({
  ops: int('ops', values.ops, 1),
  concurrency: int('concurrency', values.concurrency, 1),
  kills: int('kills', values.kills, 0),
  seed: int('seed', values.seed, 0),
  faultRate: rate,
  maxPods: int('max-pods', values['max-pods'], 1),
  log: (line) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`),
});
const failed = result.duplicates + result.del_failed + result.held_after_dels + result.leaks_after_settle > 0;
process.stderr.write(`[chaos] ${failed ? 'FAILED' : 'ok'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(failed ? 1 : 0);
