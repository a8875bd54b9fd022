import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation, BulkWriteResult, Collection, Filter, MongoClient, Sort } from 'mongodb';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import {
  assertDistinctWrites,
  decodeCursor,
  DocumentCollection,
  encodeCursor,
  ReadModelStore,
  type CollectionDefinition,
  type ConditionalWrite,
  type ListQuery,
  type Page,
  type ReadModelDocument,
} from '../document-collection.js';
import { KeyedMutex } from './keyed-mutex.js';
import { Semaphore } from './semaphore.js';
import { readModelEntitySchema, type StoredDocument } from './read-model-entity-schema.js';
import {
  isDuplicateKeyError,
  ReadFilterRejectedError,
  ReadStoreUnavailableError,
  toReadStoreError,
} from './read-store-errors.js';

export interface MongoReadModelStoreOptions {
  /** Connection string including the database name (`mongodb://host:27017/readmodels`). */
  readonly url: string;
  /** How long `init()` and each operation wait for a reachable server before failing (default 5 s). */
  readonly serverSelectionTimeoutMs?: number;
  /** CA (PEM file) to trust for TLS to the server; setting it turns TLS on. */
  readonly tlsCaFile?: string;
}

/** What a collection needs from its store: the native collection, once its indexes exist. */
interface CollectionBinding {
  readonly ready: () => Promise<void>;
  readonly native: () => Collection<StoredDocument>;
  /** The collection was dropped: its indexes are created again on next use. */
  readonly dropped: () => void;
}

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
 * Concurrency: FerretDB does not apply concurrent updates of one document atomically (measured: 80 parallel
 * compare-and-set `findOneAndUpdate` had 2 winners), so the version guard alone is not enough there. Writes to
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
    // One id as an equality: FerretDB runs `$in` as a scan of the collection, an equality from an index.
    const filter = ids.length === 1 ? { _id: ids[0]! } : { _id: { $in: [...ids] } };
    const found = await this.#run('getMany', (c) => c.find(filter).toArray());
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

/**
 * TypeORM builds entity metadata once, in `initialize()`; read models are declared later, one by one, when a
 * projection asks for its collection. This adds an entity schema to a running data source.
 */
class ReadModelDataSource extends DataSource {
  async addEntitySchema(schema: EntitySchema<StoredDocument>): Promise<void> {
    const previous = (this.options.entities ?? []) as MixedList<EntitySchema>;
    this.setOptions({ entities: [...(previous as EntitySchema[]), schema] });
    try {
      await this.buildMetadatas();
    } catch (error) {
      this.setOptions({ entities: previous });
      await this.buildMetadatas();
      throw error;
    }
  }
}

/**
 * Read models on MongoDB (or FerretDB), through TypeORM's `mongodb` data source, which owns the connection.
 *
 * Each collection definition becomes a TypeORM `EntitySchema` (see `readModelEntitySchema`) whose indexes
 * cover the listing order and every filter field. Collections are requested after `init()` (projections ask
 * in their constructors), so the schema is registered and its indexes created on first use of each
 * collection: every operation awaits that step (memoized; retried after a failure). It is also started as
 * soon as a collection is requested on a connected store, so indexes usually exist before the first query.
 *
 * Documents are read and written with the native driver reached through the data source. Server
 * unreachable -> `ReadStoreUnavailableError` (`READ_STORE_UNAVAILABLE`, HTTP 503).
 */
export class MongoReadModelStore extends ReadModelStore {
  /** The TypeORM data source owning the connection (health checks, rebuild tooling, tests). */
  readonly dataSource: DataSource;
  /** The database named by the url. */
  readonly database: string;
  readonly #dataSource: ReadModelDataSource;
  readonly #collections = new Map<string, MongoDocumentCollection<ReadModelDocument>>();
  readonly #ready = new Map<string, Promise<void>>();
  /** Bulk write commands in flight, shared by the store's collections (one database). */
  readonly #bulkCommands = new Semaphore(MAX_BULK_COMMANDS_IN_FLIGHT);
  #registrations: Promise<unknown> = Promise.resolve();
  #connecting: Promise<unknown> | undefined;
  #natives: { client: MongoClient; byName: Map<string, Collection<StoredDocument>> } | undefined;

