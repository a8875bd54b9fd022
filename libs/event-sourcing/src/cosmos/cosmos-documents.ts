/**
 * The documents of the Cosmos DB event store (docs/architecture.md, "Event store"): one container
 * partitioned by `/streamId`; per stream a tip (`tip`: version, ETag, command records, snapshot mark), one
 * document per event (`ev-<version>`: the id derived from the version, so two writers of a version
 * collide), the snapshot (`snapshot`, when the aggregate type takes them) and one outbox document per
 * pending append (`ob-<toVersion>`). Leases live in partitions of their own (`$lease-<name>`).
 * Also the one wrapper every call goes through, turning infrastructure failures into
 * EventStoreUnavailableError.
 */
import type { Container, JSONObject } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { ConcurrencyError, EventStoreUnavailableError } from '../store/errors.js';
import type { CommandRecord } from '../store/event-store.js';
import type { Snapshot, SnapshotMark } from '../store/snapshots.js';

/** Partition key path of the event store container: every document of a stream lives in its partition. */
export const COSMOS_EVENT_STORE_PARTITION_KEY = '/streamId';

export const tipDocumentId = 'tip' as const;
export const snapshotDocumentId = 'snapshot' as const;
export const eventDocumentId = (version: number): `ev-${number}` => `ev-${version}`;

/** The stream's head: its current version; its `_etag` is the optimistic concurrency token. */
export interface TipDocument {
  readonly id: typeof tipDocumentId;
  readonly streamId: string;
  readonly kind: 'tip';
  readonly version: number;
  /** When the last append was written; strictly increasing per stream (orders the outbox). */
  readonly updatedAt: string;
  /** Unique to the append attempt that wrote this tip: how a batch whose answer was lost is settled. */
  readonly attemptId?: string;
  /** The keyed commands the stream remembers (Idempotency-Key), oldest first; absent: none. */
  readonly commands?: CommandRecord[];
  /**
   * Which snapshot the stream's snapshot document holds (store/snapshots.ts). Tips written before the
   * snapshot had a document of its own carry the state here: still read, replaced by the next append.
   */
  readonly snapshot?: SnapshotMark | Snapshot;
}

/** One event; the id is derived from the version, so two writers of the same version collide. */
export interface EventDocument {
  readonly id: `ev-${number}`;
  readonly streamId: string;
  readonly kind: 'event';
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: RecordedEvent['data'];
  readonly metadata: RecordedEvent['metadata'];
  /** The append attempt that wrote it (as on the tip); absent on events written before attempts were. */
  readonly attemptId?: string;
}

/**
 * The stream's snapshot: the aggregate's state as of `version`. A document of its own, written only by
 * an append that takes a snapshot, so that the appends in between do not carry the state.
 */
export interface SnapshotDocument extends Snapshot {
  readonly id: typeof snapshotDocumentId;
  readonly streamId: string;
  readonly kind: 'snapshot';
}

export type Stored<T> = T & { readonly _etag?: string };

/** The tip as a batch body. */
export const tipBody = (tip: TipDocument): JSONObject => ({ ...tip }) as unknown as JSONObject;

export const toEventDocument = (event: RecordedEvent): EventDocument => ({
  id: eventDocumentId(event.version),
  streamId: event.streamId,
  kind: 'event',
  version: event.version,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata,
});

/** Keeps the stored fields only (drops id, kind and Cosmos system properties). */
export const toRecordedEvent = (document: EventDocument): RecordedEvent => ({
  streamId: document.streamId,
  version: document.version,
  type: document.type,
  schemaVersion: document.schemaVersion,
  data: document.data,
  metadata: document.metadata,
});

export const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Runs a Cosmos call, turning infrastructure failures into EventStoreUnavailableError. */
export const cosmosCall = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ConcurrencyError || error instanceof EventStoreUnavailableError) throw error;
    throw new EventStoreUnavailableError(`Cosmos DB ${what} failed: ${messageOf(error)}`, { cause: error });
  }
};

/** A point read; undefined for an absent document (404). */
export const readDocument = async <T extends object>(
  container: Container,
  id: string,
  streamId: string,
): Promise<Stored<T> | undefined> => {
  try {
    return (await container.item(id, streamId).read<Stored<T>>()).resource;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
};
