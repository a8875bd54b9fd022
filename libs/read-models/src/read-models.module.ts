import { Global, Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DependencyConnection, FIRST_ATTEMPT_WAIT_MS } from '@app/core';
import { ReadModelStore } from './document-collection.js';
import { processWaitBudget } from './read-your-writes.js';
import { InMemoryReadModelStore } from './in-memory-document-collection.js';
import { MongoReadModelStore } from './mongo/mongo-read-model-store.js';

export interface ReadModelsOptions {
  readonly store:
    | { readonly kind: 'memory' }
    /** Connection string including the database name (`mongodb://host:27017/readmodels`). */
    | {
        readonly kind: 'mongo';
        readonly url: string;
        /** CA (PEM) to trust for TLS to MongoDB; turns TLS on (`tls=true` in the url does too). */
        readonly tlsCaFile?: string;
      };
  /** How long a query with `minVersion` waits for its projection. */
  readonly readYourWritesTimeoutMs: number;
  /** Concurrent `minVersion` waits of this process (beyond: 503 TOO_MANY_WAITS). Default 1000. */
  readonly maxConcurrentWaits?: number;
}

export const READ_MODELS_OPTIONS = Symbol('READ_MODELS_OPTIONS');

/** The server part of a MongoDB url, for logs: no credentials, no options. */
const hostsOf = (url: string): string =>
  url
    .replace(/^[a-z+]+:\/\//i, '')
    .replace(/^[^@/]*@/, '')
    .split(/[/?]/)[0] ?? '';

/**
 * The store and how it connects. MongoDB down at start-up does not stop the process: the connection is
 * retried in the background, queries answer 503 meanwhile (and projections hold their batches), readiness
 * names the read models.
 */
export class ReadModelStoreConnection {
  constructor(
    readonly store: ReadModelStore,
    readonly connection?: DependencyConnection,
  ) {}

  static async open(options: ReadModelsOptions['store']): Promise<ReadModelStoreConnection> {
    const logger = new Logger('ReadModels');
    if (options.kind === 'mongo') {
      const store = new MongoReadModelStore({ url: options.url, tlsCaFile: options.tlsCaFile });
      const connection = new DependencyConnection(
        `MongoDB read store ${hostsOf(options.url)}`,
        () => store.init(),
        logger,
      );
      await connection.start(FIRST_ATTEMPT_WAIT_MS);
      logger.log(`Read models: MongoDB ${hostsOf(options.url)}, database ${store.database}`);
      return new ReadModelStoreConnection(store, connection);
    }
    logger.log('Read models: IN MEMORY (embedded mode): rebuilt from nothing on restart');
    const store = new InMemoryReadModelStore();
    await store.init();
    return new ReadModelStoreConnection(store);
  }
}

/** The read-model store chosen by configuration, shared by every projection of the application. */
@Global()
@Module({})
export class ReadModelsModule implements OnApplicationShutdown {
  constructor(@Inject(ReadModelStoreConnection) private readonly connection: ReadModelStoreConnection) {}

  static forRoot(options: ReadModelsOptions): DynamicModule {
    if (options.maxConcurrentWaits !== undefined) processWaitBudget.limit = options.maxConcurrentWaits;
    return {
      module: ReadModelsModule,
      providers: [
        { provide: READ_MODELS_OPTIONS, useValue: options },
        { provide: ReadModelStoreConnection, useFactory: () => ReadModelStoreConnection.open(options.store) },
        {
          provide: ReadModelStore,
          inject: [ReadModelStoreConnection],
          useFactory: (connection: ReadModelStoreConnection) => connection.store,
        },
      ],
      exports: [READ_MODELS_OPTIONS, ReadModelStoreConnection, ReadModelStore],
    };
  }

  /** Last shutdown phase: consumers and relays have stopped writing by now. */
  async onApplicationShutdown(): Promise<void> {
    this.connection.connection?.stop();
    await this.connection.store.close();
  }
}
