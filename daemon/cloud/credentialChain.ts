// Terway's credential chain (daemon/builder.go, ack-ram-tool's ChainProvider): access_key/access_secret
// → the credential file at credential_path (ACK's addon token by default) → the ECS instance RAM role.
// The first source that is configured wins and stays chosen: one that is not there (no key, no file,
// no role) passes to the next; one that is there but fails (an unreadable file, the metadata down) is
// chosen anyway, its failure shows on use and it is retried. One log line names the source chosen.
import type { CloudLogger } from './caller.js';
import {
  ADDON_TOKEN_PATH,
  CredentialError,
  FileCredentialsProvider,
  NotEnabledError,
  StaticCredentialsProvider,
  type CloudCredentials,
  type CloudCredentialsProvider,
  type CredentialSourceName,
} from './credentials.js';
import type { MetadataClient } from './metadata.js';
import { EcsRamRole } from './ramRole.js';
import { RefreshingCredentials, type RefreshingOptions } from './refreshing.js';

export interface ChainSource {
  name: CredentialSourceName;
  provider: CloudCredentialsProvider;
  /** What the log line may say of it (never a secret). */
  detail(): Record<string, unknown>;
}

export class CredentialChain implements CloudCredentialsProvider {
  private chosen?: ChainSource;
  private selecting?: Promise<ChainSource>;

  constructor(
    private readonly sources: readonly ChainSource[],
    private readonly logger?: CloudLogger,
  ) {}

  /** The source in use, chosen at the first call (one log line names it). Rejects when no source is there. */
  select(): Promise<ChainSource> {
    if (this.chosen) return Promise.resolve(this.chosen);
    this.selecting ??= this.choose().finally(() => (this.selecting = undefined));
    return this.selecting;
  }

  async getCredentials(): Promise<CloudCredentials> {
    return (await this.select()).provider.getCredentials();
  }

  getProviderName(): string {
    return this.chosen?.name ?? 'chain';
  }

  invalidate(): void {
    this.chosen?.provider.invalidate?.();
  }

  private async choose(): Promise<ChainSource> {
    const skipped: string[] = [];
    for (const s of this.sources) {
      let failure: Error | undefined;
      let creds: CloudCredentials | undefined;
      try {
        creds = await s.provider.getCredentials();
      } catch (err) {
        if (err instanceof NotEnabledError) {
          skipped.push(`${s.name}: ${err.message}`);
          continue;
        }
        failure = err as Error;
      }
      this.chosen = s;
      const fields = {
        source: s.name,
        ...s.detail(),
        ...(creds?.expiration !== undefined ? { expiration: new Date(creds.expiration).toISOString() } : {}),
        ...(skipped.length > 0 ? { skipped } : {}),
      };
      if (failure) this.logger?.warn({ ...fields, err: failure.message }, `cloud credentials from ${s.name}, which failed for now`);
      else this.logger?.info(fields, `cloud credentials from ${s.name}`);
      return s;
    }
    throw new CredentialError(`no cloud credentials: ${skipped.join('; ')}`);
  }
}

export interface DefaultChainOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  /** With the access key: static STS credentials. */
  securityToken?: string;
  /** Default ACK's addon token path (ADDON_TOKEN_PATH), as Terway. */
  credentialPath?: string;
  /** The instance's metadata client (its hardened-mode token is shared). */
  metadata: MetadataClient;
  /** Skip the role listing. */
  ramRoleName?: string;
  logger?: CloudLogger;
  refresh?: Omit<RefreshingOptions, 'logger'>;
}

/** Shows enough of an AccessKey id to tell keys apart in a log, never the whole of it. */
export function maskKeyId(id: string): string {
  return id.length <= 8 ? '****' : `${id.slice(0, 4)}****${id.slice(-4)}`;
}

export function defaultCredentialChain(opts: DefaultChainOptions): CredentialChain {
  const path = opts.credentialPath || ADDON_TOKEN_PATH;
  const role = new EcsRamRole(opts.metadata, opts.ramRoleName);
  const roleCreds = new RefreshingCredentials('ecs_ram_role', () => role.fetch(), { ...opts.refresh, logger: opts.logger });
  return new CredentialChain(
    [
      {
        name: 'access_key',
        provider: new StaticCredentialsProvider(opts.accessKeyId, opts.accessKeySecret, opts.securityToken),
        detail: () => ({ accessKeyId: maskKeyId(opts.accessKeyId ?? '') }),
      },
      { name: 'credential_path', provider: new FileCredentialsProvider(path), detail: () => ({ path }) },
      { name: 'ecs_ram_role', provider: roleCreds, detail: () => ({ role: role.roleName }) },
    ],
    opts.logger,
  );
}
