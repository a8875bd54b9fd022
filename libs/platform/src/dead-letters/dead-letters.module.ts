import { Logger, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit, Inject } from '@nestjs/common';
import { deadLetterTopic } from '@app/contracts';
import { EventTypeRegistry } from '@app/event-sourcing';
import {
  DeadLetterOperations,
  KafkaDeadLetterLog,
  setDeadLetterDepthSource,
  type KafkaTransportOptions,
} from '@app/messaging';
import { DeadLettersController } from './dead-letters.http.controller.js';

/** A scrape older than this measures the depth again (reading the dead-letter topics is not free). */
const DEPTH_REFRESH_MS = 10_000;
/** A scrape waits this long for a measure, then reports the last one. */
const DEPTH_WAIT_MS = 2_000;

/**
 * The dead letters of an application's consumer group: `/admin/dead-letters` (DeadLettersController) and
 * the `dead_letter_queue_depth` gauge, over the dead-letter topics of the topics it consumes. Needs the
 * global EventTypeRegistry (EventSourcingModule): a redrive is upcast with the types this application knows.
 */
@Module({})
export class DeadLettersModule implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeadLettersModule.name);
  #depth: Readonly<Record<string, number>> = {};
  #measuredAt = 0;
  #measuring: Promise<void> | undefined;

  constructor(
    @Inject(DeadLetterOperations) private readonly operations: DeadLetterOperations,
    @Inject(KafkaDeadLetterLog) private readonly log: KafkaDeadLetterLog,
  ) {}

  /** @param topics the topics the application's consumer group reads (their `.dlq` topics are operated on). */
  static forRoot(options: KafkaTransportOptions, topics: readonly string[]): DynamicModule {
    return {
      module: DeadLettersModule,
      controllers: [DeadLettersController],
      providers: [
        { provide: KafkaDeadLetterLog, useFactory: () => new KafkaDeadLetterLog(options) },
        {
          provide: DeadLetterOperations,
          inject: [KafkaDeadLetterLog, EventTypeRegistry],
          useFactory: (log: KafkaDeadLetterLog, eventTypes: EventTypeRegistry) =>
            new DeadLetterOperations(
              log,
              { topics: topics.map(deadLetterTopic), topicPrefix: options.topicPrefix, group: options.groupId },
              (event) => eventTypes.upcast(event),
            ),
        },
      ],
      exports: [DeadLetterOperations],
    };
  }

  onModuleInit(): void {
    this.operations.onHandled(() => (this.#measuredAt = 0));
    setDeadLetterDepthSource(() => this.#currentDepth());
  }

  async onModuleDestroy(): Promise<void> {
    setDeadLetterDepthSource(undefined);
    await this.#measuring?.catch(() => undefined);
    await this.log.close();
  }

  /** The last measure, refreshed when stale; a scrape never waits long for the broker. */
  async #currentDepth(): Promise<Readonly<Record<string, number>>> {
    if (Date.now() - this.#measuredAt > DEPTH_REFRESH_MS) {
      this.#measuring ??= this.operations
        .depth()
        .then((depth) => {
          this.#depth = depth;
          this.#measuredAt = Date.now();
        })
        .catch((error: Error) => this.logger.warn(`Could not measure the dead-letter depth: ${error.message}`))
        .finally(() => (this.#measuring = undefined));
      await Promise.race([this.#measuring, new Promise((resolve) => setTimeout(resolve, DEPTH_WAIT_MS).unref())]);
    }
    return this.#depth;
  }
}
