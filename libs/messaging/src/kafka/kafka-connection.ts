import { DependencyConnection } from '@app/core';
/**
 * The application's connection to Kafka: topics created and the publisher's producer connected. Tried at
 * start-up and, while the brokers are unreachable, again in the background (the process starts anyway:
 * commands append to the outbox, which the relay publishes once Kafka is back). The consumer starts after it.
 */
export class KafkaConnection extends DependencyConnection {}
