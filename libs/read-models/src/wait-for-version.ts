import type { DocumentCollection, ReadModelDocument } from './document-collection.js';
import { ApplicationError } from '@app/core';

/** The read model did not reach the version a client asked for within the wait (HTTP 503, retry). */
export class ReadModelBehindError extends ApplicationError {
  constructor(what: string, wanted: number, reached: number | undefined, waitedMs: number) {
    super(
      'READ_MODEL_BEHIND',
      'unavailable',
      `${what} has not reached version ${wanted} after ${waitedMs} ms (it is at ${reached ?? 'none'}); retry shortly`,
      { minVersion: wanted, currentVersion: reached ?? null, waitedMs },
    );
  }
}

/** Longest wait between two reads: announcements make most waits far shorter. */
const FALLBACK_POLL_MS = 250;

/**
 * Read-your-writes: returns the document once it reaches `minVersion`, or throws ReadModelBehindError after
 * `timeoutMs`. Instead of polling the store, it waits for the projection to announce a write of this
 * document (projections run in the process that serves the queries) and re-reads then; a slow fallback
 * poll covers writes announced elsewhere. Without `minVersion` it is a plain read.
 */
export const readAtLeast = async <T extends ReadModelDocument>(
  what: string,
  collection: DocumentCollection<T>,
  id: string,
  minVersion: number | undefined,
  timeoutMs: number,
): Promise<T | undefined> => {
  const started = Date.now();
  for (;;) {
    const waited = Date.now() - started;
    // Listen before reading, so a write between the read and the wait is not missed.
    const changed = collection.nextChange(id, Math.min(FALLBACK_POLL_MS, Math.max(0, timeoutMs - waited)));
    const document = await collection.get(id);
    if (minVersion === undefined || (document && document.version >= minVersion)) {
      changed.cancel();
      return document;
    }
    if (waited >= timeoutMs) {
      changed.cancel();
      throw new ReadModelBehindError(what, minVersion, document?.version, waited);
    }
    await changed;
  }
};
