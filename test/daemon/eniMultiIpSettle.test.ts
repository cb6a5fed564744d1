// EniMultiIpService.stop() waits for a driver's background work (veth deletes) before the daemon exits.
import { describe, expect, it } from 'vitest';
import { EniMultiIpService } from '../../daemon/modes/index.js';
import { FakeAllocator, FakeDriver } from '../support/fakes.js';
import { captureLog } from '../support/log.js';

class SettlingDriver extends FakeDriver {
  settled = false;
  failSettle?: string;
  release?: () => void;
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => (this.release = resolve));
    this.settled = true;
    if (this.failSettle) throw new Error(this.failSettle);
  }
}

describe('EniMultiIpService.stop and background driver work', () => {
  it('stop() resolves only after the driver settled', async () => {
    const driver = new SettlingDriver();
    const svc = new EniMultiIpService({ allocator: new FakeAllocator(), driver, mtu: 1500, logger: captureLog().logger });
    await svc.start();
    let stopped = false;
    const p = svc.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    driver.release!();
    await p;
    expect(driver.settled).toBe(true);
  });

  it('a failed background delete is logged, not thrown (start-up reconcile repairs it)', async () => {
    const driver = new SettlingDriver();
    driver.failSettle = 'delete veth eni0123: EBUSY';
    const log = captureLog();
    const svc = new EniMultiIpService({ allocator: new FakeAllocator(), driver, mtu: 1500, logger: log.logger });
    await svc.start();
    const p = svc.stop();
    await new Promise((r) => setImmediate(r));
    driver.release!();
    await expect(p).resolves.toBeUndefined();
    expect(
      log.lines().some((l) => String(l['msg']).includes('background driver cleanup failed') && String(l['err']).includes('EBUSY')),
    ).toBe(true);
  });
});