  constructor({ url, serverSelectionTimeoutMs = 5_000, tlsCaFile }: MongoReadModelStoreOptions) {
    super();
    this.#dataSource = new ReadModelDataSource({
      type: 'mongodb',
      url,
      entities: [],
      synchronize: false,
      logging: false,
      // Absent, not null, when a document property is undefined (as the in-memory store keeps it).
      ignoreUndefined: true,
      // TypeORM passes only known options through; `extra` reaches the MongoClient as is.
      extra: {
        serverSelectionTimeoutMS: serverSelectionTimeoutMs,
        ...(tlsCaFile ? { tls: true, tlsCAFile: tlsCaFile } : {}),
      },
    });
    this.dataSource = this.#dataSource;
    const database = this.#dataSource.driver.database;
    if (!database) throw new Error(`The read-model store url must name a database: mongodb://host:27017/readmodels`);
    this.database = database;
  }

  override collection<T extends ReadModelDocument>(definition: CollectionDefinition<T>): DocumentCollection<T> {
    let collection = this.#collections.get(definition.name);
    if (!collection) {
      const binding: CollectionBinding = {
        ready: () => this.#prepare(definition),
        native: () => this.#native(definition.name),
        dropped: () => this.#ready.delete(definition.name),
      };
      collection = new MongoDocumentCollection<T>(
        definition,
        binding,
        this.#bulkCommands,
      ) as unknown as MongoDocumentCollection<ReadModelDocument>;
      this.#collections.set(definition.name, collection);
      // Early start; a failure is reported (and retried) by the first operation.
      if (this.#dataSource.isInitialized) this.#prepare(definition).catch(() => undefined);
    }
    return collection as unknown as DocumentCollection<T>;
  }

  override async init(): Promise<void> {
    if (!this.#dataSource.isInitialized) {
      this.#connecting ??= this.#dataSource.initialize().finally(() => (this.#connecting = undefined));
      try {
        await this.#connecting;
      } catch (error) {
        throw toReadStoreError('connect', error);
      }
    }
    await Promise.all([...this.#collections.values()].map((c) => this.#prepare(c.definition)));
  }

  override async close(): Promise<void> {
    this.#ready.clear();
    if (this.#dataSource.isInitialized) await this.#dataSource.destroy();
  }

  /** Registers the collection's entity schema, then creates its indexes (both idempotent). */
  #prepare<T extends ReadModelDocument>(definition: CollectionDefinition<T>): Promise<void> {
    let ready = this.#ready.get(definition.name);
    if (!ready) {
      ready = this.#createIndexes(definition).catch((error: unknown) => {
        this.#ready.delete(definition.name);
        throw toReadStoreError(`indexes of ${definition.name}`, error);
      });
      this.#ready.set(definition.name, ready);
    }
    return ready;
  }

  async #createIndexes<T extends ReadModelDocument>(definition: CollectionDefinition<T>): Promise<void> {
    this.#assertConnected('indexes');
    const { name } = definition;
    if (!this.#dataSource.hasMetadata(name)) {
      // One metadata rebuild at a time: each one reads the whole entity list.
      const registration = this.#registrations.then(() =>
        this.#dataSource.addEntitySchema(readModelEntitySchema(definition)),
      );
      this.#registrations = registration.catch(() => undefined);
      await registration;
    }
    const indexes = this.#dataSource
      .getMetadata(name)
      .indices.map((index) => ({ name: index.name, key: index.columnNamesWithOrderingMap as Record<string, 1 | -1> }));
    // Only the missing ones: FerretDB 1.24 drops the connection (a server-side panic) when asked to
    // create, again, indexes that exist on a collection holding documents: every restart did that.
    const existing = new Set(
      (
        await this.#native(name)
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).map((index) => index['name'] as string),
    );
    const missing = indexes.filter((index) => !existing.has(index.name));
    if (missing.length > 0) await this.#dataSource.mongoManager.createCollectionIndexes(name, missing);
  }

  override async ping(): Promise<void> {
    this.#assertConnected('ping');
    try {
      await this.#client().db(this.database).command({ ping: 1 });
    } catch (error) {
      throw toReadStoreError('ping', error);
    }
  }

  #native(name: string): Collection<StoredDocument> {
    this.#assertConnected(name);
    // One Collection per name and client: the driver builds a new Db and Collection (options, read
    // concern, logger) on every db()/collection() call, which the profile shows on every write.
    const client = this.#client();
    if (this.#natives?.client !== client) this.#natives = { client, byName: new Map() };
    let collection = this.#natives.byName.get(name);
    if (!collection) {
      collection = client.db(this.database).collection<StoredDocument>(name);
      this.#natives.byName.set(name, collection);
    }
    return collection;
  }

  /** TypeORM types the client with its own copy of the driver's typings; it is the `mongodb` MongoClient. */
  #client(): MongoClient {
    return this.#dataSource.mongoManager.mongoQueryRunner.databaseConnection as unknown as MongoClient;
  }

  #assertConnected(operation: string): void {
    if (!this.#dataSource.isInitialized) {
      throw new ReadStoreUnavailableError(operation, new Error('not connected (init() not called, or closed)'));
    }
  }
}

