import type { RecordedEvent } from '@app/core';

/**
 * A pending outbox entry: the events of one append, not yet handed to the event transport.
 * Written in the same atomic step as the events, removed by the relay once they were published.
 */
export interface OutboxEntry {
  readonly streamId: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly createdAt: string;
}

/** One page of pending entries; `continuation` is set while more pages follow. */
export interface OutboxPage {
  readonly entries: readonly OutboxEntry[];
  readonly continuation?: string;
}

/**
 * Where the outbox relay finds what is still to be published, and where it marks it done: the relay's
 * recovery path and its bookkeeping. The hot path never asks it for entries: the append result hands
 * its events to the relay, which then only calls `complete` (once per pass, for all the streams it
 * published) and `isPending` for a stream it knows nothing about.
 *
 * Adapters: the event store's own outbox documents (Cosmos DB, in-memory). On Azure a change-feed
 * source can replace the outbox scan: `pending` reads the container's change feed from a checkpoint
 * (kept in the lease partition) and groups the event documents of each stream into entries,
 * `readEvents` answers from the documents the feed already delivered, `complete` advances the
 * checkpoint instead of deleting documents, and `isPending` compares a version with the checkpoint of
 * the stream's feed range. The append batch could then drop its outbox document. The local
 * Cosmos-compatible server has no change feed, so the outbox documents are what is built and tested.
 */
export abstract class OutboxSource {
  /**
   * A page of pending entries, oldest first within each stream, at most `limit`; pass the previous
   * page's continuation to get the next. Every entry of a stream comes no later than its newer ones.
   */
  abstract pending(page: { readonly limit: number; readonly continuation?: string }): Promise<OutboxPage>;

  /** The events covered by entries of one stream (consecutive, in version order), in order. */
  abstract readEvents(entries: readonly OutboxEntry[]): Promise<RecordedEvent[]>;

  /**
   * Removes the entries (of any number of streams) once their events were published, in as few requests
   * as the store allows: the relay completes everything one pass published in one call. Completing an
   * absent entry is not an error (the relay may complete twice after a crash).
   * @returns the entries that could not be removed (still pending; the recovery scan finds them again)
   */
  abstract complete(entries: readonly OutboxEntry[]): Promise<readonly OutboxEntry[]>;

  /**
   * Whether the append that ended at `toVersion` of the stream is still pending. The relay asks before
   * publishing a stream it has no record of, so that a newer append never overtakes an older one that
   * another process left behind. One point read on Cosmos DB.
   */
  abstract isPending(streamId: string, toVersion: number): Promise<boolean>;

  /**
   * The pending entries of one stream, oldest first: how a relay that does not scan (a standby) catches
   * up a stream that waits behind an append another process left pending. Adapters answer it with one
   * query in the stream's partition; this default pages through `pending`.
   */
  async pendingOf(streamId: string): Promise<readonly OutboxEntry[]> {
    const found: OutboxEntry[] = [];
    let continuation: string | undefined;
    do {
      const page = await this.pending({ limit: 1_000, ...(continuation ? { continuation } : {}) });
      found.push(...page.entries.filter((e) => e.streamId === streamId));
      continuation = page.continuation;
    } while (continuation);
    return found.sort((a, b) => a.fromVersion - b.fromVersion);
  }
}
