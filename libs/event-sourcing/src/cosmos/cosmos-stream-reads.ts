/**
 * How the Cosmos DB event store reads (the load path and the recovery and replay reads). A load is two
 * round trips whatever the stream's length: the tip (point read) with, for a reader that takes snapshots,
 * the snapshot document beside it; then the events after the snapshot the tip marks, by id when few
 * (point reads cost less than a query; on the local server a query's cost grows with the partition's
 * documents), else one query in the stream's partition; none when the snapshot is at the tip. The snapshot
 * document counts only when the tip marks its version (an operator's reset removes the mark): a snapshot
 * document of another version than the mark (an append landed between the two reads) means one read
 * again, then a read without the snapshot.
 */
import type { Container } from '@azure/cosmos';
import { concurrently, type RecordedEvent } from '@app/core';
import type { ReadStreamOptions, ReadStreamResult } from '../store/event-store.js';
import { usableSnapshot } from '../store/snapshots.js';
import {
  cosmosCall,
  eventDocumentId,
  readDocument,
  snapshotDocumentId,
  tipDocumentId,
  toRecordedEvent,
  type EventDocument,
  type SnapshotDocument,
  type Stored,
  type TipDocument,
} from './cosmos-documents.js';

/** Ranges up to this many events are fetched by point reads. */
export const POINT_READ_LIMIT = 20;
/**
 * Streams a replay reads with one query (`c.streamId IN (...)`): a query per stream costs a round trip and
 * its minimum charge per stream; the IN list stays well under the query limits of Cosmos DB.
 */
export const REPLAY_STREAMS_PER_QUERY = 100;
/** Stream ids per page of the tip query: a query's pages cost the local server a pass over every tip each. */
const STREAM_IDS_PER_PAGE = 5_000;

export class CosmosStreamReads {
  constructor(private readonly container: Container) {}

  async readTip(streamId: string): Promise<Stored<TipDocument> | undefined> {
    return cosmosCall('readTip', () => readDocument<TipDocument>(this.container, tipDocumentId, streamId));
  }

  async readStream(streamId: string, options: ReadStreamOptions, mayRetry = true): Promise<ReadStreamResult> {
    // Beside the tip, not after it: the snapshot is the largest document a load reads, and a stream
    // without one costs a 404 in the same round trip.
    const [tip, document] = await Promise.all([
      this.readTip(streamId),
      options.snapshotSchemaVersion === undefined ? undefined : this.#readSnapshot(streamId),
    ]);
    if (!tip) return { streamExists: false, currentVersion: 0, events: [], commands: [] };
    const mark = usableSnapshot(tip.snapshot, options);
    const snapshot = !mark ? undefined : 'state' in mark ? mark : document;
    if (mark && snapshot?.version !== mark.version) {
      const { snapshotSchemaVersion: _, ...withoutSnapshot } = options;
      return this.readStream(streamId, mayRetry ? options : withoutSnapshot, false);
    }
    const events = await this.#eventsAfter(streamId, mark?.version ?? options.fromVersion ?? 0, tip.version);
    const { version, schemaVersion, state } = snapshot ?? {};
    return {
      streamExists: true,
      currentVersion: tip.version,
      commands: tip.commands ?? [],
      events,
      head: tip,
      ...(version === undefined ? {} : { snapshot: { version, schemaVersion: schemaVersion!, state } }),
    };
  }

  /**
   * Events `fromVersion`..`toVersion` of a stream (what an outbox entry covers): point reads of the
   * version-keyed event documents (one RU each on Cosmos DB, and no query), a query for long ranges.
   */
  async readEvents(streamId: string, fromVersion: number, toVersion: number): Promise<RecordedEvent[]> {
    return this.#eventsAfter(streamId, fromVersion - 1, toVersion);
  }

