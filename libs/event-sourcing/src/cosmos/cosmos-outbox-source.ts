import { BulkOperationType, type Container, type OperationInput } from '@azure/cosmos';
import type { RecordedEvent } from '@app/core';
import { OutboxSource, type OutboxEntry, type OutboxPage } from '../relay/outbox-source.js';

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

export interface CosmosOutboxCalls {
  /** Runs a Cosmos call, turning infrastructure failures into EventStoreUnavailableError. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** Events of a version range of one stream, in order (point reads or a stream query). */
  readEvents(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]>;
}

const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

/**
 * The outbox documents of the Cosmos event store container as the relay's source. Failures surface as
 * EventStoreUnavailableError (through `calls.call`). `pending` is the
 * only query, cross-partition and paged by continuation token: it belongs to the recovery path
 * (start-up, lease takeover, the slow interval). `complete` deletes a stream's entries in one
 * transactional batch in its partition.
 */
export class CosmosOutboxSource extends OutboxSource {
  constructor(
    private readonly container: Container,
    private readonly calls: CosmosOutboxCalls,
  ) {
    super();
  }

  override async pending({ limit, continuation }: { limit: number; continuation?: string }): Promise<OutboxPage> {
    const maxItemCount = Math.floor(limit);
    if (!(maxItemCount > 0)) return { entries: [] };
    // createdAt is strictly increasing within a stream (see the append), so ordering by it alone gives
    // each stream's entries in version order, across pages too; no composite index needed.
    const { resources, continuationToken } = await this.calls.call('pendingOutbox', () =>
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
    return this.calls.readEvents(entries[0]!.streamId, entries[0]!.fromVersion, entries.at(-1)!.toVersion);
  }

  override async complete(entries: readonly OutboxEntry[]): Promise<void> {
    const byStream = new Map<string, OutboxEntry[]>();
    for (const entry of entries) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);
    await Promise.all([...byStream].map(([streamId, ofStream]) => this.#completeStream(streamId, ofStream)));
  }

  /** One batch of deletes; if some entry is gone already (completed twice), deletes one by one. */
  async #completeStream(streamId: string, entries: readonly OutboxEntry[]): Promise<void> {
    await this.calls.call('completeOutbox', async () => {
      // A batch holds at most 100 operations.
      for (let i = 0; i < entries.length; i += 100) {
        const chunk = entries.slice(i, i + 100);
        const operations = chunk.map((entry): OperationInput => ({
          operationType: BulkOperationType.Delete,
          id: outboxDocumentId(entry.toVersion),
          partitionKey: streamId,
        }));
        const response = await this.container.items.batch(operations, streamId).catch(() => undefined);
        const results = response?.result ?? [];
        const done = results.length === operations.length && results.every((r) => r.statusCode < 300);
        if (!done) await Promise.all(chunk.map((entry) => this.#deleteOne(streamId, entry)));
      }
    });
  }

  async #deleteOne(streamId: string, entry: OutboxEntry): Promise<void> {
    // `ob-<fromVersion>` of a multi-event entry can only be this entry's own pre-scheme document: no
    // other append of the stream ends at a version inside this one.
    const ids = new Set([outboxDocumentId(entry.toVersion), `ob-${entry.fromVersion}`]);
    for (const id of ids) {
      try {
        await this.container.item(id, streamId).delete();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    }
  }

  override async isPending(streamId: string, toVersion: number): Promise<boolean> {
    if (toVersion <= 0) return false;
    return this.calls.call('isPending', async () => {
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
