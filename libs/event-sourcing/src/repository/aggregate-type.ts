/**
 * What a repository needs to know of an aggregate type (its stream category, a blank instance, its
 * not-found error, and optionally how its state is snapshotted), and the settings and answers of the
 * repository (aggregate-repository.ts) that runs commands on it.
 */
import type { ApplicationError } from '@app/core';
import type { AppendResult } from '../store/event-store.js';

export interface AggregateType<A> {
  /** Stream category, e.g. `Order`: streams are `Order-<id>`. */
  readonly category: string;
  /** A blank instance to replay history into. */
  readonly create: () => A;
  /** The error for a command on an aggregate that does not exist (HTTP 404). */
  readonly notFound: (id: string) => ApplicationError;
  /** How the aggregate's state is kept in its stream's tip, for types whose streams grow long. */
  readonly snapshot?: AggregateSnapshots<A>;
}

/**
 * An aggregate type's snapshots (docs/snapshots.md): its state as JSON and back. Bump `schemaVersion`
 * whenever the shape `toSnapshot` returns changes: stored snapshots of another version are then ignored
 * (loads read the events) and replaced by the next append of each stream.
 */
export interface AggregateSnapshots<A> {
  readonly schemaVersion: number;
  /** Events between snapshots; default DEFAULT_SNAPSHOT_EVERY. */
  readonly every?: number;
  /** The state after every event applied so far, as a JSON value. */
  readonly toSnapshot: (aggregate: A) => unknown;
  /** A blank-versioned aggregate in that state; throws on a state it cannot read (the load then replays). */
  readonly fromSnapshot: (state: unknown) => A;
}

/**
 * Events between snapshots unless the type says otherwise. A load reads the tip and fewer events than
 * this after its snapshot (one per command): at most the store's point-read limit (Cosmos: 20, read by
 * id in parallel), so no query, whose cost on the local server grows with the partition's documents.
 */
export const DEFAULT_SNAPSHOT_EVERY = 20;

export interface SaveResult {
  readonly id: string;
  /** Stream version after the command: what a read-your-writes query waits for. */
  readonly version: number;
}

/** Called after every successful append with what it wrote: the outbox relay's fast path. */
export type AfterAppend = (result: AppendResult) => void;

/** How many aggregates a repository keeps between commands (see AggregateCache). */
export const DEFAULT_AGGREGATE_CACHE_SIZE = 1_000;

/** How long a keyed command is answered from its record (IDEMPOTENCY_WINDOW_SECONDS): 24 h. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

export interface IdempotencyOptions {
  /** Records older than this answer nothing: the key is free again (a create then conflicts). */
  readonly windowMs: number;
  readonly now?: () => number;
}
