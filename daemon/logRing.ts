// The daemon's most recent log lines, kept in memory for GET /v1/logs and `eni-ipam-cli support-bundle`.
// Why a ring and not a log file: the daemon logs JSON to stdout, where the container runtime already
// keeps and rotates it (kubectl logs); a second copy on disk would need its own path, rotation and
// cleanup on every node. The ring is bounded (lines and bytes), costs no disk and no setting, and lets
// a bundle carry recent logs where kubectl is not at hand. It starts empty at each start: the runtime's
// log (kubectl logs --previous) keeps what a crashed daemon wrote.

export interface LogRingOptions {
  /** Default 5000. */
  maxLines?: number;
  /** Default 4 MiB (UTF-16 length, close enough for JSON lines). */
  maxBytes?: number;
  now?: () => number;
}

export interface LogLines {
  /** Oldest first, each one JSON log line without its newline. */
  lines: string[];
  /** Lines pushed out of the ring since the daemon started. */
  dropped: number;
  maxLines: number;
  maxBytes: number;
}

const REDACTED = '<redacted>';

export class LogRing {
  readonly maxLines: number;
  readonly maxBytes: number;
  private readonly now: () => number;
  private entries: { at: number; line: string }[] = [];
  private head = 0; // index of the oldest live entry
  private bytes = 0;
  private dropped = 0;
  private secrets: string[] = [];

  constructor(opts: LogRingOptions = {}) {
    this.maxLines = Math.max(1, opts.maxLines ?? 5000);
    this.maxBytes = Math.max(1024, opts.maxBytes ?? 4 * 1024 * 1024);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Exact values (credentials) replaced in every line kept from now on. The logger already redacts
   * known fields; this also catches a secret echoed inside free text, e.g. a cloud error message.
   */
  redactValues(values: (string | undefined)[]): void {
    this.secrets = [...new Set([...this.secrets, ...values.filter((v): v is string => !!v && v.length >= 4)])];
  }

  /** pino destination: one call per log line. */
  write(chunk: string): void {
    let line = chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk;
    for (const s of this.secrets) if (line.includes(s)) line = line.split(s).join(REDACTED);
    this.entries.push({ at: this.now(), line });
    this.bytes += line.length;
    while (this.size > 1 && (this.size > this.maxLines || this.bytes > this.maxBytes)) {
      this.bytes -= this.entries[this.head]!.line.length;
      this.head++;
      this.dropped++;
    }
    // Drop the dead prefix now and then instead of shifting on every line.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  private get size(): number {
    return this.entries.length - this.head;
  }

  /** Lines written at or after `sinceMs` (epoch ms; all when undefined), the newest `limit` of them. */
  lines(opts: { sinceMs?: number; limit?: number } = {}): LogLines {
    let live = this.entries.slice(this.head);
    if (opts.sinceMs !== undefined) live = live.filter((e) => e.at >= opts.sinceMs!);
    if (opts.limit !== undefined && live.length > opts.limit) live = live.slice(live.length - Math.max(0, opts.limit));
    return { lines: live.map((e) => e.line), dropped: this.dropped, maxLines: this.maxLines, maxBytes: this.maxBytes };
  }
}
