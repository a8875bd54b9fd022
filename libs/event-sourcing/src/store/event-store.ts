import type { DomainEvent, EventMetadata, RecordedEvent } from '@app/core';

/** The stream must not exist yet. */
export const NO_STREAM = 'no_stream' as const;
/** No concurrency check: append after whatever is there. */
export const ANY = 'any' as const;

/** `no_stream`, `any`, or the exact version the stream must be at (0 is the same as `no_stream`). */
export type ExpectedVersion = typeof NO_STREAM | typeof ANY | number;

/** An event ready to be appended: what happened, its schema version and its metadata. */
export interface EventToAppend {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: DomainEvent['data'];
  readonly metadata: EventMetadata;
}

export interface AppendResult {
  /** Version of the stream after the append (the version of its last event). */
  readonly nextExpectedVersion: number;
  readonly events: readonly RecordedEvent[];
}

export interface ReadStreamResult {
  readonly streamExists: boolean;
  /** Version of the last event in the stream; 0 if the stream does not exist. */
  readonly currentVersion: number;
  /** Events after `fromVersion`, in stream order. */
  readonly events: readonly RecordedEvent[];
}

/**
 * A pending outbox entry: the events of one append, not yet handed to the event transport.
 * Written in the same atomic step as the events, removed by the relay once they were published.
 */
export interface OutboxEntry {
  readonly streamId: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly createdAt: string;
}

/**
 * Events per stream, appended atomically with an optimistic concurrency check and an outbox entry.
 * Adapters: in-memory (embedded mode, unit tests) and Cosmos DB. Both pass `eventStoreContract`.
 */
export abstract class EventStore {
  /** Most events one append may carry (Cosmos: 100 operations per batch, minus tip and outbox). */
  static readonly MAX_EVENTS_PER_APPEND = 98;
  /** Most serialized bytes one append may carry (Cosmos: 2 MB per batch, with room for the envelope). */
  static readonly MAX_APPEND_BYTES = 1_900_000;

  /** Reads a stream from `fromVersion` (exclusive; default 0 = from the start). */
  abstract readStream(streamId: string, options?: { fromVersion?: number }): Promise<ReadStreamResult>;

  /**
   * The events of versions `fromVersion`..`toVersion` (inclusive) of a stream, in order: what an outbox
   * entry covers. Adapters may fetch them more cheaply than a stream read (Cosmos: point reads by id).
   */
  async readEvents(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]> {
    const { events } = await this.readStream(streamId, { fromVersion: fromVersion - 1 });
    return events.filter((e) => e.version <= toVersion);
  }

  /**
   * Every event of a stream, in order, for replays and rebuilds. Adapters may read it in one request where
   * `readStream` takes several (Cosmos: one query in the stream's partition instead of a tip read and
   * point reads). An append is atomic, so a replay sees all of a concurrent append's events or none.
   */
  async readStreamForReplay(streamId: string): Promise<readonly RecordedEvent[]> {
    return (await this.readStream(streamId)).events;
  }

  /**
   * Appends events to a stream if it is at `expectedVersion`.
   * @throws ConcurrencyError when the stream is elsewhere (or moved during the append).
   * @throws AppendTooLargeError beyond MAX_EVENTS_PER_APPEND or MAX_APPEND_BYTES.
   */
  abstract appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult>;

  /**
   * Pending outbox entries, oldest first per stream, at most `limit`, leaving out the given streams
   * (the relay skips streams it is backing off from, so they cannot crowd out the others).
   */
  abstract pendingOutbox(limit: number, excludeStreamIds?: readonly string[]): Promise<OutboxEntry[]>;

  /** Removes an outbox entry once its events were published. Removing an absent entry is not an error. */
  abstract completeOutbox(entry: OutboxEntry): Promise<void>;

  /**
   * Takes or renews the named lease for `owner` until `ttlMs` from now, if it is free, expired or
   * already `owner`'s (compare-and-swap: two contenders never both win). One outbox relay per store
   * publishes at a time by holding the lease `outbox-relay`.
   */
  abstract tryAcquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;

  /** Gives the lease up if `owner` holds it, so another process can take over at once. */
  abstract releaseLease(name: string, owner: string): Promise<void>;

  /** Ids of every stream of a category (`Order`), for replays and rebuilds. */
  abstract streamIds(category: string): AsyncIterable<string>;

  /** Creates whatever storage the adapter needs (database, container). Idempotent. */
  async init(): Promise<void> {}

  /** Throws when the store cannot be reached (readiness checks). */
  async ping(): Promise<void> {}
}
