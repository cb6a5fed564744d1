// The range of every duration and number key of eni_conf (daemon/README.md lists them). No duration may exceed
// what a Node timer holds (2^31 - 1 ms, about 24.8 days): a longer one fires after ~1 ms, so "720h" would turn
// the GC period into a busy loop. The ranges are wide enough for any sane node and tight enough that no value
// overflows a timer, a counter or an allocation.

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** setTimeout's largest delay (a signed 32-bit count of ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** [min, max] in ms; min 0 allows "0s". */
export const DURATION_RANGES = {
  idle_ip_reclaim_after: [S, 7 * D],
  idle_ip_reclaim_interval: [10, D],
  ip_cooldown: [0, D],
  stateful_ip_reserve: [0, 7 * D],
  gc_interval: [S, D],
  gc_grace: [0, D],
  alloc_timeout: [100, H],
  shutdown_timeout: [0, 10 * M],
  pod_lookup_timeout: [10, M],
  pending_del_interval: [100, H],
} as const satisfies Record<string, readonly [number, number]>;

export type DurationKey = keyof typeof DURATION_RANGES;

/** backoff_override durations (initial_delay, duration, cap). */
export const BACKOFF_DURATION_RANGE = [0, D] as const;

/** [min, max] of integer keys (max_pool_size's min is min_pool_size). */
export const INT_RANGES = {
  min_pool_size: [0, 10_000],
  max_pool_size: [0, 10_000],
  idle_ip_reclaim_batch_size: [1, 1_000],
  min_eni: [0, 128],
  max_eni: [0, 128],
  mtu: [68, 65_535],
  kube_client_burst: [1, 100_000],
  eni_cap_shift: [-100, 100],
} as const satisfies Record<string, readonly [number, number]>;

export type IntKey = keyof typeof INT_RANGES;

/** Other numbers: per-minute API limits, backoff factor / jitter / steps, client QPS. */
export const NUMBER_RANGES = {
  rate_limit: [Number.MIN_VALUE, 1_000_000],
  backoff_factor: [1, 100],
  backoff_jitter: [0, 10],
  backoff_steps: [1, 1_000],
  kube_client_qps: [0.01, 10_000],
  idle_ip_reclaim_jitter_factor: [0, 1],
  eni_cap_ratio: [Number.MIN_VALUE, 100],
} as const satisfies Record<string, readonly [number, number]>;

/** Strings (paths, ids, names) and lists are bounded too. */
export const MAX_STRING = 4096;
export const MAX_LIST = 256;
export const MAX_MAP_ENTRIES = 64;
/** A config nested deeper than this is refused before anything walks it. */
export const MAX_DEPTH = 32;
/** The eni_conf file's size bound. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
