import {
  Controller,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type Type,
} from '@nestjs/common';
import { Ctx, EventPattern, Payload, type KafkaContext } from '@nestjs/microservices';
import { assertEventContract, ContractViolationError, deadLetterTopic } from '@app/contracts';
import { ApplicationError, batchCause, handledBefore, inSpanOfBatch, SpanKind, type RecordedEvent } from '@app/core';
import { EventHandlerRegistry, EventTypeRegistry, runWithCorrelation } from '@app/event-sourcing';
import { decodeEvent, EVENT_HEADERS, MalformedMessageError, textOf, type IncomingMessage } from './kafka-envelope.js';
import { BatchMembership } from './kafka-membership.js';
import type { KafkaBatchContext } from './kafka-microservice.js';
import { messagesDeadLetteredTotal, recordLag } from './kafka-metrics.js';
import { ACKS_ALL, CONSUMER_SESSION_TIMEOUT_MS, type KafkaTransportOptions } from './kafka-settings.js';

export const KAFKA_TRANSPORT_OPTIONS = Symbol('KAFKA_TRANSPORT_OPTIONS');

/** Headers added to a dead-lettered message (its original key, value and headers are kept). */
export const DLQ_HEADERS = {
  originTopic: 'dlq-origin-topic',
  originPartition: 'dlq-origin-partition',
  originOffset: 'dlq-origin-offset',
  attempts: 'dlq-attempts',
  error: 'dlq-error',
  failedAt: 'dlq-failed-at',
  /** The consumer group that gave up on it. */
  group: 'dlq-group',
  /** On a redriven message: the ref of the dead letter it came from (see dead-letters/). */
  redriveOf: 'dlq-redrive-of',
  /** On a redriven message: the only consumer group that applies it (the one that failed it). */
  redriveForGroup: 'dlq-redrive-for-group',
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
  /** False once the partition is no longer this member's (a batch's message); absent: always ours. */
  isActive?(): boolean;
}

/** One fetched batch of a partition, in offset order: Nest's KafkaBatchContext, reduced (fakeable in tests). */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage['message'][];
  readonly producer: DeadLetterProducer;
  heartbeat(): Promise<void>;
  pause(): void;
  /** Marks a message as done; kafkajs commits the resolved offsets once the batch returns. */
  resolveOffset(offset: string): void;
  /** False once the consumer stops or the partition was seeked: the rest of the batch is left alone. */
  isActive(): boolean;
  /** The partition's high watermark when the batch was fetched (for the lag metric). */
  readonly highWatermark?: string;
}

export type ConsumeOutcome = 'handled' | 'skipped' | 'dead-lettered';

/** A message of a batch, read: an event to dispatch, one to skip, or one that goes to the dead-letter topic. */
type Decoded =
  | { readonly kind: 'event'; readonly event: RecordedEvent }
  | { readonly kind: 'skip' }
  | { readonly kind: 'dead-letter'; readonly error: unknown };

/** The application is stopping: the message is left uncommitted and is delivered again after restart. */
export class ConsumerStoppingError extends Error {
  override readonly name = 'ConsumerStoppingError';
}

/** The member lost the partition (rebalance, eviction): the batch is left, uncommitted, to the next owner. */
class PartitionLostError extends Error {
  override readonly name = 'PartitionLostError';
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
 * Delivers consumed event messages to this application's handlers (the EventHandlerRegistry), a fetched
 * batch of a partition at a time (`consumeBatch`): its events go to the handlers as one `dispatchBatch`
 * (a projection writes them in one bulk write), and its offsets are resolved once that is done. When a
 * handler fails on one event, everything before it is resolved, that event alone takes the one-at-a-time
 * path below, and the events after it (of its stream and of the others) continue as a batch: no event is
 * skipped, none overtakes an earlier one of its partition. The guarantees of that path: a failing message is retried with exponential backoff `handlerAttempts`
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
    private readonly options: Pick<KafkaTransportOptions, 'handlerAttempts' | 'retryBaseDelayMs'> &
      Partial<Pick<KafkaTransportOptions, 'groupId'>> & {
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
    const correlationId = textOf(consumed.message.headers?.[EVENT_HEADERS.correlationId]);
    const run = async (): Promise<ConsumeOutcome> => {
      await this.untilBootstrapped(consumed);
      const decoded = this.decode(consumed);
      if (decoded.kind === 'skip') return 'skipped';
      if (decoded.kind === 'dead-letter') return this.deadLetter(consumed, 0, decoded.error);
      return this.deliver(consumed, decoded.event);
    };
    return correlationId ? runWithCorrelation(correlationId, run) : run();
  }

