import { Inject, Injectable, Logger, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { TransportHealth, TransportNotReadyError } from '../messaging.options.js';
import { KafkaConsumerLag, totalLag } from './kafka-consumer-lag.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { BatchingKafkaServer, KafkaConsumerMonitor, kafkaMicroserviceOptions } from './kafka-microservice.js';
import type { KafkaTransportOptions } from './kafka-settings.js';

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

  override async check(): Promise<void | Readonly<Record<string, unknown>>> {
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
    this.#monitor?.close();
    await this.lag?.close();
  }
}

/**
 * Starts the Kafka consumer of a hybrid app in the safe order: `app.init()` first (topics created, handler
 * registry filled), then the microservice (`connectMicroservice` + its `listen`, what `startAllMicroservices`
 * does for each), then its health monitor. Returns the microservice (closed by `app.close()`).
 */
export const connectKafkaConsumer = async (
  app: INestApplication,
  options: KafkaTransportOptions,
): Promise<INestMicroservice> => {
  const microserviceOptions = kafkaMicroserviceOptions(options);
  const server = microserviceOptions.strategy as BatchingKafkaServer;
  const microservice = app.connectMicroservice(microserviceOptions);
  await app.init();
  await microservice.listen();
  const health = app.get(KafkaTransportHealth);
  // kafkajs restarts its consumer after retriable crashes only. A non-retriable one during a broker
  // outage ("Failed to find group coordinator") would stop consumption for good: start it again.
  const watch = (): void => {
    health.attach(microservice).onFatalCrash(async (error) => {
      const logger = new Logger('KafkaConsumer');
      logger.error(`Consumer stopped for good (${error}); starting it again in ${CONSUMER_RESTART_DELAY_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, CONSUMER_RESTART_DELAY_MS));
      try {
        // The Kafka server only: `microservice.close()` of a hybrid app's microservice would run the shared
        // container's shutdown hooks (read-model store closed, producer disconnected) and leave a dead app.
        await server.close();
        await new Promise<void>((done, fail) => server.listen((error?: unknown) => (error ? fail(error) : done())));
        watch();
        logger.log('Consumer started again');
      } catch (restartError) {
        logger.error(`Could not start the consumer again: ${(restartError as Error).message}; readiness stays down`);
      }
    });
  };
  watch();
  return microservice;
};

const CONSUMER_RESTART_DELAY_MS = 5_000;
