// Delivers consumed event messages to this application's handlers (the EventHandlerRegistry), a fetched
// batch of a partition at a time: runs of events between dead letters go to the handlers as one
// `dispatchBatch` (a projection writes them in one bulk write), and a run's offsets are resolved once its
// handlers are done. Each message is read first: malformed, against its published contract or of a schema
// version this build cannot read -> dead letter at once; a type no handler subscribes to -> skipped. When a
// handler fails on one event, what came before is resolved, that event alone takes the retry path
// (kafka-delivery.ts) and the rest continues as a batch: none is skipped, none overtakes an earlier one of
// its partition. The batch runs fenced (kafka-membership.ts). Throws only when the application stops or the
// dead-letter topic does not acknowledge, so that the offset is not committed.
import {
  Controller,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type Type,
} from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { assertEventContract, ContractViolationError } from '@app/contracts';
import { batchCause, handledBefore, type RecordedEvent } from '@app/core';
import { EventHandlerRegistry, EventTypeRegistry, runWithCorrelation } from '@app/event-sourcing';
import {
  consumedBatchOf,
  consumeSpan,
  type ConsumedBatch,
  type ConsumedMessage,
  type OffsetMessage,
  type PartitionLane,
} from './kafka-consumed.js';
import { deadLetter, describeError, DLQ_HEADERS } from './kafka-dead-lettering.js';
import {
  deliver,
  throwIfStopping,
  waitHeartbeating,
  type ConsumeOutcome,
  type RetrySettings,
} from './kafka-delivery.js';
import { decodeEvent, EVENT_HEADERS, MalformedMessageError, textOf } from './kafka-envelope.js';
import { throwIfLost, whileMember } from './kafka-membership.js';
import type { KafkaBatchContext } from './kafka-microservice.js';
import { recordLag } from './kafka-metrics.js';
import { CONSUMER_SESSION_TIMEOUT_MS } from './kafka-settings.js';

export type { ConsumedBatch, ConsumedMessage, DeadLetterProducer } from './kafka-consumed.js';
export { ConsumerStoppingError, type ConsumeOutcome } from './kafka-delivery.js';

export const KAFKA_TRANSPORT_OPTIONS = Symbol('KAFKA_TRANSPORT_OPTIONS');

/** A message of a batch, read: an event to dispatch, one to skip, or one that goes to the dead-letter topic. */
type Decoded =
  | { readonly kind: 'event'; readonly event: RecordedEvent }
  | { readonly kind: 'skip' }
  | { readonly kind: 'dead-letter'; readonly error: unknown };

/** A message of a run: its event, or none when its type is skipped (it rides along, nothing to do). */
type RunEntry = { readonly message: OffsetMessage; readonly event?: RecordedEvent };

const logger = new Logger('KafkaEventConsumer');

