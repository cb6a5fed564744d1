// Durable DEL, the daemon's side: a NetworkService wrapper that applies the pending-DEL records plugins wrote
// while it could not take their DEL (proto/pendingDel.ts). drain() runs before the daemon serves and then on a
// timer: for each record, ReleaseIP's own logic (teardown when the netns is still there, then the release),
// then the record is removed. A record does not release an allocation made after it (the pod key ADDed again:
// its allocation time is newer than the record's). Calls for one pod key run one at a time here, so an AllocIP
// of a key with a record applies the record first (the DEL happened before that ADD), and a ReleaseIP that gets
// through removes the key's record. Crash-safe: a record is removed only after its release committed; killed
// in between, the next drain applies it again, which finds nothing to release.
import type { Logger } from 'pino';
import { podKeyOf, type PodRef } from '../../pool/types.js';
import type { PendingDelRecord } from '../../proto/pendingDel.js';
import { podFields } from '../log.js';
import { mapFailure } from '../modes/errors.js';
import { KeyedMutex } from '../modes/keyedMutex.js';
import {
  ServiceError,
  type AllocResult,
  type GcAttachment,
  type InfoResult,
  type NetworkService,
  type ReleaseResult,
  type StatusResult,
} from '../modes/types.js';
import { RecordsDir } from './records.js';

/** A drain's steps for one record, in order; `onStep` sees each one (the crash tests stop there). */
export type DrainStep = 'read' | 'released' | 'removed';

/** What to do with a record, given the pod key's allocation now. Pure. */
export function recordAction(record: Pick<PendingDelRecord, 'time'>, alloc: { allocatedAt: number } | undefined): 'release' | 'superseded' {
  // Allocated after the DEL was recorded: a later ADD of the same pod key (podman restart keeps the container id).
  return alloc !== undefined && alloc.allocatedAt > record.time ? 'superseded' : 'release';
}

export interface DrainReport {
  released: string[];
  superseded: string[];
  malformed: string[];
  /** Release failed (teardown): the record stays for the next pass. */
  failed: string[];
  tempsRemoved: number;
}

export interface PendingDelsOptions {
  dir: string;
  inner: NetworkService;
  /** The pod key's allocation, if any (its time decides whether a record still applies). */
  allocation(podKey: string): { allocatedAt: number } | undefined;
  logger: Logger;
  now?: () => number;
  /** Temp files older than this are a dead writer's (default 60 s). */
  tempMaxAgeMs?: number;
  onStep?: (step: DrainStep, name: string) => void | Promise<void>;
}

function podOf(r: PendingDelRecord): PodRef {
  return {
    namespace: r.podNamespace,
    name: r.podName,
    containerId: r.containerId,
    ifName: r.ifName,
    networkName: r.networkName,
    netns: r.netns || undefined,
  };
}

