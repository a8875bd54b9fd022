import {
  Controller,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type Type,
} from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import type { RecordedEvent } from '@app/core';
import { deadLetterTopic } from '@app/contracts';
import { ApplicationError } from '@app/core';
import { EventHandlerRegistry, EventTypeRegistry, runWithCorrelation } from '@app/event-sourcing';
import { decodeEvent, EVENT_HEADERS, MalformedMessageError, textOf, type IncomingMessage } from './kafka-envelope.js';
import { ACKS_ALL, type KafkaTransportOptions } from './kafka-settings.js';

export const KAFKA_TRANSPORT_OPTIONS = Symbol('KAFKA_TRANSPORT_OPTIONS');

/** Headers added to a dead-lettered message (its original key, value and headers are kept). */
export const DLQ_HEADERS = {
  originTopic: 'dlq-origin-topic',
  originPartition: 'dlq-origin-partition',
  originOffset: 'dlq-origin-offset',
  attempts: 'dlq-attempts',
  error: 'dlq-error',
  failedAt: 'dlq-failed-at',
} as const;

/** What the consumer needs from kafkajs' producer: sending a record and awaiting the acknowledgement. */
export interface DeadLetterProducer {
  send(record: {
    topic: string;
    acks: number;
    messages: {
      key: Buffer | string | null;
      value: Buffer | string | null;
      headers: Record<string, Buffer | string>;
    }[];
  }): Promise<unknown>;
}

/** One consumed message with what is needed to process it: Nest's KafkaContext, reduced (fakeable in tests). */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: IncomingMessage & { readonly offset: string };
  /** Producer for the dead-letter topic (the microservice's own, idempotent, acks=all). */
  readonly producer: DeadLetterProducer;
  /** Keeps the group membership alive while waiting between attempts. */
  heartbeat(): Promise<void>;
  /** Stops fetching this partition (used when the application stops mid-message). */
  pause(): void;
}

export type ConsumeOutcome = 'handled' | 'skipped' | 'dead-lettered';

/** The application is stopping: the message is left uncommitted and is delivered again after restart. */
export class ConsumerStoppingError extends Error {
  override readonly name = 'ConsumerStoppingError';
}

const MAX_ERROR_HEADER = 2000;
const HEARTBEAT_EVERY_MS = 1000;

const describeError = (error: unknown): string => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_HEADER ? `${text.slice(0, MAX_ERROR_HEADER - 3)}...` : text;
};

/** A header value back in a form kafkajs sends: Nest's parser turned bytes into text or parsed JSON. */
const rawHeader = (value: unknown): Buffer | string => (Buffer.isBuffer(value) ? value : (textOf(value) ?? ''));
const rawValue = (value: unknown): Buffer | string | null =>
  value === undefined || value === null ? null : Buffer.isBuffer(value) ? value : (textOf(value) ?? null);

/**
 * Delivers consumed event messages to this application's handlers (the EventHandlerRegistry), with the
 * guarantees the design asks for: a failing message is retried with exponential backoff `handlerAttempts`
 * times in all, then produced to the topic's dead-letter topic with the error in its headers, and the
 * partition moves on. Malformed messages go to the dead-letter topic at once; event types no handler of
 * this application subscribes to are skipped with a log line. Never throws for a bad message: only when the
 * dead-letter write itself fails or the application is stopping, so that the offset is not committed.
 */
