import { Inject, Injectable, Logger, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { DependencyConnection, FIRST_ATTEMPT_WAIT_MS, oneLine } from '@app/core';
import { TransportHealth, TransportNotReadyError } from '../messaging.options.js';
import { KafkaConsumerLag, totalLag } from './kafka-consumer-lag.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { KafkaConsumerMonitor } from './kafka-consumer-monitor.js';
import { BatchingKafkaServer, kafkaMicroserviceOptions } from './kafka-microservice.js';
import type { KafkaTransportOptions } from './kafka-settings.js';
import { KafkaConnection } from './kafka-connection.js';

/**
 * Readiness of the Kafka transport: the publisher's producer is connected and, once a consumer is attached
 * (`connectKafkaConsumer`), its consumer is a member of its group and has caught up: until the group's lag
 * on its topics first reaches 0 (a new group replays the topics from the earliest offset), readiness is
 * down and reports the lag per topic. Once caught up it stays so: live traffic always lags a little.
 */
@Injectable()
export class KafkaTransportHealth extends TransportHealth {
  #producerStatus = 'disconnected';
  #monitor: KafkaConsumerMonitor | undefined;
  #expectsConsumer = false;
  #caughtUp = false;

  constructor(
    @Inject(KafkaEventPublisher) publisher: KafkaEventPublisher,
    /** Measures the consumer group's lag on the topics it consumes; none: no catch-up check. */
    private readonly lag?: KafkaConsumerLag,
    /** Topics and producer (KafkaConnection); none: not checked. */
    private readonly connection?: DependencyConnection,
  ) {
    super();
    publisher.client.status.subscribe((status) => (this.#producerStatus = status));
  }

  /** Marks the consumer as required for readiness (done by the module when it registers a consumer). */
  expectConsumer(): void {
    this.#expectsConsumer = true;
  }

  attach(microservice: INestMicroservice): KafkaConsumerMonitor {
    this.#monitor?.close();
    this.#monitor = new KafkaConsumerMonitor(microservice);
    this.#expectsConsumer = true;
    return this.#monitor;
  }

  get consumer(): KafkaConsumerMonitor | undefined {
    return this.#monitor;
  }

  /** The consumer's start, once connectKafkaConsumer began it (stopped at shutdown). */
  consumerConnection: DependencyConnection | undefined;

  override async check(): Promise<void | Readonly<Record<string, unknown>>> {
    for (const connection of [this.connection, this.consumerConnection]) {
      if (connection && !connection.isConnected) {
        throw new Error(dependencyDown(connection));
      }
    }
    if (this.#producerStatus !== 'connected') throw new Error(`Kafka producer ${this.#producerStatus}`);
    if (!this.#expectsConsumer) return;
    if (!this.#monitor) throw new Error('Kafka consumer not started');
    if (!this.#monitor.ready) {
      const reason = this.#monitor.lastError ? `: ${this.#monitor.lastError}` : '';
      throw new Error(`Kafka consumer ${this.#monitor.state}${reason}`);
    }
    if (this.#caughtUp || !this.lag) return { caughtUp: true };
    const lag = await this.lag.measure();
    const behind = totalLag(lag);
    if (behind > 0) {
      throw new TransportNotReadyError(`Kafka consumer catching up: ${behind} message(s) behind`, {
        caughtUp: false,
        consumerLag: lag,
      });
    }
    this.#caughtUp = true;
    void this.lag.close();
    return { caughtUp: true, consumerLag: lag };
  }

  /** True once the consumer group's lag reached 0 (or without a consumer). */
  get caughtUp(): boolean {
    return this.#caughtUp || !this.#expectsConsumer;
  }

  async onApplicationShutdown(): Promise<void> {
    this.consumerConnection?.stop();
    this.#monitor?.close();
    await this.lag?.close();
  }
}

/** Why a connection is not up, for readiness: `Kafka host:9092 unavailable (reason), retrying every 2 s`. */
const dependencyDown = ({ name, state, lastError, retryMs }: DependencyConnection): string =>
  state === 'retrying'
    ? `${name} unavailable (${lastError ?? 'unknown error'}), retrying every ${retryMs / 1000} s`
    : `${name} ${state}${lastError ? ` (${lastError})` : ''}`;

/**
 * Starts the Kafka consumer of a hybrid app in the safe order: `app.init()` first (handler registry filled;
 * KafkaConnection tried: topics created, producer connected), then the microservice (`connectMicroservice`
 * + its `listen`, what `startAllMicroservices` does for each), then its health monitor. With the brokers
 * unreachable the app starts without it: the consumer is started in the background once KafkaConnection
 * succeeds, and retried while its own start fails. Returns the microservice (closed by `app.close()`).
 */
export const connectKafkaConsumer = async (
  app: INestApplication,
  options: KafkaTransportOptions,
): Promise<INestMicroservice> => {
  const microserviceOptions = kafkaMicroserviceOptions(options);
  const server = microserviceOptions.strategy as BatchingKafkaServer;
  const microservice = app.connectMicroservice(microserviceOptions);
  await app.init();
  const health = app.get(KafkaTransportHealth);
  const logger = new Logger('KafkaConsumer');
  // kafkajs restarts its consumer after retriable crashes only. A non-retriable one during a broker
  // outage ("Failed to find group coordinator") would stop consumption for good: start it again.
  const watch = (): void => {
    health.attach(microservice).onFatalCrash(async (error) => {
      logger.error(`Consumer stopped for good (${error}); starting it again in ${CONSUMER_RESTART_DELAY_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, CONSUMER_RESTART_DELAY_MS));
      try {
        await restartServer(server);
        watch();
        logger.log('Consumer started again');
      } catch (restartError) {
        logger.error(`Could not start the consumer again: ${oneLine(restartError)}; readiness stays down`);
      }
    });
  };
  let attempts = 0;
  const consumer = new DependencyConnection(
    'Kafka consumer',
    async () => {
      attempts += 1;
      if (attempts === 1) await microservice.listen();
      else await restartServer(server);
      // Stopped (the app closes) while this attempt ran: nothing may keep consuming.
      if (consumer.state === 'stopped') return void (await server.close());
      watch();
    },
    logger,
  );
  health.consumerConnection = consumer;
  const kafka = app.get(KafkaConnection);
  if (kafka.isConnected) await consumer.start(FIRST_ATTEMPT_WAIT_MS);
  else void kafka.connected.then(() => consumer.start());
  return microservice;
};

/**
 * The Kafka server only, closed and listening again: `microservice.close()` of a hybrid app's microservice
 * would run the shared container's shutdown hooks (read-model store closed, producer disconnected).
 */
const restartServer = async (server: BatchingKafkaServer): Promise<void> => {
  await server.close();
  await new Promise<void>((done, fail) => server.listen((error?: unknown) => (error ? fail(error) : done())));
};

const CONSUMER_RESTART_DELAY_MS = 5_000;
