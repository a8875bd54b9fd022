import { Global, Logger, Module, type DynamicModule } from '@nestjs/common';
import { ReadModelStore } from './document-collection.js';
import { InMemoryReadModelStore } from './in-memory-document-collection.js';

export interface ReadModelsOptions {
  readonly store:
    | { readonly kind: 'memory' }
    /** Connection string including the database name (`mongodb://host:27017/readmodels`). */
    | { readonly kind: 'mongo'; readonly url: string };
  /** How long a query with `minVersion` waits for its projection. */
  readonly readYourWritesTimeoutMs: number;
}

export const READ_MODELS_OPTIONS = Symbol('READ_MODELS_OPTIONS');

/** The read-model store chosen by configuration, shared by every projection of the application. */
@Global()
@Module({})
export class ReadModelsModule {
  static forRoot(options: ReadModelsOptions): DynamicModule {
    return {
      module: ReadModelsModule,
      providers: [
        { provide: READ_MODELS_OPTIONS, useValue: options },
        {
          provide: ReadModelStore,
          useFactory: async () => {
            new Logger('ReadModels').warn('Read models: IN MEMORY (embedded mode): rebuilt from nothing on restart');
            const store = new InMemoryReadModelStore();
            await store.init();
            return store;
          },
        },
      ],
      exports: [READ_MODELS_OPTIONS, ReadModelStore],
    };
  }
}
