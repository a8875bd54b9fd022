// Read models on MongoDB (or FerretDB) through TypeORM's `mongodb` data source, which owns the connection:
// one MongoDocumentCollection per read model, whose entity schema is registered and indexes created on first
// use (collections are declared after `init()`), and the native driver collections reached through it.
import type { Collection, MongoClient } from 'mongodb';
import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import {
  DocumentCollection,
  ReadModelStore,
  type CollectionDefinition,
  type ReadModelDocument,
} from '../document-collection.js';
import { MongoDocumentCollection, type CollectionBinding } from './mongo-document-collection.js';
import { readModelEntitySchema, type StoredDocument } from './read-model-entity-schema.js';
import { ReadStoreUnavailableError, toReadStoreError } from './read-store-errors.js';
import { Semaphore } from './semaphore.js';
import { MAX_BULK_COMMANDS_IN_FLIGHT } from './stored-documents.js';

export { MongoDocumentCollection } from './mongo-document-collection.js';

export interface MongoReadModelStoreOptions {
  /** Connection string including the database name (`mongodb://host:27017/readmodels`). */
  readonly url: string;
  /** How long `init()` and each operation wait for a reachable server before failing (default 5 s). */
  readonly serverSelectionTimeoutMs?: number;
  /** CA (PEM file) to trust for TLS to the server; setting it turns TLS on. */
  readonly tlsCaFile?: string;
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
  /** The server runs `{_id: {$in}}` as a scan of the collection (FerretDB 1.x): read many ids one by one. */
  #inScans = false;

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
        inScans: () => this.#inScans,
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
        const info = await this.#client().db('admin').command({ buildInfo: 1 });
        this.#inScans = typeof info['ferretdbVersion'] === 'string';
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
