import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  BulkOperationType,
  type Container,
  type CosmosClient,
  type JSONObject,
  type OperationInput,
  type OperationResponse,
  type Response,
} from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { assertExpectedVersion, serializeAppend } from '../store/append-guards.js';
import { AppendOutcomeUnknownError, ConcurrencyError, EventStoreUnavailableError } from '../store/errors.js';
import {
  ANY,
  EventStore,
  NO_STREAM,
  recordCommand,
  type AppendOptions,
  type AppendResult,
  type CommandRecord,
  type EventToAppend,
  type ExpectedVersion,
  type ReadStreamOptions,
  type ReadStreamResult,
} from '../store/event-store.js';
import { snapshotToWrite, usableSnapshot, type Snapshot, type SnapshotMark } from '../store/snapshots.js';
import type { OutboxEntry } from '../relay/outbox-source.js';
import { CosmosOutboxSource, outboxDocumentId, type OutboxDocument } from './cosmos-outbox-source.js';

export { CosmosOutboxSource, outboxDocumentId, type OutboxDocument } from './cosmos-outbox-source.js';

/** Partition key path of the event store container: every document of a stream lives in its partition. */
export const COSMOS_EVENT_STORE_PARTITION_KEY = '/streamId';

/** The stream's head: its current version; its `_etag` is the optimistic concurrency token. */
export interface TipDocument {
  readonly id: 'tip';
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
   * Which snapshot the stream's snapshot document holds (store/snapshots.ts): a load reads it with the
   * events after it. Tips written before the snapshot had a document of its own carry the state here.
   */
  readonly snapshot?: SnapshotMark | Snapshot;
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

type Stored<T> = T & { readonly _etag?: string };

/** A lease lives in a partition of its own, `$lease-<name>`, which no stream id can take (`$`). */
export interface LeaseDocument {
  readonly id: typeof leaseDocumentId;
  readonly streamId: string;
  readonly kind: 'lease';
  readonly owner: string;
  readonly expiresAt: string;
}
export const leaseDocumentId = 'lease' as const;
const leasePartition = (name: string): string => `$lease-${name}`;

export const tipDocumentId = 'tip' as const;
export const snapshotDocumentId = 'snapshot' as const;
export const eventDocumentId = (version: number): `ev-${number}` => `ev-${version}`;

/** Batch statuses that mean "someone else wrote this stream first". */
const CONFLICT_STATUSES = new Set([409, 412, 424]);
/** Ranges up to this many events are fetched by point reads. */
const POINT_READ_LIMIT = 20;
/** How often an `any` append re-reads the tip and tries again after losing a race. */
const ANY_ATTEMPTS = 5;
/** Tips remembered from loads and appends, so that an append after a load needs no read of its own. */
const TIP_CACHE_SIZE = 10_000;

const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

/**
 * Event store on Azure Cosmos DB (README.md, "Event store").
 *
 * One container partitioned by `/streamId`. Per stream: a tip document (`id: 'tip'`) holding the
 * current version, one document per event (`id: 'ev-<version>'`) and one outbox document per append
 * (`id: 'ob-<toVersion>'`). An append is one transactional batch in the stream's partition: tip
 * create/replace (`ifMatch` on the tip's ETag) first, then the event creates, then the outbox create.
 * The version-derived event ids keep concurrency safe even on servers that ignore `ifMatch` in batches.
 *
 * Round trips: an append right after a load uses the tip (and ETag) the load read, so a command costs
 * one tip read (+ the events) to load and one batch to append; the batch's answer carries the new ETag.
 * A stale remembered tip only means a 412, i.e. the ConcurrencyError the command retry reloads on.
 */
export class CosmosEventStore extends EventStore {
  override readonly outbox: CosmosOutboxSource;
  /** Last tip seen per stream, with its ETag; bounded (lru-cache: see AggregateCache for why not a Map). */
  readonly #tips = new LRUCache<string, Stored<TipDocument>>({ max: TIP_CACHE_SIZE });

