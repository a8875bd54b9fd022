// Nest's Kafka transport (ServerKafka), consuming a partition's fetched batch at a time. Why by hand:
// ServerKafka.bindEvents always runs kafkajs with `eachMessage` (it overwrites any `run.eachBatch`), so a
// handler only ever sees one message and a projection writes one document per round trip. The subclass
// overrides that one step: it subscribes as Nest does, runs `eachBatch` with `eachBatchAutoResolve: false`,
// parses each message with Nest's KafkaParser and hands the batch to the topic's `@EventPattern` handler
// through Nest's `handleEvent` (interceptors, filters and hooks still apply) with a KafkaBatchContext. The
// handler resolves what it applied; kafkajs commits it after the batch, at most once per COMMIT_INTERVAL_MS.
// Everything else (client, producer, status, unwrap, close) is Nest's. The options below are the transport's.
import { EVENT_TOPICS } from '@app/contracts';
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

/** Nest's ServerKafka with `eachBatch`: see the comment at the top of this file. */
export class BatchingKafkaServer extends ServerKafka {
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
