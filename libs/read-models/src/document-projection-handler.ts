import type { RecordedEvent } from '@app/core';
import { PartialBatchError } from '@app/core';
import type { CollectionDefinition, ReadModelDocument, ReadModelStore } from './document-collection.js';
import { DocumentProjector, type DocumentProjection, type StreamHistory } from './projection.js';
import { writtenVersions, type ReadModelPointer } from './read-model-versions.js';
import { versionedCollection, type VersionedDocumentCollection } from './versioned-collection.js';

/**
 * A projection of events into one read model, through DocumentProjectors: what every document projection
 * does as an event handler (apply one event, apply a consumed batch as one bulk write per version written)
 * and what the rebuild job asks of it (build a new version beside the live one, then switch). A context's
 * projection passes its store, its collection definition and its documentId/evolve.
 */
export abstract class DocumentProjectionHandler<T extends ReadModelDocument> {
  /** What queries read: the live version of the read model. */
  readonly collection: VersionedDocumentCollection<T>;
  /** Which document an event changes and how: live feeds evolve their states with it too. */
  readonly projection: DocumentProjection<T>;
  /** One per version written live (each remembers its own documents). */
  readonly #projectors = new Map<number, DocumentProjector<T>>();
  #history: StreamHistory | undefined;
  /** The live version as last read, whose writes answer read-your-writes waits. */
  #live = 0;

  protected constructor(store: ReadModelStore, definition: CollectionDefinition<T>, projection: DocumentProjection<T>) {
    this.collection = versionedCollection(store, definition);
    this.projection = projection;
  }

  /** How to read a stream's events from the event store, to fill gaps in a version being built. */
  useHistory(history: StreamHistory): void {
    this.#history = history;
  }

  /** Empties the live version (tests, in-memory stores; a rebuild builds beside it instead). */
  async reset(): Promise<void> {
    this.#projectors.clear();
    await this.collection.clear();
  }

  async handle(event: RecordedEvent): Promise<void> {
    try {
      await this.handleBatch([event]);
    } catch (error) {
      throw error instanceof PartialBatchError ? error.cause : error;
    }
  }

  /**
   * A consumed batch: one bulk write per version written, newest first (see versioned-collection.ts).
   * While a rebuild is under way, gaps in any version are filled from the event store.
   * @throws PartialBatchError at the first event that some version could not apply
   */
  async handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    const pointer = await this.collection.versions.current();
    this.#live = pointer.live;
    const versions = writtenVersions(pointer);
    const filling = versions.length > 1 ? this.#history : undefined;
    for (const version of this.#projectors.keys()) if (!versions.includes(version)) this.#projectors.delete(version);
    let handled = events.length;
    let cause: unknown;
    for (const version of versions) {
      if (handled === 0) break;
      try {
        await this.#projector(version).applyAll(handled < events.length ? events.slice(0, handled) : events, filling);
      } catch (error) {
        if (!(error instanceof PartialBatchError)) throw error;
        ({ handled, cause } = error);
      }
    }
    if (handled < events.length) throw new PartialBatchError(handled, cause);
  }

  /** Rebuild: starts a new version beside the live one, written live from now on. @returns its number */
  beginBuild(): Promise<number> {
    return this.collection.beginBuild();
  }

  /** Rebuild: a page of whole streams (every event from version 1) into the version being built. */
  async applyToBuild(version: number, events: readonly RecordedEvent[]): Promise<void> {
    await new DocumentProjector(this.collection.version(version), this.projection, {
      rememberDocuments: 0,
      announce: () => undefined,
      metricName: `${this.collection.definition.name}:rebuild`,
    }).applyAll(events);
  }

  /** Rebuild: readers switch to the built version, the old one is retired. */
  completeBuild(version: number): Promise<void> {
    return this.collection.completeBuild(version);
  }

  /** Rebuild: abandons the version being built. @returns its number, null if none was being built */
  abortBuild(): Promise<number | null> {
    return this.collection.abortBuild();
  }

  /** The version pointer as stored now. */
  versionStatus(): Promise<ReadModelPointer> {
    return this.collection.versions.fresh();
  }

  #projector(version: number): DocumentProjector<T> {
    let projector = this.#projectors.get(version);
    if (!projector) {
      projector = new DocumentProjector(this.collection.version(version), this.projection, {
        announce: (document) => {
          if (version === this.#live) this.collection.announce(document);
        },
        metricName: this.collection.definition.name,
      });
      this.#projectors.set(version, projector);
    }
    return projector;
  }
}