  constructor(readonly container: Container) {
    super();
    this.outbox = new CosmosOutboxSource(container, {
      call: (what, fn) => this.#call(what, fn),
      readEvents: (streamId, from, to) => this.readEvents(streamId, from, to),
    });
  }

  static fromClient(client: CosmosClient, databaseId: string, containerId: string): CosmosEventStore {
    return new CosmosEventStore(client.database(databaseId).container(containerId));
  }

  override async init(): Promise<void> {
    await this.#call('init', async () => {
      // createIfNotExists reads, then creates: two services starting at once on a new database can both
      // miss it and one create then fails with 409. The thing exists then, which is all we wanted.
      const ignoreConflict = async (create: () => Promise<unknown>) => {
        try {
          await create();
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
      };
      const { client, id: databaseId } = this.container.database;
      await ignoreConflict(() => client.databases.createIfNotExists({ id: databaseId }));
      await ignoreConflict(() =>
        client.database(databaseId).containers.createIfNotExists({
          id: this.container.id,
          partitionKey: { paths: [COSMOS_EVENT_STORE_PARTITION_KEY] },
        }),
      );
    });
  }

  /**
   * Events `fromVersion`..`toVersion` of a stream (what an outbox entry covers): point reads of the
   * version-keyed event documents (one RU each on Cosmos DB, and no query), a stream read for long ranges.
   */
  async readEvents(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]> {
    if (toVersion - fromVersion >= POINT_READ_LIMIT) {
      const { events } = await this.readStream(streamId, { fromVersion: fromVersion - 1 });
      return events.filter((e) => e.version <= toVersion);
    }
    return this.#pointReads(streamId, fromVersion, toVersion);
  }

