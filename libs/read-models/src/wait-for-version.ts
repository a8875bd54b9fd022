import type { DocumentCollection, ReadModelDocument } from './document-collection.js';
import { ApplicationError } from '@app/core';
import { processWaitBudget, type WaitBudget } from './document-waits.js';

/** Too many queries of this process wait for a version already (HTTP 503, retry). */
export class TooManyWaitsError extends ApplicationError {
  constructor(limit: number) {
    super(
      'TOO_MANY_WAITS',
      'unavailable',
      `${limit} queries already wait for a minVersion in this process; retry shortly`,
      { limit },
    );
  }
}

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

/**
 * Read-your-writes: returns the document once it reaches `minVersion`, or throws ReadModelBehindError after
 * `timeoutMs`. A version this process's projection wrote already is answered from memory; else it reads
 * the document once and, if it is behind, joins the document's shared wait (DocumentWaits), which
 * answers as soon as the projection announces the write that reached the version.
 * Without `minVersion` it is a plain read.
 */
export const readAtLeast = async <T extends ReadModelDocument>(
  what: string,
  collection: DocumentCollection<T>,
  id: string,
  minVersion: number | undefined,
  timeoutMs: number,
  budget: WaitBudget = processWaitBudget,
): Promise<T | undefined> => {
  if (minVersion === undefined) return collection.get(id);
  if (!budget.tryAcquire()) throw new TooManyWaitsError(budget.limit);
  try {
    return await waitAtLeast(what, collection, id, minVersion, timeoutMs);
  } finally {
    budget.release();
  }
};

const waitAtLeast = async <T extends ReadModelDocument>(
  what: string,
  collection: DocumentCollection<T>,
  id: string,
  minVersion: number,
  timeoutMs: number,
): Promise<T | undefined> => {
  const started = Date.now();
  // What this process's projection wrote last answers without a read (the store holds at least that).
  const writtenHere = collection.waits.lastWritten(id, minVersion);
  if (writtenHere) return writtenHere;
  // Wait before reading, so a write between the read and the wait is not missed. The read stays even
  // for a document written here at an older version: after a rebalance another instance may have
  // written the newer one, and the wait's fallback read would find it only 250 ms later.
  const reached = collection.waits.until(id, minVersion, timeoutMs);
  const document = await collection.get(id).catch((error: unknown) => {
    reached.cancel();
    throw error;
  });
  if (document && document.version >= minVersion) {
    reached.cancel();
    return document;
  }
  const written = await reached;
  if (written) return written;
  const current = await collection.get(id);
  if (current && current.version >= minVersion) return current;
  throw new ReadModelBehindError(what, minVersion, current?.version, Date.now() - started);
};
