/**
 * Snapshots in the stream's tip (docs/snapshots.md). The tip is read on every load anyway, so a snapshot
 * there costs a load no extra request: a load takes the snapshot and reads only the events after it.
 * Each append writes the tip; it takes a fresh snapshot when one is due (every `every` events, or when
 * the stored one is of another state schema) and otherwise carries the stored one over unchanged. A
 * snapshot of another schema version than the reader's is ignored (the state shape changed), and one that
 * would make the append batch too large is not written (loads then read events; nothing is lost).
 * Both adapters decide with these functions, so they behave the same through the port.
 */
import {
  EventStore,
  ANY,
  type ExpectedVersion,
  type Snapshot,
  type SnapshotPolicy,
  type StoredSnapshot,
} from './event-store.js';

export type { Snapshot, SnapshotPolicy, StoredSnapshot } from './event-store.js';

/** The snapshot a read may start from: of the reader's schema version and past `fromVersion`. */
export const usableSnapshot = (
  stored: StoredSnapshot | undefined,
  options: { fromVersion?: number; snapshotSchemaVersion?: number },
): Snapshot | undefined => {
  if (!stored || options.snapshotSchemaVersion === undefined) return undefined;
  if (stored.schemaVersion !== options.snapshotSchemaVersion) return undefined; // another state shape
  if (stored.version <= (options.fromVersion ?? 0)) return undefined; // the reader is further already
  return { version: stored.version, schemaVersion: stored.schemaVersion, state: stored.state };
};

/**
 * The snapshot the tip carries after an append that ends at `toVersion` with `eventBytes` of events: a
 * fresh one when due, else the stored one; none when it would not fit the batch. An `any` append may land
 * elsewhere than the caller's state, so it takes no snapshot (it carries the stored one).
 */
export const snapshotAfterAppend = (
  stored: StoredSnapshot | undefined,
  policy: SnapshotPolicy | undefined,
  {
    toVersion,
    eventBytes,
    expectedVersion,
  }: { toVersion: number; eventBytes: number; expectedVersion: ExpectedVersion },
): StoredSnapshot | undefined => {
  const fits = (snapshot: StoredSnapshot | undefined) =>
    snapshot !== undefined && eventBytes + snapshot.bytes <= EventStore.MAX_APPEND_BYTES ? snapshot : undefined;
  if (!policy || expectedVersion === ANY) return fits(stored);
  const current = stored?.schemaVersion === policy.schemaVersion ? stored : undefined;
  if (current && toVersion - current.version < policy.every) return fits(current);
  if (!current && !stored && toVersion < policy.every) return undefined;
  const json = JSON.stringify(policy.take());
  if (json === undefined) return undefined;
  const state: unknown = JSON.parse(json); // a copy, as it will be read back
  return fits({ version: toVersion, schemaVersion: policy.schemaVersion, state, bytes: Buffer.byteLength(json) });
};
