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
import { EventPublisher, EventTypeRegistry, LiveEvents } from '@app/event-sourcing';
import { TransportHealth } from '../messaging.options.js';
import { kafkaEventConsumerController, KAFKA_TRANSPORT_OPTIONS, KafkaEventConsumer } from './kafka-event-consumer.js';
import { KafkaConsumerLag } from './kafka-consumer-lag.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { KafkaLiveConsumer } from './kafka-live-consumer.js';
import type { KafkaTransportOptions } from './kafka-settings.js';
import { allEventTopics, ensureKafkaTopics } from './kafka-topics.js';
import { KafkaTransportHealth } from './kafka-transport-health.js';

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
 * Kafka transport of an application: creates the topics at start-up, provides `KafkaEventPublisher`
 * (also exported as `EventPublisher`, the port of the outbox relay) and, with `topics`, the controller
 * through which the hybrid app's Kafka microservice delivers events to the EventHandlerRegistry.
 * Also provides `TransportHealth` (readiness). Start the consumer with `connectKafkaConsumer(app, options)`.
 * Needs EventHandlerRegistry and EventTypeRegistry from the global EventSourcingModule.
 */
@Global()
@Module({})
export class KafkaMessagingModule implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(KafkaMessagingModule.name);

  constructor(
    @Inject(KAFKA_TRANSPORT_OPTIONS) private readonly options: KafkaTransportOptions,
    @Inject(KAFKA_MESSAGING_MODULE_OPTIONS) private readonly moduleOptions: KafkaMessagingModuleOptions,
    @Inject(KafkaLiveConsumer) private readonly liveConsumer: KafkaLiveConsumer,
  ) {}

  static forRoot(options: KafkaTransportOptions, moduleOptions: KafkaMessagingModuleOptions = {}): DynamicModule {
    const topics = moduleOptions.topics ?? [];
    return {
      module: KafkaMessagingModule,
      controllers: topics.length > 0 ? [kafkaEventConsumerController(topics)] : [],
      providers: [
        { provide: KAFKA_TRANSPORT_OPTIONS, useValue: options },
        { provide: KAFKA_MESSAGING_MODULE_OPTIONS, useValue: moduleOptions },
        { provide: KafkaEventPublisher, useFactory: () => new KafkaEventPublisher(options) },
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
          inject: [KafkaEventPublisher],
          useFactory: (publisher: KafkaEventPublisher) => {
            const lag = topics.length > 0 ? new KafkaConsumerLag(options, topics) : undefined;
            const health = new KafkaTransportHealth(publisher, lag);
            if (topics.length > 0) health.expectConsumer();
            return health;
          },
        },
        { provide: TransportHealth, useExisting: KafkaTransportHealth },
      ],
      exports: [
        KAFKA_TRANSPORT_OPTIONS,
        KafkaEventPublisher,
        EventPublisher,
        KafkaEventConsumer,
        KafkaTransportHealth,
        TransportHealth,
      ],
    };
  }

  /** Module init hooks run before those of the modules importing this one: topics exist before anyone sends. */
  async onModuleInit(): Promise<void> {
    const topics = this.moduleOptions.createTopics ?? allEventTopics(this.options);
    await ensureKafkaTopics(this.options, topics, this.moduleOptions.replicationFactor);
    this.logger.log(`Kafka topics ready: ${topics.join(', ')}`);
  }

  /** The live feeds' broadcast consumer joins in the background once every module is ready. */
  onApplicationBootstrap(): void {
    this.liveConsumer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.liveConsumer.stop();
  }
}
