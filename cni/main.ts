// Entry of the `terway` CNI plugin binary (bundled to dist/cni/terway by cni/build.ts).
// The runtime runs it with CNI_* variables and the network config on stdin; it prints a result or
// a CNI error on stdout and exits 0 / 1. All real work happens in the daemon behind the socket.
import { readSync, writeSync } from 'node:fs';
import { runCommand, type CommandIO } from './commands.js';
import { eniBackend } from './daemonClient.js';
import { connectUnix, type UnaryClient } from './grpc.js';
import { createLogger, type Logger } from './log.js';
import { writePendingDel } from './pendingDel.js';
import { CniError, ErrCode, errorJson, LATEST_VERSION, parseCniArgs, parseEnv, parseNetConf, peekCniVersion, versionJson } from './spec.js';

declare const __PLUGIN_VERSION__: string | undefined;
const PLUGIN_VERSION = typeof __PLUGIN_VERSION__ === 'string' ? __PLUGIN_VERSION__ : 'dev';

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The network config's size bound (a GC's valid-attachments list of thousands of pods fits many times). */
const MAX_STDIN_BYTES = 8 * 1024 * 1024;

/** Reads all of stdin synchronously; a non-blocking pipe (EAGAIN) is polled. */
function readStdin(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleepMs(1);
        continue;
      }
      if (code === 'EOF') break;
      throw new CniError(ErrCode.IO_FAILURE, 'cannot read the network config from stdin', (e as Error).message);
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_STDIN_BYTES)
      throw new CniError(ErrCode.DECODE_FAILURE, 'cannot decode the network config', `larger than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes all of text to stdout synchronously (so process.exit cannot cut it short). */
function printOut(text: string): void {
  const data = Buffer.from(text + '\n', 'utf8');
  let off = 0;
  let waited = 0;
  while (off < data.length) {
    try {
      off += writeSync(1, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || waited > 5000) throw e;
      sleepMs(1);
      waited++;
    }
  }
}

async function main(): Promise<number> {
  const env = process.env;
  if (env.CNI_COMMAND === 'VERSION') {
    printOut(versionJson());
    return 0;
  }
  let stdin: string | undefined;
  let log: Logger | undefined;
  try {
    const cniEnv = parseEnv(env);
    stdin = readStdin();
    const conf = parseNetConf(stdin, cniEnv.command);
    log = createLogger(conf.logFile, `${cniEnv.command} ${cniEnv.containerId || '-'}/${cniEnv.ifName || '-'}`);
    const cniArgs = parseCniArgs(cniEnv.args);
    const client: UnaryClient = connectUnix(conf.socket);
    const io: CommandIO = { print: printOut, log, recordPendingDel: (rec) => writePendingDel(conf.pendingDelDir, rec) };
    await runCommand({ env: cniEnv, conf, cniArgs, pluginVersion: PLUGIN_VERSION }, eniBackend(client), io);
    return 0;
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(ErrCode.INTERNAL, 'internal error', e instanceof Error ? e.message : String(e));
    (log ?? createLogger(undefined, env.CNI_COMMAND ?? '-')).warn(`code ${err.code}: ${err.message}`);
    if (!env.CNI_COMMAND) process.stderr.write(`CNI plugin terway (eni-ipam) ${PLUGIN_VERSION}\n`);
    try {
      printOut(errorJson(err, peekCniVersion(stdin) ?? LATEST_VERSION));
    } catch {
      /* stdout gone: the exit code still says it failed */
    }
    return 1;
  }
  // The daemon connection is not closed here: process.exit follows at once and the kernel closes the
  // socket. Destroying a net.Socket makes node look at process.stderr (net.js `this !== process.stderr`),
  // and creating that stream on a piped stderr (as runtimes give plugins) is work for nothing.
}

// A Node single executable built with a startup snapshot (bench candidate, scripts/pluginExe.ts) runs `main` when
// the snapshot is deserialized; every other build runs it now.
declare const __SNAPSHOT__: boolean | undefined;
const run = (): void => {
  main().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
};
if (typeof __SNAPSHOT__ === 'boolean' && __SNAPSHOT__) process.getBuiltinModule('v8').startupSnapshot.setDeserializeMainFunction(run);
else run();
