import { Inject, Injectable, Logger, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { TransportHealth } from '../messaging.options.js';
import { KafkaEventPublisher } from './kafka-event-publisher.js';
import { BatchingKafkaServer, KafkaConsumerMonitor, kafkaMicroserviceOptions } from './kafka-microservice.js';
import type { KafkaTransportOptions } from './kafka-settings.js';

/**
 * Readiness of the Kafka transport: the publisher's producer is connected and, once a consumer is attached
 * (`connectKafkaConsumer`), its consumer is a member of its group.
 */
@Injectable()
export class KafkaTransportHealth extends TransportHealth {
  #producerStatus = 'disconnected';
  #monitor: KafkaConsumerMonitor | undefined;
  #expectsConsumer = false;

  constructor(@Inject(KafkaEventPublisher) publisher: KafkaEventPublisher) {
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

  override async check(): Promise<void> {
    if (this.#producerStatus !== 'connected') throw new Error(`Kafka producer ${this.#producerStatus}`);
    if (!this.#expectsConsumer) return;
    if (!this.#monitor) throw new Error('Kafka consumer not started');
    if (!this.#monitor.ready) {
      const reason = this.#monitor.lastError ? `: ${this.#monitor.lastError}` : '';
      throw new Error(`Kafka consumer ${this.#monitor.state}${reason}`);
    }
  }

  onApplicationShutdown(): void {
    this.#monitor?.close();
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
