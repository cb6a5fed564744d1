// Run inside a test netns (see loopbackGuard.test.ts): serves the /v1 routes on a non-loopback address and
// on loopback, asks both from this process and prints the HTTP statuses as one JSON line.
import { DaemonMetrics, serveMetrics } from '../../daemon/metrics.js';
import { getJson } from '../../cli/client.js';

const host = process.argv[2]!;
let routed = 0;
const routes = (): Promise<{ status: number; body: unknown }> => {
  routed++;
  return Promise.resolve({ status: 200, body: { pods: [] } });
};
const metrics = new DaemonMetrics({ defaultMetrics: false });
const wide = await serveMetrics(metrics, { kind: 'tcp', host, port: 0 }, { routes });
const lo = await serveMetrics(metrics, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { routes });
const port = (a: string): number => Number(a.slice(a.lastIndexOf(':') + 1));
const fromWide = await getJson({ kind: 'tcp', host, port: port(wide.address) }, '/v1/mapping');
const fromLo = await getJson({ kind: 'tcp', host: '127.0.0.1', port: port(lo.address) }, '/v1/pods');
process.stdout.write(`${JSON.stringify({ wide: fromWide.status, lo: fromLo.status, routed })}\n`);
await wide.close();
await lo.close();
