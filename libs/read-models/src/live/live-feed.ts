/**
 * A read model's live feed: every event of its types this process sees delivered (LiveEvents) becomes one
 * change (the event's public payload and the document's new state, by the projection's own evolve), computed
 * once per process whatever the number of followers. The state of a document is remembered (LRU); an event
 * whose previous state is unknown takes it from the read model, or folds the stream from the event store.
 * Recent changes are retained (a ring) so that a feed of many streams resumes from a position without a gap.
 * Followers (live-followers.ts) add what the connection needs: current state first, resume, ownership.
 */
import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { RecordedEvent } from '@app/core';
import type { EventStore, LiveEvent, LiveEvents, LivePosition } from '@app/event-sourcing';
import type { DocumentCollection, ReadModelDocument } from '../document-collection.js';
import type { DocumentProjection } from '../projection.js';

/** One event applied to one document, as every follower of the read model receives it. */
export interface LiveChange<T> {
  readonly position: LivePosition;
  readonly documentId: string;
  readonly streamId: string;
  readonly version: number;
  readonly event: LiveEventView;
  readonly state: T;
}

/** What a client sees of an event: its public payload (the contract's data) with type and versions. */
export interface LiveEventView {
  readonly type: string;
  readonly schemaVersion: number;
  readonly version: number;
  readonly occurredAt: string;
  readonly data: unknown;
}

export interface LiveFeedDefinition<T extends ReadModelDocument> {
  readonly collection: DocumentCollection<T>;
  readonly projection: DocumentProjection<T>;
  /** The stream category the read model follows (one stream per document: `<category>-<document id>`). */
  readonly category: string;
  readonly events: readonly string[];
}

export interface LiveFeedLimits {
  /** Changes retained for resuming feeds of many streams. */
  readonly retainedChanges: number;
  /** Document states remembered, so that the next event of a document needs no read. */
  readonly rememberedStates: number;
}

export const viewOf = (event: RecordedEvent): LiveEventView => ({
  type: event.type,
  schemaVersion: event.schemaVersion,
  version: event.version,
  occurredAt: event.metadata.occurredAt,
  data: event.data,
});

export class LiveFeed<T extends ReadModelDocument> {
  private readonly logger: Logger;
  readonly #states: LRUCache<string, T>;
  readonly #retained: LiveChange<T>[] = [];
  /** Per partition: the last offset seen, and the last offset dropped from the retained changes. */
  readonly #latest = new Map<string, number>();
  readonly #dropped = new Map<string, number>();
  readonly #first = new Map<string, number>();
  readonly #byDocument = new Map<string, Set<(change: LiveChange<T>) => void>>();
  readonly #all = new Set<(change: LiveChange<T>) => void>();
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly definition: LiveFeedDefinition<T>,
    live: LiveEvents,
    readonly store: EventStore,
    private readonly limits: LiveFeedLimits,
  ) {
    this.logger = new Logger(`LiveFeed ${definition.collection.definition.name}`);
    this.#states = new LRUCache({ max: limits.rememberedStates });
    live.subscribe((events) => this.#receive(events));
  }

  streamIdOf(documentId: string): string {
    return `${this.definition.category}-${documentId}`;
  }

  /** The next state of `current` (at the event's previous version, or none) by the projection. */
  evolve(current: T | undefined, event: RecordedEvent): T {
    return { ...this.definition.projection.evolve(current, event), version: event.version } as T;
  }

  /** Follows one document's changes, or all of them. @returns stops following */
  onDocument(documentId: string, listener: (change: LiveChange<T>) => void): () => void {
    const listeners = this.#byDocument.get(documentId) ?? new Set();
    this.#byDocument.set(documentId, listeners.add(listener));
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#byDocument.get(documentId) === listeners) this.#byDocument.delete(documentId);
    };
  }

  onAll(listener: (change: LiveChange<T>) => void): () => void {
    this.#all.add(listener);
    return () => this.#all.delete(listener);
  }

  /** The last position seen per partition (a place to resume a feed of many streams from). */
  latest(): Record<string, number> {
    return Object.fromEntries(this.#latest);
  }

  /**
   * The retained changes after `from`, or undefined when some may be missing: a partition this process has
   * not seen from that offset on (another boot's sequence, a consumer that joined later, changes dropped).
   */
  changesAfter(from: Readonly<Record<string, number>>): LiveChange<T>[] | undefined {
    for (const [partition, offset] of Object.entries(from)) {
      const first = this.#first.get(partition);
      if (first === undefined || first > offset + 1) return undefined;
    }
    for (const [partition, dropped] of this.#dropped) if ((from[partition] ?? -1) < dropped) return undefined;
    return this.#retained.filter((change) => change.position.offset > (from[change.position.partition] ?? -1));
  }

  /** Settles once the events received so far are applied (tests, benchmarks). */
  settled(): Promise<void> {
    return this.#queue;
  }

  #receive(events: readonly LiveEvent[]): void {
    const mine = events.filter(({ event }) => event.streamId.startsWith(`${this.definition.category}-`));
    if (mine.length === 0) return;
    // One event after another: a change may need a read, and followers get each stream in order.
    this.#queue = this.#queue.then(async () => {
      for (const live of mine) {
        try {
          await this.#apply(live);
        } catch (error) {
          // Followers of this document see a gap at its next change and fill it from the event store.
          this.logger.warn(`${live.event.streamId}@${live.event.version} not shown: ${(error as Error).message}`);
        }
        this.#seen(live.position);
      }
    });
  }

  async #apply({ event, position }: LiveEvent): Promise<void> {
    if (!this.definition.events.includes(event.type)) return;
    const documentId = this.definition.projection.documentId(event);
    const previous = this.#states.get(documentId);
    if (previous && event.version <= previous.version) return; // delivered again
    const state =
      previous?.version === event.version - 1 || (!previous && event.version === 1)
        ? this.evolve(previous, event)
        : await this.#stateAt(documentId, event);
    this.#states.set(documentId, state);
    const change: LiveChange<T> = {
      position,
      documentId,
      streamId: event.streamId,
      version: event.version,
      event: viewOf(event),
      state,
    };
    this.#retain(change);
    for (const listener of this.#byDocument.get(documentId) ?? []) listener(change);
    for (const listener of this.#all) listener(change);
  }

  /** The document right after `event`: from the read model when it is there (or one behind), else folded. */
  async #stateAt(documentId: string, event: RecordedEvent): Promise<T> {
    const stored = await this.definition.collection.get(documentId);
    if (stored?.version === event.version) return stored;
    if (stored?.version === event.version - 1) return this.evolve(stored, event);
    let state: T | undefined;
    for (const earlier of await this.store.readStreamForReplay(event.streamId)) {
      if (earlier.version >= event.version) break;
      state = this.evolve(state, earlier);
    }
    return this.evolve(state, event);
  }

  #seen({ partition, offset }: LivePosition): void {
    if (!this.#first.has(partition)) this.#first.set(partition, offset);
    if (offset > (this.#latest.get(partition) ?? -1)) this.#latest.set(partition, offset);
  }

  #retain(change: LiveChange<T>): void {
    this.#retained.push(change);
    if (this.#retained.length <= this.limits.retainedChanges * 1.25) return;
    // Dropped in chunks, so the array is not shifted on every change.
    for (const dropped of this.#retained.splice(0, this.#retained.length - this.limits.retainedChanges)) {
      this.#dropped.set(dropped.position.partition, dropped.position.offset);
    }
  }
}
