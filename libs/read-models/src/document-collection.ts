import { DocumentWaits } from './read-your-writes.js';
/** A read-model document: one per entity, stamped with the stream version it reflects. */
export interface ReadModelDocument {
  readonly id: string;
  readonly version: number;
}

export type SortDirection = 'asc' | 'desc';

export interface ListQuery<T extends ReadModelDocument> {
  /** Equality filters; undefined values are ignored. */
  readonly where?: { readonly [K in keyof T]?: T[K] };
  readonly limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back to get the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** One write of a batch: store `document` if the stored one is at `expectedVersion` (0 = absent). */
export interface ConditionalWrite<T extends ReadModelDocument> {
  readonly document: T;
  readonly expectedVersion: number;
}

export interface CollectionDefinition<T extends ReadModelDocument> {
  readonly name: string;
  /** Listing order; `id` is always appended as the tie-breaker, in the same direction. */
  readonly sort: { readonly field: keyof T & string; readonly direction: SortDirection };
  /** Fields queried with `where`: adapters index them. */
  readonly filterFields: readonly (keyof T & string)[];
}

/**
 * Storage for one read model. Writes are guarded by the version the caller read, so two writers (or a
 * redelivery racing a rebuild) cannot overwrite each other: `replace` tells whether it won.
 */
export abstract class DocumentCollection<T extends ReadModelDocument> {
  /** Read-your-writes waits on this collection's documents (see `readAtLeast`). */
  readonly waits: DocumentWaits<T>;

  constructor(readonly definition: CollectionDefinition<T>) {
    this.waits = new DocumentWaits<T>((id) => this.get(id));
  }

  /** Tells read-your-writes waiters of this process that `document` was written (as it now is). */
  announce(document: T): void {
    this.waits.written(document);
  }

  abstract get(id: string): Promise<T | undefined>;

  /**
   * Stores `next` if the stored document is still at `expectedVersion` (0 = absent).
   * @returns false when another write got there first.
   */
  abstract replace(next: T, expectedVersion: number): Promise<boolean>;

  /** The stored documents among `ids`, by id (absent ones are missing from the map); one round trip. */
  abstract getMany(ids: readonly string[]): Promise<Map<string, T>>;

  /**
   * Conditional writes of distinct documents, in one round trip where the store allows it (MongoDB: one
   * bulk write). Each write stands or falls on its own guard, exactly as `replace` would; one refusal does
   * not stop the others.
   * @returns the ids not written because the stored version was not the expected one.
   */
  abstract writeMany(writes: readonly ConditionalWrite<T>[]): Promise<Set<string>>;

  abstract list(query: ListQuery<T>): Promise<Page<T>>;

  /** Drops every document (before a rebuild), and what `waits` remembers of this process's writes. */
  async clear(): Promise<void> {
    await this.dropAll();
    this.waits.forgetWritten();
  }

  /**
   * Removes the collection itself (a retired version of a read model), with its indexes where the store has
   * them; a later write creates it again, as new. Absent already: nothing happens.
   */
  async drop(): Promise<void> {
    await this.clear();
  }

  /** Drops every stored document. */
  protected abstract dropAll(): Promise<void>;
}

/** Throws unless every write of a batch is for a different document (a batch holds one write per document). */
export const assertDistinctWrites = (writes: readonly ConditionalWrite<ReadModelDocument>[]): void => {
  const ids = new Set(writes.map((w) => w.document.id));
  if (ids.size !== writes.length) throw new Error('writeMany: at most one write per document');
};

/** Creates a collection per read model on the configured storage. */
export abstract class ReadModelStore {
  abstract collection<T extends ReadModelDocument>(definition: CollectionDefinition<T>): DocumentCollection<T>;
  /** Whether other processes use the same documents (then a change of version pointer takes time to settle). */
  get sharedAcrossProcesses(): boolean {
    return true;
  }
  async init(): Promise<void> {}
  async close(): Promise<void> {}
  /** Throws when the store cannot be reached (readiness checks). */
  async ping(): Promise<void> {}
}

/** Cursor = the sort values of the last item of a page, base64url JSON; never trusted blindly. */
export const encodeCursor = (values: readonly unknown[]): string =>
  Buffer.from(JSON.stringify(values)).toString('base64url');

export const decodeCursor = (cursor: string): [unknown, string] => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== 'string') throw new InvalidCursorError();
  const sortValue: unknown = parsed[0];
  if (sortValue !== null && !['string', 'number'].includes(typeof sortValue)) throw new InvalidCursorError();
  return [sortValue, parsed[1]];
};

import { InvalidCommand } from '@app/core';

export class InvalidCursorError extends InvalidCommand {
  constructor() {
    super('CURSOR_INVALID', 'The cursor is not one this API returned', { field: 'cursor' });
  }
}
