import { concurrently, type DomainEvent, type EventMetadata, type RecordedEvent } from '@app/core';
import type { OutboxEntry, OutboxSource } from '../relay/outbox-source.js';

/* Snapshots (what store/snapshots.ts decides with): types here, so the port depends on nothing. */
/** An aggregate's state as of `version`, in the shape `schemaVersion` of its type describes. */
export interface Snapshot {
  readonly version: number;
  readonly schemaVersion: number;
  /** JSON value (stored as it is, in a document of its own on Cosmos DB). */
  readonly state: unknown;
}

/** What an append needs to keep its stream's snapshot current. */
export interface SnapshotPolicy {
  /** Schema version of the state the aggregate type writes and reads today. */
  readonly schemaVersion: number;
  /** A snapshot is due once the stream is this many events past the last one. */
  readonly every: number;
  /** The state after the append's last event; called only when a snapshot is due. */
  readonly take: () => unknown;
}

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

/**
 * A command that asked to be recognised when sent again (an HTTP `Idempotency-Key`), as the append that
 * carried it records it on the stream: the load that reads the stream reads these too, so a repeat is
 * answered from its record at no extra round trip (docs/idempotency.md).
 */
// A type, not an interface: it is stored as JSON, and only type literals are assignable to JSON types.
export type CommandRecord = {
  readonly commandId: string;
  /** A hash of what the command asked: the same command id with another fingerprint is a misuse. */
  readonly fingerprint: string;
  /** The stream's version after the command's append: what the command answered. */
  readonly version: number;
  /** When it was appended (ISO 8601): records older than the idempotency window answer nothing. */
  readonly recordedAt: string;
};

/** How many keyed commands a stream remembers (the newest; kept on Cosmos DB in the tip document). */
export const COMMAND_RECORDS_PER_STREAM = 16;

/** The records after an append that recorded `command` (if any): the newest COMMAND_RECORDS_PER_STREAM. */
export const recordCommand = (
  records: readonly CommandRecord[],
  command: Pick<CommandRecord, 'commandId' | 'fingerprint'> | undefined,
  version: number,
  recordedAt: string,
): readonly CommandRecord[] =>
  command
    ? [...records, { commandId: command.commandId, fingerprint: command.fingerprint, version, recordedAt }].slice(
        -COMMAND_RECORDS_PER_STREAM,
      )
    : records;

/**
 * What a store read or wrote as a stream's head (on Cosmos DB: its tip document, with the ETag), opaque
 * to callers. Handed back with the next append at that version (AppendOptions.head), it spares the store
 * a read of its own; a stale one only means a ConcurrencyError. Stores without a head leave it out.
 */
export interface StreamHead {
  readonly version: number;
}

export interface AppendResult {
  /** Version of the stream after the append (the version of its last event). */
  readonly nextExpectedVersion: number;
  readonly events: readonly RecordedEvent[];
  /** The outbox entry written with the events: the relay publishes them from memory and completes it. */
  readonly entry: OutboxEntry;
  /** The stream's command records after this append, oldest first. */
  readonly commands: readonly CommandRecord[];
  /** The stream's head after this append, for the next one. */
  readonly head?: StreamHead;
}

export interface ReadStreamResult {
  readonly streamExists: boolean;
  /** Version of the last event in the stream; 0 if the stream does not exist. */
  readonly currentVersion: number;
  /** Events after `fromVersion` (after `snapshot.version` when a snapshot is given), in stream order. */
  readonly events: readonly RecordedEvent[];
  /** The keyed commands the stream remembers, oldest first (empty for a stream that does not exist). */
  readonly commands: readonly CommandRecord[];
  /** The stream's snapshot, when the read asked for its schema version and it is past `fromVersion`. */
  readonly snapshot?: Snapshot;
  /** The stream's head as this read saw it, for the next append. */
  readonly head?: StreamHead;
}

export interface ReadStreamOptions {
  /** Exclusive; default 0 = from the start. */
  readonly fromVersion?: number;
  /** Start from the stream's snapshot if it is of this state schema version (see snapshots.ts). */
  readonly snapshotSchemaVersion?: number;
}

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
  /** Record this command on the stream (see CommandRecord); absent for commands without a key. */
  readonly command?: Pick<CommandRecord, 'commandId' | 'fingerprint'>;
  /** Keeps the stream's snapshot current: a new one is written with the append when due. */
  readonly snapshot?: SnapshotPolicy;
  /** The head the caller's read or previous append of this stream handed back (see StreamHead). */
  readonly head?: StreamHead;
}

/**
 * Events per stream, appended atomically with an optimistic concurrency check and an outbox entry.
 * Adapters: in-memory (embedded mode, unit tests) and Cosmos DB. Both pass `eventStoreContract`.
 */
export abstract class EventStore {
  /**
   * Most events one append may carry (Cosmos: 100 operations per batch, minus tip and outbox; an append
   * of this many takes no snapshot, which would need one more).
   */
  static readonly MAX_EVENTS_PER_APPEND = 98;
  /** Most serialized bytes one append may carry (Cosmos: 2 MB per batch, with room for the envelope). */
  static readonly MAX_APPEND_BYTES = 1_900_000;

  /**
   * Reads a stream from `fromVersion` (exclusive; default 0 = from the start), or from its snapshot when
   * `snapshotSchemaVersion` matches the snapshot's: the cost of a load then does not grow with the stream.
   */
  abstract readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;

  /**
   * Every event of a stream, in order, for replays and rebuilds. Adapters may read it in one request where
   * `readStream` takes several (Cosmos: one query in the stream's partition instead of a tip read and
   * point reads). An append is atomic, so a replay sees all of a concurrent append's events or none.
   */
  async readStreamForReplay(streamId: string): Promise<readonly RecordedEvent[]> {
    return (await this.readStream(streamId)).events;
  }

  /**
   * Every event of each of the streams, in order, for replays and rebuilds: `[i]` holds `streamIds[i]`'s.
   * Adapters may read many streams with one request (Cosmos: one query per 100 streams); by default the
   * streams are read one by one, 16 at a time.
   */
  async readStreamsForReplay(streamIds: readonly string[]): Promise<(readonly RecordedEvent[])[]> {
    return concurrently(streamIds, 16, (streamId) => this.readStreamForReplay(streamId));
  }

  /** Whether any event was appended to the stream: the tip alone (one point read on Cosmos), no events. */
  async streamExists(streamId: string): Promise<boolean> {
    return (await this.readStream(streamId, { fromVersion: Number.MAX_SAFE_INTEGER })).streamExists;
  }

  /**
   * Appends events to a stream if it is at `expectedVersion`, recording `command` with them if given.
   * @throws ConcurrencyError when the stream is elsewhere (or moved during the append).
   * @throws AppendTooLargeError beyond MAX_EVENTS_PER_APPEND or MAX_APPEND_BYTES.
   * @throws AppendOutcomeUnknownError when the store failed in a way that leaves open whether it wrote.
   */
  abstract appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: AppendOptions,
  ): Promise<AppendResult>;

  /** The outbox written by the appends, as the relay reads and completes it (recovery path). */
  abstract readonly outbox: OutboxSource;

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