  /**
   * A fetched batch of one partition. Runs of events between dead letters are dispatched as one batch
   * (skipped types ride along: nothing to do for them); each run's offsets are resolved once its handlers
   * are done. Throws only as `consume` does (stopping, dead-letter topic down), leaving the rest unresolved.
   * Once a heartbeat says this member lost the partition (kafka-membership.ts), the batch is given up:
   * nothing more is dispatched, dead-lettered or resolved, and it returns so that kafkajs rejoins.
   */
  async consumeBatch(fetched: ConsumedBatch): Promise<void> {
    const first = fetched.messages[0];
    if (!first) return;
    const { topic, partition, highWatermark } = fetched;
    recordLag(topic, partition, highWatermark, BigInt(first.offset));
    const sessionTimeoutMs = this.options.sessionTimeoutMs ?? CONSUMER_SESSION_TIMEOUT_MS;
    const membership = new BatchMembership(() => fetched.heartbeat(), sessionTimeoutMs);
    const batch: ConsumedBatch = {
      ...fetched,
      heartbeat: () => membership.heartbeat(),
      pause: () => fetched.pause(),
      isActive: () => !membership.lost && fetched.isActive(),
      resolveOffset: (offset) => {
        if (membership.lost) return; // the next owner's to commit
        fetched.resolveOffset(offset);
        recordLag(topic, partition, highWatermark, BigInt(offset) + 1n);
      },
    };
    // A run's handlers may take longer than a session timeout under load (a fetch brings up to 1 MB per
    // partition): heartbeat on a timer meanwhile, or the broker evicts this member, the batch is given up
    // and fetched again from the same offset, again and again. kafkajs sends at most one per interval.
    const beating = setInterval(() => void membership.heartbeat(), Math.min(1_000, sessionTimeoutMs / 5));
    try {
      await this.consumeOwnBatch(batch, first);
    } catch (error) {
      if (!(error instanceof PartitionLostError)) throw error;
    } finally {
      clearInterval(beating);
    }
    if (membership.lost) {
      this.logger.warn(
        `Gave up ${topic}[${partition}] from offset ${first.offset}, uncommitted: no longer a member for it ` +
          `(${describeError(membership.lostBy)}); its next owner processes it`,
      );
    }
  }

  private async consumeOwnBatch(batch: ConsumedBatch, first: ConsumedMessage['message']): Promise<void> {
    await this.untilBootstrapped(this.single(batch, first));
    let run: { message: ConsumedMessage['message']; event?: RecordedEvent }[] = [];
    for (const message of batch.messages) {
      const decoded = this.decode(this.single(batch, message));
      if (decoded.kind !== 'dead-letter') {
        run.push({ message, event: decoded.kind === 'event' ? decoded.event : undefined });
        continue;
      }
      if (!(await this.dispatchRun(batch, run))) return;
      run = [];
      this.throwIfStopping(this.single(batch, message));
      await this.deadLetter(this.single(batch, message), 0, decoded.error);
      batch.resolveOffset(message.offset);
    }
    await this.dispatchRun(batch, run);
  }

