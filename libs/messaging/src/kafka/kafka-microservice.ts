import { EVENT_TOPICS } from '@app/contracts';
import type { INestMicroservice } from '@nestjs/common';
import { KafkaContext, ServerKafka, type CustomStrategy, type KafkaOptions } from '@nestjs/microservices';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import {
  ACKS_ALL,
  CONSUMER_SESSION_TIMEOUT_MS,
  kafkaClientConfig,
  kafkaProducerConfig,
  type KafkaTransportOptions,
} from './kafka-settings.js';

type KafkaServerOptions = Required<KafkaOptions>['options'];

/** The batch side of a KafkaBatchContext: what kafkajs' `eachBatch` gives beyond the messages. */
export interface KafkaBatchControls {
  /** The batch's messages as Nest's parser gives them (headers as text, value as bytes: keepBinary). */
  readonly messages: readonly (KafkaMessage & { readonly offset: string })[];
  /** Marks an offset as processed; kafkajs commits what was resolved after the batch (COMMIT_INTERVAL_MS). */
  resolveOffset(offset: string): void;
  /** False once the consumer stops or the partition was seeked (a lost membership: kafka-membership.ts). */
  isActive(): boolean;
  /** The partition's high watermark at fetch time: the consumer lag metric is measured against it. */
  readonly highWatermark?: string;
}

/**
 * What the `@EventPattern` handler gets as `@Ctx()` for a batch: a KafkaContext (topic, partition,
 * consumer, heartbeat, producer; `getMessage()` is the batch's last message) plus the batch controls.
 */
export class KafkaBatchContext extends KafkaContext {
  constructor(
    args: ConstructorParameters<typeof KafkaContext>[0],
    readonly batch: KafkaBatchControls,
  ) {
    super(args);
  }
}

/**
 * Nest's ServerKafka, consuming with kafkajs' `eachBatch` instead of `eachMessage`.
 *
 * Why by hand: ServerKafka.bindEvents always runs the consumer with `eachMessage` (it overwrites any
 * `run.eachBatch`), so a handler only ever sees one message and a projection can only write one document
 * per round trip. This subclass overrides that one step: it subscribes exactly as Nest does, runs with
 * `eachBatch` and `eachBatchAutoResolve: false`, parses each message with Nest's own KafkaParser, and hands
 * the whole batch of one partition to the `@EventPattern` handler of its topic through Nest's
 * `handleEvent` (so interceptors, filters and processing hooks still apply), with a KafkaBatchContext. The
 * handler resolves the offsets of what it applied; kafkajs commits them after the batch, i.e. after the
 * writes, at most once per COMMIT_INTERVAL_MS. Everything else (client, producer, status events, unwrap,
 * close) is Nest's.
 */
export class BatchingKafkaServer extends ServerKafka {
  /** Handlers by topic, found once: Nest finds one per event, by a JSON.parse that throws for a topic name. */
  readonly #handlersByTopic = new Map<string, ReturnType<ServerKafka['getHandlerByPattern']>>();

  override getHandlerByPattern(pattern: string): ReturnType<ServerKafka['getHandlerByPattern']> {
    const known = this.#handlersByTopic.get(pattern);
    if (known) return known;
    const handler = super.getHandlerByPattern(pattern);
    if (handler) this.#handlersByTopic.set(pattern, handler);
    return handler;
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
    const topics = [...this.messageHandlers.keys()];
    if (topics.length > 0) await consumer.subscribe({ ...(this.options.subscribe ?? {}), topics });
    await consumer.run({
      ...(this.options.run ?? {}),
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#handleBatch(payload),
    });
  }

  async #handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return;
    const messages = batch.messages.map(
      (message) => this.parser!.parse({ ...message, topic, partition }) as KafkaBatchControls['messages'][number],
    );
    const context = new KafkaBatchContext(
      [messages.at(-1)!, partition, topic, this.consumer!, heartbeat, this.producer!],
      { messages, resolveOffset, isActive: () => isRunning() && !isStale(), highWatermark: batch.highWatermark },
    );
    await this.handleEvent(topic, { pattern: topic, data: messages }, context);
  }
}

/**
 * Options of the Kafka microservice of a hybrid app: `app.connectMicroservice(kafkaMicroserviceOptions(o))`
 * then `app.startAllMicroservices()`. The strategy is BatchingKafkaServer (Nest's Kafka transport, batches).
 * - `postfixId: ''`: group id and client id exactly as configured (Nest appends `-server` otherwise).
 * - Fetches return as soon as one byte is there (the broker completes a parked fetch when a produce lands),
 *   else after 250 ms: an idle consumer polls 4 times a second, not 50 (20 ms cost Kafka 6% of a core at
 *   10 orders/s for no latency), and a stop or rebalance waits at most that long, not kafkajs' 5 s.
 *   Under load a fetch brings what accumulated meanwhile (up to 1 MB per partition): that is the batch.
 * - Short session/rebalance timeouts so a restarted instance gets its partitions back within seconds.
 * - Every partition of every subscribed topic processed at once (`partitionsConsumedConcurrently`), so a
 *   partition that backs off holds up only itself.
 * - `parser.keepBinary`: the value reaches the handler as the produced bytes, so a malformed one is
 *   dead-lettered byte for byte (Nest would JSON-parse it, or pass text that merely fails to parse).
 */
