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

export interface DocumentProjectorOptions {
  /** Documents kept in memory after a write, so the next event of the stream needs no read (LRU). */
  readonly rememberDocuments?: number;
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

  constructor(
    readonly collection: DocumentCollection<T>,
    private readonly projection: DocumentProjection<T>,
    { rememberDocuments = 10_000 }: DocumentProjectorOptions = {},
  ) {
    this.#remembered = rememberDocuments > 0 ? new LRUCache({ max: rememberDocuments }) : undefined;
    this.#lag = projectionLagSeconds.labels({ collection: collection.definition.name });
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
   * @throws PartialBatchError naming the first event that could not be applied (a gap, a failing evolve):
   *   every event before it is applied, and no later event of its document is.
   */
  async applyAll(events: readonly RecordedEvent[]): Promise<ApplyOutcome[]> {
    const outcomes: ApplyOutcome[] = events.map(() => 'duplicate');
    const byDocument = new Map<string, number[]>();
    events.forEach((event, index) => {
      const id = this.projection.documentId(event);
      byDocument.set(id, [...(byDocument.get(id) ?? []), index]);
    });
    let failure: { index: number; cause: unknown } | undefined;

    // 1. What is stored: remembered documents, nothing for a new stream, one read for the rest.
    const known = new Map<string, Known<T>>();
    const unknown: string[] = [];
    for (const [id, indexes] of byDocument) {
      const remembered = this.#recall(id);
      if (remembered) known.set(id, { document: remembered, fresh: false });
      else if (events[indexes[0]!]!.version === 1) known.set(id, { document: undefined, fresh: false });
      else unknown.push(id);
    }
    await this.#read(unknown, known);

    // 2. Fold each document's events, write them all at once; refused or doubtful documents go round again.
    for (let pending = [...byDocument.keys()]; pending.length > 0;) {
      const writes: ConditionalWrite<T>[] = [];
      const appliedBy = new Map<string, number[]>();
      const doubtful: string[] = [];
      for (const id of pending) {
        const { document: start, fresh } = known.get(id)!;
        let current = start;
        const applied: number[] = [];
        let inDoubt = false;
        for (const index of byDocument.get(id)!) {
          const event = events[index]!;
          const stored = current?.version ?? 0;
          if (event.version <= stored) continue; // a redelivery
          let cause: unknown;
          if (event.version !== stored + 1)
            cause = new ProjectionGapError(this.collection.definition.name, event, stored);
          else {
            try {
              current = { ...this.projection.evolve(current, event), version: event.version } as T;
              applied.push(index);
              continue;
            } catch (error) {
              cause = error;
            }
          }
          if (!fresh) inDoubt = true;
          else if (!failure || index < failure.index) failure = { index, cause };
          break;
        }
        if (inDoubt) doubtful.push(id);
        if (inDoubt || applied.length === 0) continue;
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
        this.collection.announce(document);
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

/**
 * A projection of events into one collection, through a DocumentProjector: what every document
 * projection does as an event handler (start over for a rebuild, apply one event, apply a consumed batch
 * as one bulk write). A context's projection passes its collection and its documentId/evolve.
 */
export abstract class DocumentProjectionHandler<T extends ReadModelDocument> {
  readonly #projector: DocumentProjector<T>;

  protected constructor(
    readonly collection: DocumentCollection<T>,
    /** Which document an event changes and how: live feeds evolve their states with it too. */
    readonly projection: DocumentProjection<T>,
  ) {
    this.#projector = new DocumentProjector(collection, projection);
  }

  async reset(): Promise<void> {
    this.#projector.forget();
    await this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    await this.#projector.apply(event);
  }

  /** A consumed batch: one bulk write. */
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    await this.#projector.applyAll(events);
  }
}