  /** One query in the stream's partition (a replay reads whole streams: cheaper than tip + point reads). */
  async readStreamForReplay(streamId: string): Promise<readonly RecordedEvent[]> {
    const documents = await this.#query(streamId, 0);
    return documents.map(toRecordedEvent);
  }

  /**
   * Every event of each stream, `[i]` for `streamIds[i]`: one cross-partition query per
   * REPLAY_STREAMS_PER_QUERY streams (at most 4 at once), no ORDER BY (which would need the SDK's merge
   * of partitions), so versions are sorted here. A stream whose events do not run 1..n was met by an
   * append between two pages of a query: it is read again alone.
   */
  async readStreamsForReplay(streamIds: readonly string[]): Promise<(readonly RecordedEvent[])[]> {
    const groups = Array.from({ length: Math.ceil(streamIds.length / REPLAY_STREAMS_PER_QUERY) }, (_, i) =>
      streamIds.slice(i * REPLAY_STREAMS_PER_QUERY, (i + 1) * REPLAY_STREAMS_PER_QUERY),
    );
    const byStream = new Map<string, EventDocument[]>(streamIds.map((streamId) => [streamId, []]));
    for (const documents of await concurrently(groups, 4, (group) => this.#queryStreams(group))) {
      for (const document of documents) byStream.get(document.streamId)?.push(document);
    }
    return concurrently(streamIds, 4, async (streamId) => {
      const documents = byStream.get(streamId)!.sort((a, b) => a.version - b.version);
      const whole = documents.every((document, i) => document.version === i + 1);
      return whole ? documents.map(toRecordedEvent) : this.readStreamForReplay(streamId);
    });
  }

  async *streamIds(category: string): AsyncIterable<string> {
    const iterator = this.container.items.query<{ streamId: string }>(
      {
        query: "SELECT c.streamId FROM c WHERE c.kind = 'tip' AND STARTSWITH(c.streamId, @prefix)",
        parameters: [{ name: '@prefix', value: `${category}-` }],
      },
      { maxItemCount: STREAM_IDS_PER_PAGE },
    );
    while (iterator.hasMoreResults()) {
      const { resources } = await cosmosCall('streamIds', () => iterator.fetchNext());
      for (const { streamId } of resources ?? []) yield streamId;
    }
  }

  /** Events `from + 1`..`to`: by id when few, else one query. */
  async #eventsAfter(streamId: string, from: number, to: number): Promise<RecordedEvent[]> {
    if (from >= to) return [];
    if (to - from > POINT_READ_LIMIT) {
      // Events past `to` belong to an append that landed after the tip was read: left for the next read.
      return (await this.#query(streamId, from)).filter((d) => d.version <= to).map(toRecordedEvent);
    }
    const versions = Array.from({ length: to - from }, (_, i) => from + 1 + i);
    return cosmosCall('readEvents', () =>
      Promise.all(
        versions.map(async (version) => {
          const document = await readDocument<EventDocument>(this.container, eventDocumentId(version), streamId);
          if (!document) throw new Error(`${streamId}@${version} is missing below the stream's tip`);
          return toRecordedEvent(document);
        }),
      ),
    );
  }

  async #query(streamId: string, from: number): Promise<EventDocument[]> {
    return cosmosCall('readStream', async () => {
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
  }

  async #queryStreams(streamIds: readonly string[]): Promise<EventDocument[]> {
    return cosmosCall('readStreams', async () => {
      const { resources } = await this.container.items
        .query<EventDocument>({
          query: `SELECT * FROM c WHERE c.streamId IN (${streamIds.map((_, i) => `@s${i}`).join(', ')}) AND c.kind = 'event'`,
          parameters: streamIds.map((value, i) => ({ name: `@s${i}`, value })),
        })
        .fetchAll();
      return resources;
    });
  }

  async #readSnapshot(streamId: string): Promise<SnapshotDocument | undefined> {
    return cosmosCall('readSnapshot', () =>
      readDocument<SnapshotDocument>(this.container, snapshotDocumentId, streamId),
    );
  }
}
