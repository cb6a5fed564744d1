// A NetworkService wrapper for a daemon with a Kubernetes client: AllocIP first asks whether the pod
// is stateful (its IP is then reserved for it after release), and allocation failures the plugin
// does not report itself (exhaustion, timeout: CNI "try again later") become a pod event carrying
// the cloud code, plus the node condition SufficientIP. Everything else passes through.
import type { Logger } from 'pino';
import type { PodRef } from '../../pool/types.js';
import { podFields } from '../log.js';
import { mapFailure } from './errors.js';
import type { IpConditionReporter } from './ipCondition.js';
import type { PodStatefulness } from './podStateful.js';
import type {
  AllocOptions,
  AllocResult,
  EventRecorder,
  GcAttachment,
  InfoResult,
  NetworkService,
  ReleaseResult,
  StatusResult,
} from './types.js';

export interface KubeAwareDeps {
  inner: NetworkService;
  /** True when the pod key already holds an allocation: a repeated ADD needs no lookup. */
  hasAllocation(pod: PodRef): boolean;
  statefulness?: PodStatefulness;
  events?: EventRecorder;
  ipCondition?: IpConditionReporter;
  logger: Logger;
  now?: () => number;
}

export class KubeAwareService implements NetworkService {
  private readonly inner: NetworkService;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: KubeAwareDeps) {
    this.inner = deps.inner;
    this.log = deps.logger;
    this.now = deps.now ?? Date.now;
  }

  get ipType(): NetworkService['ipType'] {
    return this.inner.ipType;
  }

  async allocIp(pod: PodRef, opts: AllocOptions): Promise<AllocResult> {
    let ref = pod;
    let deadlineMs = opts.deadlineMs;
    if (pod.stateful === undefined && this.deps.statefulness && !this.deps.hasAllocation(pod)) {
      const started = this.now();
      const stateful = await this.deps.statefulness.isStateful(pod.namespace, pod.name);
      ref = { ...pod, stateful };
      // The lookup came out of the caller's budget.
      deadlineMs = Math.max(0, deadlineMs - (this.now() - started));
    }
    try {
      const r = await this.inner.allocIp(ref, { ...opts, deadlineMs });
      void this.deps.ipCondition?.sufficient();
      return r;
    } catch (err) {
      this.onAllocFailure(ref, err);
      throw err;
    }
  }

  releaseIp(pod: PodRef, reason: string): Promise<ReleaseResult> {
    return this.inner.releaseIp(pod, reason);
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

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  private onAllocFailure(pod: PodRef, err: unknown): void {
    const f = mapFailure(err);
    // The plugin records AllocIPFailed itself for failures it does not retry; these it retries silently.
    if (f.reason !== 'POOL_EXHAUSTED' && f.reason !== 'ALLOC_TIMEOUT') return;
    const message = f.cloudCode ? `${f.message} (cloud error ${f.cloudCode})` : f.message;
    if (f.reason === 'POOL_EXHAUSTED') void this.deps.ipCondition?.exhausted(message);
    if (!this.deps.events || !pod.namespace || !pod.name) return;
    this.deps.events
      .record({ target: 'pod', namespace: pod.namespace, name: pod.name, type: 'Warning', reason: 'AllocIPFailed', message })
      .catch((e: Error) => this.log.warn({ ...podFields(pod), err: e.message }, 'recording AllocIPFailed failed'));
  }
}
