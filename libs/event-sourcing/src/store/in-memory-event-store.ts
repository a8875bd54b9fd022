import type { RecordedEvent } from '@app/core';
import { streamCategory } from '@app/core';
import { assertAppendFits, assertExpectedVersion } from './append-guards.js';
import {
  EventStore,
  type AppendResult,
  type EventToAppend,
  type ExpectedVersion,
  type OutboxEntry,
  type ReadStreamResult,
} from './event-store.js';

/**
 * Event store in process memory, for the embedded monolith and fast tests. Same contract as the
 * Cosmos adapter: an append is all-or-nothing and writes its outbox entry in the same step.
 */
export class InMemoryEventStore extends EventStore {
  readonly #streams = new Map<string, RecordedEvent[]>();
  readonly #outbox = new Map<string, OutboxEntry>();
  readonly #leases = new Map<string, { owner: string; expiresAt: number }>();

  override async readStream(streamId: string, options: { fromVersion?: number } = {}): Promise<ReadStreamResult> {
    const stream = this.#streams.get(streamId) ?? [];
    const from = options.fromVersion ?? 0;
    return {
      streamExists: stream.length > 0,
      currentVersion: stream.length,
      events: structuredClone(stream.slice(from)),
    };
  }

  override async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedVersion }: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult> {
    assertAppendFits(streamId, events);
    const stream = this.#streams.get(streamId) ?? [];
    assertExpectedVersion(streamId, expectedVersion, stream.length);

    const recorded = events.map((event, i): RecordedEvent => ({
      streamId,
      version: stream.length + i + 1,
      ...structuredClone(event),
    }));
    const first = recorded[0]!.version;
    const last = recorded.at(-1)!.version;
    this.#streams.set(streamId, [...stream, ...recorded]);
    this.#outbox.set(`${streamId}/${first}`, {
      streamId,
      fromVersion: first,
      toVersion: last,
      createdAt: recorded[0]!.metadata.occurredAt,
    });
    return { nextExpectedVersion: last, events: structuredClone(recorded) };
  }

  override async pendingOutbox(limit: number, excludeStreamIds: readonly string[] = []): Promise<OutboxEntry[]> {
    const excluded = new Set(excludeStreamIds);
    return [...this.#outbox.values()].filter((e) => !excluded.has(e.streamId)).slice(0, limit);
  }

  override async completeOutbox(entry: OutboxEntry): Promise<void> {
    this.#outbox.delete(`${entry.streamId}/${entry.fromVersion}`);
  }

  override async tryAcquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const lease = this.#leases.get(name);
    if (lease && lease.owner !== owner && lease.expiresAt > Date.now()) return false;
    this.#leases.set(name, { owner, expiresAt: Date.now() + ttlMs });
    return true;
  }

  override async releaseLease(name: string, owner: string): Promise<void> {
    if (this.#leases.get(name)?.owner === owner) this.#leases.delete(name);
  }

  override async *streamIds(category: string): AsyncIterable<string> {
    for (const id of [...this.#streams.keys()]) if (streamCategory(id) === category) yield id;
  }
}
