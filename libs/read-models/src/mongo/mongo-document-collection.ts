// One read model in one MongoDB collection: conditional writes (insert for a new document, replace guarded
// by `{ _id, version }`), batches of them as bulk writes, equality filters on indexed fields and keyset
// pagination. Writes to one document are serialised in this process (KeyedMutex), because FerretDB does not
// apply concurrent guarded replaces of one document atomically; bulk commands in flight are bounded
// (Semaphore, see MAX_BULK_OPERATIONS). The store (MongoReadModelStore) owns connection and indexes.
import { concurrently } from '@app/core';
import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation, Collection, Filter, Sort } from 'mongodb';
import {
  assertDistinctWrites,
  decodeCursor,
  DocumentCollection,
  encodeCursor,
  type CollectionDefinition,
  type ConditionalWrite,
  type ListQuery,
  type Page,
  type ReadModelDocument,
} from '../document-collection.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { StoredDocument } from './read-model-entity-schema.js';
import { isDuplicateKeyError, ReadFilterRejectedError, toReadStoreError } from './read-store-errors.js';
import type { Semaphore } from './semaphore.js';
import {
  assertId,
  assertPortable,
  bulkWriteKeepingDuplicates,
  fromStored,
  isFilterValue,
  MAX_BULK_OPERATIONS,
  WRITE_ID,
} from './stored-documents.js';

/** What a collection needs from its store: the native collection, once its indexes exist. */
export interface CollectionBinding {
  readonly ready: () => Promise<void>;
  readonly native: () => Collection<StoredDocument>;
  /** The collection was dropped: its indexes are created again on next use. */
  readonly dropped: () => void;
  /** Whether the server runs `_id: {$in}` as a scan of the collection (FerretDB 1.x), not from the index. */
  readonly inScans: () => boolean;
}

/** Equality reads in flight for one `getMany` where `$in` scans (each one an index lookup on `_id`). */
const POINT_READS_IN_FLIGHT = 16;

/**
 * A read model in one MongoDB collection (`definition.name`), one document per entity, `_id` = `id`.
 *
 * Writes go through the native driver (TypeORM's repositories cannot express "replace only at this version"):
 * `insertOne` for a new document (the unique `_id` refuses a second creator) and `replaceOne` filtered on
 * `{ _id, version }` for an update (compare-and-set). `writeMany` sends a batch of them as unordered
 * `bulkWrite`s of up to MAX_BULK_OPERATIONS documents (the driver sends one `insert` command for the creates
 * and one `update` command for the guarded `replaceOne`s of each). Creates are plain inserts: on FerretDB an
 * upsert costs about 15 times an insert.
 *
 * Concurrency: FerretDB does not apply concurrent updates of one document atomically (measured on FerretDB
 * 1.24 with PostgreSQL 15: 80 parallel `replaceOne({ _id, version: 1 })` had 5 to 75 winners in 16 rounds of
 * 20; on SQLite 80 `findOneAndUpdate` had 2), so the version guard alone is not enough there. Writes to
 * one document are therefore serialised inside this process (a per-id async mutex; a batch holds the ids it
 * writes, so batches of other documents run alongside); across processes the
 * guarantee relies on a single writer per document, i.e. one consumer per Kafka partition, the message key
 * being the stream id the document is built from. On real MongoDB the server-side guard holds on its own.
 */
export class MongoDocumentCollection<T extends ReadModelDocument> extends DocumentCollection<T> {
  readonly #binding: CollectionBinding;
  readonly #writes = new KeyedMutex();

  readonly #bulkCommands: Semaphore;

  constructor(definition: CollectionDefinition<T>, binding: CollectionBinding, bulkCommands: Semaphore) {
    super(definition);
    this.#binding = binding;
    this.#bulkCommands = bulkCommands;
  }

  override async get(id: string): Promise<T | undefined> {
    assertId(id);
    const stored = await this.#run('get', (c) => c.findOne({ _id: id }));
    return stored ? fromStored<T>(stored) : undefined;
  }

