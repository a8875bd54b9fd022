import type { RecordedEvent } from '@app/core';
import { ApplicationError } from '@app/core';
import type { DocumentCollection, ReadModelDocument } from './document-collection.js';

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
      collection.announce(id);
      return 'applied';
    }
    // Lost a race with another writer of this document: re-read and decide again.
  }
};