@Injectable()
export class KafkaEventConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KafkaEventConsumer.name);
  private readonly stopping = new AbortController();
  private readonly skippedTypes = new Set<string>();
  #bootstrapped = false;

  constructor(
    private readonly handlers: EventHandlerRegistry,
    private readonly eventTypes: EventTypeRegistry,
    @Inject(KAFKA_TRANSPORT_OPTIONS)
    private readonly options: Pick<KafkaTransportOptions, 'handlerAttempts' | 'retryBaseDelayMs'>,
  ) {}

  /**
   * A hybrid app may start its microservices before `app.init()`: until then the handler registry is empty
   * (everything would be skipped), so messages wait for the bootstrap.
   */
  onApplicationBootstrap(): void {
    this.#bootstrapped = true;
  }

  /** Destroy hooks run before Nest closes the microservice: stop taking messages whose handlers may fail. */
  onModuleDestroy(): void {
    this.stopping.abort();
  }

  async consume(consumed: ConsumedMessage): Promise<ConsumeOutcome> {
    const correlationId = textOf(consumed.message.headers?.[EVENT_HEADERS.correlationId]);
    return correlationId ? runWithCorrelation(correlationId, () => this.process(consumed)) : this.process(consumed);
  }

  private async process(consumed: ConsumedMessage): Promise<ConsumeOutcome> {
    while (!this.#bootstrapped) {
      this.throwIfStopping(consumed);
      await this.backoff(100, consumed);
    }
    let event: RecordedEvent;
    try {
      event = decodeEvent(consumed.message);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      return this.deadLetter(consumed, 0, error);
    }
    if (!this.handlers.subscribedTypes.has(event.type)) {
      this.logSkipped(event, consumed);
      return 'skipped';
    }
    try {
      event = this.eventTypes.upcast(event);
    } catch (error) {
      return this.deadLetter(consumed, 0, error); // a schema version this build cannot read: retrying won't help
    }

    const attempts = Math.max(1, this.options.handlerAttempts);
    let lastError: unknown;
    let outageWaits = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.throwIfStopping(consumed);
      try {
        await this.handlers.dispatch(event);
        return 'handled';
      } catch (error) {
        lastError = error;
        this.throwIfStopping(consumed); // a dependency closing under the handler is no reason to dead-letter
        if (isDependencyOutage(error)) {
          // The store is down, not the message: hold the partition (heartbeating) until it is back,
          // without spending attempts. Dead-lettering here would lose the update and break every later
          // event of the stream on a version gap.
          const wait = Math.min(
            OUTAGE_MAX_BACKOFF_MS,
            this.options.retryBaseDelayMs * 2 ** Math.min(outageWaits++, 10),
          );
          this.logger.warn(`${event.type} ${event.streamId}@${event.version} waits for ${describeError(error)}`);
          attempt--;
          await this.backoff(wait, consumed);
          continue;
        }
        this.logger.warn(
          `${event.type} ${event.streamId}@${event.version} failed (attempt ${attempt}/${attempts}): ${describeError(error)}`,
        );
        // A refusal that no retry can change (unknown aggregate, invalid input, business rule) goes to the
        // dead-letter topic at once instead of holding its partition through every backoff.
        if (isPermanent(error)) return this.deadLetter(consumed, attempt, error);
        if (attempt < attempts) await this.backoff(this.options.retryBaseDelayMs * 2 ** (attempt - 1), consumed);
      }
    }
    return this.deadLetter(consumed, attempts, lastError);
  }

  private async deadLetter(consumed: ConsumedMessage, attempts: number, error: unknown): Promise<ConsumeOutcome> {
    const { topic, partition, message } = consumed;
    const target = deadLetterTopic(topic);
    const headers: Record<string, Buffer | string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = rawHeader(value);
    Object.assign(headers, {
      [DLQ_HEADERS.originTopic]: topic,
      [DLQ_HEADERS.originPartition]: String(partition),
      [DLQ_HEADERS.originOffset]: message.offset,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.error]: describeError(error),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    });
    try {
      await consumed.producer.send({
        topic: target,
        acks: ACKS_ALL,
        messages: [{ key: rawValue(message.key), value: rawValue(message.value), headers }],
      });
    } catch (sendError) {
      // Not acknowledged by the dead-letter topic: leave the offset uncommitted so the message comes back.
      this.logger.error(`Could not dead-letter ${topic}[${partition}]@${message.offset}: ${describeError(sendError)}`);
      throw sendError;
    }
    this.logger.error(
      `Dead-lettered ${topic}[${partition}]@${message.offset} to ${target} after ${attempts} attempt(s): ` +
        describeError(error),
    );
    return 'dead-lettered';
  }

  private logSkipped(event: RecordedEvent, { topic, partition, message }: ConsumedMessage): void {
    const line = `Skipped ${event.type} ${event.streamId}@${event.version} (${topic}[${partition}]@${message.offset}): no handler of this application subscribes to it`;
    if (this.skippedTypes.has(event.type)) {
      this.logger.verbose(line);
    } else {
      this.skippedTypes.add(event.type);
      this.logger.log(`${line} (logged once per type, then verbose)`);
    }
  }

  private throwIfStopping(consumed: ConsumedMessage): void {
    if (!this.stopping.signal.aborted) return;
    consumed.pause();
    throw new ConsumerStoppingError(
      `Stopping: ${consumed.topic}[${consumed.partition}]@${consumed.message.offset} left for redelivery`,
    );
  }

  /** Waits `ms` (cut short when the application stops), heartbeating so the group keeps this member. */
  private async backoff(ms: number, consumed: ConsumedMessage): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0 && !this.stopping.signal.aborted; left = until - Date.now()) {
      await sleep(Math.min(left, HEARTBEAT_EVERY_MS), this.stopping.signal);
      await consumed.heartbeat().catch(() => undefined); // a rebalance shows up in the next fetch anyway
    }
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Reduces Nest's KafkaContext to what KafkaEventConsumer needs. */
export const consumedMessageOf = (context: KafkaContext): ConsumedMessage => {
  const topic = context.getTopic();
  const partition = context.getPartition();
  const message = context.getMessage() as unknown as ConsumedMessage['message'];
  return {
    topic,
    partition,
    message,
    producer: context.getProducer() as unknown as DeadLetterProducer,
    heartbeat: () => context.getHeartbeat()(),
    pause: () => context.getConsumer().pause([{ topic, partitions: [partition] }]),
  };
};

