import { EVENT_TOPICS } from '@app/contracts';
import type { INestMicroservice } from '@nestjs/common';
import { Transport, type KafkaOptions, type MicroserviceOptions } from '@nestjs/microservices';
import type { Consumer } from 'kafkajs';
import { ACKS_ALL, kafkaClientConfig, kafkaProducerConfig, type KafkaTransportOptions } from './kafka-settings.js';

type KafkaServerOptions = NonNullable<KafkaOptions['options']>;

/**
 * Options of the Kafka microservice of a hybrid app: `app.connectMicroservice(kafkaMicroserviceOptions(o))`
 * then `app.startAllMicroservices()`.
 * - `postfixId: ''`: group id and client id exactly as configured (Nest appends `-server` otherwise).
 * - Fetches return as soon as one byte is there, or after 100 ms: latency, not kafkajs' 5 s default wait.
 * - Short session/rebalance timeouts so a restarted instance gets its partitions back within seconds.
 * - One partition per worker, up to `partitions` at once: a retrying partition does not hold the others.
 * - `parser.keepBinary`: the value reaches the handler as the produced bytes, so a malformed one is
 *   dead-lettered byte for byte (Nest would JSON-parse it, or pass text that merely fails to parse).
 */
export const kafkaMicroserviceOptions = (options: KafkaTransportOptions): MicroserviceOptions => ({
  transport: Transport.KAFKA,
  options: {
    postfixId: '',
    client: kafkaClientConfig(options) as KafkaServerOptions['client'],
    consumer: {
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      minBytes: 1,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 5000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    },
    subscribe: { fromBeginning: true },
    // Every partition of every subscribed topic at once, so a partition that backs off holds up only itself.
    run: { partitionsConsumedConcurrently: Math.max(1, options.partitions * Object.keys(EVENT_TOPICS).length) },
    producer: kafkaProducerConfig() as KafkaServerOptions['producer'],
    send: { acks: ACKS_ALL },
    parser: { keepBinary: true },
  },
});

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
