// CLI: `npm run mockcloud -- --port PORT [--host H] [--world FILE] [--faults FILE] [--attach-delay MS]
// [--detach-delay MS] [--delete-delay MS] [--metadata-tokens optional|required] [--log]`.
// Prints exactly one JSON line on stdout once listening; everything else goes to stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startMockCloud, type FaultSpec, type WorldSpec } from './index.js';

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      world: { type: 'string' },
      faults: { type: 'string' },
      'attach-delay': { type: 'string' },
      'detach-delay': { type: 'string' },
      'delete-delay': { type: 'string' },
      'metadata-tokens': { type: 'string' },
      log: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);
  let world = values.world ? readJson<Partial<WorldSpec>>(values.world) : undefined;
  const tokens = values['metadata-tokens'];
  if (tokens !== undefined) {
    if (tokens !== 'optional' && tokens !== 'required') throw new Error(`bad --metadata-tokens ${tokens} (optional|required)`);
    world = { ...(world ?? {}), metadataHttpTokens: tokens };
  }
  const faults = values.faults ? readJson<FaultSpec>(values.faults) : undefined;
  const ms = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`bad --${name} ${v}`);
    return n;
  };
  const cloud = await startMockCloud({
    port,
    host: values.host,
    world,
    faults,
    attachDelayMs: ms(values['attach-delay'], 'attach-delay'),
    detachDelayMs: ms(values['detach-delay'], 'detach-delay'),
    deleteDelayMs: ms(values['delete-delay'], 'delete-delay'),
    log: values.log,
  });
  process.stdout.write(
    `${JSON.stringify({
      url: cloud.url,
      endpoint: cloud.endpoint,
      regionId: cloud.regionId,
      accessKeyId: cloud.accessKeyId,
      accessKeySecret: cloud.accessKeySecret,
      admin: cloud.adminUrl,
      metadata: `${cloud.url}/metadata/`,
    })}\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    cloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`mockcloud: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mockcloud: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
