import { LRUCache } from 'lru-cache';
import type { RecordedEvent } from '@app/core';
import { ApplicationError, inSpan, PartialBatchError, SpanKind } from '@app/core';
import { projectionLagSeconds } from './read-model-metrics.js';
import type { ConditionalWrite, DocumentCollection, ReadModelDocument } from './document-collection.js';

export type ApplyOutcome = 'applied' | 'duplicate';

/** An event arrived before one it depends on (at-least-once delivery reordered, or one is missing). */
export class ProjectionGapError extends ApplicationError {
  constructor(collection: string, event: RecordedEvent, storedVersion: number) {
    super(
      'PROJECTION_GAP',
      'unavailable',
      `${collection}: ${event.streamId}@${event.version} arrived while the document is at ${storedVersion}`,
    );
  }
}

/**
 * Applies one event of a stream to the stream's document, exactly once:
 * - versions at or below the stored one are redeliveries and are ignored;
 * - a version more than one ahead is a gap: refused, so the transport redelivers in order;
 * - the write is conditional on the version read, so a concurrent writer cannot be overwritten.
 */
export const applyToDocument = async <T extends ReadModelDocument>(
  collection: DocumentCollection<T>,
  id: string,
  event: RecordedEvent,
  evolve: (current: T | undefined) => Omit<T, 'version'>,
): Promise<ApplyOutcome> => {
  for (;;) {
    const current = await collection.get(id);
    const storedVersion = current?.version ?? 0;
    if (event.version <= storedVersion) return 'duplicate';
    if (event.version !== storedVersion + 1) {
      throw new ProjectionGapError(collection.definition.name, event, storedVersion);
    }
    const next = { ...evolve(current), version: event.version } as T;
    if (await collection.replace(next, storedVersion)) {
      collection.announce(next);
      return 'applied';
    }
    // Lost a race with another writer of this document: re-read and decide again.
  }
};

/** How a read model follows events: which document an event changes, and how (a pure function). */
export interface DocumentProjection<T extends ReadModelDocument> {
  readonly documentId: (event: RecordedEvent) => string;
  readonly evolve: (current: T | undefined, event: RecordedEvent) => Omit<T, 'version'>;
}

export interface DocumentProjectorOptions<T> {
  /** Documents kept in memory after a write, so the next event of the stream needs no read (LRU). */
  readonly rememberDocuments?: number;
  /** Called with each document written (default: the collection's `announce`, for read-your-writes waits). */
  readonly announce?: (document: T) => void;
  /** Name in metrics (default: the collection's name; a versioned read model passes its own name). */
  readonly metricName?: string;
}

/**
 * The events of a stream after `afterVersion` that the projection handles, upcast, in order: read from the
 * event store to fill a gap instead of refusing it (a new version of a read model being built, see
 * versioned-collection.ts).
 */
export type StreamHistory = (streamId: string, afterVersion: number) => Promise<readonly RecordedEvent[]>;

/** One event of a document's share of a batch; `index` in the batch, none for an event read to fill a gap. */
interface Entry {
  readonly event: RecordedEvent;
  readonly index: number | undefined;
}

/** What the projector knows of a document: its content, and whether that came from the store just now. */
interface Known<T> {
  readonly document: T | undefined;
  /** Read from the store in this batch; remembered or assumed state may be stale and is checked on doubt. */
  readonly fresh: boolean;
}

/**
 * Applies batches of events to a collection with the guarantees of `applyToDocument` (each version once,
 * gaps refused, conditional writes), in one write round trip per batch: the events of each document are
 * folded in memory and the batch goes out as one `writeMany` (MongoDB: one bulk write).
 *
 * It reads only what it does not know: documents it wrote recently are remembered (a bounded LRU), the
 * first event of a new stream (version 1) needs nothing, and the rest of a batch is fetched with one
 * `getMany`. Remembered state is safe because every write is guarded on the version it started from: if
 * another process moved the document meanwhile, the write is refused, the document read, and the events
 * decided again. A gap or failing evolve found on remembered state is checked against the store first.
 */
export class DocumentProjector<T extends ReadModelDocument> {
  /** Bounded; lru-cache, see AggregateCache for why not a Map. Absent with rememberDocuments 0. */
  readonly #remembered: LRUCache<string, T> | undefined;
  readonly #lag: { observe(seconds: number): void };
  readonly #announce: (document: T) => void;

  constructor(
    readonly collection: DocumentCollection<T>,
    private readonly projection: DocumentProjection<T>,
    { rememberDocuments = 10_000, announce, metricName }: DocumentProjectorOptions<T> = {},
  ) {
    this.#remembered = rememberDocuments > 0 ? new LRUCache({ max: rememberDocuments }) : undefined;
    this.#lag = projectionLagSeconds.labels({ collection: metricName ?? collection.definition.name });
    this.#announce = announce ?? ((document) => collection.announce(document));
  }

  /** Applies one event. @throws ProjectionGapError (or the evolve error) when it cannot be applied. */
  async apply(event: RecordedEvent): Promise<ApplyOutcome> {
    try {
      const [outcome] = await this.applyAll([event]);
      return outcome!;
    } catch (error) {
      throw error instanceof PartialBatchError ? error.cause : error;
    }
  }

