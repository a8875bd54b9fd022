import { Global, Logger, Module, type DynamicModule, type OnModuleInit, Inject } from '@nestjs/common';
import { EventPublisher } from '@app/event-sourcing';
import { TransportHealth } from '../messaging.options.js';
import { kafkaEventConsumerController, KAFKA_TRANSPORT_OPTIONS, KafkaEventConsumer } from './kafka-event-consumer.js';
import { KafkaConsumerLag } from './kafka-consumer-lag.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
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
export class KafkaMessagingModule implements OnModuleInit {
  private readonly logger = new Logger(KafkaMessagingModule.name);

  constructor(
    @Inject(KAFKA_TRANSPORT_OPTIONS) private readonly options: KafkaTransportOptions,
    @Inject(KAFKA_MESSAGING_MODULE_OPTIONS) private readonly moduleOptions: KafkaMessagingModuleOptions,
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
}
