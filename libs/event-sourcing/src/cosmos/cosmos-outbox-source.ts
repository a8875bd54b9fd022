/**
 * The outbox documents of the Cosmos DB event store as the relay's source (relay/outbox-source.ts). The
 * append batch writes one per append (`ob-<toVersion>`); the relay deletes it once the events are
 * published. `pending` is the only query, cross-partition and paged by continuation token: it belongs
 * to the recovery path (start-up, lease takeover, the slow interval). `complete` deletes the entries of
 * many streams in one bulk request; `isPending` is one point read. Failures surface as
 * EventStoreUnavailableError.
 */
import { BulkOperationType, type Container, type OperationInput } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { OutboxSource, type OutboxEntry, type OutboxPage } from '../relay/outbox-source.js';
import { cosmosCall, statusOf } from './cosmos-documents.js';

/** One pending append for the relay, written in the same batch as its events. */
export interface OutboxDocument {
  readonly id: `ob-${number}`;
  readonly streamId: string;
  readonly kind: 'outbox';
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly createdAt: string;
}

/**
 * The id of an append's outbox document: derived from the append's LAST version, so that "is the append
 * before version v still pending?" is a point read of `ob-<v - 1>`. (Entries written before this scheme
 * are keyed by their first version; `complete` removes those too.)
 */
export const outboxDocumentId = (toVersion: number): `ob-${number}` => `ob-${toVersion}`;

/** Events of a version range of one stream, in order (point reads or a stream query). */
export type ReadEvents = (streamId: string, fromVersion: number, toVersion: number) => Promise<RecordedEvent[]>;

/** Operations per bulk request the service accepts. */
const MAX_BULK_OPERATIONS = 100;

export class CosmosOutboxSource extends OutboxSource {
  constructor(
    private readonly container: Container,
    private readonly events: ReadEvents,
  ) {
    super();
  }

  override async pending({ limit, continuation }: { limit: number; continuation?: string }): Promise<OutboxPage> {
    const maxItemCount = Math.floor(limit);
    if (!(maxItemCount > 0)) return { entries: [] };
    // createdAt is strictly increasing within a stream (see the append), so ordering by it alone gives
    // each stream's entries in version order, across pages too; no composite index needed.
    const { resources, continuationToken } = await cosmosCall('pendingOutbox', () =>
      this.container.items
        .query<OutboxDocument>("SELECT * FROM c WHERE c.kind = 'outbox' ORDER BY c.createdAt", {
          maxItemCount,
          ...(continuation === undefined ? {} : { continuationToken: continuation }),
        })
        .fetchNext(),
    );
    const entries = inStreamOrder((resources ?? []).map(toOutboxEntry));
    return continuationToken && entries.length > 0 ? { entries, continuation: continuationToken } : { entries };
  }

  override async readEvents(entries: readonly OutboxEntry[]): Promise<RecordedEvent[]> {
    if (entries.length === 0) return [];
    return this.events(entries[0]!.streamId, entries[0]!.fromVersion, entries.at(-1)!.toVersion);
  }

  /**
   * One bulk request for all the entries (per partition key range; a pass of the relay completes the
   * appends of many streams at once), instead of one transactional batch per stream: the deletes need
   * no atomicity, and an absent document (completed twice) is a 404 of that operation alone.
   */
  override async complete(entries: readonly OutboxEntry[]): Promise<readonly OutboxEntry[]> {
    if (entries.length === 0) return [];
    return cosmosCall('completeOutbox', async () => {
      const statuses = await this.#deleteAll(entries.map((e) => [e.streamId, outboxDocumentId(e.toVersion)]));
      const left = entries.filter((_, i) => statuses[i] !== 404 && !(statuses[i]! < 300));
      // Entries written before the id scheme (stores of before 2026-12-01) are keyed by their first
      // version. Nothing writes them now, but one left pending across an upgrade is still completed
      // here: else every recovery scan would publish it again. For a multi-event entry `ob-<fromVersion>`
      // can only be its own pre-scheme document (no other append of the stream ends inside it).
      const legacy = entries.filter((e, i) => statuses[i] === 404 && e.fromVersion !== e.toVersion);
      const legacyStatuses = await this.#deleteAll(legacy.map((e) => [e.streamId, `ob-${e.fromVersion}`]));
      return [...left, ...legacy.filter((_, i) => legacyStatuses[i] !== 404 && !(legacyStatuses[i]! < 300))];
    });
  }

  /**
   * Deletes documents (streamId, id) in bulk requests of at most MAX_BULK_OPERATIONS; the status code
   * of each, in order.
   */
  async #deleteAll(documents: readonly (readonly [streamId: string, id: string])[]): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < documents.length; i += MAX_BULK_OPERATIONS) {
      const operations = documents.slice(i, i + MAX_BULK_OPERATIONS).map(([streamId, id]): OperationInput => ({
        operationType: BulkOperationType.Delete,
        id,
        partitionKey: streamId,
      }));
      // `items.bulk`, not `executeBulkOperations`: the latter waits a fixed 1 s for a partial batch to
      // fill, which would add a second to every pass of the relay. Both send one request per range.
      const responses = await this.container.items.bulk(operations, { continueOnError: true });
      statuses.push(...operations.map((_, j) => responses[j]?.statusCode ?? 500));
    }
    return statuses;
  }

  /** One query in the stream's partition. */
  override async pendingOf(streamId: string): Promise<readonly OutboxEntry[]> {
    const { resources } = await cosmosCall('pendingOf', () =>
      this.container.items
        .query<OutboxDocument>(
          {
            query: "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'outbox' ORDER BY c.fromVersion",
            parameters: [{ name: '@s', value: streamId }],
          },
          { partitionKey: streamId },
        )
        .fetchAll(),
    );
    return resources.map(toOutboxEntry);
  }

  override async isPending(streamId: string, toVersion: number): Promise<boolean> {
    if (toVersion <= 0) return false;
    return cosmosCall('isPending', async () => {
      try {
        const { resource } = await this.container.item(outboxDocumentId(toVersion), streamId).read<OutboxDocument>();
        return resource !== undefined;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    });
  }
}

const toOutboxEntry = (document: OutboxDocument): OutboxEntry => ({
  streamId: document.streamId,
  fromVersion: document.fromVersion,
  toVersion: document.toVersion,
  createdAt: document.createdAt,
});

/** Reorders entries so that each stream's come in fromVersion order, in the slots the stream already had. */
const inStreamOrder = (entries: OutboxEntry[]): OutboxEntry[] => {
  const byStream = new Map<string, OutboxEntry[]>();
  for (const entry of entries) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);
  for (const list of byStream.values()) list.sort((a, b) => a.fromVersion - b.fromVersion);
  return entries.map((entry) => byStream.get(entry.streamId)!.shift()!);
};
