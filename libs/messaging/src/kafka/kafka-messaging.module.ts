import {
  Global,
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { PUBLISHED_EVENT_TYPES } from '@app/contracts';
import { FIRST_ATTEMPT_WAIT_MS } from '@app/core';
import { EventPublisher, EventTypeRegistry, LiveEvents } from '@app/event-sourcing';
import { TransportHealth } from '../messaging.options.js';
import { kafkaEventConsumerController, KAFKA_TRANSPORT_OPTIONS, KafkaEventConsumer } from './kafka-event-consumer.js';
import { KafkaConsumerLag } from './kafka-consumer-lag.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { KafkaLiveConsumer } from './kafka-live-consumer.js';
import type { KafkaTransportOptions } from './kafka-settings.js';
import { allEventTopics, ensureKafkaTopics } from './kafka-topics.js';
import { KafkaTransportHealth } from './kafka-transport-health.js';
import { KafkaConnection } from './kafka-connection.js';

export const KAFKA_MESSAGING_MODULE_OPTIONS = Symbol('KAFKA_MESSAGING_MODULE_OPTIONS');

export interface KafkaMessagingModuleOptions {
  /** Topics this application's handlers consume; none: publish only (no consumer controller). */
  readonly topics?: readonly string[];
  /** Topics created at start-up (missing ones only). Default: every contract topic and its `.dlq`. */
  readonly createTopics?: readonly string[];
  /** Replication factor of created topics. Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  /**
   * Topics whose events this instance's live feeds show (its read models' topics): read by a broadcast
   * consumer of this instance alone (KafkaLiveConsumer). None: no live feeds, no such consumer.
   */
  readonly liveTopics?: readonly string[];
}

/**
 * Kafka transport of an application: creates the topics at start-up (in the background while the brokers are
 * unreachable, see KafkaConnection), provides `KafkaEventPublisher`
 * (also exported as `EventPublisher`, the port of the outbox relay) and, with `topics`, the controller
 * through which the hybrid app's Kafka microservice delivers events to the EventHandlerRegistry.
 * Also provides `TransportHealth` (readiness). Start the consumer with `connectKafkaConsumer(app, options)`.
 * Needs EventHandlerRegistry and EventTypeRegistry from the global EventSourcingModule.
 */
@Global()
@Module({})
export class KafkaMessagingModule
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    @Inject(KafkaConnection) private readonly connection: KafkaConnection,
    @Inject(KafkaLiveConsumer) private readonly liveConsumer: KafkaLiveConsumer,
    @Inject(EventTypeRegistry) eventTypes: EventTypeRegistry,
  ) {
    // The application's repositories register its own event types; what it consumes (or redrives) from
    // other contexts is upcast by the published definitions.
    eventTypes.register(PUBLISHED_EVENT_TYPES);
  }

  static forRoot(options: KafkaTransportOptions, moduleOptions: KafkaMessagingModuleOptions = {}): DynamicModule {
    const topics = moduleOptions.topics ?? [];
    return {
      module: KafkaMessagingModule,
      controllers: topics.length > 0 ? [kafkaEventConsumerController(topics)] : [],
      providers: [
        { provide: KAFKA_TRANSPORT_OPTIONS, useValue: options },
        { provide: KAFKA_MESSAGING_MODULE_OPTIONS, useValue: moduleOptions },
        { provide: KafkaEventPublisher, useFactory: () => new KafkaEventPublisher(options) },
        {
          provide: KafkaConnection,
          inject: [KafkaEventPublisher],
          useFactory: (publisher: KafkaEventPublisher) => {
            const logger = new Logger(KafkaMessagingModule.name);
            const createTopics = moduleOptions.createTopics ?? allEventTopics(options);
            return new KafkaConnection(
              `Kafka ${options.brokers.join(',')}`,
              async () => {
                await ensureKafkaTopics(options, createTopics, moduleOptions.replicationFactor);
                logger.log(`Kafka topics ready: ${createTopics.join(', ')}`);
                await publisher.client.connect();
                logger.log('Kafka publisher connected');
              },
              logger,
            );
          },
        },
        { provide: EventPublisher, useExisting: KafkaEventPublisher },
        KafkaEventConsumer,
        {
          provide: KafkaLiveConsumer,
          inject: [LiveEvents, EventTypeRegistry],
          useFactory: (live: LiveEvents, eventTypes: EventTypeRegistry) =>
            new KafkaLiveConsumer(options, moduleOptions.liveTopics ?? [], live, eventTypes),
        },
        {
          provide: KafkaTransportHealth,
          inject: [KafkaEventPublisher, KafkaConnection],
          useFactory: (publisher: KafkaEventPublisher, connection: KafkaConnection) => {
            const lag = topics.length > 0 ? new KafkaConsumerLag(options, topics) : undefined;
            const health = new KafkaTransportHealth(publisher, lag, connection);
            if (topics.length > 0) health.expectConsumer();
            return health;
          },
        },
        { provide: TransportHealth, useExisting: KafkaTransportHealth },
      ],
      exports: [
        KAFKA_TRANSPORT_OPTIONS,
        KafkaEventPublisher,
        KafkaConnection,
        EventPublisher,
        KafkaEventConsumer,
        KafkaTransportHealth,
        TransportHealth,
      ],
    };
  }

  /**
   * Module init hooks run before those of the modules importing this one: topics exist before anyone sends
   * (or, with the brokers down, the relay's publishes fail and are retried until the connection is made).
   */
  async onModuleInit(): Promise<void> {
    await this.connection.start(FIRST_ATTEMPT_WAIT_MS);
  }

  onApplicationShutdown(): void {
    this.connection.stop();
  }

  /** The live feeds' broadcast consumer joins in the background once every module is ready. */
  onApplicationBootstrap(): void {
    this.liveConsumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.liveConsumer.stop();
  }
}