/**
 * A controller class with one `@EventPattern` handler for `topics` (Nest subscribes the microservice's
 * consumer to them). Register it in a module of a hybrid application whose microservice uses
 * `kafkaMicroserviceOptions`. The handler resolves for every message it dealt with (handled, skipped or
 * dead-lettered), so Nest/kafkajs commit the offset only after that.
 */
export const kafkaEventConsumerController = (topics: readonly string[]): Type => {
  if (topics.length === 0) throw new Error('kafkaEventConsumerController needs at least one topic');

  @Controller()
  class KafkaEventConsumerController {
    constructor(@Inject(KafkaEventConsumer) private readonly consumer: KafkaEventConsumer) {}

    // The payload is the raw value (parser keepBinary); the envelope is read from the whole message.
    @EventPattern([...topics])
    async onEvent(@Payload() _payload: unknown, @Ctx() context: KafkaContext): Promise<void> {
      await this.consumer.consume(consumedMessageOf(context));
    }
  }
  return KafkaEventConsumerController;
};

/**
 * Application errors that say "this will never work" rather than "not now". Concurrency conflicts,
 * unavailable dependencies, projection gaps and unknown errors are worth retrying.
 */
const isPermanent = (error: unknown): boolean =>
  error instanceof ApplicationError &&
  (error.kind === 'not_found' ||
    error.kind === 'invalid' ||
    (error.kind === 'conflict' && error.code !== 'CONCURRENCY_CONFLICT'));

/** Longest wait between two tries while a store is down. */
const OUTAGE_MAX_BACKOFF_MS = 5_000;

/** The event or read store cannot be reached: the message is fine, so wait instead of giving up on it. */
const isDependencyOutage = (error: unknown): boolean =>
  error instanceof ApplicationError &&
  (error.code === 'READ_STORE_UNAVAILABLE' || error.code === 'EVENT_STORE_UNAVAILABLE');
