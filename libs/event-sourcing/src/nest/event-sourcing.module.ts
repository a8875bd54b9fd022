import {
  Global,
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { DependencyConnection, FIRST_ATTEMPT_WAIT_MS, oneLine, systemClock } from '@app/core';
import { createCosmosClient } from '../cosmos/cosmos-client.js';
import { CosmosEventStore } from '../cosmos/cosmos-event-store.js';
import { EventHandlerRegistry } from '../handlers/event-handler-registry.js';
import { ProjectionReplayer } from '../handlers/projection-replayer.js';
import { EventPublisher } from '../relay/event-publisher.js';
import { InProcessEventPublisher } from '../relay/in-process-event-publisher.js';
import { OutboxRelay } from '../relay/outbox-relay.js';
import { OutboxSource } from '../relay/outbox-source.js';
import { EventStore } from '../store/event-store.js';
import { EventTypeRegistry } from '../store/event-types.js';
import { LiveEvents } from '../live/live-events.js';
import { InMemoryEventStore } from '../store/in-memory-event-store.js';
import { instrumentCommandBus } from '../observability/instrument-command-bus.js';
import { AggregateRepositories } from './aggregate-repositories.js';
import {
  CLOCK,
  EVENT_SOURCING_OPTIONS,
  type EventSourcingOptions,
  type EventStoreOptions,
} from './event-sourcing.options.js';

/** HTTP statuses of Cosmos DB that no retry fixes: the key or identity is refused. */
const REFUSED_CREDENTIALS = new Set([401, 403]);

/**
 * The event store chosen by configuration and how it connects. Cosmos DB down at start-up does not stop
 * the process: the store's `init` (database and container creation) is retried in the background, commands
 * answer 503 meanwhile and readiness names the event store. A refused key is configuration: one line, exit.
 */
export class EventStoreConnection {
  constructor(
    readonly store: EventStore,
    readonly connection?: DependencyConnection,
  ) {}

  static async open(options: EventStoreOptions): Promise<EventStoreConnection> {
    const logger = new Logger('EventStore');
    if (options.kind === 'memory') {
      logger.log('Event store: IN MEMORY (embedded mode): events are lost when the process stops');
      return new EventStoreConnection(new InMemoryEventStore());
    }
    const client = createCosmosClient({ endpoint: options.endpoint, key: options.key, caFile: options.caFile });
    const store = CosmosEventStore.fromClient(client, options.databaseId, options.containerId);
    const auth = options.key ? 'account key' : 'Microsoft Entra ID';
    const connection = new DependencyConnection(
      `Cosmos DB event store ${options.endpoint}`,
      () => store.init(),
      logger,
      {
        fatal: (error) => REFUSED_CREDENTIALS.has(statusOf(error)),
        onFatal: () => {
          logger.error(
            `Cosmos DB refused the ${auth} of ${options.endpoint}: ` +
              (options.key ? 'set COSMOS_KEY to the account key' : 'grant the identity a Cosmos DB data-plane role'),
          );
          process.exit(1);
        },
      },
    );
    await connection.start(FIRST_ATTEMPT_WAIT_MS);
    logger.log(`Event store: Cosmos DB ${options.endpoint} ${options.databaseId}/${options.containerId} (${auth})`);
    return new EventStoreConnection(store, connection);
  }
}

/** The HTTP status behind an error the store wrapped (EventStoreUnavailableError keeps the SDK error as cause). */
const statusOf = (error: unknown): number => {
  const code = (error as { cause?: { code?: unknown }; code?: unknown } | null)?.cause?.code;
  return typeof code === 'number' ? code : -1;
};

/**
 * Event sourcing for a whole application: the event store chosen by configuration, the event type
 * registry, aggregate repositories, the handler registry and the outbox relay with its publisher.
 * The in-process publisher is the default transport; a transport module may provide another.
 */
@Global()
@Module({})
export class EventSourcingModule implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject(ProjectionReplayer) private readonly replayer: ProjectionReplayer,
    @Inject(EVENT_SOURCING_OPTIONS) private readonly options: EventSourcingOptions,
    @Inject(CommandBus) commandBus: CommandBus,
    @Inject(EventStoreConnection) private readonly storeConnection: EventStoreConnection,
  ) {
    instrumentCommandBus(commandBus);
  }

  /**
   * @param transport `inprocess`: events go to this process's handlers. `external`: another global
   * module (the Kafka transport) provides the EventPublisher the relay hands events to.
   */
  static forRoot(options: EventSourcingOptions, transport: 'inprocess' | 'external' = 'inprocess'): DynamicModule {
    const inProcess = transport === 'inprocess';
    return {
      module: EventSourcingModule,
      imports: [DiscoveryModule, CqrsModule.forRoot()],
      providers: [
        { provide: EVENT_SOURCING_OPTIONS, useValue: options },
        { provide: CLOCK, useValue: systemClock },
        { provide: EventStoreConnection, useFactory: () => EventStoreConnection.open(options.store) },
        {
          provide: EventStore,
          inject: [EventStoreConnection],
          useFactory: (connection: EventStoreConnection) => connection.store,
        },
        EventTypeRegistry,
        EventHandlerRegistry,
        LiveEvents,
        ...(inProcess ? [{ provide: EventPublisher, useClass: InProcessEventPublisher }] : []),
        // The relay's recovery source: the store's outbox documents. Override this provider to use
        // another source (e.g. the Cosmos DB change feed on Azure, see OutboxSource).
        { provide: OutboxSource, inject: [EventStore], useFactory: (store: EventStore) => store.outbox },
        {
          provide: OutboxRelay,
          inject: [EventStore, EventPublisher, OutboxSource],
          useFactory: (store: EventStore, publisher: EventPublisher, source: OutboxSource) =>
            new OutboxRelay(store, publisher, options.relay, source),
        },
        AggregateRepositories,
        ProjectionReplayer,
      ],
      exports: [
        CLOCK,
        EventStoreConnection,
        EventStore,
        EventTypeRegistry,
        EventHandlerRegistry,
        LiveEvents,
        ...(inProcess ? [EventPublisher] : []),
        OutboxSource,
        OutboxRelay,
        AggregateRepositories,
        ProjectionReplayer,
        CqrsModule,
      ],
    };
  }

  /** After the registry found the handlers (module hooks run after their providers'). */
  onModuleInit(): void {
    this.replayer.connectHistories();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.replayProjectionsOnStart && this.options.role !== 'command') {
      const connection = this.storeConnection.connection;
      if (!connection || connection.isConnected) await this.replayer.replayAll();
      // The store is down: the views are rebuilt once it answers (queries see them empty until then).
      else
        void connection.connected
          .then(() => this.replayer.replayAll())
          .catch((error: unknown) => new Logger('ProjectionReplayer').error(`Replay failed: ${oneLine(error)}`));
    }
    // A query-side process appends nothing, so it has no outbox to relay.
    if (this.options.role !== 'query') this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.storeConnection.connection?.stop();
    await this.relay.stop();
  }
}
