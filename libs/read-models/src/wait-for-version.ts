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

/** The client went away while its query waited (nobody reads the answer; the wait's slot is free again). */
export class ClientGoneError extends ApplicationError {
  constructor() {
    super('CLIENT_GONE', 'unavailable', 'The client closed the request while it waited for a version');
  }
}

export interface ReadAtLeastOptions<T> {
  /** The process's wait slots (default: processWaitBudget). */
  readonly budget?: WaitBudget;
  /** Aborted when the client disconnects: the wait ends and gives its slot back at once. */
  readonly signal?: AbortSignal;
  /**
   * Whether the caller may see this document (ownership). One it may not see is answered as absent, before
   * any wait: nothing about its existence or version reaches the caller.
   */
  readonly visible?: (document: T) => boolean;
}

/**
 * Read-your-writes: returns the document once it reaches `minVersion`, or throws ReadModelBehindError after
 * `timeoutMs`. A version this process's projection wrote already is answered from memory; else it reads
 * the document once and, if it is behind, joins the document's shared wait (DocumentWaits), which
 * answers as soon as the projection announces the write that reached the version.
 * Without `minVersion` it is a plain read. A document the caller may not see (`visible`) is undefined,
 * whatever version was asked for and without waiting; a client that disconnects ends its wait (`signal`).
 */
export const readAtLeast = async <T extends ReadModelDocument>(
  what: string,
  collection: DocumentCollection<T>,
  id: string,
  minVersion: number | undefined,
  timeoutMs: number,
  { budget = processWaitBudget, signal, visible = () => true }: ReadAtLeastOptions<T> = {},
): Promise<T | undefined> => {
  const shown = (document: T | undefined): T | undefined => (document && visible(document) ? document : undefined);
  if (minVersion === undefined) return shown(await collection.get(id));
  // Ownership first: any version of the document names its owner. Remembered here: no read at all.
  const remembered = collection.waits.lastWritten(id);
  if (remembered && !visible(remembered)) return undefined;
  if (remembered && remembered.version >= minVersion) return remembered;
  if (signal?.aborted) throw new ClientGoneError();
  if (!budget.tryAcquire()) throw new TooManyWaitsError(budget.limit);
  try {
    return shown(await waitAtLeast(what, collection, id, minVersion, timeoutMs, signal, visible));
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
  signal: AbortSignal | undefined,
  visible: (document: T) => boolean,
): Promise<T | undefined> => {
  const started = Date.now();
  // Wait before reading, so a write between the read and the wait is not missed. The read stays even
  // for a document written here at an older version: after a rebalance another instance may have
  // written the newer one, and the wait's fallback read would find it only 250 ms later.
  const reached = collection.waits.until(id, minVersion, timeoutMs);
  const clientGone = (): void => reached.cancel();
  signal?.addEventListener('abort', clientGone, { once: true });
  try {
    const document = await collection.get(id).catch((error: unknown) => {
      reached.cancel();
      throw error;
    });
    // One the caller may not see is answered at once, as absent (the ownership check before any wait).
    if (document && (!visible(document) || document.version >= minVersion)) {
      reached.cancel();
      return document;
    }
    const written = await reached;
    if (written) return written;
    if (signal?.aborted) throw new ClientGoneError();
    const current = await collection.get(id);
    if (current && current.version >= minVersion) return current;
    throw new ReadModelBehindError(what, minVersion, current?.version, Date.now() - started);
  } finally {
    signal?.removeEventListener('abort', clientGone);
  }
};
