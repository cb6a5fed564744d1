// The install rehearsal (npm run rehearse) as a test: image built, chart rendered by helm, init + daemon
// containers run by podman with the chart's securityContext on two simulated nodes, pods on the installed
// conflist get VPC addresses and ping across nodes, an upgrade keeps them, removal leaves nothing.
import { describe, expect, it } from 'vitest';
import { rehearsalMissing, rehearse } from '../../scripts/rehearse/main.js';

const missing = process.getuid?.() === 0 ? await rehearsalMissing() : ['root'];
if (missing.length > 0) console.warn(`[rehearse] SKIPPED: missing ${missing.join(', ')}`);

describe.skipIf(missing.length > 0)('install rehearsal (helm template + podman, two nodes, mock cloud)', () => {
  it('pods get VPC addresses, ping across nodes, survive a daemon upgrade, and leave nothing behind', async () => {
    const r = (await rehearse())!;
    expect(r.pods).toBe(4);
    expect(r.cross_node_pings).toBe(8);
    expect(r.cross_node_pings_ok).toBe(r.cross_node_pings);
    expect(r.upgrade_pods_kept).toBe(true);
    expect(r.leftovers).toBe(0);
    expect(r.image_mib).toBeGreaterThan(0);
  }, 900_000);
});
