/**
 * Snapshots beside the stream's tip (docs/snapshots.md). The tip, replaced by every append, keeps only a
 * mark of the stored snapshot (its version and state schema version); the state lives in a document of
 * its own that an append writes only when a snapshot is due (every `every` events, or at once when the
 * stored one is of another state schema). So an append that is not due never carries the state, however
 * large. A load reads the snapshot with the events after it; one of another schema version than the
 * reader's is ignored (the state shape changed), and one that would not fit the append batch is not
 * written (the stored one stays; loads read a few more events; nothing is lost).
 * Both adapters decide with these functions, so they behave the same through the port.
 */
import { EventStore, ANY, type ExpectedVersion, type Snapshot, type SnapshotPolicy } from './event-store.js';

export type { Snapshot, SnapshotPolicy } from './event-store.js';

/** What the tip keeps of the stored snapshot: enough to decide when the next one is due. */
export type SnapshotMark = Pick<Snapshot, 'version' | 'schemaVersion'>;

/** The snapshot a read may start from: of the reader's schema version and past `fromVersion`. */
export const usableSnapshot = <S extends SnapshotMark>(
  stored: S | undefined,
  options: { fromVersion?: number; snapshotSchemaVersion?: number },
): S | undefined => {
  if (!stored || options.snapshotSchemaVersion === undefined) return undefined;
  if (stored.schemaVersion !== options.snapshotSchemaVersion) return undefined; // another state shape
  if (stored.version <= (options.fromVersion ?? 0)) return undefined; // the reader is further already
  return stored;
};

/**
 * The snapshot to write with an append of `events` events (`eventBytes` of JSON) ending at `toVersion`,
 * when one is due; undefined otherwise (the stored one, marked `stored`, stays as it is). An `any` append
 * may land elsewhere than the caller's state, so it takes none. A snapshot takes one operation of the
 * batch and its bytes: it is not written when the batch could not hold it (the next append tries again).
 */
export const snapshotToWrite = (
  stored: SnapshotMark | undefined,
  policy: SnapshotPolicy | undefined,
  { toVersion, events, eventBytes, expectedVersion }: SnapshotAppend,
): Snapshot | undefined => {
  if (!policy || expectedVersion === ANY) return undefined;
  if (stored?.schemaVersion === policy.schemaVersion && toVersion - stored.version < policy.every) return undefined;
  if (!stored && toVersion < policy.every) return undefined;
  if (events >= EventStore.MAX_EVENTS_PER_APPEND) return undefined; // no operation left in the batch
  const json = JSON.stringify(policy.take());
  if (json === undefined || eventBytes + Buffer.byteLength(json) > EventStore.MAX_APPEND_BYTES) return undefined;
  // A copy, as it will be read back: JSON values only.
  return { version: toVersion, schemaVersion: policy.schemaVersion, state: JSON.parse(json) as unknown };
};

export interface SnapshotAppend {
  readonly toVersion: number;
  /** How many events the append carries, and their size as JSON. */
  readonly events: number;
  readonly eventBytes: number;
  readonly expectedVersion: ExpectedVersion;
}
