// Expiring credentials (STS from the instance RAM role) kept fresh: fetched again once the expiry is
// within a margin (Terway's ack-ram-tool Updater refreshes 30 minutes ahead; for short-lived
// credentials a fifth of their lifetime), one fetch at a time; a failed refresh keeps the old
// credentials until they expire and is retried with a growing back-off, not at every API call.
import type { CloudLogger } from './caller.js';
import { NotEnabledError, type CloudCredentials, type CloudCredentialsProvider } from './credentials.js';

export interface RefreshingOptions {
  /** Wall-clock time, epoch ms (expirations are dates; the client's monotonic Clock is not). Default Date.now. */
  now?: () => number;
  logger?: CloudLogger;
  /** Refresh this long before the expiration at most (default 30 min). */
  expiryWindowMs?: number;
  /** First retry delay after a failed refresh (default 1 s), doubled per failure up to maxRetryMs (default 60 s). */
  minRetryMs?: number;
  maxRetryMs?: number;
}

export class RefreshingCredentials implements CloudCredentialsProvider {
  private current?: CloudCredentials;
  /** Fetch again from this time on. */
  private refreshAt = 0;
  /** After a failed fetch: no new attempt before this time. */
  private retryAt = 0;
  private failures = 0;
  private lastError?: Error;
  private flight?: Promise<void>;
  private readonly windowMs: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly name: string,
    private readonly fetch: () => Promise<CloudCredentials>,
    private readonly opts: RefreshingOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.expiryWindowMs ?? 30 * 60_000;
    this.minRetryMs = opts.minRetryMs ?? 1_000;
    this.maxRetryMs = opts.maxRetryMs ?? 60_000;
  }

  async getCredentials(): Promise<CloudCredentials> {
    const now = this.now();
    if (this.current && now < this.refreshAt) return this.current;
    if (now >= this.retryAt) {
      this.flight ??= this.refresh().finally(() => (this.flight = undefined));
      await this.flight;
    }
    // After a failed refresh the old credentials serve until they expire; then the failure shows.
    const c = this.current;
    if (c && (!this.lastError || c.expiration === undefined || this.now() < c.expiration)) return c;
    throw this.lastError ?? new Error(`${this.name}: no credentials yet`);
  }

  getProviderName(): string {
    return this.name;
  }

  /** The cloud refused them (expired, not matching): fetch again at the next call, back-off permitting. */
  invalidate(): void {
    this.refreshAt = 0;
  }

  private async refresh(): Promise<void> {
    const { logger } = this.opts;
    try {
      const creds = await this.fetch();
      const now = this.now();
      this.current = creds;
      this.lastError = undefined;
      const exp = creds.expiration;
      if (exp === undefined) {
        this.refreshAt = Infinity;
      } else if (exp <= now) {
        // Handed out already expired (a stuck rotation): use them anyway, so the cloud's own answer
        // (InvalidSecurityToken.Expired) shows, and ask again after the back-off.
        this.failures++;
        this.refreshAt = this.retryAt = now + this.backoff();
        logger?.warn({ source: this.name, expiration: new Date(exp).toISOString() }, 'cloud credentials fetched are already expired');
      } else {
        this.failures = 0;
        this.retryAt = 0;
        this.refreshAt = exp - Math.min(this.windowMs, (exp - now) / 5);
        logger?.debug({ source: this.name, expiration: new Date(exp).toISOString() }, 'cloud credentials refreshed');
      }
    } catch (err) {
      if (err instanceof NotEnabledError) throw err;
      const now = this.now();
      this.failures++;
      const delay = this.backoff();
      this.retryAt = now + delay;
      this.lastError = err as Error;
      const valid = this.current !== undefined && (this.current.expiration === undefined || now < this.current.expiration);
      logger?.warn(
        { source: this.name, err: (err as Error).message, retryInMs: delay, keepingOld: valid },
        valid ? 'refreshing cloud credentials failed; the current ones are used until they expire' : 'fetching cloud credentials failed',
      );
    }
  }

  private backoff(): number {
    return Math.min(this.maxRetryMs, this.minRetryMs * 2 ** Math.max(0, this.failures - 1));
  }
}