  /**
   * Applies a batch in order per document; documents are independent of each other.
   * @returns the outcome of each event
   * @param history given, a gap is filled from the event store instead of refused (read once per document)
   * @throws PartialBatchError naming the first event that could not be applied (a gap, a failing evolve):
   *   every event before it is applied, and no later event of its document is.
   */
  async applyAll(events: readonly RecordedEvent[], history?: StreamHistory): Promise<ApplyOutcome[]> {
    const outcomes: ApplyOutcome[] = events.map(() => 'duplicate');
    const byDocument = new Map<string, Entry[]>();
    events.forEach((event, index) => {
      const id = this.projection.documentId(event);
      byDocument.set(id, [...(byDocument.get(id) ?? []), { event, index }]);
    });
    let failure: { index: number; cause: unknown } | undefined;

    // 1. What is stored: remembered documents, nothing for a new stream, one read for the rest.
    const known = new Map<string, Known<T>>();
    const unknown: string[] = [];
    for (const [id, indexes] of byDocument) {
      const remembered = this.#recall(id);
      if (remembered) known.set(id, { document: remembered, fresh: false });
      else if (indexes[0]!.event.version === 1) known.set(id, { document: undefined, fresh: false });
      else unknown.push(id);
    }
    await this.#read(unknown, known);

    // 2. Fold each document's events, write them all at once; refused or doubtful documents go round again.
    for (let pending = [...byDocument.keys()]; pending.length > 0;) {
      if (history) await this.#fillGaps(pending, byDocument, known, history);
      const writes: ConditionalWrite<T>[] = [];
      const appliedBy = new Map<string, number[]>();
      const doubtful: string[] = [];
      for (const id of pending) {
        const { document: start, fresh } = known.get(id)!;
        let current = start;
        const applied: number[] = [];
        let inDoubt = false;
        for (const { event, index } of byDocument.get(id)!) {
          const stored = current?.version ?? 0;
          if (event.version <= stored) continue; // a redelivery
          let cause: unknown;
          if (event.version !== stored + 1)
            cause = new ProjectionGapError(this.collection.definition.name, event, stored);
          else {
            try {
              current = { ...this.projection.evolve(current, event), version: event.version } as T;
              if (index !== undefined) applied.push(index);
              continue;
            } catch (error) {
              cause = error;
            }
          }
          if (!fresh) inDoubt = true;
          // An event read to fill a gap that fails: the batch's first event of the document is the one named.
          else failure = earliest(failure, index ?? firstIndex(byDocument.get(id)!), cause);
          break;
        }
        if (inDoubt) doubtful.push(id);
        if (inDoubt || current === start) continue;
        writes.push({ document: current!, expectedVersion: start?.version ?? 0 });
        appliedBy.set(id, applied);
      }
      const refused = writes.length > 0 ? await this.#write(writes) : new Set<string>();
      const writtenAt = Date.now();
      for (const { document } of writes) {
        if (refused.has(document.id)) continue;
        this.#remember(document);
        for (const index of appliedBy.get(document.id)!) {
          outcomes[index] = 'applied';
          this.#lag.observe((writtenAt - Date.parse(events[index]!.metadata.occurredAt)) / 1000);
        }
        this.#announce(document);
      }
      // Another writer got there first, or remembered state is in doubt: read, then decide again.
      pending = [...refused, ...doubtful];
      for (const id of pending) this.#remembered?.delete(id);
      await this.#read(pending, known);
    }
    if (failure) throw new PartialBatchError(failure.index, failure.cause);
    return outcomes;
  }

  /** One bulk write of the batch, as a span: the MongoDB write of the trace. */
  #write(writes: readonly ConditionalWrite<T>[]): Promise<Set<string>> {
    const collection = this.collection.definition.name;
    return inSpan(
      `read-model write ${collection}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.collection.name': collection, 'db.operation.batch.size': writes.length },
      },
      () => this.collection.writeMany(writes),
    );
  }

  /**
   * Fills the gaps of documents just read (their remembered state is checked by a read first): the missing
   * events of the stream, read once per document, join its share of the batch in version order.
   */
  async #fillGaps(
    ids: readonly string[],
    byDocument: Map<string, Entry[]>,
    known: ReadonlyMap<string, Known<T>>,
    history: StreamHistory,
  ): Promise<void> {
    const gaps = ids.flatMap((id) => {
      const { document, fresh } = known.get(id)!;
      const stored = document?.version ?? 0;
      const entries = byDocument.get(id)!;
      const versions = new Set(entries.map((e) => e.event.version));
      const last = Math.max(...versions);
      let missing = false;
      for (let v = stored + 1; v < last && !missing; v++) missing = !versions.has(v);
      return fresh && missing ? [{ id, stored, entries, versions, last }] : [];
    });
    await Promise.all(
      gaps.map(async ({ id, stored, entries, versions, last }) => {
        const read = await history(entries[0]!.event.streamId, stored);
        const filling = read
          .filter((e) => e.version < last && !versions.has(e.version))
          .map((event) => ({ event, index: undefined }));
        byDocument.set(
          id,
          [...entries, ...filling].sort((a, b) => a.event.version - b.event.version),
        );
      }),
    );
  }

  /** Forgets what it remembered (the collection was cleared). */
  forget(): void {
    this.#remembered?.clear();
  }

  async #read(ids: readonly string[], known: Map<string, Known<T>>): Promise<void> {
    if (ids.length === 0) return;
    const found = await this.collection.getMany(ids);
    for (const id of ids) {
      const document = found.get(id);
      known.set(id, { document, fresh: true });
      if (document) this.#remember(document);
    }
  }

  #recall(id: string): T | undefined {
    return this.#remembered?.get(id); // now the most recently used
  }

  #remember(document: T): void {
    this.#remembered?.set(document.id, document);
  }
}

const firstIndex = (entries: readonly Entry[]): number =>
  Math.min(...entries.flatMap((e) => (e.index === undefined ? [] : [e.index])));

const earliest = (
  failure: { index: number; cause: unknown } | undefined,
  index: number,
  cause: unknown,
): { index: number; cause: unknown } => (failure && failure.index <= index ? failure : { index, cause });
