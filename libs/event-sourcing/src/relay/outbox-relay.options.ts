/** Settings of the outbox relay (RELAY_* in .env.example; see OutboxRelay). */
export interface OutboxRelayOptions {
  /**
   * How often the relay looks at its lease: a standby tries to take it (so a successor takes over within
   * the lease TTL plus this), the holder renews it, and a recovery pass that fell due runs.
   */
  readonly pollIntervalMs: number;
  /** Recovery path: how often the holder scans the outbox for entries left behind (crash, another instance). */
  readonly recoveryIntervalMs: number;
  /** Entries per page of a recovery scan, and most appends relayed in one pass. */
  readonly batchSize: number;
  /** Streams read or completed at the same time within a pass (each stream stays in order). */
  readonly concurrency: number;
  /** Backoff cap for a stream whose publish keeps failing. */
  readonly maxBackoffMs: number;
  /**
   * Only the holder of this lease in the event store publishes; other instances stand by and take
   * over when it expires (crash) or is released (shutdown).
   */
  readonly lease: { readonly name: string; readonly owner: string; readonly ttlMs: number };
}
