import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { logLevel, Partitioners, type KafkaConfig, type ProducerConfig, type SASLOptions } from 'kafkajs';
import type { TransportOptions } from '../messaging.options.js';
import { kafkaLogCreator } from './kafka-log.js';

export type KafkaTransportOptions = Extract<TransportOptions, { kind: 'kafka' }>;

/**
 * kafkajs client settings shared by the publisher, the consumer and the admin: quiet logs (warnings and
 * errors only, without a broker outage's per-attempt noise: see kafka-log.ts) and bounded, fast
 * retries so an unreachable broker surfaces as an error within seconds instead of hanging a request forever. Callers that must not lose data retry on top (the outbox relay).
 */
export const kafkaClientConfig = (options: KafkaTransportOptions, clientId = options.clientId): KafkaConfig => ({
  clientId,
  brokers: [...options.brokers],
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator,
  connectionTimeout: 3000,
  requestTimeout: 10_000,
  retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 2000 },
  ...kafkaSecurityConfig(options),
});

/** TLS and SASL settings of kafkajs from the transport options (files read once, at client creation). */
export const kafkaSecurityConfig = ({
  ssl,
  sasl,
}: Pick<KafkaTransportOptions, 'ssl' | 'sasl'>): Pick<KafkaConfig, 'ssl' | 'sasl'> => {
  const tls: ConnectionOptions | undefined = ssl && {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ...(ssl.caFile ? { ca: [readFileSync(ssl.caFile, 'utf8')] } : {}),
    ...(ssl.certFile ? { cert: readFileSync(ssl.certFile, 'utf8') } : {}),
    ...(ssl.keyFile ? { key: readFileSync(ssl.keyFile, 'utf8') } : {}),
  };
  return {
    ...(tls ? { ssl: tls } : {}),
    ...(sasl ? { sasl: { ...sasl } as SASLOptions } : {}),
  };
};

/**
 * Producer settings: idempotent (the broker drops duplicates of a retried batch), one request in flight
 * (kafkajs' idempotence keeps order only then), no topic auto-creation (topics are created at start-up
 * with explicit partition counts) and the Java client's murmur2 partitioner (same key -> same partition
 * as any other client). Sends must use `acks: -1`: kafkajs refuses anything else for idempotent producers.
 */
export const kafkaProducerConfig = (): ProducerConfig => ({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
});

/**
 * The consumer group's session timeout: a member whose heartbeats stop for this long is evicted and its
 * partitions go to the others (so a consumer whose heartbeats failed that long gives its batch up).
 */
export const CONSUMER_SESSION_TIMEOUT_MS = 10_000;

/** acks=all: a send resolves only once every in-sync replica has the messages. */
export const ACKS_ALL = -1;
