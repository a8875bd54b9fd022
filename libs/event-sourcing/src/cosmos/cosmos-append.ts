/**
 * One append to the Cosmos DB event store: one transactional batch in the stream's partition, the tip
 * first (create for a new stream, else replace with `ifMatch` on its ETag), then the event creates, the
 * snapshot when one is due (store/snapshots.ts), then the outbox entry. A stale ETag or a taken event id
 * fails the whole batch: a ConcurrencyError. The tip replaced is the one the caller's read or previous
 * append handed back (AppendOptions.head), so a command costs no read of its own; else it is read.
 * A batch whose answer was lost is settled by the attempt id the batch wrote (on the tip, or on its first
 * event once others appended after it), never by event ids that a duplicate command would share.
 */
import { randomUUID } from 'node:crypto';
import { BulkOperationType, type Container, type JSONObject, type OperationInput } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { assertExpectedVersion } from '../store/append-guards.js';
import { AppendOutcomeUnknownError, ConcurrencyError, EventStoreUnavailableError } from '../store/errors.js';
import {
  ANY,
  NO_STREAM,
  recordCommand,
  type AppendOptions,
  type AppendResult,
  type EventToAppend,
  type ExpectedVersion,
  type StreamHead,
} from '../store/event-store.js';
import { snapshotToWrite } from '../store/snapshots.js';
import { outboxDocumentId, type OutboxDocument } from './cosmos-outbox-source.js';
import {
  eventDocumentId,
  messageOf,
  readDocument,
  snapshotDocumentId,
  tipBody,
  tipDocumentId,
  toEventDocument,
  type EventDocument,
  type Stored,
  type TipDocument,
} from './cosmos-documents.js';
import type { CosmosStreamReads } from './cosmos-stream-reads.js';

/** Batch statuses that mean "someone else wrote this stream first". */
const CONFLICT_STATUSES = new Set([409, 412, 424]);

/** The operation that replaces the tip of an existing stream (a seam: see CosmosEventStore). */
export type TipReplace = (streamId: string, tip: TipDocument, etag: string | undefined) => OperationInput;

export const tipReplace: TipReplace = (streamId, tip, etag) => ({
  operationType: BulkOperationType.Replace,
  id: tipDocumentId,
  partitionKey: streamId,
  resourceBody: tipBody(tip),
  ...(etag === undefined ? {} : { ifMatch: etag }),
});