export const kafkaMicroserviceOptions = (options: KafkaTransportOptions): CustomStrategy => ({
  strategy: new BatchingKafkaServer(kafkaServerOptions(options)),
});

/**
 * How long resolved offsets may wait for their commit while batches keep coming. kafkajs commits after
 * every batch, one OffsetCommit per partition batch: at 20 orders/s that was 6 of the 16 Kafka requests
 * per order. With the interval (and patches/kafkajs+2.2.4.patch, which makes it defer the end-of-batch
 * commit) one request, at most once a second, commits every partition; a fetch that brings nothing (the
 * consumer caught up: readiness' catch-up check, which reads committed offsets, sees it then), a
 * rebalance and a stop commit what is pending at once. The cost: after a crash up to a second of applied
 * events comes again, which the handlers skip (version guards, idempotent appends).
 */
export const COMMIT_INTERVAL_MS = 1000;

/** The ServerKafka options behind kafkaMicroserviceOptions. */
export const kafkaServerOptions = (options: KafkaTransportOptions): KafkaServerOptions =>
  ({
    postfixId: '',
    client: kafkaClientConfig(options) as KafkaServerOptions['client'],
    consumer: {
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      minBytes: 1,
      maxBytesPerPartition: 1024 * 1024,
      sessionTimeout: CONSUMER_SESSION_TIMEOUT_MS,
      heartbeatInterval: 1000,
      rebalanceTimeout: 5000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    },
    subscribe: { fromBeginning: true },
    run: {
      partitionsConsumedConcurrently: Math.max(1, options.partitions * Object.keys(EVENT_TOPICS).length),
      autoCommitInterval: COMMIT_INTERVAL_MS,
    },
    producer: kafkaProducerConfig() as KafkaServerOptions['producer'],
    send: { acks: ACKS_ALL },
    parser: { keepBinary: true },
  }) as KafkaServerOptions;

export type KafkaConsumerState =
  'starting' | 'joined' | 'rebalancing' | 'restarting' | 'crashed' | 'stopped' | 'disconnected';

/**
 * The state of a Kafka microservice's consumer, for a readiness check: ready while `joined`.
 * Create it after `startAllMicroservices()` (kafkajs' `run` has joined the group by then unless it crashed,
 * which Nest's replayed status tells). Follows kafkajs events afterwards: GROUP_JOIN, REBALANCING, CRASH
 * (with or without restart), STOP, DISCONNECT. Nest's own `status` stays at `rebalancing` or `crashed`
 * even after the consumer joined again, hence this.
 */
export class KafkaConsumerMonitor {
  #state: KafkaConsumerState = 'starting';
  #lastError: string | undefined;
  #onFatalCrash: ((error: string) => void) | undefined;
  readonly #removers: (() => void)[] = [];

  constructor(microservice: INestMicroservice) {
    const [, consumer] = microservice.unwrap<[unknown, Consumer, unknown]>();
    const subscription = microservice.status.subscribe((status) => {
      if (this.#state !== 'starting') return;
      if (status === 'connected') this.#state = 'joined';
      else if (status === 'crashed' || status === 'disconnected' || status === 'stopped') this.#state = status;
    });
    subscription.unsubscribe();
    const { events } = consumer;
    this.#removers.push(
      consumer.on(events.GROUP_JOIN, () => (this.#state = 'joined')),
      consumer.on(events.REBALANCING, () => (this.#state = 'rebalancing')),
      consumer.on(events.CRASH, ({ payload }) => {
        this.#lastError = payload.error?.message;
        this.#state = payload.restart ? 'restarting' : 'crashed';
        if (!payload.restart) this.#onFatalCrash?.(this.#lastError ?? 'unknown error');
      }),
      consumer.on(events.STOP, () => (this.#state = 'stopped')),
      consumer.on(events.DISCONNECT, () => {
        if (this.#state !== 'crashed' && this.#state !== 'restarting') this.#state = 'disconnected';
      }),
    );
  }

  get state(): KafkaConsumerState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === 'joined';
  }

  /** Called when the consumer crashed and kafkajs will not restart it. */
  onFatalCrash(callback: (error: string) => void): void {
    this.#onFatalCrash = callback;
  }

  /** Message of the last crash, if any. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  close(): void {
    for (const remove of this.#removers.splice(0)) remove();
  }
}
