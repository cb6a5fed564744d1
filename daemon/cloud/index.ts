// The cloud folder's face: the contract, the SDK-backed client and its building blocks.
export * from './types.js';
export { AliyunCloud, type AliyunCloudOptions, type CloudLogger } from './client.js';
export { type Clock, systemClock } from './clock.js';
export {
  TokenBucket,
  RateLimiter,
  TERWAY_DEFAULT_RATE_LIMITS,
  type TokenBucketOptions,
  type RateLimiterOptions,
  type RateLimiterStats,
} from './ratelimit.js';
export {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  backoffDelay,
  withRetry,
  type RetryHooks,
  type RetryState,
  BackoffTable,
  BACKOFF_KEYS,
  API_BACKOFF_KEY,
  type TerwayBackoff,
  fromTerwayBackoff,
  parseGoDurationMs,
} from './retry.js';
export { toCloudError, classify, isThrottled, isThrottlingCode, type Classification } from './errors.js';
export {
  MetadataClient,
  MetadataError,
  REAL_METADATA_BASE_URL,
  normalizeMac,
  parseIpList,
  parseListing,
  type MetadataClientOptions,
  type MetadataStats,
} from './metadata.js';
export {
  ADDON_TOKEN_PATH,
  CredentialError,
  NotEnabledError,
  StaticCredentialsProvider,
  FileCredentialsProvider,
  parseCredentialFile,
  decryptAddonField,
  sdkCredential,
  type CloudCredentials,
  type CloudCredentialsProvider,
  type CredentialSourceName,
  type SdkCredential,
} from './credentials.js';
export { CredentialChain, defaultCredentialChain, maskKeyId, type ChainSource, type DefaultChainOptions } from './credentialChain.js';
export { RefreshingCredentials, type RefreshingOptions } from './refreshing.js';
export { EcsRamRole, parseRoleCredentials } from './ramRole.js';