/** One attempt of an append; `json` is the events as `serializeAppend` gave them (a fresh copy each). */
export const appendOnce = async (
  container: Container,
  reads: CosmosStreamReads,
  replaceTip: TipReplace,
  streamId: string,
  json: string,
  { expectedVersion, command, snapshot: policy, head }: AppendOptions,
): Promise<AppendResult> => {
  const attemptId = randomUUID();
  const tip = await tipToAppendTo(reads, streamId, expectedVersion, head);
  const current = tip?.version ?? 0;
  assertExpectedVersion(streamId, expectedVersion, current);

  const events = JSON.parse(json) as EventToAppend[];
  const recorded = events.map((event, i): RecordedEvent => ({ streamId, version: current + i + 1, ...event }));
  const fromVersion = current + 1;
  const toVersion = current + events.length;
  // Strictly after the previous append of this stream even if clocks disagree, so that ordering the
  // outbox by createdAt keeps each stream's entries in version order.
  const previous = tip ? Date.parse(tip.updatedAt) : Number.NaN;
  const createdAt = new Date(Number.isNaN(previous) ? Date.now() : Math.max(Date.now(), previous + 1)).toISOString();

  const commands = recordCommand(tip?.commands ?? [], command, toVersion, createdAt);
  // A tip of before snapshot documents carries the state itself: no mark, so a snapshot is due now.
  const stored = tip?.snapshot && !('state' in tip.snapshot) ? tip.snapshot : undefined;
  const snapshot = snapshotToWrite(stored, policy, {
    toVersion,
    events: events.length,
    eventBytes: Buffer.byteLength(json),
    expectedVersion,
  });
  const mark = snapshot ?? stored;
  const newTip: TipDocument = {
    id: tipDocumentId,
    streamId,
    kind: 'tip',
    version: toVersion,
    updatedAt: createdAt,
    attemptId,
    ...(commands.length > 0 ? { commands: [...commands] } : {}),
    ...(mark ? { snapshot: { version: mark.version, schemaVersion: mark.schemaVersion } } : {}),
  };
  const outbox: OutboxDocument = {
    id: outboxDocumentId(toVersion),
    streamId,
    kind: 'outbox',
    fromVersion,
    toVersion,
    createdAt,
  };
  const create = (body: JSONObject): OperationInput => ({
    operationType: BulkOperationType.Create,
    partitionKey: streamId,
    resourceBody: body,
  });
  const operations: OperationInput[] = [
    tip ? replaceTip(streamId, newTip, tip._etag) : create(tipBody(newTip)),
    // Event data and snapshot states are JSON by contract (serialized to be stored anywhere).
    ...recorded.map((event) => create({ ...toEventDocument(event), attemptId } as unknown as JSONObject)),
    ...(snapshot
      ? [
          {
            operationType: BulkOperationType.Upsert,
            partitionKey: streamId,
            resourceBody: { id: snapshotDocumentId, streamId, kind: 'snapshot', ...snapshot } as JSONObject,
          } satisfies OperationInput,
        ]
      : []),
    create({ ...outbox }),
  ];
  const entry = { streamId, fromVersion, toVersion, createdAt };
  const written = (etag?: string): AppendResult => {
    const head: Stored<TipDocument> | undefined = etag === undefined ? undefined : { ...newTip, _etag: etag };
    return { nextExpectedVersion: toVersion, events: recorded, entry, commands, ...(head ? { head } : {}) };
  };

  let response;
  try {
    response = await container.items.batch(operations, streamId);
  } catch (error) {
    // @azure/cosmos 4.x rethrows any batch request failure as a plain Error without the status code;
    // the tip tells whether we lost a race, or whether the write landed despite the error.
    await settleFailedBatch(
      container,
      reads,
      streamId,
      expectedVersion,
      tip,
      { attemptId, fromVersion, toVersion },
      error,
    );
    return written();
  }
  const results = response.result ?? [];
  const failures = results.filter((r) => r.statusCode >= 400);
  if (failures.length === 0 && results.length === operations.length && (response.code ?? 200) < 400) {
    return written(results[0]?.eTag);
  }
  // A failed atomic batch: the failing operation's status, 424 (failed dependency) for the others.
  const cause = failures.find((r) => r.statusCode !== 424) ?? failures[0];
  const status = cause?.statusCode ?? response.code;
  if (status !== undefined && CONFLICT_STATUSES.has(status)) throw new ConcurrencyError(streamId, expectedVersion);
  throw new EventStoreUnavailableError(
    `Cosmos DB append to ${streamId} failed with status ${String(status)}` +
      ` (operation statuses ${results.map((r) => r.statusCode).join(',') || 'none'})`,
  );
};

/**
 * The tip an append replaces: none for a new stream (the tip create conflicts if it exists), else the
 * head the caller's read or previous append handed back when it is at the expected version, else a read.
 */
const tipToAppendTo = async (
  reads: CosmosStreamReads,
  streamId: string,
  expectedVersion: ExpectedVersion,
  head: StreamHead | undefined,
): Promise<Stored<TipDocument> | undefined> => {
  if (expectedVersion === NO_STREAM || expectedVersion === 0) return undefined;
  const known = head as Partial<Stored<TipDocument>> | undefined;
  const usable = known?.kind === 'tip' && known.streamId === streamId && known._etag !== undefined;
  if (usable && (expectedVersion === ANY || known.version === expectedVersion)) return known as Stored<TipDocument>;
  return reads.readTip(streamId);
};

/** Returns if our write landed despite the thrown batch, else throws the right error. */
const settleFailedBatch = async (
  container: Container,
  reads: CosmosStreamReads,
  streamId: string,
  expectedVersion: ExpectedVersion,
  before: Stored<TipDocument> | undefined,
  ours: { attemptId: string; fromVersion: number; toVersion: number },
  cause: unknown,
): Promise<void> => {
  const unknown = () =>
    new AppendOutcomeUnknownError(`Cosmos DB append to ${streamId} failed: ${messageOf(cause)}`, { cause });
  let after: Stored<TipDocument> | undefined;
  try {
    after = await reads.readTip(streamId);
  } catch {
    throw unknown();
  }
  if (after?.attemptId === ours.attemptId) return; // it landed, and is the stream's last append
  if (after && after.version >= ours.toVersion) {
    let first: EventDocument | undefined;
    try {
      first = await readDocument<EventDocument>(container, eventDocumentId(ours.fromVersion), streamId);
    } catch {
      throw unknown();
    }
    if (first?.attemptId === ours.attemptId) return; // it landed, and others appended after it
  }
  const moved = before ? after?._etag !== before._etag : after !== undefined;
  if (moved) throw new ConcurrencyError(streamId, expectedVersion, after?.version ?? 0);
  // Nothing moved yet, but the batch may still be applied (a timeout, a reset connection).
  throw unknown();
};