export class PendingDels implements NetworkService {
  private readonly inner: NetworkService;
  private readonly records: RecordsDir;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly locks = new KeyedMutex();
  private draining?: Promise<DrainReport>;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: PendingDelsOptions) {
    this.inner = opts.inner;
    this.records = new RecordsDir(opts.dir);
    this.log = opts.logger.child({ component: 'pending-del' });
    this.now = opts.now ?? Date.now;
  }

  get ipType(): NetworkService['ipType'] {
    return this.inner.ipType;
  }

  get dir(): string {
    return this.records.dir;
  }

  /** Creates the directory (0700) and starts the inner service. A directory it cannot make does not stop the daemon. */
  async start(): Promise<void> {
    await this.records
      .prepare()
      .catch((e: NodeJS.ErrnoException) =>
        this.log.error(
          { dir: this.records.dir, errno: e.code, err: e.message },
          'pending-DEL directory unusable: recorded DELs cannot be applied',
        ),
      );
    await this.inner.start();
  }

  /** One pass over the directory; a pass already running is joined, not doubled. */
  drain(): Promise<DrainReport> {
    this.draining ??= this.drainOnce().finally(() => (this.draining = undefined));
    return this.draining;
  }

  /** Drains every `intervalMs` from now on; stop() ends it. */
  startTimer(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.drain().catch((e: Error) => this.log.warn({ err: e.message }, 'pending-DEL drain failed; the next one retries'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.draining?.catch(() => undefined);
    await this.inner.stop();
  }

  allocIp(pod: PodRef, opts: { deadlineMs: number }): Promise<AllocResult> {
    const name = this.records.nameFor(pod);
    return this.locks.run(podKeyOf(pod), async () => {
      if (this.records.has(name)) {
        // The DEL before this ADD reached only the record: apply it first, or this ADD would be answered with
        // the old allocation, which the record would then release under the running pod.
        const outcome = await this.applyRecord(name);
        if (outcome === 'stop') throw new ServiceError('SHUTTING_DOWN', 'daemon is shutting down');
        if (outcome === 'failed')
          throw new ServiceError('DRIVER_FAILED', 'the DEL recorded for this pod key could not be applied yet (teardown failed); retry');
      }
      return this.inner.allocIp(pod, opts);
    });
  }

  releaseIp(pod: PodRef, reason: string): Promise<ReleaseResult> {
    const name = this.records.nameFor(pod);
    return this.locks.run(podKeyOf(pod), async () => {
      const r = await this.inner.releaseIp(pod, reason);
      // This DEL got through: an earlier one's record (runtime retry, daemon back) has nothing left to do.
      if (this.records.has(name)) await this.records.remove(name);
      return r;
    });
  }

  getIpInfo(pod: PodRef): Promise<InfoResult> {
    return this.inner.getIpInfo(pod);
  }

  checkIp(pod: PodRef): Promise<void> {
    return this.inner.checkIp(pod);
  }

  gc(networkName: string, valid: GcAttachment[]): Promise<string[]> {
    return this.inner.gc(networkName, valid);
  }

  status(): StatusResult {
    return this.inner.status();
  }

  private async drainOnce(): Promise<DrainReport> {
    const report: DrainReport = { released: [], superseded: [], malformed: [], failed: [], tempsRemoved: 0 };
    const listing = await this.records.list();
    report.tempsRemoved = (await this.records.removeOldTemps(listing.temps, this.opts.tempMaxAgeMs ?? 60_000, this.now())).length;
    for (const name of listing.records) {
      const outcome = await this.lockedApply(name);
      if (outcome === 'stop') break;
      if (outcome !== 'gone') report[outcome].push(name);
    }
    const n = report.released.length + report.superseded.length + report.malformed.length + report.failed.length;
    if (n > 0 || report.tempsRemoved > 0 || listing.truncated) {
      this.log.info(
        {
          released: report.released.length,
          superseded: report.superseded.length,
          malformed: report.malformed.length,
          failed: report.failed.length,
          tempsRemoved: report.tempsRemoved,
          more: listing.truncated,
        },
        'pending-DEL records drained',
      );
    }
    return report;
  }

  /** Applies one record under its pod key's lock (the key is only known once the record is read). */
  private async lockedApply(name: string): Promise<Outcome | 'stop'> {
    const read = await this.records.read(name);
    if ('gone' in read) return 'gone';
    if ('malformed' in read) {
      this.log.warn({ record: name, problem: read.malformed }, 'pending-DEL record malformed: removed');
      await this.records.remove(name);
      return 'malformed';
    }
    return this.locks.run(podKeyOf(read.record), () => this.applyRecord(name));
  }

  /** Caller holds the pod key's lock. Reads the record again (a newer DEL may have replaced it), applies it, removes it. */
  private async applyRecord(name: string): Promise<Outcome | 'stop'> {
    const read = await this.records.read(name);
    if ('gone' in read) return 'gone';
    if ('malformed' in read) {
      this.log.warn({ record: name, problem: read.malformed }, 'pending-DEL record malformed: removed');
      await this.records.remove(name);
      return 'malformed';
    }
    const rec = read.record;
    await this.opts.onStep?.('read', name);
    const pod = podOf(rec);
    const key = podKeyOf(pod);
    const log = this.log.child({ ...podFields({ ...pod, podKey: key }), record: name });
    const alloc = this.opts.allocation(key);
    if (recordAction(rec, alloc) === 'superseded') {
      log.info(
        { recordedAt: rec.time, allocatedAt: alloc?.allocatedAt },
        'pending DEL superseded: the pod key was allocated again after it',
      );
      await this.records.remove(name);
      await this.opts.onStep?.('removed', name);
      return 'superseded';
    }
    let released: ReleaseResult;
    try {
      released = await this.inner.releaseIp(pod, `cni DEL recorded by the plugin: ${rec.reason}`);
    } catch (e) {
      const f = mapFailure(e);
      if (f.reason === 'SHUTTING_DOWN') return 'stop';
      log.warn({ reason: f.reason, err: f.message }, 'pending DEL not applied; kept for the next drain');
      return 'failed';
    }
    await this.opts.onStep?.('released', name);
    log.info({ releasedIp: released.releasedIp || undefined, recordedAt: rec.time, why: rec.reason }, 'pending DEL applied');
    await this.records.remove(name);
    await this.opts.onStep?.('removed', name);
    return 'released';
  }
}

type Outcome = 'released' | 'superseded' | 'malformed' | 'failed' | 'gone';