@Injectable()
export class KafkaEventConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly stopping = new AbortController();
  private readonly skippedTypes = new Set<string>();
  #bootstrapped = false;

  constructor(
    private readonly handlers: EventHandlerRegistry,
    private readonly eventTypes: EventTypeRegistry,
    @Inject(KAFKA_TRANSPORT_OPTIONS)
    private readonly options: RetrySettings & {
      /** The group's session timeout: heartbeats failing that long mean the broker evicted this member. */
      readonly sessionTimeoutMs?: number;
    },
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

  /** One message on its own: decode, dispatch with retries, skip or dead-letter. */
  async consume(consumed: ConsumedMessage): Promise<ConsumeOutcome> {
    const { message } = consumed;
    const run = async (): Promise<ConsumeOutcome> => {
      await this.untilBootstrapped(consumed, message.offset);
      const decoded = this.decode(consumed, message);
      if (decoded.kind === 'skip') return 'skipped';
      if (decoded.kind === 'dead-letter') return deadLetter(consumed, message, 0, decoded.error, this.options.groupId);
      return this.deliver(consumed, message, decoded.event);
    };
    const correlationId = textOf(message.headers?.[EVENT_HEADERS.correlationId]);
    return correlationId ? runWithCorrelation(correlationId, run) : run();
  }

  /**
   * A fetched batch of one partition, fenced: once a heartbeat says this member lost the partition,
   * nothing more is dispatched, dead-lettered or resolved, and it returns so that kafkajs rejoins.
   */
  async consumeBatch(fetched: ConsumedBatch): Promise<void> {
    const first = fetched.messages[0];
    if (!first) return;
    const { topic, partition, highWatermark } = fetched;
    recordLag(topic, partition, highWatermark, BigInt(first.offset));
    const measured: ConsumedBatch = {
      ...fetched,
      resolveOffset: (offset) => {
        fetched.resolveOffset(offset);
        recordLag(topic, partition, highWatermark, BigInt(offset) + 1n);
      },
    };
    const sessionTimeoutMs = this.options.sessionTimeoutMs ?? CONSUMER_SESSION_TIMEOUT_MS;
    const lost = await whileMember(measured, sessionTimeoutMs, (batch) => this.consumeOwnBatch(batch));
    if (lost) {
      logger.warn(
        `Gave up ${topic}[${partition}] from offset ${first.offset}, uncommitted: no longer a member for it ` +
          `(${describeError(lost.by)}); its next owner processes it`,
      );
    }
  }

  private async consumeOwnBatch(batch: ConsumedBatch): Promise<void> {
    await this.untilBootstrapped(batch, batch.messages[0]!.offset);
    let run: RunEntry[] = [];
    for (const message of batch.messages) {
      const decoded = this.decode(batch, message);
      if (decoded.kind !== 'dead-letter') {
        run.push({ message, event: decoded.kind === 'event' ? decoded.event : undefined });
        continue;
      }
      if (!(await this.dispatchRun(batch, run))) return;
      run = [];
      throwIfStopping(batch, message.offset, this.stopping.signal);
      await deadLetter(batch, message, 0, decoded.error, this.options.groupId);
      batch.resolveOffset(message.offset);
    }
    await this.dispatchRun(batch, run);
  }

  /**
   * Dispatches a run of messages as a batch. On a failure at event k: resolves everything before it,
   * delivers k alone (retries, backoff, dead letter; the failed batch call counts as its first attempt),
   * then goes on with the rest as a batch. @returns false when the partition is no longer ours.
   */
  private async dispatchRun(batch: ConsumedBatch, run: readonly RunEntry[]): Promise<boolean> {
    for (let rest = run; rest.length > 0;) {
      if (!batch.isActive()) return false;
      throwIfStopping(batch, rest[0]!.message.offset, this.stopping.signal);
      const positions = rest.flatMap((entry, i) => (entry.event ? [i] : []));
      try {
        if (positions.length > 0)
          await consumeSpan(
            batch.topic,
            positions.map((i) => rest[i]!.message),
            () => this.handlers.dispatchBatch(positions.map((i) => rest[i]!.event!)),
          );
        await batch.heartbeat(); // still the partition's member? Otherwise nothing is resolved.
        batch.resolveOffset(rest.at(-1)!.message.offset);
        return true;
      } catch (error) {
        const failing = positions[Math.min(handledBefore(error), positions.length - 1)]!;
        if (failing > 0) batch.resolveOffset(rest[failing - 1]!.message.offset);
        const { message, event } = rest[failing]!;
        await runWithCorrelation(event!.metadata.correlationId, () =>
          this.deliver(batch, message, event!, batchCause(error)),
        );
        batch.resolveOffset(message.offset);
        rest = rest.slice(failing + 1);
      }
    }
    return true;
  }

  private deliver(
    lane: PartitionLane,
    message: OffsetMessage,
    event: RecordedEvent,
    firstFailure?: unknown,
  ): Promise<ConsumeOutcome> {
    const dispatch = () => consumeSpan(lane.topic, [message], () => this.handlers.dispatch(event));
    return deliver({ lane, message, event, dispatch, firstFailure }, this.options, this.stopping.signal);
  }

  /** Until the application bootstrap, messages wait (heartbeating). */
  private async untilBootstrapped(lane: PartitionLane, offset: string): Promise<void> {
    while (!this.#bootstrapped) {
      throwIfStopping(lane, offset, this.stopping.signal);
      throwIfLost(lane, offset);
      await waitHeartbeating(100, lane, this.stopping.signal);
    }
  }

  /**
   * Reads the envelope: malformed or unreadable (schema version) -> dead letter; no subscriber -> skip.
   * The data must then satisfy the published contract of its type and schema version (@app/contracts):
   * a forged or broken payload goes to the dead-letter topic with the reason, before any handler runs.
   */
  private decode(lane: PartitionLane, message: OffsetMessage): Decoded {
    let event: RecordedEvent;
    try {
      event = decodeEvent(message);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      return { kind: 'dead-letter', error };
    }
    if (!this.handlers.subscribedTypes.has(event.type)) {
      this.logSkipped(event, `${lane.topic}[${lane.partition}]@${message.offset}`);
      return { kind: 'skip' };
    }
    const redriveFor = textOf(message.headers?.[DLQ_HEADERS.redriveForGroup]);
    if (redriveFor !== undefined && this.options.groupId !== undefined && redriveFor !== this.options.groupId) {
      return { kind: 'skip' }; // a redrive of another group's dead letter: this group applied the event already
    }
    try {
      assertEventContract(event);
    } catch (error) {
      if (!(error instanceof ContractViolationError)) throw error;
      return { kind: 'dead-letter', error };
    }
    try {
      return { kind: 'event', event: this.eventTypes.upcast(event) };
    } catch (error) {
      return { kind: 'dead-letter', error }; // a schema version this build cannot read: retrying won't help
    }
  }

  private logSkipped(event: RecordedEvent, where: string): void {
    const line = `Skipped ${event.type} ${event.streamId}@${event.version} (${where}): no handler of this application subscribes to it`;
    if (this.skippedTypes.has(event.type)) return logger.verbose(line);
    this.skippedTypes.add(event.type);
    logger.log(`${line} (logged once per type, then verbose)`);
  }
}

/**
 * A controller class with one `@EventPattern` handler for `topics` (Nest subscribes the microservice's
 * consumer to them). Register it in a module of a hybrid application whose microservice uses
 * `kafkaMicroserviceOptions` (BatchingKafkaServer: the handler gets a partition's fetched batch). The
 * handler resolves the offset of every message it dealt with (handled, skipped or dead-lettered), so
 * kafkajs commits only those, after the batch.
 */
export const kafkaEventConsumerController = (topics: readonly string[]): Type => {
  if (topics.length === 0) throw new Error('kafkaEventConsumerController needs at least one topic');

  @Controller()
  class KafkaEventConsumerController {
    constructor(@Inject(KafkaEventConsumer) private readonly consumer: KafkaEventConsumer) {}

    // The payload is the batch's messages, values raw (parser keepBinary); the context carries the rest.
    @EventPattern([...topics])
    async onBatch(@Payload() _messages: unknown, @Ctx() context: KafkaBatchContext): Promise<void> {
      await this.consumer.consumeBatch(consumedBatchOf(context));
    }
  }
  return KafkaEventConsumerController;
};