  /**
   * Dispatches a run of messages as a batch. On a failure at event k: resolves everything before it,
   * delivers k alone (retries, backoff, dead letter; the failed batch call counts as its first attempt),
   * then goes on with the rest as a batch. @returns false when the partition is no longer ours.
   */
  private async dispatchRun(
    batch: ConsumedBatch,
    run: readonly { message: ConsumedMessage['message']; event?: RecordedEvent }[],
  ): Promise<boolean> {
    for (let rest = run; rest.length > 0;) {
      if (!batch.isActive()) return false;
      this.throwIfStopping(this.single(batch, rest[0]!.message));
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
        const consumed = this.single(batch, message);
        const correlationId = event!.metadata.correlationId;
        await runWithCorrelation(correlationId, () => this.deliver(consumed, event!, batchCause(error)));
        batch.resolveOffset(message.offset);
        rest = rest.slice(failing + 1);
      }
    }
    return true;
  }

  /** One message of a batch, as the one-at-a-time path sees it. */
  private single(batch: ConsumedBatch, message: ConsumedMessage['message']): ConsumedMessage {
    const { topic, partition, producer } = batch;
    return {
      topic,
      partition,
      message,
      producer,
      heartbeat: () => batch.heartbeat(),
      pause: () => batch.pause(),
      isActive: () => batch.isActive(),
    };
  }

  /** Until the application bootstrap, messages wait (heartbeating). */
  private async untilBootstrapped(consumed: ConsumedMessage): Promise<void> {
    while (!this.#bootstrapped) {
      this.throwIfStopping(consumed);
      this.throwIfLost(consumed);
      await this.backoff(100, consumed);
    }
  }

  /**
   * Reads the envelope: malformed or unreadable (schema version) -> dead letter; no subscriber -> skip.
   * The data must then satisfy the published contract of its type and schema version (@app/contracts):
   * a forged or broken payload goes to the dead-letter topic with the reason, before any handler runs.
   */
  private decode(consumed: ConsumedMessage): Decoded {
    let event: RecordedEvent;
    try {
      event = decodeEvent(consumed.message);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      return { kind: 'dead-letter', error };
    }
    if (!this.handlers.subscribedTypes.has(event.type)) {
      this.logSkipped(event, consumed);
      return { kind: 'skip' };
    }
    const redriveFor = textOf(consumed.message.headers?.[DLQ_HEADERS.redriveForGroup]);
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

  /**
   * Dispatches one event until it succeeds, `handlerAttempts` tries in all (`firstFailure`: the first try
   * already failed, inside a batch), then dead-letters it. A store outage holds the partition instead.
   */
  private async deliver(
    consumed: ConsumedMessage,
    event: RecordedEvent,
    firstFailure?: unknown,
  ): Promise<ConsumeOutcome> {
    const attempts = Math.max(1, this.options.handlerAttempts);
    let lastError: unknown;
    let outageWaits = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.throwIfStopping(consumed);
      this.throwIfLost(consumed);
      try {
        if (attempt === 1 && firstFailure !== undefined) throw firstFailure;
        await consumeSpan(consumed.topic, [consumed.message], () => this.handlers.dispatch(event));
        return 'handled';
      } catch (error) {
        if (error === firstFailure) firstFailure = undefined;
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
    this.throwIfLost(consumed); // the next owner decides about it
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
      ...(this.options.groupId === undefined ? {} : { [DLQ_HEADERS.group]: this.options.groupId }),
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
    messagesDeadLetteredTotal.inc({ topic });
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

  private throwIfLost(consumed: ConsumedMessage): void {
    if (consumed.isActive?.() !== false) return;
    throw new PartitionLostError(`${consumed.topic}[${consumed.partition}]@${consumed.message.offset} is not ours`);
  }

  /**
   * Waits `ms` (cut short when the application stops or the partition is lost), heartbeating so the group
   * keeps this member and a rebalance is seen while it waits.
   */
  private async backoff(ms: number, consumed: ConsumedMessage): Promise<void> {
    const until = Date.now() + ms;
    const waiting = () => !this.stopping.signal.aborted && consumed.isActive?.() !== false;
    for (let left = ms; left > 0 && waiting(); left = until - Date.now()) {
      await sleep(Math.min(left, HEARTBEAT_EVERY_MS), this.stopping.signal);
      await consumed.heartbeat().catch(() => undefined); // a batch's heartbeat records a lost membership
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

/** Reduces Nest's KafkaContext to what KafkaEventConsumer needs for one message. */
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

/** Reduces Nest's KafkaBatchContext (BatchingKafkaServer) to what KafkaEventConsumer needs for a batch. */
export const consumedBatchOf = (context: KafkaBatchContext): ConsumedBatch => {
  const { producer, heartbeat, pause } = consumedMessageOf(context);
  const { messages, resolveOffset, isActive, highWatermark } = context.batch;
  return {
    highWatermark,
    topic: context.getTopic(),
    partition: context.getPartition(),
    messages: messages as unknown as ConsumedBatch['messages'],
    producer,
    heartbeat,
    pause,
    resolveOffset,
    isActive,
  };
};

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

/**
 * The consumer side of a trace: a span for the handlers' work on messages of one topic, child of the
 * producer span whose `traceparent` the first message carries (the policy's command, the read-model
 * write are its children) and linked to the producer spans of the others.
 */
const consumeSpan = <T>(topic: string, messages: readonly IncomingMessage[], fn: () => Promise<T>): Promise<T> =>
  inSpanOfBatch(
    `${topic} process`,
    messages.map((message) => ({
      traceparent: textOf(message.headers?.traceparent),
      tracestate: textOf(message.headers?.tracestate),
    })),
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': messages.length,
      },
    },
    fn,
  );