/**
 * An unordered bulk write whose duplicate-key refusals (a create of a document that exists) are results,
 * not failures: their indexes come back in `duplicates`.
 */
const bulkWriteKeepingDuplicates = async (
  collection: Collection<StoredDocument>,
  operations: AnyBulkWriteOperation<StoredDocument>[],
): Promise<{ result: BulkWriteResult; duplicates: number[] }> => {
  try {
    return { result: await collection.bulkWrite(operations, { ordered: false }), duplicates: [] };
  } catch (error) {
    const { writeErrors, result } = error as { writeErrors?: unknown; result?: BulkWriteResult };
    // The driver's WriteError is not an Error: read its code and index as plain fields.
    const errors = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as {
      code?: unknown;
      index?: unknown;
    }[];
    if (result && errors.length > 0 && errors.every((e) => e.code === 11000 && typeof e.index === 'number')) {
      return { result, duplicates: errors.map((e) => e.index as number) };
    }
    throw error;
  }
};

/**
 * Most statements in one bulk write command, and bulk commands in flight per store. FerretDB 1.24 (SQLite
 * backend) stops answering once about 100 update statements are in flight on one database, and leaves it
 * locked (measured on one database: one command of 85 answered in 0.2 s, one of 100 never; three
 * concurrent commands of 25 answered, three of 50 never). So a batch goes out in commands of 25, at most
 * two of them at a time in this process (50 statements); MongoDB itself has no such limit.
 */
const MAX_BULK_OPERATIONS = 25;
const MAX_BULK_COMMANDS_IN_FLIGHT = 2;

/** Field of a stored document naming the `writeMany` call that wrote it; not part of the read model. */
const WRITE_ID = '_writeId';

const fromStored = <T extends ReadModelDocument>({ _id, [WRITE_ID]: _writeId, ...fields }: StoredDocument): T =>
  ({ id: _id, ...fields }) as unknown as T;

const assertId = (id: unknown): void => {
  if (typeof id !== 'string') throw new TypeError(`A read-model id must be a string, got ${typeof id}`);
};

const isFilterValue = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null);

/**
 * Refuses what MongoDB and FerretDB do not both store faithfully: NaN (FerretDB drops the connection) and keys
 * starting with `$` or containing `.` (FerretDB: "invalid key"). Caught here as a bug in the projection
 * rather than surfacing as a store outage.
 */
const assertPortable = (value: unknown, path: string): void => {
  if (typeof value === 'number' && Number.isNaN(value)) throw new TypeError(`${path} is NaN: cannot be stored`);
  if (Array.isArray(value)) value.forEach((item, i) => assertPortable(item, `${path}[${i}]`));
  else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('.')) {
        throw new TypeError(`${path}: key '${key}' cannot be stored (no leading '$', no '.')`);
      }
      assertPortable(item, `${path}.${key}`);
    }
  }
};