  async #pointReads(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]> {
    const versions = Array.from({ length: toVersion - fromVersion + 1 }, (_, i) => fromVersion + i);
    return this.#call('readEvents', () =>
      Promise.all(
        versions.map(async (version) => {
          const { resource } = await this.container.item(eventDocumentId(version), streamId).read<EventDocument>();
          if (!resource) throw new Error(`${streamId}@${version} is missing below the stream's tip`);
          return toRecordedEvent(resource);
        }),
      ),
    );
  }

  override async ping(): Promise<void> {
    await this.#call('ping', () => this.container.read());
  }

  override async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    return this.#readStream(streamId, options, true);
  }

  /**
   * The tip, then in parallel the events after it (or after the snapshot it marks) and that snapshot:
   * two round trips, whatever the stream's length, as without a snapshot. A snapshot document newer than
   * the tip (replaced by an append after the tip was read) means one read again, then none used.
   */
  async #readStream(streamId: string, options: ReadStreamOptions, mayRetry: boolean): Promise<ReadStreamResult> {
    const tip = await this.#readTip(streamId);
    if (!tip) return { streamExists: false, currentVersion: 0, events: [], commands: [] };
    const mark = usableSnapshot(tip.snapshot, options);
    const from = mark?.version ?? options.fromVersion ?? 0;
    const [snapshot, events] = await Promise.all([
      mark && !('state' in mark) ? this.#readSnapshot(streamId) : mark,
      this.#eventsAfter(streamId, from, tip.version),
    ]);
    if (mark && snapshot?.version !== mark.version) {
      const { snapshotSchemaVersion: _, ...withoutSnapshot } = options;
      return this.#readStream(streamId, mayRetry ? options : withoutSnapshot, false);
    }
    return {
      streamExists: true,
      currentVersion: tip.version,
      commands: tip.commands ?? [],
      events,
      ...(snapshot
        ? { snapshot: { version: snapshot.version, schemaVersion: snapshot.schemaVersion, state: snapshot.state } }
        : {}),
    };
  }

  /** Events `from + 1`..`to`: by id when few (point reads cost less than a query), else one query. */
  async #eventsAfter(streamId: string, from: number, to: number): Promise<RecordedEvent[]> {
    if (from >= to) return [];
    if (to - from <= POINT_READ_LIMIT) return this.#pointReads(streamId, from + 1, to);
    const documents = await this.#call('readStream', async () => {
      const { resources } = await this.container.items
        .query<EventDocument>(
          {
            query:
              "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'event' AND c.version > @from ORDER BY c.version",
            parameters: [
              { name: '@s', value: streamId },
              { name: '@from', value: from },
            ],
          },
          { partitionKey: streamId },
        )
        .fetchAll();
      return resources;
    });
    // Events past the tip belong to an append that landed after the tip was read: left for the next read.
    return documents.filter((d) => d.version <= to).map(toRecordedEvent);
  }

  async #readSnapshot(streamId: string): Promise<SnapshotDocument | undefined> {
    return this.#call('readSnapshot', async () => {
      try {
        return (await this.container.item(snapshotDocumentId, streamId).read<SnapshotDocument>()).resource;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  /** One query in the stream's partition (a replay reads whole streams: cheaper than tip + point reads). */
  override async readStreamForReplay(streamId: string): Promise<readonly RecordedEvent[]> {
    return this.#call('readStreamForReplay', async () => {
      const { resources } = await this.container.items
        .query<EventDocument>(
          {
            query: "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'event' ORDER BY c.version",
            parameters: [{ name: '@s', value: streamId }],
          },
          { partitionKey: streamId },
        )
        .fetchAll();
      return resources.map(toRecordedEvent);
    });
  }

  override async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedVersion, command, snapshot }: AppendOptions,
  ): Promise<AppendResult> {
    const json = serializeAppend(streamId, events);
    const attempts = expectedVersion === ANY ? ANY_ATTEMPTS : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#appendOnce(streamId, json, { expectedVersion, command, snapshot });
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  override async *streamIds(category: string): AsyncIterable<string> {
    const iterator = this.container.items.query<{ streamId: string }>(
      {
        query: "SELECT c.streamId FROM c WHERE c.kind = 'tip' AND STARTSWITH(c.streamId, @prefix)",
        parameters: [{ name: '@prefix', value: `${category}-` }],
      },
      { maxItemCount: 500 },
    );
    while (iterator.hasMoreResults()) {
      const { resources } = await this.#call('streamIds', () => iterator.fetchNext());
      for (const { streamId } of resources ?? []) yield streamId;
    }
  }

  /**
   * The tip operation of an append to an existing stream. A seam for tests that simulate servers which
   * ignore `ifMatch` inside batches (the vNext emulator): the event ids must then still guard.
   */
  protected tipReplaceOperation(streamId: string, tip: TipDocument, etag: string | undefined): OperationInput {
    return {
      operationType: BulkOperationType.Replace,
      id: tipDocumentId,
      partitionKey: streamId,
      resourceBody: tipBody(tip),
      ...(etag === undefined ? {} : { ifMatch: etag }),
    };
  }

  /** One attempt of an append; `json` is the events as `serializeAppend` gave them (a fresh copy each). */
  async #appendOnce(
    streamId: string,
    json: string,
    { expectedVersion, command, snapshot: snapshotPolicy }: AppendOptions,
  ): Promise<AppendResult> {
    const attemptId = randomUUID();
    const tip = await this.#tipToAppendTo(streamId, expectedVersion);
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
    // Tips of before snapshot documents carry the state itself: no mark, so the next snapshot is due now.
    const stored = tip?.snapshot && !('state' in tip.snapshot) ? tip.snapshot : undefined;
    const snapshot = snapshotToWrite(stored, snapshotPolicy, {
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
    const operations: OperationInput[] = [
      tip
        ? this.tipReplaceOperation(streamId, newTip, tip._etag)
        : {
            operationType: BulkOperationType.Create,
            partitionKey: streamId,
            resourceBody: tipBody(newTip),
          },
      ...recorded.map((event): OperationInput => ({
        operationType: BulkOperationType.Create,
        partitionKey: streamId,
        // Event data is JSON by contract (it is serialized to be stored anywhere).
        resourceBody: { ...toEventDocument(event), attemptId } as unknown as JSONObject,
      })),
      ...(snapshot
        ? [
            {
              operationType: BulkOperationType.Upsert,
              partitionKey: streamId,
              // The state is JSON by contract (snapshotToWrite parsed it).
              resourceBody: { id: snapshotDocumentId, streamId, kind: 'snapshot', ...snapshot } as JSONObject,
            } satisfies OperationInput,
          ]
        : []),
      {
        operationType: BulkOperationType.Create,
        partitionKey: streamId,
        resourceBody: { ...outbox },
      },
    ];

    let response: Response<OperationResponse[]>;
    try {
      response = await this.container.items.batch(operations, streamId);
    } catch (error) {
      // @azure/cosmos 4.x rethrows any batch request failure as a plain Error without the status code;
      // the tip tells whether we lost a race, or whether the write landed despite the error.
      this.#tips.delete(streamId);
      await this.#settleFailedBatch(streamId, expectedVersion, tip, { attemptId, fromVersion, toVersion }, error);
      return { nextExpectedVersion: toVersion, events: recorded, entry: toOutboxEntry(outbox), commands };
    }

    const results = response.result ?? [];
    const failures = results.filter((r) => r.statusCode >= 400);
    if (failures.length === 0 && results.length === operations.length && (response.code ?? 200) < 400) {
      this.#remember(results[0]?.eTag === undefined ? undefined : { ...newTip, _etag: results[0].eTag });
      return { nextExpectedVersion: toVersion, events: recorded, entry: toOutboxEntry(outbox), commands };
    }
    this.#tips.delete(streamId);
    // A failed atomic batch: the failing operation's status, 424 (failed dependency) for the others.
    const cause = failures.find((r) => r.statusCode !== 424) ?? failures[0];
    const status = cause?.statusCode ?? response.code;
    if (status !== undefined && CONFLICT_STATUSES.has(status)) {
      throw new ConcurrencyError(streamId, expectedVersion);
    }
    throw new EventStoreUnavailableError(
      `Cosmos DB append to ${streamId} failed with status ${String(status)}` +
        ` (operation statuses ${results.map((r) => r.statusCode).join(',') || 'none'})`,
    );
  }

  /**
   * Decides what a thrown batch means: returns if our write landed, else throws the right error. Ours is
   * the write that carries our attempt id (on the tip, or on our first event once others appended after
   * it), never merely our event ids: a duplicate command (a redelivered event's policy) writes the same
   * ids with data decided on another state.
   */
  async #settleFailedBatch(
    streamId: string,
    expectedVersion: ExpectedVersion,
    before: Stored<TipDocument> | undefined,
    ours: { attemptId: string; fromVersion: number; toVersion: number },
    cause: unknown,
  ): Promise<void> {
    const unknown = () =>
      new AppendOutcomeUnknownError(`Cosmos DB append to ${streamId} failed: ${messageOf(cause)}`, { cause });
    let after: Stored<TipDocument> | undefined;
    try {
      after = await this.#readTip(streamId);
    } catch {
      throw unknown();
    }
    if (after?.attemptId === ours.attemptId) return; // it landed, and is the stream's last append
    if (after && after.version >= ours.toVersion) {
      let first: EventDocument | undefined;
      try {
        first = (await this.container.item(eventDocumentId(ours.fromVersion), streamId).read<EventDocument>()).resource;
      } catch {
        throw unknown();
      }
      if (first?.attemptId === ours.attemptId) return; // it landed, and others appended after it
    }
    const moved = before ? after?._etag !== before._etag : after !== undefined;
    if (moved) throw new ConcurrencyError(streamId, expectedVersion, after?.version ?? 0);
    // Nothing moved yet, but the batch may still be applied (a timeout, a reset connection).
    throw unknown();
  }

  /**
   * The tip an append replaces: none for a new stream (the tip create conflicts if it exists), else the
   * one the command's load just read when it is at the expected version, else a fresh read.
   */
  async #tipToAppendTo(streamId: string, expectedVersion: ExpectedVersion): Promise<Stored<TipDocument> | undefined> {
    if (expectedVersion === NO_STREAM || expectedVersion === 0) return undefined;
    const known = this.#tips.get(streamId);
    if (known && (expectedVersion === ANY || known.version === expectedVersion)) return known;
    return this.#readTip(streamId);
  }

  #remember(tip: Stored<TipDocument> | undefined): void {
    if (!tip?._etag) return;
    this.#tips.set(tip.streamId, tip);
  }

  async #readTip(streamId: string): Promise<Stored<TipDocument> | undefined> {
    return this.#call('readTip', async () => {
      try {
        const { resource } = await this.container.item(tipDocumentId, streamId).read<Stored<TipDocument>>();
        if (resource) this.#remember(resource);
        else this.#tips.delete(streamId);
        return resource;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  override async tryAcquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const partition = leasePartition(name);
    const next: LeaseDocument = {
      id: leaseDocumentId,
      streamId: partition,
      kind: 'lease',
      owner,
      expiresAt: new Date(Date.now() + ttlMs).toISOString(),
    };
    return this.#call('tryAcquireLease', async () => {
      const current = await this.#readLease(partition);
      try {
        if (!current) {
          await this.container.items.create(next);
        } else {
          if (current.owner !== owner && Date.parse(current.expiresAt) > Date.now()) return false;
          // Compare-and-swap on the ETag: of two contenders that both saw it expired, one wins.
          await this.container
            .item(leaseDocumentId, partition)
            .replace(next, { accessCondition: { type: 'IfMatch', condition: current._etag ?? '' } });
        }
        return true;
      } catch (error) {
        if (statusOf(error) === 409 || statusOf(error) === 412) return false;
        throw error;
      }
    });
  }

  override async releaseLease(name: string, owner: string): Promise<void> {
    const partition = leasePartition(name);
    await this.#call('releaseLease', async () => {
      const current = await this.#readLease(partition);
      if (current?.owner !== owner) return;
      try {
        await this.container
          .item(leaseDocumentId, partition)
          .delete({ accessCondition: { type: 'IfMatch', condition: current._etag ?? '' } });
      } catch (error) {
        if (![404, 412].includes(statusOf(error) ?? 0)) throw error;
      }
    });
  }

  async #readLease(partition: string): Promise<Stored<LeaseDocument> | undefined> {
    try {
      const { resource } = await this.container.item(leaseDocumentId, partition).read<Stored<LeaseDocument>>();
      return resource;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Runs a Cosmos call, turning infrastructure failures into EventStoreUnavailableError. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ConcurrencyError || error instanceof EventStoreUnavailableError) throw error;
      throw new EventStoreUnavailableError(`Cosmos DB ${what} failed: ${messageOf(error)}`, { cause: error });
    }
  }
}

/** The tip as a batch body. */
export const tipBody = (tip: TipDocument): JSONObject => ({ ...tip }) as unknown as JSONObject;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const toEventDocument = (event: RecordedEvent): EventDocument => ({
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
const toRecordedEvent = (document: EventDocument): RecordedEvent => ({
  streamId: document.streamId,
  version: document.version,
  type: document.type,
  schemaVersion: document.schemaVersion,
  data: document.data,
  metadata: document.metadata,
});

const toOutboxEntry = (document: OutboxDocument): OutboxEntry => ({
  streamId: document.streamId,
  fromVersion: document.fromVersion,
  toVersion: document.toVersion,
  createdAt: document.createdAt,
});