  override async replace(next: T, expectedVersion: number): Promise<boolean> {
    const { id, ...fields } = next;
    assertId(id);
    assertPortable(fields, this.definition.name);
    return this.#writes.run(id, () =>
      this.#run('replace', async (c) => {
        if (expectedVersion === 0) {
          try {
            await c.insertOne({ _id: id, ...fields });
            return true;
          } catch (error) {
            if (isDuplicateKeyError(error)) return false;
            throw error;
          }
        }
        const { matchedCount } = await c.replaceOne({ _id: id, version: expectedVersion }, fields);
        return matchedCount === 1;
      }),
    );
  }

  override async getMany(ids: readonly string[]): Promise<Map<string, T>> {
    ids.forEach(assertId);
    if (ids.length === 0) return new Map();
    // FerretDB 1.x runs `$in` as a scan of the whole collection (PostgreSQL's plan: Seq Scan; 8.9 s for 250
    // ids in 37,000 documents, which made a rebuild quadratic), an `_id` equality from its index: there,
    // one equality read per id, a few at a time. MongoDB answers `$in` from the index.
    const found = await this.#run('getMany', async (c) => {
      if (ids.length === 1) return c.find({ _id: ids[0]! }).toArray();
      if (!this.#binding.inScans()) return c.find({ _id: { $in: [...ids] } }).toArray();
      const found = await concurrently(ids, POINT_READS_IN_FLIGHT, (id) => c.findOne({ _id: id }));
      return found.filter((stored) => stored !== null);
    });
    return new Map(found.map((stored) => [stored._id, fromStored<T>(stored)]));
  }

  override async writeMany(writes: readonly ConditionalWrite<T>[]): Promise<Set<string>> {
    assertDistinctWrites(writes);
    if (writes.length === 0) return new Set();
    // Marks the documents of this call, for telling which guarded replaces held when not all did.
    const writeId = randomUUID();
    const operations = writes.map(({ document, expectedVersion }): AnyBulkWriteOperation<StoredDocument> => {
      const { id, ...fields } = document;
      assertId(id);
      assertPortable(fields, this.definition.name);
      const stored = { ...fields, [WRITE_ID]: writeId };
      return expectedVersion === 0
        ? { insertOne: { document: { _id: id, ...stored } } }
        : { replaceOne: { filter: { _id: id, version: expectedVersion }, replacement: stored } };
    });
    return this.#writes.runAll(
      writes.map((w) => w.document.id),
      () =>
        this.#run('writeMany', async (c) => {
          // A refused create is a duplicate-key error at its index; guarded replaces report only how
          // many matched in all.
          const refusedCreates = new Set<number>();
          let matched = 0;
          for (let from = 0; from < operations.length; from += MAX_BULK_OPERATIONS) {
            const chunk = operations.slice(from, from + MAX_BULK_OPERATIONS);
            const { result, duplicates } = await this.#bulkCommands.run(() => bulkWriteKeepingDuplicates(c, chunk));
            for (const index of duplicates) refusedCreates.add(from + index);
            matched += result.matchedCount;
          }
          const refused = new Set([...refusedCreates].map((i) => writes[i]!.document.id));
          const replaces = writes.filter((w) => w.expectedVersion !== 0).map((w) => w.document.id);
          if (matched === replaces.length) return refused;
          // Some guard did not hold: the write id stored tells which (a read only in this case).
          const stored = await c.find({ _id: { $in: replaces } }, { projection: { [WRITE_ID]: 1 } }).toArray();
          const written = new Set(stored.filter((d) => d[WRITE_ID] === writeId).map((d) => d._id));
          for (const id of replaces) if (!written.has(id)) refused.add(id);
          return refused;
        }),
    );
  }

  override async list({ where = {}, limit, cursor }: ListQuery<T>): Promise<Page<T>> {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number, got ${limit}`);
    const clauses: Filter<StoredDocument>[] = [this.#filter(where)];
    if (cursor !== undefined) clauses.push(this.#after(...decodeCursor(cursor)));
    const { field, direction } = this.definition.sort;
    const dir = direction === 'asc' ? 1 : -1;
    const sort: Sort =
      field === 'id'
        ? [['_id', dir]]
        : [
            [field, dir],
            ['_id', dir],
          ];

    const found = await this.#run('list', (c) =>
      c
        .find(clauses.length === 1 ? clauses[0] : { $and: clauses })
        .sort(sort)
        .limit(limit + 1)
        .toArray(),
    );
    const items = found.slice(0, limit).map((d) => fromStored<T>(d));
    const last = items.at(-1);
    return {
      items,
      nextCursor: found.length > limit && last ? encodeCursor([last[field] ?? null, last.id]) : null,
    };
  }

  protected override async dropAll(): Promise<void> {
    await this.#run('clear', (c) => c.deleteMany({}));
  }

  /** Drops the MongoDB collection and its indexes (the driver ignores a collection that does not exist). */
  override async drop(): Promise<void> {
    await this.#run('drop', (c) => c.drop());
    this.#binding.dropped();
    this.waits.forgetWritten();
  }

  /** Equality on declared filter fields only (they are indexed), with primitive values only (never operators). */
  #filter(where: ListQuery<T>['where'] & object): Filter<StoredDocument> {
    const filter: Record<string, string | number | boolean> = {};
    for (const [field, value] of Object.entries(where)) {
      if (value === undefined) continue;
      if (field !== 'id' && !(this.definition.filterFields as readonly string[]).includes(field)) {
        throw new Error(`${this.definition.name}: '${field}' is not in filterFields (so it is not indexed)`);
      }
      if (!isFilterValue(value)) throw new ReadFilterRejectedError(this.definition.name, field);
      filter[field === 'id' ? '_id' : field] = value;
    }
    return filter;
  }

  /**
   * Documents after (sortValue, id) in listing order. MongoDB sorts null/missing first ascending and last
   * descending, and `$gt`/`$lt` never match null, so null sort values get their own branches.
   */
  #after(sortValue: unknown, id: string): Filter<StoredDocument> {
    const { field, direction } = this.definition.sort;
    const beyond = direction === 'asc' ? '$gt' : '$lt';
    if (field === 'id') return { _id: { [beyond]: id } };
    if (sortValue === null) {
      const sameValue = { [field]: null, _id: { [beyond]: id } };
      return direction === 'asc' ? { $or: [sameValue, { [field]: { $ne: null } }] } : sameValue;
    }
    const branches: Filter<StoredDocument>[] = [
      { [field]: { [beyond]: sortValue } },
      { [field]: sortValue, _id: { [beyond]: id } },
    ];
    if (direction === 'desc') branches.push({ [field]: null });
    return { $or: branches };
  }

  async #run<R>(operation: string, action: (collection: Collection<StoredDocument>) => Promise<R>): Promise<R> {
    try {
      await this.#binding.ready();
      return await action(this.#binding.native());
    } catch (error) {
      throw toReadStoreError(`${operation} ${this.definition.name}`, error);
    }
  }
}
