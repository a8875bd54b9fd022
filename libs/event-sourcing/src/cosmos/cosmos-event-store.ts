/**
 * Event store on Azure Cosmos DB (docs/architecture.md, "Event store"): one container partitioned by
 * `/streamId`, the documents of cosmos-documents.ts. This class wires the mechanisms, each in its file:
 * reads and loads (cosmos-stream-reads.ts), appends and their settlement (cosmos-append.ts), the outbox
 * as the relay's source (cosmos-outbox-source.ts); leases are here. It keeps no state between calls:
 * what an append needs of the stream's tip comes with the caller's read or previous append (`head`),
 * which the aggregate repository keeps with the aggregate it caches.
 */
import type { Container, CosmosClient, OperationInput } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { serializeAppend } from '../store/append-guards.js';
import { ConcurrencyError } from '../store/errors.js';
import {
  ANY,
  EventStore,
  type AppendOptions,
  type AppendResult,
  type EventToAppend,
  type ReadStreamOptions,
  type ReadStreamResult,
} from '../store/event-store.js';
import { appendOnce, tipReplace } from './cosmos-append.js';
import {
  COSMOS_EVENT_STORE_PARTITION_KEY,
  cosmosCall,
  readDocument,
  statusOf,
  type Stored,
  type TipDocument,
} from './cosmos-documents.js';
import { CosmosOutboxSource } from './cosmos-outbox-source.js';
import { CosmosStreamReads } from './cosmos-stream-reads.js';

export * from './cosmos-documents.js';
export { CosmosOutboxSource, outboxDocumentId, type OutboxDocument } from './cosmos-outbox-source.js';

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

/** How often an `any` append re-reads the tip and tries again after losing a race. */
const ANY_ATTEMPTS = 5;

export class CosmosEventStore extends EventStore {
  override readonly outbox: CosmosOutboxSource;
  readonly #reads: CosmosStreamReads;

  constructor(readonly container: Container) {
    super();
    this.#reads = new CosmosStreamReads(container);
    this.outbox = new CosmosOutboxSource(container, (streamId, from, to) => this.#reads.readEvents(streamId, from, to));
  }

  static fromClient(client: CosmosClient, databaseId: string, containerId: string): CosmosEventStore {
    return new CosmosEventStore(client.database(databaseId).container(containerId));
  }

  override async init(): Promise<void> {
    await cosmosCall('init', async () => {
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

  override async ping(): Promise<void> {
    await cosmosCall('ping', () => this.container.read());
  }

  /** Events `fromVersion`..`toVersion` of a stream: point reads of their documents, a query for long ranges. */
  async readEvents(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]> {
    return this.#reads.readEvents(streamId, fromVersion, toVersion);
  }

  override async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<ReadStreamResult> {
    return this.#reads.readStream(streamId, options);
  }

  override async readStreamForReplay(streamId: string): Promise<readonly RecordedEvent[]> {
    return this.#reads.readStreamForReplay(streamId);
  }

  override async readStreamsForReplay(streamIds: readonly string[]): Promise<(readonly RecordedEvent[])[]> {
    return this.#reads.readStreamsForReplay(streamIds);
  }

  override streamIds(category: string): AsyncIterable<string> {
    return this.#reads.streamIds(category);
  }

  override async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const json = serializeAppend(streamId, events);
    const attempts = options.expectedVersion === ANY ? ANY_ATTEMPTS : 1;
    const replaceTip = this.tipReplaceOperation.bind(this);
    for (let attempt = 1, head = options.head; ; attempt++, head = undefined) {
      try {
        return await appendOnce(this.container, this.#reads, replaceTip, streamId, json, { ...options, head });
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  /**
   * The tip operation of an append to an existing stream. A seam for tests that simulate servers which
   * ignore `ifMatch` inside batches (the vNext emulator): the event ids must then still guard.
   */
  protected tipReplaceOperation(streamId: string, tip: TipDocument, etag: string | undefined): OperationInput {
    return tipReplace(streamId, tip, etag);
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
    return cosmosCall('tryAcquireLease', async () => {
      const current = await readDocument<LeaseDocument>(this.container, leaseDocumentId, partition);
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
    await cosmosCall('releaseLease', async () => {
      const current: Stored<LeaseDocument> | undefined = await readDocument(this.container, leaseDocumentId, partition);
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
}
